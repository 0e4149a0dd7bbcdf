// ejabberd's legacy XEP-0136 stores (mod_archive_odbc, mod_archive2 on PostgreSQL and MariaDB; mod_archive_sql
// on PostgreSQL) with hand-inserted rows covering each time encoding and direction code, read by the adapter
// and migrated into MongooseIM's schema, asserted row by row; bad rows are rejected with table and key.
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openSource } from '../../src/adapters/index.js';
import type { SourceAdapter, SourceItem } from '../../src/adapters/source-adapter.js';
import { EJABBERD_XEP0136_STREAM, GREGORIAN_UNIX_EPOCH } from '../../src/adapters/xep0136-ejabberd.js';
import { UsageError } from '../../src/errors.js';
import type { LegacyCollectionRecord } from '../../src/records.js';
import { freshMysqlDatabase, freshPostgresDatabase, postgresServer, type FreshDatabase } from '../support/databases.js';
import { ejabberdXep0136Schema, type EjabberdLayout } from '../fixtures/xep0136/ejabberd-schema.js';
import { migrateToFreshTarget } from '../fixtures/xep0136/mam-target.js';
import { seedDb, type Dialect, type SeedDb } from '../fixtures/xep0136/seed-db.js';

const databases: FreshDatabase[] = [];
afterAll(async () => {
  for (const db of databases) await db.drop();
});

async function sourceDb(dialect: Dialect, layout: EjabberdLayout): Promise<{ url: string; seed: SeedDb }> {
  const fresh = dialect === 'pg' ? await freshPostgresDatabase(`src_${layout}`) : await freshMysqlDatabase(`src_${layout}`);
  databases.push(fresh);
  const seed = await seedDb(dialect, fresh.url);
  for (const statement of ejabberdXep0136Schema(layout, dialect)) await seed.exec(statement);
  return { url: fresh.url, seed };
}

function scheme(dialect: Dialect): string {
  return dialect === 'pg' ? 'ejabberd-xep0136+pg' : 'ejabberd-xep0136+mysql';
}

async function readAll(source: SourceAdapter, after?: string): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source.read(EJABBERD_XEP0136_STREAM, after)) items.push(item);
  return items;
}

function summary(items: SourceItem[]): string[] {
  return items.map((item) => {
    if ('reject' in item) return `reject ${item.reject.code} ${item.reject.location?.table} ${item.reject.location?.key}`;
    const c = item.record as LegacyCollectionRecord;
    return `slice ${c.location.key} with=${c.with} first=${c.startsCollection} ${c.entries.map((e) => `${e.direction}:${e.body ?? (e.children ? 'X' : '-')}`).join(',')}`;
  });
}

/**
 * The same conversations for mod_archive_odbc and mod_archive2 (times whole seconds here, µs in mod_archive2):
 * alice talks with bob and, at the same time, with carol (overlapping collections), gets a groupchat message,
 * and has a note, a deleted collection, a row with an unknown direction code and a row with a bad time;
 * bob has one collection of his own.
 */
async function seedDatetimeLayout(seed: SeedDb, layout: 'mod_archive_odbc' | 'mod_archive2'): Promise<void> {
  const odbc = layout === 'mod_archive_odbc';
  const collections = odbc ? 'archive_collections' : 'archive_collection';
  const messages = odbc ? 'archive_messages' : 'archive_message';
  const dir = odbc ? 'dir' : 'direction';
  const frac = (s: string, us: string): string => (odbc ? s : `${s}.${us}`);
  const body = (text: string): string => (odbc ? text : `T:${text}`);
  const coll = (id: number, us: string, user: string | null, server: string, resource: string | null, utc: string, extra: Record<string, unknown> = {}): Promise<void> =>
    seed.insert(collections, { id, us, with_user: odbc ? (user ?? '') : user, with_server: server, with_resource: odbc ? (resource ?? '') : resource, utc, deleted: 0, ...extra });
  const msg = (id: number, coll_id: number, utc: string, direction: number | null, text: string | null, extra: Record<string, unknown> = {}): Promise<void> =>
    seed.insert(messages, { id, coll_id, utc, [dir]: direction, body: text, name: '', ...extra });

  await coll(1, 'alice@example.com', 'bob', 'example.org', 'pc', frac('2009-05-01 10:00:00', '000000'), { subject: 'Plans', thread: 'th1' });
  await msg(1, 1, frac('2009-05-01 10:00:00', '250000'), 1, body('hi'));
  await msg(2, 1, frac('2009-05-01 10:00:07', '000000'), 0, body('hello'));
  await msg(3, 1, frac('2009-05-01 10:00:07', '000000'), 0, body('same second'));
  await msg(4, 1, frac('2009-05-01 10:05:00', '000000'), 2, body('a note'));
  await msg(5, 1, frac('2009-05-01 10:06:00', '000000'), 7, body('unknown code'));
  await coll(2, 'alice@example.com', 'carol', 'example.net', null, frac('2009-05-01 10:00:03', '000000'));
  await msg(6, 2, frac('2009-05-01 10:00:03', '000000'), 0, body('carol 1'));
  await msg(7, 2, frac('2009-05-01 10:00:08', '000001'), 1, body('to carol'));
  await coll(3, 'alice@example.com', 'room', 'conference.example.com', null, frac('2009-05-01 10:02:00', '000000'));
  await msg(8, 3, frac('2009-05-01 10:02:00', '000000'), 0, body('hello room'), { name: 'romeo' });
  await coll(4, 'alice@example.com', 'dave', 'example.com', null, frac('2009-05-01 09:00:00', '000000'), { deleted: 1 });
  await msg(9, 4, frac('2009-05-01 09:00:00', '000000'), 1, body('deleted collection'));
  await msg(10, 2, '1969-12-31 23:59:59', 0, body('before 1970'));
  await coll(5, 'bob@example.com', 'alice', 'example.com', '', frac('2009-05-02 08:00:00', '000000'));
  await msg(11, 5, frac('2009-05-02 08:00:00', '000000'), 1, body('from bob'));
  await msg(12, 5, frac('2009-05-02 08:00:30', '000000'), null, body('null direction'));
  if (!odbc) {
    // mod_archive2 only: an X: body (message children) and a body in neither encoding.
    await msg(13, 5, '2009-05-02 08:01:00.000000', 1, `X:<body>rich</body><html xmlns="http://jabber.org/protocol/xhtml-im"><body xmlns="http://www.w3.org/1999/xhtml"><p>rich</p></body></html>`);
    await msg(14, 5, '2009-05-02 08:02:00.000000', 1, 'Z:neither');
    await coll(6, 'bob@example.com', null, 'example.org', null, '2009-05-02 09:00:00.000000');
    await msg(15, 6, '2009-05-02 09:00:00.000000', 0, 'T:from the server itself', { jid: 'ignored@example.org' });
  }
}

for (const dialect of ['pg', 'mysql'] as const) {
  describe(`mod_archive_odbc on ${dialect === 'pg' ? 'PostgreSQL' : 'MariaDB'}`, () => {
    it('reads each owner in time order across overlapping collections, skips deleted ones, rejects bad rows, and migrates exactly', async () => {
      const { url, seed } = await sourceDb(dialect, 'mod_archive_odbc');
      await seedDatetimeLayout(seed, 'mod_archive_odbc');
      if (dialect === 'mysql') {
        // MariaDB's default sql_mode accepts the zero date old MySQL installs are full of.
        await seed.insert('archive_messages', { id: 20, coll_id: 2, utc: '0000-00-00 00:00:00', dir: 0, body: 'zero date', name: '' });
      }
      await seed.close();
      const source = await openSource(`${scheme(dialect)}:${url}`, { settings: {} });
      try {
        const items = await readAll(source);
        expect(summary(items)).toEqual([
          ...(dialect === 'mysql' ? ['reject invalid-time archive_messages id=20'] : []),
          'reject invalid-time archive_messages id=10',
          'slice id=1 with=bob@example.org/pc first=true to:hi',
          // Not the collection's first row: the rejected 1969 row (id=10) sorts before it.
          'slice id=2 with=carol@example.net first=false from:carol 1',
          'slice id=1 with=bob@example.org/pc first=false from:hello,from:same second',
          'slice id=2 with=carol@example.net first=false to:to carol',
          'slice id=3 with=room@conference.example.com first=true from:hello room',
          'slice id=1 with=bob@example.org/pc first=false note:a note',
          'reject unknown-direction archive_messages id=5',
          'slice id=5 with=alice@example.com first=true to:from bob',
          'reject unknown-direction archive_messages id=12',
        ]);
        // Resume: a cursor in the middle gives exactly the rest.
        const middle = items.findIndex((i) => 'record' in i && (i.record as LegacyCollectionRecord).location.key === 'id=3');
        expect(summary(await readAll(source, items[middle - 1]!.cursor))).toEqual(summary(items.slice(middle)));

        const migrated = await migrateToFreshTarget(source);
        expect(migrated.personal).toEqual([
          'alice@example.com 2009-05-01T10:00:00.000000Z out bob@example.org/pc hi',
          'alice@example.com 2009-05-01T10:00:03.000000Z in carol@example.net carol 1',
          'alice@example.com 2009-05-01T10:00:07.000000Z in bob@example.org/pc hello',
          'alice@example.com 2009-05-01T10:00:07.000001Z in bob@example.org/pc same second',
          'alice@example.com 2009-05-01T10:00:08.000000Z out carol@example.net to carol',
          'alice@example.com 2009-05-01T10:02:00.000000Z in room@conference.example.com/romeo groupchat hello room',
          'bob@example.com 2009-05-02T08:00:00.000000Z out alice@example.com from bob',
        ]);
        expect(migrated.rejects.entries.map((r) => [r.code, r.location?.table, r.location?.key])).toEqual([
          ...(dialect === 'mysql' ? [['invalid-time', 'archive_messages', 'id=20']] : []),
          ['invalid-time', 'archive_messages', 'id=10'],
          ['unknown-direction', 'archive_messages', 'id=5'],
          ['unknown-direction', 'archive_messages', 'id=12'],
        ]);
        expect(migrated.result.kinds['legacy-collection']).toMatchObject({ skipped: 1, rejected: dialect === 'mysql' ? 4 : 3 });
        expect(migrated.result.kinds['archived-message']).toMatchObject({ written: 7 });
        expect(migrated.events).toContainEqual(expect.objectContaining({ type: 'kind-skipped', kind: 'legacy-collection', reason: expect.stringMatching(/<note>/) }));

        // One row per page: every row boundary (a tie at 10:00:07 included) seeks to exactly the same rows.
        const paged = await openSource(`${scheme(dialect)}:${url}`, { settings: { 'page-rows': '1' } });
        try {
          const again = await migrateToFreshTarget(paged);
          expect(again.personal).toEqual(migrated.personal);
          expect(again.rejects.entries.map((r) => r.location?.key)).toEqual(migrated.rejects.entries.map((r) => r.location?.key));
        } finally {
          await paged.close();
        }

        const inventory = await source.inventory();
        expect(inventory.description).toMatch(/mod_archive_odbc/);
        expect(inventory.counts['archived-message']).toBe(dialect === 'mysql' ? 9 : 8);
        expect(inventory.rejects).toEqual({ 'unknown-direction': 2 });
        expect(inventory.notes.join('\n')).toMatch(/1 deleted collection/);
      } finally {
        await source.close();
      }
    });

    it('keeps the subject on the first message of a collection and the thread on all, as a client sent them', async () => {
      const { url, seed } = await sourceDb(dialect, 'mod_archive_odbc');
      await seedDatetimeLayout(seed, 'mod_archive_odbc');
      await seed.close();
      const source = await openSource(`${scheme(dialect)}:${url}`, { settings: { notes: 'self-message' } });
      try {
        const items = (await readAll(source)).filter((i): i is { record: LegacyCollectionRecord; cursor: string } => 'record' in i);
        const { transform } = await import('../../src/pipeline/transforms.js');
        const stanzas = items.flatMap((i) => transform(i.record).records).map((r) => ('stanza' in r ? r.stanza.toString() : ''));
        expect(stanzas.slice(0, 3)).toEqual([
          '<message from="alice@example.com" to="bob@example.org/pc" type="chat"><subject>Plans</subject><body>hi</body><thread>th1</thread></message>',
          '<message from="carol@example.net" to="alice@example.com" type="chat"><body>carol 1</body></message>',
          '<message from="bob@example.org/pc" to="alice@example.com" type="chat"><body>hello</body><thread>th1</thread></message>',
        ]);
        expect(stanzas).toContain('<message from="alice@example.com" to="alice@example.com" type="normal"><body>a note</body><thread>th1</thread></message>');
      } finally {
        await source.close();
      }
    });
  });

  describe(`mod_archive2 on ${dialect === 'pg' ? 'PostgreSQL' : 'MariaDB'}`, () => {
    it('reads microsecond times, T: and X: bodies, and migrates exactly', async () => {
      const { url, seed } = await sourceDb(dialect, 'mod_archive2');
      await seedDatetimeLayout(seed, 'mod_archive2');
      await seed.close();
      const source = await openSource(`${scheme(dialect)}:${url}`, { settings: {} });
      try {
        const migrated = await migrateToFreshTarget(source);
        expect(migrated.personal).toEqual([
          'alice@example.com 2009-05-01T10:00:00.250000Z out bob@example.org/pc hi',
          'alice@example.com 2009-05-01T10:00:03.000000Z in carol@example.net carol 1',
          'alice@example.com 2009-05-01T10:00:07.000000Z in bob@example.org/pc hello',
          'alice@example.com 2009-05-01T10:00:07.000001Z in bob@example.org/pc same second',
          'alice@example.com 2009-05-01T10:00:08.000001Z out carol@example.net to carol',
          'alice@example.com 2009-05-01T10:02:00.000000Z in room@conference.example.com/romeo groupchat hello room',
          'bob@example.com 2009-05-02T08:00:00.000000Z out alice@example.com from bob',
          'bob@example.com 2009-05-02T08:01:00.000000Z out alice@example.com rich',
          'bob@example.com 2009-05-02T09:00:00.000000Z in example.org from the server itself',
        ]);
        expect(migrated.rejects.entries.map((r) => [r.code, r.location?.table, r.location?.key])).toEqual([
          ['invalid-time', 'archive_message', 'id=10'],
          ['unknown-direction', 'archive_message', 'id=5'],
          ['unknown-direction', 'archive_message', 'id=12'],
          ['unknown-body-encoding', 'archive_message', 'id=14'],
        ]);
        const items = await readAll(source);
        const rich = items.find((i) => 'record' in i && (i.record as LegacyCollectionRecord).entries.some((e) => e.children));
        const { transform } = await import('../../src/pipeline/transforms.js');
        const stanza = transform((rich as { record: LegacyCollectionRecord }).record).records.map((r) => ('stanza' in r ? r.stanza.toString() : ''));
        expect(stanza).toContain('<message from="bob@example.com" to="alice@example.com" type="chat"><body>rich</body><html xmlns="http://jabber.org/protocol/xhtml-im"><body xmlns="http://www.w3.org/1999/xhtml"><p>rich</p></body></html></message>');
      } finally {
        await source.close();
      }
    });
  });
}

describe('mod_archive_sql on PostgreSQL', () => {
  const G = (iso: string): string => String(BigInt(Date.parse(iso) / 1000) + GREGORIAN_UNIX_EPOCH);

  it('times messages as start + the running sum of secs (Gregorian seconds), needs the domain, and migrates exactly', async () => {
    const { url, seed } = await sourceDb('pg', 'mod_archive_sql');
    const coll = (sid: number, username: string, u: string, s: string, r: string, start: string, subject = ''): Promise<void> =>
      seed.insert('archive_collection', { sid, username, jid_u: u, jid_s: s, jid_r: r, start, subject });
    const msg = (sid: number, ser: number, to: boolean, secs: number, body: string): Promise<void> =>
      seed.insert('archive_message', { sid, ser, direction_to: to, secs, utc: 0, name: '', jid: '', body });
    await coll(1, 'alice', 'bob', 'example.org', 'pc', G('2009-05-01T10:00:00Z'), 'Plans');
    await msg(1, 1, true, 0, 'hi');
    await msg(1, 2, false, 7, 'hello');
    await msg(1, 4, false, 0, 'same second');
    await msg(1, 6, true, -3, 'negative secs');
    await msg(1, 7, true, 5, 'after the bad one');
    await coll(2, 'alice', 'carol', 'example.net', '', G('2009-05-01T10:00:03Z'));
    await msg(2, 3, false, 0, 'carol 1');
    await msg(2, 5, true, 5, 'to carol');
    await coll(3, 'alice', 'eve', 'example.net', '', '0');
    await msg(3, 8, false, 0, 'start 0 is year 0');
    await seed.close();

    await expect(openSource(`ejabberd-xep0136+pg:${url}`, { settings: {} })).rejects.toThrow(/domain=/);
    const source = await openSource(`ejabberd-xep0136+pg:${url}`, { settings: { domain: 'Example.COM' } });
    try {
      const migrated = await migrateToFreshTarget(source);
      expect(migrated.personal).toEqual([
        'alice@example.com 2009-05-01T10:00:00.000000Z out bob@example.org/pc hi',
        'alice@example.com 2009-05-01T10:00:03.000000Z in carol@example.net carol 1',
        'alice@example.com 2009-05-01T10:00:07.000000Z in bob@example.org/pc hello',
        'alice@example.com 2009-05-01T10:00:07.000001Z in bob@example.org/pc same second',
        'alice@example.com 2009-05-01T10:00:08.000000Z out carol@example.net to carol',
        'alice@example.com 2009-05-01T10:00:12.000000Z out bob@example.org/pc after the bad one',
      ]);
      expect(migrated.rejects.entries.map((r) => [r.code, r.location?.table, r.location?.key])).toEqual([
        ['invalid-time', 'archive_message', 'sid=3,ser=8'],
        ['invalid-secs', 'archive_message', 'sid=1,ser=6'],
      ]);
      const paged = await openSource(`ejabberd-xep0136+pg:${url}`, { settings: { domain: 'example.com', 'page-rows': '1' } });
      try {
        expect((await migrateToFreshTarget(paged)).personal).toEqual(migrated.personal);
      } finally {
        await paged.close();
      }
    } finally {
      await source.close();
    }
  });

  it('is refused on MySQL, where the module never existed', async () => {
    const { url, seed } = await sourceDb('pg', 'mod_archive_sql');
    await seed.close();
    const fresh = await freshMysqlDatabase('src_sql_on_mysql');
    databases.push(fresh);
    const my = await seedDb('mysql', fresh.url);
    await my.exec(`CREATE TABLE archive_collection (sid BIGINT PRIMARY KEY, username TEXT, jid_u TEXT, jid_s TEXT, jid_r TEXT, start BIGINT, subject TEXT)`);
    await my.exec(`CREATE TABLE archive_message (sid BIGINT, ser BIGINT, direction_to BOOLEAN, secs INT, utc BIGINT, name TEXT, jid TEXT, body TEXT)`);
    await my.close();
    await expect(openSource(`ejabberd-xep0136+mysql:${fresh.url}`, { settings: { domain: 'example.com' } })).rejects.toBeInstanceOf(UsageError);
    expect(url).toMatch(/^postgres/);
  });
});

describe('bodies that are not UTF-8', () => {
  it('rejects the row with its key (a SQL_ASCII PostgreSQL database holds any bytes) and migrates the rest', async () => {
    const server = postgresServer();
    const name = `xmig_sqlascii_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'`);
    await admin.end();
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    databases.push({
      name,
      url: url.toString(),
      drop: async () => {
        const c = new pg.Client({ connectionString: server.url });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await c.end();
      },
    });
    const seed = await seedDb('pg', url.toString());
    for (const statement of ejabberdXep0136Schema('mod_archive_odbc', 'pg')) await seed.exec(statement);
    await seed.insert('archive_collections', { id: 1, us: 'alice@example.com', with_user: 'bob', with_server: 'example.org', with_resource: '', utc: '2009-05-01 10:00:00', deleted: 0 });
    await seed.exec(`INSERT INTO archive_messages (id, coll_id, utc, dir, body, name) VALUES (1, 1, '2009-05-01 10:00:00', 1, E'caf\\303\\251 ok', '')`);
    await seed.exec(`INSERT INTO archive_messages (id, coll_id, utc, dir, body, name) VALUES (2, 1, '2009-05-01 10:00:01', 0, E'latin-1 caf\\351', '')`);
    await seed.exec(`INSERT INTO archive_messages (id, coll_id, utc, dir, body, name) VALUES (3, 1, '2009-05-01 10:00:02', 0, 'plain', '')`);
    await seed.close();
    const source = await openSource(`ejabberd-xep0136+pg:${url.toString()}`, { settings: {} });
    try {
      const migrated = await migrateToFreshTarget(source);
      expect(migrated.personal).toEqual([
        'alice@example.com 2009-05-01T10:00:00.000000Z out bob@example.org café ok',
        'alice@example.com 2009-05-01T10:00:02.000000Z in bob@example.org plain',
      ]);
      expect(migrated.rejects.entries.map((r) => [r.code, r.location?.table, r.location?.key])).toEqual([['invalid-utf8', 'archive_messages', 'id=2']]);
    } finally {
      await source.close();
    }
  });
});
