// `run` and `run --dry-run`: migrate the source into the target, resumably.
import type { BatchLimits } from '../pipeline/batch-limits.js';
import { DEFAULT_BATCH_LIMITS } from '../pipeline/batch-limits.js';
import { FileRejectSink } from '../pipeline/reject-report.js';
import type { KindStats, RunEventListener, StreamSummary } from '../pipeline/run-events.js';
import { runMigration } from '../pipeline/runner.js';
import type { RecordKind } from '../records.js';
import type { TargetSettings } from '../target/mongooseim/target-settings.js';
import { openSourceFor, openTargetFor, resolveSettings, type CommonOptions } from './context.js';

export interface RunCommandOptions extends CommonOptions {
  dryRun: boolean;
  /** Kinds to migrate; undefined = all. */
  only?: ReadonlySet<RecordKind>;
  /** Records per second. */
  rate?: number;
  /** Migrate only shard `index` (1-based) of `count`, split by a stable hash of each record's owner. */
  shard?: { index: number; count: number };
  limits?: Partial<BatchLimits>;
  /** Where rejected records go (NDJSON, mode 0600); created only when something is rejected. */
  rejectFile: string;
  onEvent?: RunEventListener;
  signal?: AbortSignal;
}

export interface RunSummary {
  dryRun: boolean;
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
}

export async function run(options: RunCommandOptions): Promise<RunSummary> {
  const settings = await resolveSettings(options);
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
      const rejects = new FileRejectSink(options.rejectFile);
      try {
        const result = await runMigration({
          source,
          target,
          kinds: options.only,
          limits: { ...DEFAULT_BATCH_LIMITS, ...options.limits },
          rate: options.rate,
          shard: options.shard,
          rejects,
          onEvent: options.onEvent,
          signal: options.signal,
        });
        notify();
        return {
          dryRun: options.dryRun,
          source: source.displayName,
          target: target.displayName,
          settings,
          kinds: result.kinds,
          streams: result.streams,
          rejected: result.rejected,
          rejectFile: result.rejected > 0 ? options.rejectFile : undefined,
          interrupted: result.interrupted,
          ms: result.ms,
        };
      } finally {
        await rejects.close();
      }
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
