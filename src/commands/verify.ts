// `verify`: source/target parity. Every archive the source has must be in the target with the same
// message count, first and last time, and the same content (a hash over the stored message bytes in
// id order, computed by the database on the target side and from our own encoding on the source side).
import { createHash, type Hash } from 'node:crypto';
import { RecordError } from '../errors.js';
import { transformRecord } from '../pipeline/transforms.js';
import type { RecordKind } from '../records.js';
import { MongooseimRowEncoder, SUPPORTED_KINDS } from '../target/mongooseim/row-encoder.js';
import type { ArchiveSummary } from '../target/target.js';
import { openSourceFor, openTargetFor, resolveSettings, type CommonOptions } from './context.js';

export type VerifyOptions = CommonOptions;

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
  /** Archives in the target the source does not have (other data, or a renamed domain). */
  extraArchivesInTarget: number;
  differences: ArchiveDifference[];
  /** Source records that a run would reject, by kind: they are not expected in the target. */
  rejectedInSource: Partial<Record<RecordKind, number>>;
  /** Source records of kinds no writer handles yet (a run counts them as skipped). */
  notWrittenKinds: Partial<Record<RecordKind, number>>;
  /** Source records per kind next to the target's rows for that kind. */
  kinds: Array<{ kind: RecordKind; source: number; targetRows: number; table: string }>;
  parity: boolean;
}

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
};

export async function verify(options: VerifyOptions): Promise<VerifyReport> {
  const settings = await resolveSettings(options);
  const source = await openSourceFor(options);
  const archives = new Map<string, Accumulator>();
  const rejectedInSource: Partial<Record<RecordKind, number>> = {};
  const notWrittenKinds: Partial<Record<RecordKind, number>> = {};
  const sourceCounts: Partial<Record<RecordKind, number>> = {};
  try {
    // Encode exactly as `run` does (same settings, same id allocation) but keep only what parity needs.
    const encoder = new MongooseimRowEncoder({ ...settings, passwordFormat: 'plain' }, Buffer.alloc(32));
    for (const stream of source.streams()) {
      encoder.allocator.restore(undefined);
      for await (const item of source.read(stream.name)) {
        if ('reject' in item) continue;
        for (const record of transformRecord(item.record)) {
          if (!SUPPORTED_KINDS.has(record.kind)) {
            notWrittenKinds[record.kind] = (notWrittenKinds[record.kind] ?? 0) + 1;
            continue;
          }
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
          const archive = (row.archive as string).replace('\u0000', '/');
          const micros = row.micros as bigint;
          let acc = archives.get(archive);
          if (!acc) archives.set(archive, (acc = { type: row.table === 'mam_message' ? 'user' : 'room', count: 0, first: micros, last: micros, hash: createHash('md5') }));
          acc.count++;
          if (micros < acc.first) acc.first = micros;
          if (micros > acc.last) acc.last = micros;
          acc.hash.update(createHash('md5').update(row.message as Buffer).digest('hex'));
        }
      }
    }
  } finally {
    await source.close();
  }

  const target = await openTargetFor(options, settings, 'read');
  try {
    const differences: ArchiveDifference[] = [];
    let messagesInTarget = 0;
    let extra = 0;
    const seen = new Set<string>();
    const sourceSummaries = new Map<string, Omit<ArchiveSummary, 'archive' | 'type'>>();
    for (const [archive, acc] of archives) {
      sourceSummaries.set(archive, { count: acc.count, firstMicros: acc.first, lastMicros: acc.last, contentHash: acc.hash.digest('hex') });
    }
    for await (const summary of target.archiveSummaries()) {
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
      if (problem) differences.push({ archive: summary.archive, problem, source: expected, target: actual });
    }
    for (const [archive, expected] of sourceSummaries) {
      if (!seen.has(archive)) differences.push({ archive, problem: 'missing in target', source: expected });
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
      extraArchivesInTarget: extra,
      differences,
      rejectedInSource,
      notWrittenKinds,
      kinds,
      parity: differences.length === 0 && kinds.every((k) => k.targetRows >= k.source),
    };
  } finally {
    await target.close();
  }
}
