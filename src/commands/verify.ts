// `verify`: source/target parity. Every archive the source has must be in the target with the same
// message count, first and last time, and the same content (a hash over the stored message bytes in
// id order, computed by the database on the target side and from our own encoding on the source side).
import { createHash, type Hash } from 'node:crypto';
import { RecordError } from '../errors.js';
import { transformRecord } from '../pipeline/transforms.js';
import type { RecordKind } from '../records.js';
import { CompressionQueue } from '../target/mongooseim/compression-queue.js';
import { archiveKey, MongooseimRowEncoder, SUPPORTED_KINDS } from '../target/mongooseim/row-encoder.js';
import type { EncodedRecord } from '../target/target.js';
import type { ArchiveSummary } from '../target/target.js';
import { loadMappingFor, openSourceFor, openTargetFor, resolveSettings, type CommonOptions } from './context.js';

export interface VerifyOptions extends CommonOptions {
  /**
   * Compare only this many archives, the same ones every time (those whose names hash lowest): a quick
   * check of a very large migration. Counts per kind are still compared in full.
   */
  sample?: number;
  /** List every compared archive, not only those that differ. */
  perOwner?: boolean;
  /**
   * The source was migrated with `--merge-archives`: its messages that another store's migration had already
   * written are in the target as that store's copies, so an archive's hash and times cannot match. Such an
   * archive passes when the target holds at least the source's message count (a weaker check, reported).
   */
  mergedStores?: boolean;
}

export interface ArchiveComparison {
  archive: string;
  type: 'user' | 'room';
  status: 'same' | ArchiveDifference['problem'];
  source?: Omit<ArchiveSummary, 'archive' | 'type'>;
  target?: Omit<ArchiveSummary, 'archive' | 'type'>;
}

export interface ArchiveDifference {
  archive: string;
  problem: 'missing in target' | 'count differs' | 'first time differs' | 'last time differs' | 'content differs';
  source?: Omit<ArchiveSummary, 'archive' | 'type'>;
  target?: Omit<ArchiveSummary, 'archive' | 'type'>;
}

export interface VerifyReport {
  source: string;
  target: string;
  archivesCompared: number;
  messagesInSource: number;
  messagesInTarget: number;
  /** Archives in the target the source does not have (other data, or a renamed domain); not counted when sampling. */
  extraArchivesInTarget: number;
  /** `--sample N`: how many archives the source has, of which `archivesCompared` were compared. */
  sampledFrom?: number;
  /** `--per-owner`: every compared archive with both sides' count, first/last time and content hash. */
  archives?: ArchiveComparison[];
  /** `mergedStores`: archives that differ but hold at least the source's count (passed by count only). */
  mergedArchives?: number;
  differences: ArchiveDifference[];
  /** Source records that a run would reject, by kind: they are not expected in the target. */
  rejectedInSource: Partial<Record<RecordKind, number>>;
  /** Source records of kinds no writer handles yet (a run counts them as skipped). */
  notWrittenKinds: Partial<Record<RecordKind, number>>;
  /**
   * Source records per kind next to the target's rows for that kind. Kinds sharing a table (privacy lists
   * and blocklists) show the table's rows on each; parity needs the table to hold the sum of their records.
   */
  kinds: Array<{ kind: RecordKind; source: number; targetRows: number; table: string }>;
  parity: boolean;
}

/** Messages per chunk handed to the compression worker. */
const VERIFY_CHUNK = 1000;

interface Accumulator {
  type: 'user' | 'room';
  count: number;
  first: bigint;
  last: bigint;
  hash: Hash;
}

const MAIN_TABLES: Partial<Record<RecordKind, string>> = {
  account: 'users',
  'roster-item': 'rosterusers',
  vcard: 'vcard',
  'private-xml': 'private_storage',
  'offline-message': 'offline_message',
  'last-activity': 'last',
  'privacy-list': 'privacy_list',
  // A blocklist is the privacy list `blocking`: both kinds are rows of privacy_list.
  blocklist: 'privacy_list',
  'muc-room': 'muc_rooms',
  'muc-registration': 'muc_registered',
  'pep-item': 'pubsub_item',
};

export async function verify(options: VerifyOptions): Promise<VerifyReport> {
  const settings = await resolveSettings(options);
  // `--mapping`: the target holds the renamed domains, so the source is compared after the same renames.
  const domains = await loadMappingFor(options);
  const source = await openSourceFor(options);
  const archives = new Map<string, Accumulator>();
  const rejectedInSource: Partial<Record<RecordKind, number>> = {};
  const notWrittenKinds: Partial<Record<RecordKind, number>> = {};
  const sourceCounts: Partial<Record<RecordKind, number>> = {};
  const sample = options.sample === undefined ? undefined : new ArchiveSample(options.sample);
  // Compressed terms are deflated in the worker thread as `run` does, a chunk at a time, while the next chunk
  // is read and encoded; chunks are folded into the archive hashes in source order.
  const compression = new CompressionQueue();
  let chunk: EncodedRecord[] = [];
  let compressing: Promise<void> | undefined;
  const fold = (messages: EncodedRecord[]): void => {
    for (const { rows } of messages) {
      const row = rows[0]!;
      const archive = (row.archive as string).replace('\u0000', '/');
      // An archive the sample dropped after this message was read (a lower-hashing one took its place).
      if (sample && !sample.has(archive)) continue;
      const micros = row.micros as bigint;
      let acc = archives.get(archive);
      if (!acc) archives.set(archive, (acc = { type: row.table === 'mam_message' ? 'user' : 'room', count: 0, first: micros, last: micros, hash: createHash('md5') }));
      acc.count++;
      if (micros < acc.first) acc.first = micros;
      if (micros > acc.last) acc.last = micros;
      acc.hash.update(createHash('md5').update(row.message as Buffer).digest('hex'));
    }
  };
  const dispatch = async (): Promise<void> => {
    const messages = chunk;
    chunk = [];
    const done = compression.settle(messages);
    // One chunk in the worker at a time: the one before is folded first, so hashes take messages in order.
    const previous = compressing;
    compressing = done.then(async () => {
      await previous;
      fold(messages);
    });
    compressing.catch(() => undefined); // surfaced below, when awaited
    if (previous) await previous;
  };
  try {
    // Encode exactly as `run` does (same settings, same id allocation) but keep only what parity needs.
    const encoder = new MongooseimRowEncoder({ ...settings, passwordFormat: 'plain' }, Buffer.alloc(32));
    encoder.deferCompression = true;
    for (const stream of source.streams()) {
      encoder.allocator.restore(undefined);
      for await (const item of source.read(stream.name)) {
        if ('reject' in item) continue;
        for (const record of transformRecord(item.record, { domains })) {
          if (!SUPPORTED_KINDS.has(record.kind)) {
            notWrittenKinds[record.kind] = (notWrittenKinds[record.kind] ?? 0) + 1;
            continue;
          }
          // A message of an archive outside the sample is not encoded at all: the sample is what makes verify quick.
          if (sample && record.kind === 'archived-message' && !sample.admits(archiveKey(record.archive.jid.domain, record.archive.jid.local).replace('\u0000', '/'), archives)) continue;
          let encoded;
          try {
            encoded = await encoder.encode(record);
          } catch (err) {
            if (!(err instanceof RecordError)) throw err;
            rejectedInSource[record.kind] = (rejectedInSource[record.kind] ?? 0) + 1;
            continue;
          }
          const row = encoded.rows[0];
          if (!row) continue;
          sourceCounts[record.kind] = (sourceCounts[record.kind] ?? 0) + 1;
          if (row.table !== 'mam_message' && row.table !== 'mam_muc_message') continue;
          compression.add(encoded);
          chunk.push(encoded);
          if (chunk.length >= VERIFY_CHUNK) await dispatch();
        }
      }
    }
    await dispatch();
    await compressing;
  } finally {
    await source.close();
    await compression.close();
  }

  const target = await openTargetFor(options, settings, 'read');
  try {
    const differences: ArchiveDifference[] = [];
    const comparisons: ArchiveComparison[] = [];
    let mergedArchives = 0;
    let messagesInTarget = 0;
    let extra = 0;
    const seen = new Set<string>();
    const sourceSummaries = new Map<string, Omit<ArchiveSummary, 'archive' | 'type'>>();
    for (const [archive, acc] of archives) {
      sourceSummaries.set(archive, { count: acc.count, firstMicros: acc.first, lastMicros: acc.last, contentHash: acc.hash.digest('hex') });
    }
    for await (const summary of target.archiveSummaries(sample ? [...sourceSummaries.keys()] : undefined)) {
      const expected = sourceSummaries.get(summary.archive);
      if (!expected) {
        extra++;
        continue;
      }
      seen.add(summary.archive);
      messagesInTarget += summary.count;
      const actual = { count: summary.count, firstMicros: summary.firstMicros, lastMicros: summary.lastMicros, contentHash: summary.contentHash };
      const problem =
        actual.count !== expected.count ? 'count differs'
        : actual.firstMicros !== expected.firstMicros ? 'first time differs'
        : actual.lastMicros !== expected.lastMicros ? 'last time differs'
        : actual.contentHash !== expected.contentHash ? 'content differs'
        : undefined;
      if (problem && options.mergedStores && actual.count >= expected.count) mergedArchives++;
      else if (problem) differences.push({ archive: summary.archive, problem, source: expected, target: actual });
      if (options.perOwner) comparisons.push({ archive: summary.archive, type: summary.type, status: problem ?? 'same', source: expected, target: actual });
    }
    for (const [archive, expected] of sourceSummaries) {
      if (seen.has(archive)) continue;
      differences.push({ archive, problem: 'missing in target', source: expected });
      if (options.perOwner) comparisons.push({ archive, type: archives.get(archive)!.type, status: 'missing in target', source: expected });
    }
    const inventory = await target.inventory();
    const kinds = Object.entries(MAIN_TABLES).map(([kind, table]) => ({
      kind: kind as RecordKind,
      source: sourceCounts[kind as RecordKind] ?? 0,
      targetRows: inventory.tables[table!] ?? 0,
      table: table!,
    }));
    const messagesInSource = [...sourceSummaries.values()].reduce((n, s) => n + s.count, 0);
    return {
      source: source.displayName,
      target: target.displayName,
      archivesCompared: sourceSummaries.size,
      messagesInSource,
      messagesInTarget,
      extraArchivesInTarget: sample ? 0 : extra,
      ...(options.mergedStores ? { mergedArchives } : {}),
      ...(sample ? { sampledFrom: sample.seen } : {}),
      ...(options.perOwner ? { archives: comparisons.sort((a, b) => (a.archive < b.archive ? -1 : a.archive > b.archive ? 1 : 0)) } : {}),
      differences,
      rejectedInSource,
      notWrittenKinds,
      kinds,
      parity: differences.length === 0 && tablesHoldTheirKinds(kinds),
    };
  } finally {
    await target.close();
  }
}

/** Every main table has at least as many rows as the source has records of the kinds stored in it. */
function tablesHoldTheirKinds(kinds: VerifyReport['kinds']): boolean {
  const byTable = new Map<string, { source: number; targetRows: number }>();
  for (const k of kinds) {
    const t = byTable.get(k.table) ?? { source: 0, targetRows: k.targetRows };
    t.source += k.source;
    byTable.set(k.table, t);
  }
  return [...byTable.values()].every((t) => t.targetRows >= t.source);
}

/**
 * A fixed sample of archives: the `size` whose names hash lowest. Decided as each archive first appears, in
 * constant memory: an archive outside the current sample stays outside, since later archives only lower the
 * bar; one pushed out loses its accumulator.
 */
class ArchiveSample {
  seen = 0;
  private readonly members = new Map<string, bigint>();
  private readonly outside = new Set<string>();
  private bar: { archive: string; hash: bigint } | undefined;

  constructor(private readonly size: number) {}

  has(archive: string): boolean {
    return this.members.has(archive);
  }

  admits(archive: string, accumulators: Map<string, unknown>): boolean {
    if (this.members.has(archive)) return true;
    if (this.outside.has(archive)) return false;
    const hash = createHash('sha1').update(archive).digest().readBigUInt64BE(0);
    this.seen++;
    if (this.members.size >= this.size) {
      if (hash >= this.bar!.hash) {
        this.remember(archive);
        return false;
      }
      this.members.delete(this.bar!.archive);
      accumulators.delete(this.bar!.archive);
      this.remember(this.bar!.archive);
    }
    this.members.set(archive, hash);
    this.bar = undefined;
    for (const [name, h] of this.members) if (!this.bar || h > this.bar.hash) this.bar = { archive: name, hash: h };
    return true;
  }

  /** Names outside the sample, so an archive seen again is not counted twice; bounded like the sample. */
  private remember(archive: string): void {
    if (this.outside.size < 100_000) this.outside.add(archive);
  }
}
