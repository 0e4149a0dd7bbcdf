// `run` and `run --dry-run`: migrate the source into the target, resumably.
import type { BatchLimits } from '../pipeline/batch-limits.js';
import { DEFAULT_BATCH_LIMITS } from '../pipeline/batch-limits.js';
import { FileRejectSink } from '../pipeline/reject-report.js';
import type { KindStats, RunEventListener, StreamSummary } from '../pipeline/run-events.js';
import { ControlFile } from '../pipeline/run-control.js';
import { runMigration } from '../pipeline/runner.js';
import { UsageError } from '../errors.js';
import type { RecordKind } from '../records.js';
import type { TargetSettings } from '../target/mongooseim/target-settings.js';
import type { InboxRebuildSummary } from '../target/mongooseim/inbox-rebuild.js';
import { loadMappingFor, openSourceFor, openTargetFor, resolveSettings, type CommonOptions } from './context.js';
import { prepareServedDomains } from './dynamic-domains.js';
import { checkSavedPlan } from './saved-plan.js';

export interface RunCommandOptions extends CommonOptions {
  dryRun: boolean;
  /** Kinds to migrate; undefined = all. */
  only?: ReadonlySet<RecordKind>;
  /** Records per second. */
  rate?: number;
  /** Migrate only shard `index` (1-based) of `count`, split by a stable hash of each record's owner. */
  shard?: { index: number; count: number };
  limits?: Partial<BatchLimits>;
  /** `--delta`: a new pass over every stream whose last pass completed (see RunOptions.delta). */
  delta?: boolean;
  /** `--defer-offline`: read offline messages but leave them for `cutover`. */
  deferOffline?: boolean;
  /** `--control-file`: pause / resume / rate=N, read between batches. */
  controlFile?: string;
  /** `--slow-latency` / `--abort-latency` in ms. */
  latency?: { slowMs?: number; abortMs?: number };
  /** `--plan plan.json`: run only if the source and target still match that saved plan. */
  planFile?: string;
  /**
   * `--inbox`: once every stream is complete, fill MongooseIM's inbox (mod_inbox) from the archives and offline
   * messages in the target (the target's post-step; resumable, and a re-run converges to the same rows).
   */
  inbox?: boolean;
  /**
   * `--register-domains HOST_TYPE`: when the target uses MongooseIM's dynamic domains, add each migrated domain
   * it lacks to domain_settings (with its domain_events row). Without it, such a target refuses the run.
   */
  registerDomains?: string;
  /** Where rejected records go (NDJSON, mode 0600); created only when something is rejected. */
  rejectFile: string;
  onEvent?: RunEventListener;
  signal?: AbortSignal;
}

export interface RunSummary {
  dryRun: boolean;
  /** The checkpoint identity of this migration (source and kind selection), as `status` lists it. */
  migration: string;
  source: string;
  target: string;
  settings: TargetSettings;
  kinds: Partial<Record<RecordKind, KindStats>>;
  streams: StreamSummary[];
  rejected: number;
  /** Set when records were rejected. */
  rejectFile?: string;
  interrupted: boolean;
  ms: number;
  /** `--inbox`: what the rebuild wrote; absent when not asked for, or when the run did not complete. */
  inbox?: InboxRebuildSummary;
  /** `--inbox` asked for but not done, and why (a dry run, an interrupted run). */
  inboxNotRebuilt?: string;
  /** `--mapping`: the file whose domain renames this run applied. */
  mapping?: string;
  /** Dynamic domains this run added to the target's domain_settings (`--register-domains`). */
  registeredDomains?: string[];
}

export async function run(options: RunCommandOptions): Promise<RunSummary> {
  if (options.delta && options.dryRun) {
    throw new UsageError('--delta cannot be rehearsed with --dry-run: a delta reads past the high-water marks stored in the target. `xmpp-migrate status` shows the passes so far; run --delta itself is resumable and safe to repeat.');
  }
  if (options.planFile) await checkSavedPlan(options.planFile, options);
  const settings = await resolveSettings(options);
  const domains = await loadMappingFor(options);
  const source = await openSourceFor(options);
  try {
    const target = await openTargetFor(options, settings, options.dryRun ? 'dry-run' : 'run', options.shard ? `shard ${options.shard.index}/${options.shard.count}` : undefined);
    let noticed = 0;
    const notify = (): void => {
      for (const message of target.notices?.slice(noticed) ?? []) options.onEvent?.({ type: 'target-notice', message });
      noticed = target.notices?.length ?? 0;
    };
    notify();
    try {
      // A dry run writes nothing, so it neither registers domains nor needs them served.
      const served = options.dryRun ? undefined : await prepareServedDomains({ ...options, domains }, source, target);
      const rejects = new FileRejectSink(options.rejectFile);
      try {
        const result = await runMigration({
          source,
          target,
          kinds: options.only,
          limits: { ...DEFAULT_BATCH_LIMITS, ...options.limits },
          rate: options.rate,
          shard: options.shard,
          delta: options.delta,
          defer: options.deferOffline ? new Set(['offline-message'] as const) : undefined,
          control: options.controlFile ? new ControlFile(options.controlFile) : undefined,
          latency: options.latency,
          rejects,
          onEvent: options.onEvent,
          signal: options.signal,
          domains,
          admitDomain: served?.admit,
        });
        notify();
        let inbox: InboxRebuildSummary | undefined;
        let inboxNotRebuilt: string | undefined;
        if (options.inbox) {
          if (result.interrupted) inboxNotRebuilt = 'the run did not complete: run the same command again, the inbox is rebuilt once every stream is complete';
          else if (!target.rebuildInbox) inboxNotRebuilt = options.dryRun ? 'a dry run writes nothing' : `${target.displayName} has no inbox`;
          else inbox = await target.rebuildInbox({ shard: options.shard, signal: options.signal });
        }
        return {
          dryRun: options.dryRun,
          migration: result.migration,
          source: source.displayName,
          target: target.displayName,
          settings,
          kinds: result.kinds,
          streams: result.streams,
          rejected: result.rejected,
          rejectFile: result.rejected > 0 ? options.rejectFile : undefined,
          interrupted: result.interrupted || inbox?.completed === false,
          ms: result.ms,
          ...(inbox ? { inbox } : {}),
          ...(inboxNotRebuilt ? { inboxNotRebuilt } : {}),
          ...(options.mapping !== undefined ? { mapping: options.mapping } : {}),
          ...(served && served.registered().length > 0 ? { registeredDomains: served.registered() } : {}),
        };
      } finally {
        await rejects.close();
        await served?.close();
      }
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
