// The runner: pulls records from a source stream, encodes them, writes batches bounded by rows and bytes
// with the checkpoint in the same transaction, bisects a batch the database refuses, rejects record by
// record, and resumes strictly after the last committed cursor.
import { createHash } from 'node:crypto';
import type { SourceAdapter, StreamInfo } from '../adapters/source-adapter.js';
import { RecordError, TargetError, errorMessage } from '../errors.js';
import { ownerKeyOf, shardOf, type MigrationRecord, type RecordKind } from '../records.js';
import type { CheckpointKey, EncodedRecord, MigrationTarget, StreamPass, WriteOutcome } from '../target/target.js';
import { TargetDataError } from '../target/target.js';
import { DEFAULT_BATCH_LIMITS, RETRY_BASE_MS, TARGET_RETRIES, type BatchLimits } from './batch-limits.js';
import type { RejectSink } from './reject-report.js';
import { describeRecord } from './reject-report.js';
import { emptyKindStats, type KindStats, type RunEventListener, type StreamSummary } from './run-events.js';
import type { RunControl } from './run-control.js';
import { TokenBucket } from './token-bucket.js';
import { transform, type TransformOutcome } from './transforms.js';
import { servedDomainOf, type DomainMapping } from '../mappings/domain-mapping.js';

export interface RunOptions {
  source: SourceAdapter;
  target: MigrationTarget;
  /** Kinds to migrate; undefined = every kind. */
  kinds?: ReadonlySet<RecordKind>;
  limits?: BatchLimits;
  /** Records per second; undefined = as fast as the target accepts. */
  rate?: number;
  /** `--shard k/n`: migrate only the owners whose stable hash falls in shard k (1-based) of n. */
  shard?: { index: number; count: number };
  /**
   * `run --delta`: each stream whose last pass completed gets a new pass, reading past that pass's high-water
   * mark (or the whole stream when it has none) and bringing present rows up to date. Without it, a stream
   * whose last pass completed is left alone; an unfinished pass is resumed either way.
   */
  delta?: boolean;
  /**
   * Kinds read but not written by this run (`--defer-offline`): offline messages while the old server still
   * delivers them. `cutover` writes them, from its fresh read of the frozen source.
   */
  defer?: ReadonlySet<RecordKind>;
  /** Live control between batches: pause, resume, change the rate (`--control-file`). */
  control?: RunControl;
  /**
   * Write latency bounds on a live target: a batch slower than `slowMs` halves the rate (recovered step by
   * step once batches are fast again); one slower than `abortMs` stops the run, resumable.
   */
  latency?: { slowMs?: number; abortMs?: number };
  rejects: RejectSink & { sync?: () => Promise<void> };
  onEvent?: RunEventListener;
  signal?: AbortSignal;
  /** `--mapping FILE`: domain renames applied by the transforms; part of the checkpoint identity. */
  domains?: DomainMapping;
  /**
   * Called once per user domain (after renames) before the first record of that domain is encoded: under
   * MongooseIM's dynamic domains it registers the domain or refuses (throws) when it is not served.
   */
  admitDomain?: (domain: string) => Promise<void>;
}

export interface RunResult {
  /** The checkpoint identity of this migration (source and kind selection). */
  migration: string;
  kinds: Partial<Record<RecordKind, KindStats>>;
  streams: StreamSummary[];
  rejected: number;
  interrupted: boolean;
  ms: number;
}

/** Records read between two turns of the event loop. */
const EVENT_LOOP_TURN_RECORDS = 32;

interface Pending {
  encoded: EncodedRecord;
  record: MigrationRecord;
  cursor: string;
  stream: string;
}

/**
 * The checkpoint identity of a migration: the same source, kind selection and domain mapping resume each
 * other; a run with another mapping (or none) has checkpoints of its own.
 */
export function migrationKey(source: SourceAdapter, kinds?: ReadonlySet<RecordKind>, domains?: DomainMapping): string {
  const selection = kinds ? [...kinds].sort().join(',') : 'all';
  const mapping = domains ? `\nmapping ${domains.fingerprint}` : '';
  return createHash('sha256').update(`${source.displayName}\n${selection}${mapping}`).digest('hex').slice(0, 16);
}

export async function runMigration(options: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const { source, target, rejects } = options;
  const limits = options.limits ?? DEFAULT_BATCH_LIMITS;
  const emit = options.onEvent ?? (() => undefined);
  let bucket = options.rate ? new TokenBucket(options.rate) : undefined;
  let currentRate = options.rate;
  /** The rate the operator allows (undefined: unlimited); latency back-off stays under it. */
  let ceilingRate = options.rate;
  let fastBatches = 0;
  /** Records/s the target took just before the first back-off: growing past it again lifts the limit. */
  let unthrottled: number | undefined;
  const migration = migrationKey(source, options.kinds, options.domains);
  const admittedDomains = new Set<string>();
  const kinds: Partial<Record<RecordKind, KindStats>> = {};
  const statsOf = (kind: RecordKind): KindStats => (kinds[kind] ??= emptyKindStats());
  const streams: StreamSummary[] = [];
  let interrupted = false;

  const selectedStreams = source.streams().filter((s) => !options.kinds || s.kinds.some((k) => options.kinds!.has(k)));
  for (const stream of selectedStreams) {
    if (options.signal?.aborted) {
      interrupted = true;
      break;
    }
    const summary = await runStream(stream);
    streams.push(summary);
    emit({ type: 'stream-end', stream: stream.name, summary });
  }
  return { migration, kinds, streams, rejected: rejects.count, interrupted, ms: performance.now() - started };

  /**
   * Which pass over the stream this run makes: the latest one when it is unfinished (resumed), else a new
   * delta pass when asked for, else none (already complete). A new pass's high-water mark is taken and saved
   * before it reads anything, so whatever arrives while it runs is read by this pass or by the next one.
   */
  async function choosePass(stream: StreamInfo, shard: string): Promise<{ index: number; pass: StreamPass; key: CheckpointKey }> {
    const base: CheckpointKey = { migration, stream: stream.name, shard };
    const keyOf = (index: number): CheckpointKey => (index === 0 ? base : { ...base, stream: `${stream.name}#${index}` });
    const ledger = (await withRetry(stream.name, () => target.loadPassLedger(base))) ?? { passes: [] };
    if (ledger.passes.length === 0) {
      // A first pass, or one a version without ledgers started: its mark is unknown then, and the next delta reads everything.
      const started = await withRetry(stream.name, () => target.beginStream(base));
      const mark = started ? undefined : await source.highWater?.(stream.name);
      ledger.passes.push({ mark, startedAt: new Date().toISOString() });
      await withRetry(stream.name, () => target.savePassLedger(base, ledger));
    }
    const latest = ledger.passes.length - 1;
    if (!options.delta) return { index: latest, pass: ledger.passes[latest]!, key: keyOf(latest) };
    const checkpoint = await withRetry(stream.name, () => target.beginStream(keyOf(latest)));
    if (!checkpoint?.completed) return { index: latest, pass: ledger.passes[latest]!, key: keyOf(latest) };
    const pass: StreamPass = { since: ledger.passes[latest]!.mark, mark: await source.highWater?.(stream.name), startedAt: new Date().toISOString() };
    ledger.passes.push(pass);
    await withRetry(stream.name, () => target.savePassLedger(base, ledger));
    return { index: latest + 1, pass, key: keyOf(latest + 1) };
  }

  async function runStream(stream: StreamInfo): Promise<StreamSummary> {
    const t0 = performance.now();
    const { index: passIndex, pass, key } = await choosePass(stream, options.shard ? `${options.shard.index}/${options.shard.count}` : 'all');
    const refresh = passIndex > 0;
    const checkpoint = await withRetry(stream.name, () => target.beginStream(key));
    const startedFrom: StreamSummary['startedFrom'] = checkpoint?.completed ? 'already complete' : checkpoint?.cursor ? 'resumed' : 'start';
    emit({ type: 'stream-start', stream: stream.name, startedFrom, pass: passIndex, since: pass.since });
    if (checkpoint?.completed) return { stream: stream.name, startedFrom, pass: passIndex, since: pass.since, records: checkpoint.records, batches: 0, ms: 0 };

    let records = checkpoint?.records ?? 0;
    let batches = 0;
    let batch: Pending[] = [];
    let batchBytes = 0;
    let cursor = checkpoint?.cursor;
    const skippedKinds = new Set<RecordKind>();
    const skipReasons = new Set<string>();

    // One batch is written while the next is read and encoded: the database and the encoder work at the same
    // time, while writes (and so checkpoints) still happen one at a time and in order.
    let inFlight: Promise<void> | undefined;
    const flush = async (completed: boolean): Promise<void> => {
      if (batch.length === 0 && cursor === undefined) return;
      const entries = batch;
      const at = cursor!;
      const recordsAt = records;
      batch = [];
      batchBytes = 0;
      if (entries.length > 0) target.batchComplete?.();
      if (inFlight) await inFlight;
      const write = writeBatch(entries, at, completed, recordsAt);
      write.catch(() => undefined); // surfaced when awaited: before the next write, or at the end
      inFlight = write;
      if (completed) {
        inFlight = undefined;
        await write;
      }
    };

    const writeBatch = async (entries: Pending[], at: string, completed: boolean, recordsAt: number): Promise<void> => {
      await obeyControl();
      if (bucket && entries.length > 0) await bucket.take(entries.length, options.signal);
      await rejects.sync?.();
      const t = performance.now();
      if (entries.length === 0) {
        await withRetry(stream.name, () => target.saveCheckpoint({ key, cursor: at, completed, records: recordsAt }));
      } else {
        await writeBisecting(entries, at, completed, recordsAt);
      }
      batches++;
      const bytes = entries.reduce((n, e) => n + e.encoded.bytes, 0);
      const ms = performance.now() - t;
      emit({ type: 'batch-written', stream: stream.name, records: entries.length, bytes, ms, totalRecords: recordsAt });
      if (entries.length > 0) adaptToLatency(ms, entries.length);
    };

    /** `lastCursor` undefined: these rows are part of one record whose other rows follow; keep the checkpoint. */
    const writeBisecting = async (entries: Pending[], lastCursor: string | undefined, completed: boolean, recordsAt: number): Promise<void> => {
      const checkpoint = lastCursor === undefined ? undefined : { key, cursor: lastCursor, completed, records: recordsAt };
      try {
        const outcome = await withRetry(stream.name, () => target.write(entries.map((e) => e.encoded), checkpoint, { refresh, migration }));
        count(outcome);
      } catch (err) {
        if (!(err instanceof TargetDataError)) throw err;
        if (entries.length === 1) {
          const entry = entries[0]!;
          await reject(stream.name, entry.record.kind, new RecordError(`target-refused-${err.sqlState ?? 'data'}`, `the target database refused this record: ${errorMessage(err)}`, entry.record.location), entry.record);
          await rejects.sync?.();
          if (checkpoint) await withRetry(stream.name, () => target.saveCheckpoint(checkpoint));
          return;
        }
        // Split where the cursor changes: rows fanned out of one source record (a XEP-0136 collection) share
        // its cursor, and a checkpoint inside them would skip the rest of it after a crash.
        const middle = entries.length >> 1;
        let split = middle;
        while (split > 0 && entries[split - 1]!.cursor === entries[split]!.cursor) split--;
        if (split === 0) {
          split = middle;
          while (split < entries.length && entries[split - 1]!.cursor === entries[split]!.cursor) split++;
        }
        const whole = split === entries.length;
        if (whole) split = middle;
        await writeBisecting(entries.slice(0, split), whole ? undefined : entries[split - 1]!.cursor, false, recordsAt);
        await writeBisecting(entries.slice(split), lastCursor, completed, recordsAt);
      }
    };

    try {
      let sinceTurn = 0;
      for await (const item of source.read(stream.name, checkpoint?.cursor, pass.since)) {
        // A source that yields from memory never returns to the event loop on its own: the write in flight
        // (database replies, the compression worker's answer) would wait for the next file read. A turn every
        // few records keeps it moving (200k messages: 9,700 → 10,600 msg/s, the reader's wait 8.3 → 3.3 s).
        if (++sinceTurn >= EVENT_LOOP_TURN_RECORDS) {
          sinceTurn = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
        records++;
        cursor = item.cursor;
        if ('reject' in item) {
          // A source reject has no owner to shard by: the first shard reports it, the others would repeat it.
          if (options.shard && options.shard.index !== 1) continue;
          const kind = stream.kinds.length === 1 ? stream.kinds[0] : undefined;
          if (kind) statsOf(kind).read++;
          await reject(stream.name, kind, item.reject, undefined, item.excerpt);
        } else {
          await accept(item.record, item.cursor);
        }
        if (batch.length >= limits.rows || batchBytes >= limits.bytes) {
          await flush(false);
          if (options.signal?.aborted) {
            interrupted = true;
            await inFlight;
            return { stream: stream.name, startedFrom, pass: passIndex, since: pass.since, records, batches, ms: performance.now() - t0 };
          }
        }
      }
      await flush(true);
    } finally {
      // Whatever ended the read (an error included), the write in flight finishes or fails before we return.
      await inFlight?.catch(() => undefined);
    }
    return { stream: stream.name, startedFrom, pass: passIndex, since: pass.since, records, batches, ms: performance.now() - t0 };

    async function accept(record: MigrationRecord, itemCursor: string): Promise<void> {
      if (options.shard && shardOf(ownerKeyOf(record), options.shard.count) !== options.shard.index - 1) return;
      statsOf(record.kind).read++;
      if (options.kinds && !options.kinds.has(record.kind)) {
        statsOf(record.kind).skipped++;
        return;
      }
      let transformed: TransformOutcome;
      try {
        transformed = transform(record, { domains: options.domains });
      } catch (err) {
        if (err instanceof RecordError) return reject(stream.name, record.kind, err, record);
        throw err;
      }
      // A partly bad record (one entry of a XEP-0136 collection): its bad parts are rejected, the rest goes on.
      for (const err of transformed.rejects) await reject(stream.name, record.kind, err, record);
      for (const part of transformed.skipped) {
        statsOf(part.kind).skipped += part.count;
        if (!skipReasons.has(part.reason)) {
          skipReasons.add(part.reason);
          emit({ type: 'kind-skipped', stream: stream.name, kind: part.kind, reason: part.reason });
        }
      }
      for (const rec of transformed.records) {
        const domain = options.admitDomain ? servedDomainOf(rec) : undefined;
        if (domain !== undefined && !admittedDomains.has(domain)) {
          await options.admitDomain!(domain);
          admittedDomains.add(domain);
        }
        if (options.defer?.has(rec.kind)) {
          statsOf(rec.kind).skipped++;
          if (!skippedKinds.has(rec.kind)) {
            skippedKinds.add(rec.kind);
            emit({ type: 'kind-skipped', stream: stream.name, kind: rec.kind, reason: 'deferred to cutover: the old server may still deliver them' });
          }
          continue;
        }
        if (!target.supportedKinds.has(rec.kind)) {
          statsOf(rec.kind).skipped++;
          if (!skippedKinds.has(rec.kind)) {
            skippedKinds.add(rec.kind);
            emit({ type: 'kind-skipped', stream: stream.name, kind: rec.kind, reason: 'the MongooseIM writer does not handle this kind yet' });
          }
          continue;
        }
        try {
          const encoded = await target.encode(rec);
          if (encoded.rows.length === 0) {
            statsOf(rec.kind).skipped++;
            if (encoded.skipReason && !skipReasons.has(encoded.skipReason)) {
              skipReasons.add(encoded.skipReason);
              emit({ type: 'kind-skipped', stream: stream.name, kind: rec.kind, reason: encoded.skipReason });
            }
            continue;
          }
          batch.push({ encoded, record: rec, cursor: itemCursor, stream: stream.name });
          batchBytes += encoded.bytes;
          statsOf(rec.kind).bytes += encoded.bytes;
        } catch (err) {
          if (err instanceof RecordError) await reject(stream.name, rec.kind, err, rec);
          else throw err;
        }
      }
    }
  }

  function count(outcome: WriteOutcome): void {
    for (const [kind, n] of Object.entries(outcome.written)) statsOf(kind as RecordKind).written += n ?? 0;
    for (const [kind, n] of Object.entries(outcome.present)) statsOf(kind as RecordKind).present += n ?? 0;
    for (const [kind, n] of Object.entries(outcome.updated ?? {})) statsOf(kind as RecordKind).updated += n ?? 0;
    for (const [kind, n] of Object.entries(outcome.merged ?? {})) statsOf(kind as RecordKind).merged += n ?? 0;
  }

  /**
   * AIMD on the write rate: halve it after a batch slower than the bound, grow it by half after ten fast
   * batches in a row, up to what the command line (or the control file) allows.
   */
  function adaptToLatency(ms: number, records: number): void {
    const { slowMs, abortMs } = options.latency ?? {};
    if (abortMs !== undefined && ms > abortMs) {
      throw new TargetError('target-too-slow', `a batch of ${records} records took ${Math.round(ms)} ms, past the abort bound of ${abortMs} ms (--abort-latency): the target is struggling, so the run stopped after committing it. Re-run the same command to resume once the target has recovered (or raise the bound).`);
    }
    if (slowMs === undefined) return;
    if (ms > slowMs) {
      fastBatches = 0;
      const observed = (records / ms) * 1000;
      unthrottled ??= observed;
      const rate = Math.max(1, Math.floor(Math.min(currentRate ?? observed, observed) / 2));
      currentRate = rate;
      bucket = new TokenBucket(rate);
      emit({ type: 'rate-changed', rate, reason: `a batch took ${Math.round(ms)} ms, past --slow-latency ${slowMs} ms: backing off` });
    } else if (ms < slowMs / 2 && currentRate !== ceilingRate) {
      if (++fastBatches < 10) return;
      fastBatches = 0;
      const grown = Math.ceil((currentRate ?? 0) * 1.5);
      currentRate = ceilingRate !== undefined && grown >= ceilingRate ? ceilingRate : ceilingRate === undefined && grown >= (unthrottled ?? 0) ? undefined : grown;
      if (currentRate === ceilingRate) unthrottled = undefined;
      bucket = currentRate ? new TokenBucket(currentRate) : undefined;
      emit({ type: 'rate-changed', rate: currentRate, reason: 'batches are fast again: speeding up' });
    }
  }

  /** Between batches: waits while the operator has paused the run; applies a changed rate. */
  async function obeyControl(): Promise<void> {
    const control = options.control;
    if (!control) return;
    let state = await control.read();
    if (state.paused) {
      emit({ type: 'paused', reason: state.reason });
      while (state.paused && !options.signal?.aborted) {
        await new Promise((resolve) => setTimeout(resolve, control.pollMs));
        state = await control.read();
      }
      emit({ type: 'resumed', rate: state.rate ?? currentRate });
    }
    if (state.rate !== undefined && state.rate !== currentRate) {
      currentRate = state.rate > 0 ? state.rate : undefined;
      ceilingRate = currentRate;
      bucket = currentRate ? new TokenBucket(currentRate) : undefined;
      emit({ type: 'rate-changed', rate: state.rate, reason: `${control.describe()} set rate=${state.rate}` });
    }
  }

  async function reject(stream: string, kind: RecordKind | undefined, error: RecordError, record?: MigrationRecord, excerpt?: string): Promise<void> {
    if (kind) statsOf(kind).rejected++;
    await rejects.add({
      stream,
      kind,
      code: error.code,
      reason: error.message,
      location: error.location ?? record?.location,
      record: record ? describeRecord(record) : undefined,
      excerpt,
    });
    emit({ type: 'record-rejected', stream, code: error.code, reason: error.message, location: error.location ?? record?.location });
  }

  async function withRetry<T>(stream: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof TargetError) || !err.retryable || attempt > TARGET_RETRIES) throw err;
        const delayMs = RETRY_BASE_MS * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
        emit({ type: 'retry', stream, attempt, delayMs, reason: err.message });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }
}
