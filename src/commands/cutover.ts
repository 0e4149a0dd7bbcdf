// `cutover`: the last step of a staged migration, once the operator has frozen the old server. It runs the
// final delta, then verify, and reports every phase (bulk pass, each delta, this final one) with parity and
// rejects, so the decision to switch DNS rests on one document.
import type { CheckpointKey, Checkpoint } from '../target/target.js';
import { openTargetFor, resolveSettings } from './context.js';
import { run, type RunCommandOptions, type RunSummary } from './run.js';
import { verify, type VerifyReport } from './verify.js';

export type CutoverOptions = Omit<RunCommandOptions, 'dryRun' | 'delta' | 'deferOffline'>;

export interface CutoverPhase {
  stream: string;
  /** 0: the bulk backfill; n: the n-th delta (the last one is this cutover's). */
  pass: number;
  records: number;
  completed: boolean;
  updatedAt?: string;
}

export interface CutoverReport {
  source: string;
  target: string;
  finalDelta: RunSummary;
  phases: CutoverPhase[];
  verify: VerifyReport;
  /** Every source archive is in the target, identical, and every kind has at least the source's rows. */
  parity: boolean;
  rejected: number;
  /** What the operator does next. */
  nextSteps: string[];
}

export async function cutover(options: CutoverOptions): Promise<CutoverReport> {
  const finalDelta = await run({ ...options, dryRun: false, delta: true, deferOffline: false });
  const phases = finalDelta.interrupted ? [] : await phasesOf(options, finalDelta.migration);
  const report = finalDelta.interrupted ? undefined : await verify({ ...options, mergedStores: options.mergeArchivesSeconds !== undefined });
  const parity = report?.parity === true;
  const nextSteps = finalDelta.interrupted
    ? ['The final delta was interrupted: run the same cutover command again (it resumes).']
    : parity
      ? [
          'Parity holds: point clients at MongooseIM (DNS SRV records / load balancer), then start MongooseIM\'s listeners.',
          'Keep the old server frozen (not deleted) until users confirm; rolling back means pointing DNS back at it.',
          ...(finalDelta.rejected > 0 ? [`Review the ${finalDelta.rejected} rejected record(s) in ${finalDelta.rejectFile} before switching.`] : []),
        ]
      : ['Parity failed: do not switch. Check that the old server is really frozen, run cutover again, and read the differences above.'];
  return {
    source: finalDelta.source,
    target: finalDelta.target,
    finalDelta,
    phases,
    verify: report ?? emptyVerify(finalDelta),
    parity,
    rejected: finalDelta.rejected,
    nextSteps,
  };
}

async function phasesOf(options: CutoverOptions, migration: string): Promise<CutoverPhase[]> {
  const settings = await resolveSettings(options);
  const target = await openTargetFor(options, settings, 'read');
  try {
    const shard = options.shard ? `${options.shard.index}/${options.shard.count}` : 'all';
    return (await target.listCheckpoints())
      .filter((c: CheckpointKey & Checkpoint) => c.migration === migration && c.shard === shard)
      .map((c) => {
        const hash = c.stream.lastIndexOf('#');
        const pass = hash > 0 ? Number(c.stream.slice(hash + 1)) : 0;
        return { stream: hash > 0 ? c.stream.slice(0, hash) : c.stream, pass, records: c.records, completed: c.completed, updatedAt: c.updatedAt };
      })
      .sort((a, b) => a.stream.localeCompare(b.stream) || a.pass - b.pass);
  } finally {
    await target.close();
  }
}

function emptyVerify(summary: RunSummary): VerifyReport {
  return {
    source: summary.source,
    target: summary.target,
    archivesCompared: 0,
    messagesInSource: 0,
    messagesInTarget: 0,
    extraArchivesInTarget: 0,
    differences: [],
    rejectedInSource: {},
    notWrittenKinds: {},
    kinds: [],
    parity: false,
  };
}
