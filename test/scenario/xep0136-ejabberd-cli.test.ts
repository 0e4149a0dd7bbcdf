// ejabberd's legacy XEP-0136 stores migrated through the real CLI into MongooseIM on PostgreSQL and on MariaDB,
// from sources on PostgreSQL and MariaDB (mod_archive_sql: PostgreSQL only, as upstream), asserted row by row:
// the MAM id's µs, direction, peer, and the body, subject and thread of the stored exml term. The fixture
// crosses both EU daylight-saving changes of 2008 (01:00 UTC) while this process runs in Europe/Berlin, so
// any time read or written as local time shows; it also holds same-second bursts, groupchat entries with a
// nick, subject and thread, an entry without a body, a note, and bad rows that must reach the reject report
// with their table and key while the rest of their collection migrates.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREGORIAN_UNIX_EPOCH } from '../../src/adapters/xep0136-ejabberd.js';
import { freshMysqlDatabase, freshPostgresDatabase, postgresServer, type FreshDatabase } from '../support/databases.js';
import { migrateWithCli, type TargetDialect } from '../fixtures/xep0136/cli-target.js';
import { ejabberdXep0136Schema, type EjabberdLayout } from '../fixtures/xep0136/ejabberd-schema.js';
import { seedDb, type Dialect, type SeedDb } from '../fixtures/xep0136/seed-db.js';

const databases: FreshDatabase[] = [];
const previousTz = process.env.TZ;
beforeAll(() => {
  // A zone with DST: the drivers (pg, mysql2) and Date see local time unless the code asks for UTC.
  process.env.TZ = 'Europe/Berlin';
  expect(new Date(Date.UTC(2008, 2, 30, 1, 0, 0)).getTimezoneOffset()).toBe(-120); // the zone is in force
});
afterAll(async () => {
  if (previousTz === undefined) delete process.env.TZ;
  else process.env.TZ = previousTz;
  for (const db of databases) await db.drop();
});

const DIALECTS: Dialect[] = ['pg', 'mysql'];
const TARGETS: TargetDialect[] = ['mysql', 'pg'];
const NAME: Record<Dialect, string> = { pg: 'PostgreSQL', mysql: 'MariaDB' };

async function sourceDb(dialect: Dialect, layout: EjabberdLayout): Promise<{ url: string; seed: SeedDb }> {
  const fresh = dialect === 'pg' ? await freshPostgresDatabase(`cli_${layout}`) : await freshMysqlDatabase(`cli_${layout}`);
  databases.push(fresh);
  const seed = await seedDb(dialect, fresh.url);
  for (const statement of ejabberdXep0136Schema(layout, dialect)) await seed.exec(statement);
  return { url: fresh.url, seed };
}

/**
 * The same conversations for mod_archive_odbc (whole seconds) and mod_archive2 (µs, T:/X: bodies). The EU
 * clocks went forward at 2008-03-30 01:00:00 UTC and back at 2008-10-26 01:00:00 UTC.
 */
async function seedDatetimeLayout(seed: SeedDb, layout: 'mod_archive_odbc' | 'mod_archive2'): Promise<void> {
  const odbc = layout === 'mod_archive_odbc';
  const collections = odbc ? 'archive_collections' : 'archive_collection';
  const messages = odbc ? 'archive_messages' : 'archive_message';
  const dir = odbc ? 'dir' : 'direction';
  const at = (s: string, us = '000000'): string => (odbc ? s : `${s}.${us}`);
  const body = (text: string | null): string | null => (odbc || text === null ? text : `T:${text}`);
  const coll = (id: number, us: string, user: string, server: string, resource: string, utc: string, extra: Record<string, unknown> = {}): Promise<void> =>
    seed.insert(collections, { id, us, with_user: user, with_server: server, with_resource: resource, utc, deleted: 0, ...extra });
  const msg = (id: number, coll_id: number, utc: string, direction: number, text: string | null, extra: Record<string, unknown> = {}): Promise<void> =>
    seed.insert(messages, { id, coll_id, utc, [dir]: direction, body: text, name: '', ...extra });

  await coll(1, 'alice@example.com', 'bob', 'example.org', 'pc', at('2008-03-30 00:59:58'), { subject: 'Clocks', thread: 'dst' });
  await msg(1, 1, at('2008-03-30 00:59:58', '250000'), 1, body('before the change'));
  await msg(2, 1, at('2008-03-30 00:59:59'), 0, body('last second of CET'));
  await msg(3, 1, at('2008-03-30 01:00:00'), 0, body('first second of CEST'));
  await msg(4, 1, at('2008-03-30 01:00:00'), 1, body('burst 1'));
  await msg(5, 1, at('2008-03-30 01:00:00'), 1, body('burst 2'));
  await msg(6, 1, at('2008-03-30 01:30:00', '000007'), 0, body('in the hour Berlin skipped'));
  await msg(7, 1, at('2008-03-30 01:00:05'), 0, null); // no body at all, in a collection with a thread
  await coll(2, 'alice@example.com', 'room', 'conference.example.com', '', at('2008-03-30 01:00:01'));
  await msg(8, 2, at('2008-03-30 01:00:01'), 0, body('hello room'), { name: 'romeo' });
  await msg(9, 2, at('2008-03-30 01:00:01'), 0, body('same second, other nick'), { name: 'juliet' });
  await coll(3, 'alice@example.com', '', '', '', at('2008-03-30 01:10:00')); // no `with`
  await msg(10, 3, at('2008-03-30 01:10:00'), 1, body('to nobody'));
  await coll(4, 'alice@example.com', 'carol', 'example.net', '', at('2008-10-26 00:59:59'));
  await msg(11, 4, at('2008-10-26 00:59:59'), 1, body('last second of CEST'));
  await msg(12, 4, at('2008-10-26 01:00:00'), 0, body('first second of CET'));
  await msg(13, 4, at('2008-10-26 01:00:30'), 9, body('unknown direction'));
  await msg(14, 4, '1969-12-31 23:59:59', 0, body('before 1970'));
  await msg(15, 4, at('2008-10-26 01:05:00'), 2, body('a note'));
  await coll(5, 'bob@example.com', 'alice', 'example.com', '', at('2008-03-30 01:00:00'));
  await msg(16, 5, at('2008-03-30 01:00:00'), 1, body('from bob'));
  if (!odbc) {
    // mod_archive2's X: body: message children without a <body>; and a body in neither encoding.
    await msg(17, 5, '2008-03-30 01:00:02.000000', 1, 'X:<html xmlns="http://jabber.org/protocol/xhtml-im"><body xmlns="http://www.w3.org/1999/xhtml"><p>rich only</p></body></html>');
    await msg(18, 5, '2008-03-30 01:00:03.000000', 0, 'Z:neither');
    await msg(19, 5, '2008-03-30 01:00:04.000000', 0, 'X:<body>rich</body><subject>X subject</subject>');
  }
}

function expectedDatetime(layout: 'mod_archive_odbc' | 'mod_archive2'): { personal: string[]; rejects: string[][] } {
  const odbc = layout === 'mod_archive_odbc';
  const table = odbc ? 'archive_messages' : 'archive_message';
  return {
    personal: [
      `alice@example.com 2008-03-30T00:59:58.${odbc ? '000000' : '250000'}Z out bob@example.org/pc before the change subject=Clocks thread=dst`,
      'alice@example.com 2008-03-30T00:59:59.000000Z in bob@example.org/pc last second of CET thread=dst',
      'alice@example.com 2008-03-30T01:00:00.000000Z in bob@example.org/pc first second of CEST thread=dst',
      'alice@example.com 2008-03-30T01:00:00.000001Z out bob@example.org/pc burst 1 thread=dst',
      'alice@example.com 2008-03-30T01:00:00.000002Z out bob@example.org/pc burst 2 thread=dst',
      'alice@example.com 2008-03-30T01:00:01.000000Z in room@conference.example.com/romeo groupchat hello room',
      'alice@example.com 2008-03-30T01:00:01.000001Z in room@conference.example.com/juliet groupchat same second, other nick',
      `alice@example.com 2008-03-30T01:30:00.${odbc ? '000000' : '000007'}Z in bob@example.org/pc in the hour Berlin skipped thread=dst`,
      'alice@example.com 2008-10-26T00:59:59.000000Z out carol@example.net last second of CEST',
      'alice@example.com 2008-10-26T01:00:00.000000Z in carol@example.net first second of CET',
      'bob@example.com 2008-03-30T01:00:00.000000Z out alice@example.com from bob',
      ...(odbc
        ? []
        : [
            'bob@example.com 2008-03-30T01:00:02.000000Z out alice@example.com (no body)',
            'bob@example.com 2008-03-30T01:00:04.000000Z in alice@example.com rich subject=X subject',
          ]),
    ],
    rejects: [
      ['invalid-time', table, 'id=14'],
      ['empty-entry', table, 'id=7'],
      ['collection-without-with', odbc ? 'archive_collections' : 'archive_collection', 'id=3'],
      ['unknown-direction', table, 'id=13'],
      ...(odbc ? [] : [['unknown-body-encoding', table, 'id=18']]),
    ].sort(),
  };
}

for (const layout of ['mod_archive_odbc', 'mod_archive2'] as const) {
  for (const sourceDialect of DIALECTS) {
    describe(`${layout} on ${NAME[sourceDialect]} through the CLI`, () => {
      let url: string;
      beforeAll(async () => {
        const source = await sourceDb(sourceDialect, layout);
        await seedDatetimeLayout(source.seed, layout);
        await source.seed.close();
        url = source.url;
      });

      it.each(TARGETS)('into MongooseIM on %s: every row at its exact µs across both DST changes, bad rows in the reject report', async (target) => {
        const scheme = sourceDialect === 'pg' ? 'ejabberd-xep0136+pg' : 'ejabberd-xep0136+mysql';
        const migrated = await migrateWithCli(`${scheme}:${url}`, target, [], databases);
        const expected = expectedDatetime(layout);
        expect(migrated.stderr).toBe('');
        expect(migrated.code).toBe(3); // finished, with rejects
        expect(migrated.personal).toEqual(expected.personal);
        expect(migrated.rooms).toEqual([]);
        expect(migrated.rejects.map((r) => [r.code, r.location?.table, r.location?.key]).sort()).toEqual(expected.rejects);
        for (const reject of migrated.rejects) expect(reject.location?.source).toContain(scheme);
        expect(migrated.summary.kinds['archived-message'].written).toBe(expected.personal.length);
        expect(migrated.summary.kinds['legacy-collection'].skipped).toBe(1); // the note
      });
    });
  }
}

describe('mod_archive_sql on PostgreSQL through the CLI', () => {
  const G = (iso: string): string => String(BigInt(Date.parse(iso) / 1000) + GREGORIAN_UNIX_EPOCH);
  let url: string;
  beforeAll(async () => {
    const { url: u, seed } = await sourceDb('pg', 'mod_archive_sql');
    url = u;
    const coll = (sid: number, username: string, jid_u: string, jid_s: string, jid_r: string, start: string, subject = ''): Promise<void> =>
      seed.insert('archive_collection', { sid, username, jid_u, jid_s, jid_r, start, subject });
    const msg = (sid: number, ser: number, to: boolean, secs: number, body: string, name = ''): Promise<void> =>
      seed.insert('archive_message', { sid, ser, direction_to: to, secs, utc: 0, name, jid: '', body });
    // secs chains and bursts across the change to summer time (01:00:00 UTC).
    await coll(1, 'alice', 'bob', 'example.org', 'pc', G('2008-03-30T00:59:50Z'), 'Clocks');
    await msg(1, 1, true, 0, 'start');
    await msg(1, 2, false, 9, 'chain 9');
    await msg(1, 3, false, 1, 'chain 1, summer time');
    await msg(1, 4, true, 0, 'burst a');
    await msg(1, 5, true, 0, 'burst b');
    await msg(1, 6, true, -4, 'negative secs');
    await msg(1, 7, false, 3600, 'an hour later');
    await msg(1, 8, false, 5, ''); // body NOT NULL: '' is as empty as it gets
    await msg(1, 9, true, 1, 'after the empty one');
    await coll(2, 'alice', 'room', 'conference.example.com', '', G('2008-03-30T01:00:00Z'));
    await msg(2, 10, false, 0, 'hello room', 'romeo');
    await coll(3, 'alice', '', '', '', G('2008-03-30T01:10:00Z')); // no `with`
    await msg(3, 11, true, 0, 'to nobody');
    // And back to winter time (2008-10-26 01:00:00 UTC).
    await coll(4, 'bob', 'alice', 'example.com', '', G('2008-10-26T00:59:59Z'));
    await msg(4, 12, true, 0, 'bob 1');
    await msg(4, 13, false, 1, 'bob 2');
    await seed.close();
  });

  it.each(TARGETS)('into MongooseIM on %s: start + the running sum of secs, bursts 1 µs apart, bad entries rejected with sid and ser', async (target) => {
    const migrated = await migrateWithCli(`ejabberd-xep0136+pg:${url}`, target, ['--source-option', 'domain=example.com'], databases);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(3);
    expect(migrated.personal).toEqual([
      'alice@example.com 2008-03-30T00:59:50.000000Z out bob@example.org/pc start subject=Clocks',
      'alice@example.com 2008-03-30T00:59:59.000000Z in bob@example.org/pc chain 9',
      'alice@example.com 2008-03-30T01:00:00.000000Z in bob@example.org/pc chain 1, summer time',
      'alice@example.com 2008-03-30T01:00:00.000001Z out bob@example.org/pc burst a',
      'alice@example.com 2008-03-30T01:00:00.000002Z out bob@example.org/pc burst b',
      'alice@example.com 2008-03-30T01:00:00.000003Z in room@conference.example.com/romeo groupchat hello room',
      'alice@example.com 2008-03-30T02:00:00.000000Z in bob@example.org/pc an hour later',
      // An empty body stays an empty body (the converter's rule); its secs still count.
      'alice@example.com 2008-03-30T02:00:05.000000Z in bob@example.org/pc (empty body)',
      'alice@example.com 2008-03-30T02:00:06.000000Z out bob@example.org/pc after the empty one',
      'bob@example.com 2008-10-26T00:59:59.000000Z out alice@example.com bob 1',
      'bob@example.com 2008-10-26T01:00:00.000000Z in alice@example.com bob 2',
    ]);
    expect(migrated.rejects.map((r) => [r.code, r.location?.table, r.location?.key]).sort()).toEqual([
      ['collection-without-with', 'archive_collection', 'sid=3'],
      ['invalid-secs', 'archive_message', 'sid=1,ser=6'],
    ]);
    expect(migrated.summary.kinds['archived-message'].written).toBe(11);
  });
});

describe('mod_archive_odbc bodies that are not UTF-8 (a SQL_ASCII PostgreSQL database holds any bytes) through the CLI', () => {
  let url: string;
  beforeAll(async () => {
    const server = postgresServer();
    const name = `xmig_cli_sqlascii_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'`);
    await admin.end();
    const u = new URL(server.url);
    u.pathname = `/${name}`;
    url = u.toString();
    databases.push({
      name,
      url,
      drop: async () => {
        const c = new pg.Client({ connectionString: server.url });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await c.end();
      },
    });
    const seed = await seedDb('pg', url);
    for (const statement of ejabberdXep0136Schema('mod_archive_odbc', 'pg')) await seed.exec(statement);
    await seed.insert('archive_collections', { id: 1, us: 'alice@example.com', with_user: 'bob', with_server: 'example.org', with_resource: '', utc: '2008-03-30 00:59:59', deleted: 0 });
    await seed.exec(`INSERT INTO archive_messages (id, coll_id, utc, dir, body, name) VALUES (1, 1, '2008-03-30 00:59:59', 1, E'caf\\303\\251 in UTF-8', '')`);
    await seed.exec(`INSERT INTO archive_messages (id, coll_id, utc, dir, body, name) VALUES (2, 1, '2008-03-30 01:00:00', 0, E'caf\\351 in Latin-1', '')`);
    await seed.exec(`INSERT INTO archive_messages (id, coll_id, utc, dir, body, name) VALUES (3, 1, '2008-03-30 01:00:00', 0, 'the rest migrates', '')`);
    await seed.close();
  });

  it.each(TARGETS)('into MongooseIM on %s: the row is rejected with its key, the rest of the collection migrates', async (target) => {
    const migrated = await migrateWithCli(`ejabberd-xep0136+pg:${url}`, target, [], databases);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(3);
    expect(migrated.personal).toEqual([
      'alice@example.com 2008-03-30T00:59:59.000000Z out bob@example.org café in UTF-8',
      'alice@example.com 2008-03-30T01:00:00.000000Z in bob@example.org the rest migrates',
    ]);
    expect(migrated.rejects.map((r) => [r.code, r.location?.table, r.location?.key])).toEqual([['invalid-utf8', 'archive_messages', 'id=2']]);
  });
});
