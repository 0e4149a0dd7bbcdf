// The runner against a real PostgreSQL: a batch the database refuses is bisected down to the bad record,
// which is rejected with the database's reason; every other record is written; the checkpoint passes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceAdapter, SourceItem } from '../../src/adapters/source-adapter.js';
import { RecordError } from '../../src/errors.js';
import { MemoryRejectSink } from '../../src/pipeline/reject-report.js';
import { runMigration } from '../../src/pipeline/runner.js';
import type { MigrationRecord } from '../../src/records.js';
import { PostgresMongooseimTarget } from '../../src/target/mongooseim/postgres-target.js';
import { DEFAULT_TARGET_SETTINGS } from '../../src/target/mongooseim/target-settings.js';
import { openPostgres, type PostgresDatabase } from '../../src/target/postgres/postgres-database.js';
import { Element } from '../../src/xml/element.js';
import { freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';

/** A source over records held in a list: the runner's contract, nothing else. */
function listSource(items: Array<MigrationRecord | RecordError>): SourceAdapter {
  return {
    displayName: 'list:test',
    capabilities: { resume: 'skip', delta: 'none', kinds: ['private-xml'] },
    streams: () => [{ name: 'things', kinds: ['private-xml'] }],
    inventory: async () => ({ description: 'list', counts: {}, owners: {}, credentials: {}, rejects: {}, cannotProvide: [], notes: [] }),
    async *read(_stream: string, after?: string): AsyncIterable<SourceItem> {
      for (let i = after === undefined ? 0 : Number(after) + 1; i < items.length; i++) {
        const item = items[i]!;
        yield item instanceof RecordError ? { reject: item, cursor: String(i).padStart(6, '0') } : { record: item, cursor: String(i).padStart(6, '0') };
      }
    },
    close: async () => undefined,
  };
}

function privateXml(n: number, text: string): MigrationRecord {
  const element = new Element('item', { xmlns: `ns:${n}` });
  element.children.push(text);
  return { kind: 'private-xml', owner: { local: 'alice', domain: 'example.com' }, element, location: { source: 'list:test', key: `item ${n}` } };
}

let fresh: FreshDatabase;
let db: PostgresDatabase;
beforeAll(async () => {
  fresh = await freshPostgresDatabase('runner');
  db = await openPostgres(fresh.url);
});
afterAll(async () => {
  await db.close();
  await fresh.drop();
});

describe('runner', () => {
  it('bisects a refused batch, rejects only the bad records and writes the rest', async () => {
    const target = await PostgresMongooseimTarget.open(db, { settings: { ...DEFAULT_TARGET_SETTINGS, origin: {} }, createSchema: true });
    // U+0000 passes every XML check a program could skip but PostgreSQL text refuses it.
    const items = Array.from({ length: 40 }, (_, n) => privateXml(n, n === 13 || n === 31 ? `bad \u0000 ${n}` : `good ${n}`));
    const withSourceReject: Array<MigrationRecord | RecordError> = [...items.slice(0, 20), new RecordError('invalid-jid', 'source said no', { source: 'list:test', key: 'x' }), ...items.slice(20)];
    const rejects = new MemoryRejectSink();
    const result = await runMigration({ source: listSource(withSourceReject), target, rejects, limits: { rows: 16, bytes: 1 << 20 } });
    expect(result.kinds['private-xml']).toMatchObject({ read: 41, written: 38, rejected: 3 });
    // Rejects of a batch being written can land after those of the next batch being read: compare as a set.
    expect(rejects.entries.map((r) => [r.code, r.location?.key]).sort((a, b) => String(a[1]).localeCompare(String(b[1]), 'en', { numeric: true }))).toEqual([
      ['target-refused-22021', 'item 13'],
      ['target-refused-22021', 'item 31'],
      ['invalid-jid', 'x'],
    ]);
    expect(rejects.entries.find((r) => r.location?.key === 'item 13')!.reason).toMatch(/invalid byte sequence/);
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM private_storage`);
    expect(rows[0]!.n).toBe(38);
    const checkpoints = await target.listCheckpoints();
    expect(checkpoints).toMatchObject([{ stream: 'things', cursor: '000040', completed: true }]);

    // Re-running finds the stream complete and touches nothing.
    const again = await runMigration({ source: listSource(withSourceReject), target, rejects: new MemoryRejectSink() });
    expect(again.streams[0]!.startedFrom).toBe('already complete');
  });
});

describe('bisection inside one source record', () => {
  it('never checkpoints in the middle of the rows one source record fanned out into', async () => {
    const fresh2 = await freshPostgresDatabase('runner_groups');
    const db2 = await openPostgres(fresh2.url);
    try {
      const target = await PostgresMongooseimTarget.open(db2, { settings: { ...DEFAULT_TARGET_SETTINGS, origin: {} }, createSchema: true });
      // Items 2..9 share one cursor, as the messages of one XEP-0136 collection do; item 5 is refused.
      const cursors = ['a', 'b', 'c', 'c', 'c', 'c', 'c', 'c', 'c', 'c', 'd', 'e'];
      const source: SourceAdapter = {
        ...listSource([]),
        async *read(_stream: string, after?: string): AsyncIterable<SourceItem> {
          for (let i = 0; i < cursors.length; i++) {
            if (after !== undefined && cursors[i]! <= after) continue;
            yield { record: privateXml(i, i === 5 ? `bad \u0000` : `ok ${i}`), cursor: cursors[i]! };
          }
        },
      };
      const seen: Array<{ keys: string[]; cursor: string | undefined }> = [];
      const recording = Object.assign(Object.create(target) as typeof target, {
        write: async (batch: Parameters<typeof target.write>[0], checkpoint: Parameters<typeof target.write>[1]) => {
          const outcome = await target.write(batch, checkpoint);
          seen.push({ keys: batch.map((e) => String(e.rows[0]!.namespace)), cursor: checkpoint?.cursor });
          return outcome;
        },
      });
      const rejects = new MemoryRejectSink();
      const result = await runMigration({ source, target: recording, rejects, limits: { rows: 12, bytes: 1 << 20 } });
      expect(result.kinds['private-xml']).toMatchObject({ written: 11, rejected: 1 });
      const written = new Set<string>();
      for (const write of seen) {
        for (const k of write.keys) written.add(k);
        if (write.cursor === undefined) continue;
        // Every item at or before the checkpoint's cursor is written (or was the refused one).
        cursors.forEach((c, i) => {
          if (c <= write.cursor! && i !== 5) expect({ item: i, at: write.cursor, written: written.has(`ns:${i}`) }).toEqual({ item: i, at: write.cursor, written: true });
        });
      }
      expect(seen.some((w) => w.cursor === undefined)).toBe(true);
    } finally {
      await db2.close();
      await fresh2.drop();
    }
  });
});
