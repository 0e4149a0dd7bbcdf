// What only MySQL/MariaDB has: two bulk paths (LOAD DATA LOCAL INFILE, and multi-row INSERTs when the server
// forbids local infile) that must write the same bytes; max_allowed_packet; character sets that cannot
// hold emoji; case- and accent-insensitive keys; GET_LOCK. Against the real MariaDB 10.11 of the test setup.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plan } from '../../src/commands/plan.js';
import { PlanRefusedError, TargetError } from '../../src/errors.js';
import type { MigrationRecord, SourceLocation } from '../../src/records.js';
import { MongooseimSqlTarget } from '../../src/target/mongooseim/mongooseim-sql-target.js';
import { DEFAULT_TARGET_SETTINGS, type TargetSettings } from '../../src/target/mongooseim/target-settings.js';
import { openMysql, type MysqlDatabase } from '../../src/target/mysql/mysql-database.js';
import { MysqlDialect } from '../../src/target/mysql/mysql-dialect.js';
import { openTarget } from '../../src/target/open-target.js';
import { TargetDataError, type CheckpointKey, type EncodedRecord } from '../../src/target/target.js';
import { parseXml } from '../../src/xml/element.js';
import { freshMysqlDatabase, mysqlServer, type FreshDatabase } from '../support/databases.js';
import { dumpMongooseim } from '../support/target-dump.js';
import { isSelected } from './target-dialects.js';

const here: SourceLocation = { source: 'test', key: 'case' };
const settings: TargetSettings = { ...DEFAULT_TARGET_SETTINGS, origin: {}, scramIterations: 4096, passwordHashes: ['sha256'] };
const T0 = 1704110400123456n;
const fixture = join(import.meta.dirname, '..', 'fixtures', 'xep0227', 'full-v1.1.xml');

/** A batch of every kind, with emoji, control characters and backslashes where a bulk format could trip. */
function records(n: number): MigrationRecord[] {
  const out: MigrationRecord[] = [];
  for (let i = 0; i < n; i++) {
    const owner = { local: `user${i}`, domain: 'example.com' };
    // \u001a (MySQL's \Z) cannot appear in XML: only in the values that are not.
    const xmlText = `line ${i}\ttab\nnewline \\N back\\slash 'quote' "dq" 😀 ${'x'.repeat(i % 50)}`;
    const text = `${xmlText} \u001a \u0000`;
    out.push(
      { kind: 'account', jid: owner, credential: { type: 'plain', password: `pw${i}` }, createdAt: T0 + BigInt(i), location: here },
      { kind: 'roster-item', owner, contact: `friend${i}@example.com`, name: text, subscription: 'both', ask: 'none', askMessage: '', groups: ['G', text], location: here },
      { kind: 'private-xml', owner, element: parseXml(`<p xmlns='ns:${i}'>${xmlText}</p>`), location: here },
      {
        kind: 'archived-message', archive: { type: 'user', jid: owner }, timestamp: T0 + BigInt(i), direction: i % 2 ? 'in' : 'out', remote: `friend${i}@example.com/r`,
        stanza: parseXml(`<message xmlns='jabber:client' from='${i % 2 ? `friend${i}@example.com/r` : `user${i}@example.com/p`}' to='x@example.com' type='chat'><body>${xmlText}</body></message>`), location: here,
      },
      { kind: 'offline-message', owner, timestamp: T0 + BigInt(i), from: `friend${i}@example.com/r`, stanza: parseXml(`<message xmlns='jabber:client' to='user${i}@example.com'><body>off ${i} 😀</body></message>`), location: here },
    );
  }
  return out;
}

async function writeAll(target: MongooseimSqlTarget, recs: MigrationRecord[], stream: string): Promise<void> {
  const key: CheckpointKey = { migration: 'mysql', stream, shard: 'all' };
  await target.beginStream(key);
  const batch: EncodedRecord[] = [];
  for (const r of recs) batch.push(await target.encode(r));
  await target.write(batch, { key, cursor: 'end', completed: true, records: batch.length });
}

const databases: FreshDatabase[] = [];
async function fresh(hint: string): Promise<FreshDatabase> {
  const db = await freshMysqlDatabase(hint);
  databases.push(db);
  return db;
}

/** Runs SQL as the test server's superuser (server-wide settings such as local_infile). */
async function asAdmin<T>(fn: (db: MysqlDatabase) => Promise<T>): Promise<T> {
  const server = mysqlServer();
  const db = await openMysql(`${server.url}/mysql`);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

describe.runIf(isSelected('mysql'))('MongooseIM on MariaDB', () => {
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  describe('bulk paths', () => {
    const opened: MongooseimSqlTarget[] = [];
    afterAll(async () => {
      for (const t of opened) await t.close();
    });

    it('writes the same rows by LOAD DATA LOCAL INFILE and by multi-row INSERTs', async () => {
      const dumps = [];
      for (const bulk of ['load-data', 'insert'] as const) {
        const database = await fresh(`bulk_${bulk}`);
        const dialect = await MysqlDialect.open(await openMysql(database.url), { bulk });
        expect(dialect.bulkPath).toMatch(bulk === 'load-data' ? /LOAD DATA LOCAL INFILE/ : /multi-row INSERT/);
        // The salt seed decides hashed passwords: the two databases share one, as two runs of one migration would.
        await dialect.prepareMeta();
        await dialect.saltSeed(Buffer.alloc(32, 7).toString('base64'));
        const target = await MongooseimSqlTarget.open(dialect, { settings, createSchema: true });
        opened.push(target);
        await writeAll(target, records(40), 'all');
        dumps.push(await dumpMongooseim(dialect.db, 'mysql'));
      }
      expect(dumps[0]!.mam_message).toHaveLength(40);
      expect(dumps[1]).toEqual(dumps[0]);
    });

    it('splits multi-row INSERTs under max_allowed_packet and refuses a row that alone exceeds it', async () => {
      const database = await fresh('packet');
      const db = await openMysql(database.url);
      // The same connection, seen as a server with a 64 KiB max_allowed_packet.
      const small: MysqlDatabase = { ...db, maxAllowedPacket: 64 * 1024 };
      const dialect = await MysqlDialect.open(small, { bulk: 'insert' });
      const target = await MongooseimSqlTarget.open(dialect, { settings, createSchema: true });
      opened.push(target);
      await writeAll(target, records(300), 'many');
      expect((await db.query<{ n: string }>('SELECT count(*) AS n FROM mam_message')).rows[0]!.n).toBe('300');

      const big = await target.encode({ kind: 'private-xml', owner: { local: 'big', domain: 'example.com' }, element: parseXml(`<p xmlns='ns:big'>${'y'.repeat(70 * 1024)}</p>`), location: here });
      const key = { migration: 'mysql', stream: 'big', shard: 'all' };
      await expect(target.write([big], { key, cursor: '1', completed: true, records: 1 })).rejects.toThrow(/exceeds the server's max_allowed_packet \(65536\)/);
    });

    it('falls back to multi-row INSERTs, with a notice, when local infile is refused', async () => {
      // Refused by this client: the server answers LOAD DATA LOCAL with an error; the batch still lands.
      const database = await fresh('noinfile');
      const dialect = await MysqlDialect.open(await openMysql(database.url, { localInfile: false }));
      expect(dialect.bulkPath).toMatch(/LOAD DATA/);
      const target = await MongooseimSqlTarget.open(dialect, { settings, createSchema: true });
      opened.push(target);
      await writeAll(target, records(5), 'fallback');
      expect(dialect.bulkPath).toMatch(/multi-row INSERT/);
      expect(dialect.notices).toEqual([expect.stringMatching(/forbids LOAD DATA LOCAL INFILE \(local_infile = OFF\).*multi-row INSERTs/)]);
      expect((await dialect.db.query<{ n: string }>('SELECT count(*) AS n FROM mam_message')).rows[0]!.n).toBe('5');
    });

    it('chooses multi-row INSERTs up front when the server has local_infile = OFF', async () => {
      const database = await fresh('infile_off');
      await asAdmin((admin) => admin.query('SET GLOBAL local_infile = 0'));
      let dialect: MysqlDialect;
      try {
        dialect = await MysqlDialect.open(await openMysql(database.url));
      } finally {
        // Server-wide: restored at once, so other tests on this server keep their fast path.
        await asAdmin((admin) => admin.query('SET GLOBAL local_infile = 1'));
      }
      expect(dialect.bulkPath).toMatch(/multi-row INSERT/);
      expect(dialect.notices).toEqual([expect.stringMatching(/SET GLOBAL local_infile = 1/)]);
      await dialect.db.close();
    });
  });

  describe('character sets', () => {
    let database: FreshDatabase;
    beforeAll(async () => {
      database = await fresh('latin1');
      const dialect = await MysqlDialect.open(await openMysql(database.url));
      await dialect.createSchema();
      // As if upstream's DDL (no charset clause on muc_* / inbox / domain_*) met a latin1 database, and
      // someone had narrowed a roster column.
      await dialect.db.query('ALTER TABLE rosterusers MODIFY nick text CHARACTER SET latin1 NOT NULL');
      await dialect.db.query('ALTER TABLE inbox MODIFY msg_id varchar(250) CHARACTER SET utf8mb3');
      await dialect.db.close();
    });

    it('names every text column that is not utf8mb4', async () => {
      const dialect = await MysqlDialect.open(await openMysql(database.url));
      try {
        expect(await dialect.characterSetProblems()).toEqual([
          'column inbox.msg_id is utf8mb3',
          'column rosterusers.nick is latin1',
        ]);
      } finally {
        await dialect.db.close();
      }
    });

    it('makes plan fail the check and refuse, unless accepted', async () => {
      const base = { source: `xep0227:${fixture}`, sourceSettings: {}, target: database.url, settingsFlags: {}, createSchema: false };
      const refused = await plan(base);
      expect(refused.checks).toContainEqual({ check: 'character sets', status: 'fail', detail: 'not utf8mb4: column inbox.msg_id is utf8mb3; column rosterusers.nick is latin1' });
      expect(refused.refusals).toEqual([expect.stringMatching(/cannot store 4-byte UTF-8.*rosterusers\.nick is latin1.*--accept-non-utf8mb4/)]);
      const accepted = await plan({ ...base, acceptNonUtf8mb4: true });
      expect(accepted.checks).toContainEqual(expect.objectContaining({ check: 'character sets', status: 'warn' }));
      expect(accepted.refusals).toEqual([]);
      expect(accepted.checks).toContainEqual({ check: 'bulk path', status: 'ok', detail: 'LOAD DATA LOCAL INFILE' });
    });

    it('makes run refuse to write, unless accepted; then an emoji that cannot be stored is a rejected record', async () => {
      await expect(openTarget(database.url, { settings, createSchema: false, dryRun: false, lock: true })).rejects.toBeInstanceOf(PlanRefusedError);
      const target = await openTarget(database.url, { settings, createSchema: false, dryRun: false, lock: true, acceptNonUtf8mb4: true });
      try {
        const key = { migration: 'latin1', stream: 's', shard: 'all' };
        await target.beginStream(key);
        const owner = { local: 'alice', domain: 'example.com' };
        const fine = await target.encode({ kind: 'roster-item', owner, contact: 'bob@example.com', name: 'Bob Müller', subscription: 'both', ask: 'none', askMessage: '', groups: [], location: here });
        await target.write([fine], { key, cursor: '1', completed: false, records: 1 });
        const emoji = await target.encode({ kind: 'roster-item', owner, contact: 'carol@example.com', name: 'Carol 😀', subscription: 'both', ask: 'none', askMessage: '', groups: [], location: here });
        // Strict: an error (and a reject), never a `?` in the roster.
        await expect(target.write([emoji], { key, cursor: '2', completed: false, records: 2 })).rejects.toBeInstanceOf(TargetDataError);
      } finally {
        await target.close();
      }
    });
  });

  it('rejects a key equal to a present one only by collation instead of calling it already present', async () => {
    const database = await fresh('collation');
    const dialect = await MysqlDialect.open(await openMysql(database.url));
    const target = await MongooseimSqlTarget.open(dialect, { settings, createSchema: true });
    try {
      const key = { migration: 'c', stream: 's', shard: 'all' };
      await target.beginStream(key);
      const account = (local: string) => target.encode({ kind: 'account', jid: { local, domain: 'example.com' }, credential: { type: 'plain', password: 'x' }, location: here });
      expect((await target.write([await account('jose')], { key, cursor: '1', completed: false, records: 1 })).written).toEqual({ account: 1 });
      // Byte-identical: already present.
      expect((await target.write([await account('jose')], { key, cursor: '2', completed: false, records: 2 })).present).toEqual({ account: 1 });
      // utf8mb4_general_ci says 'josé' = 'jose': MongooseIM on this schema could not hold both. Refused, reported.
      await expect(target.write([await account('josé')], { key, cursor: '3', completed: false, records: 3 })).rejects.toThrow(/Duplicate entry/);
    } finally {
      await target.close();
    }
  });

  it('takes the run lock with GET_LOCK, per database, until the holder disconnects', async () => {
    const database = await fresh('lock');
    const open = () => openTarget(database.url, { settings, createSchema: true, dryRun: false, lock: true });
    const first = await open();
    await expect(open()).rejects.toThrow(TargetError);
    await expect(open()).rejects.toThrow(/another xmpp-migrate run holds the lock/);
    // Another database on the same server is not locked by it.
    const other = await openTarget((await fresh('lock_other')).url, { settings, createSchema: true, dryRun: false, lock: true });
    await other.close();
    await first.close();
    const again = await open();
    await again.close();
  });

  it('hashes an archive too large for one GROUP_CONCAT page by page, to the same summary', async () => {
    const database = await fresh('paged');
    const db = await openMysql(database.url);
    const normal = await MysqlDialect.open(db);
    const target = await MongooseimSqlTarget.open(normal, { settings, createSchema: true });
    const owner = { local: 'pat', domain: 'example.com' };
    await writeAll(target, Array.from({ length: 7 }, (_, i): MigrationRecord => ({
      kind: 'archived-message', archive: { type: 'user', jid: owner }, timestamp: T0 + BigInt(i), direction: 'in', remote: 'bob@example.com/r',
      stanza: parseXml(`<message xmlns='jabber:client' from='bob@example.com/r' to='pat@example.com' type='chat'><body>m${i}</body></message>`), location: here,
    })), 'paged');
    const collect = async (t: MongooseimSqlTarget) => {
      const out = [];
      for await (const s of t.archiveSummaries()) out.push(s);
      return out;
    };
    const inOnePiece = await collect(target);
    // Seen as a server whose max_allowed_packet holds 3 hashes: the 7-message archive is paged.
    const paged = await MongooseimSqlTarget.open(await MysqlDialect.open({ ...db, maxAllowedPacket: 3 * 32 }), { settings, createSchema: false });
    expect(await collect(paged)).toEqual(inOnePiece);
    expect(inOnePiece).toEqual([expect.objectContaining({ archive: 'example.com/pat', count: 7, firstMicros: T0, lastMicros: T0 + 6n })]);
    await target.close();
  });
});
