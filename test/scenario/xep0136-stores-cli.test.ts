// The other XEP-0136 stores migrated through the real CLI into MongooseIM on PostgreSQL and on MariaDB, asserted
// row by row (the MAM id's µs, direction, peer, and the body, subject and thread of the stored exml term), bad
// entries in the reject report with their store location:
// - Openfire's Monitoring archive on PostgreSQL and MariaDB (schema from the documented facts, hand-written rows);
// - a file of XEP-0136 <chat> collections (secs chains, secs=0 bursts, utc overrides, groupchat, no body, bytes
//   that are not UTF-8);
// - Prosody's community mod_archive collections in the archive store, from the data directory and from Prosody's
//   SQL storage on MariaDB and PostgreSQL (filled by Prosody's own prosody-migrator).
// Times cross the EU daylight-saving changes of 2008 while this process runs in Europe/Berlin.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshMysqlDatabase, freshPostgresDatabase, mysqlServer, postgresServer, type FreshDatabase } from '../support/databases.js';
import { migrateWithCli, type TargetDialect } from '../fixtures/xep0136/cli-target.js';
import { openfireMonitoringSchema } from '../fixtures/xep0136/openfire-monitoring-schema.js';
import { seedDb, type Dialect } from '../fixtures/xep0136/seed-db.js';
import { migrateToSql } from '../fixtures/prosody/migrator.js';

const databases: FreshDatabase[] = [];
const work = mkdtempSync(join(tmpdir(), 'xmig-xep0136-stores-'));
const previousTz = process.env.TZ;
beforeAll(() => {
  process.env.TZ = 'Europe/Berlin';
  // The zone is in force: summer time began at 2008-03-30 01:00 UTC.
  expect(new Date(Date.UTC(2008, 2, 30, 1, 0, 0)).getTimezoneOffset()).toBe(-120);
});
afterAll(async () => {
  if (previousTz === undefined) delete process.env.TZ;
  else process.env.TZ = previousTz;
  for (const db of databases) await db.drop();
  rmSync(work, { recursive: true, force: true });
});

const TARGETS: TargetDialect[] = ['mysql', 'pg'];
const NAME: Record<Dialect, string> = { pg: 'PostgreSQL', mysql: 'MariaDB' };
const SUMMER_2008 = Date.UTC(2008, 2, 30, 1, 0, 0); // epoch ms
const WINTER_2008 = Date.UTC(2008, 9, 26, 1, 0, 0);

// ---------------------------------------------------------------------------------------------------------
// Openfire Monitoring

async function seedOpenfire(dialect: Dialect): Promise<string> {
  const fresh = dialect === 'pg' ? await freshPostgresDatabase('cli_openfire') : await freshMysqlDatabase('cli_openfire');
  databases.push(fresh);
  const seed = await seedDb(dialect, fresh.url);
  for (const statement of openfireMonitoringSchema(dialect)) await seed.exec(statement);
  const conversation = (conversationID: number, room: string | null, start: number, isExternal = 0): Promise<void> =>
    seed.insert('ofConversation', { conversationID, roomID: room ? 1 : null, room, isExternal, startDate: start - 1, lastActivity: start + 60_000, messageCount: 3 });
  const participant = (conversationID: number, bareJID: string, jidResource: string, nickname: string | null, joined: number): Promise<void> =>
    seed.insert('ofConParticipant', { conversationID, joinedDate: joined, leftDate: null, bareJID, jidResource, nickname });
  const message = (row: Record<string, unknown>): Promise<void> =>
    seed.insert('ofMessageArchive', { messageID: null, fromJIDResource: null, toJIDResource: null, stanza: null, body: null, isPMforJID: null, ...row });
  const T = SUMMER_2008;
  await conversation(1, null, T - 1000);
  await participant(1, 'alice@example.com', 'phone', null, T - 1000);
  await participant(1, 'bob@example.com', 'pc', null, T - 1000);
  // The kept stanza carries subject and thread; the rows without one get a message built from the body.
  await message({ messageID: 201, conversationID: 1, fromJID: 'alice@example.com', fromJIDResource: 'phone', toJID: 'bob@example.com', sentDate: T - 1, body: 'last ms of winter time',
    stanza: `<message xmlns="jabber:client" from="alice@example.com/phone" to="bob@example.com" type="chat" id="s1"><subject>Clocks</subject><body>last ms of winter time</body><thread>dst</thread></message>` });
  await message({ messageID: 202, conversationID: 1, fromJID: 'bob@example.com', fromJIDResource: 'pc', toJID: 'alice@example.com', toJIDResource: 'phone', sentDate: T, body: 'first ms of summer time' });
  await message({ messageID: 203, conversationID: 1, fromJID: 'bob@example.com', fromJIDResource: 'pc', toJID: 'alice@example.com', toJIDResource: 'phone', sentDate: T, body: 'same ms' });
  await message({ messageID: 204, conversationID: 1, fromJID: 'alice@example.com', fromJIDResource: 'phone', toJID: 'bob@example.com', sentDate: T + 1, body: 'next ms' });
  await message({ messageID: 205, conversationID: 1, fromJID: 'alice@example.com', fromJIDResource: 'phone', toJID: 'bob@example.com', sentDate: -5, body: 'before 1970' });
  await message({ messageID: 206, conversationID: 1, fromJID: 'alice@example.com', fromJIDResource: 'phone', toJID: 'bob@example.com', sentDate: T + 2 }); // neither body nor stanza
  await message({ messageID: 207, conversationID: 1, fromJID: 'bob@example.com', fromJIDResource: 'pc', toJID: 'alice@example.com', sentDate: T + 3_600_000, body: 'an hour later, ünïcødé 🎉' });
  await conversation(2, 'lobby@conference.example.com', T + 500);
  await participant(2, 'alice@example.com', 'phone', 'Alice', T);
  await participant(2, 'bob@example.com', 'pc', 'Bobby', T);
  await message({ messageID: 208, conversationID: 2, fromJID: 'alice@example.com', fromJIDResource: 'phone', toJID: 'lobby@conference.example.com', toJIDResource: 'Alice', sentDate: T + 500, body: 'hello room', stanza: '' });
  await message({ messageID: 209, conversationID: 2, fromJID: 'bob@example.com', fromJIDResource: 'pc', toJID: 'lobby@conference.example.com', toJIDResource: 'Bobby', sentDate: T + 500, body: 'same ms in the room', stanza: '' });
  await message({ messageID: 210, conversationID: 2, fromJID: 'bob@example.com', fromJIDResource: 'pc', toJID: 'lobby@conference.example.com', sentDate: T + 600, body: 'no nick' });
  await conversation(3, null, WINTER_2008 - 1, 1);
  await message({ messageID: 211, conversationID: 3, fromJID: 'kate@other.org', fromJIDResource: 'x', toJID: 'alice@example.com', sentDate: WINTER_2008 - 1, body: 'remote, last ms of summer time' });
  await message({ messageID: 212, conversationID: 3, fromJID: 'alice@example.com', toJID: 'kate@other.org', toJIDResource: 'x', sentDate: WINTER_2008, body: 'first ms of winter time' });
  await seed.close();
  return fresh.url;
}

for (const sourceDialect of ['mysql', 'pg'] as const) {
  describe(`Openfire Monitoring on ${NAME[sourceDialect]} through the CLI`, () => {
    let url: string;
    beforeAll(async () => {
      url = await seedOpenfire(sourceDialect);
    });

    it.each(TARGETS)('into MongooseIM on %s: each row in every local party\'s archive, rooms in room archives, bad rows rejected', async (target) => {
      const scheme = sourceDialect === 'pg' ? 'openfire-monitoring+pg' : 'openfire-monitoring+mysql';
      const migrated = await migrateWithCli(`${scheme}:${url}`, target, ['--source-option', 'domain=example.com'], databases);
      expect(migrated.stderr).toBe('');
      expect(migrated.code).toBe(3);
      expect(migrated.personal).toEqual([
        'alice@example.com 2008-03-30T00:59:59.999000Z out bob@example.com last ms of winter time subject=Clocks thread=dst',
        'alice@example.com 2008-03-30T01:00:00.000000Z in bob@example.com/pc first ms of summer time',
        'alice@example.com 2008-03-30T01:00:00.000001Z in bob@example.com/pc same ms',
        'alice@example.com 2008-03-30T01:00:00.001000Z out bob@example.com next ms',
        'alice@example.com 2008-03-30T02:00:00.000000Z in bob@example.com/pc an hour later, ünïcødé 🎉',
        'alice@example.com 2008-10-26T00:59:59.999000Z in kate@other.org/x remote, last ms of summer time',
        'alice@example.com 2008-10-26T01:00:00.000000Z out kate@other.org/x first ms of winter time',
        'bob@example.com 2008-03-30T00:59:59.999000Z in alice@example.com/phone last ms of winter time subject=Clocks thread=dst',
        'bob@example.com 2008-03-30T01:00:00.000000Z out alice@example.com/phone first ms of summer time',
        'bob@example.com 2008-03-30T01:00:00.000001Z out alice@example.com/phone same ms',
        'bob@example.com 2008-03-30T01:00:00.001000Z in alice@example.com/phone next ms',
        'bob@example.com 2008-03-30T02:00:00.000000Z out alice@example.com an hour later, ünïcødé 🎉',
      ]);
      expect(migrated.rooms).toEqual([
        'lobby@conference.example.com 2008-03-30T01:00:00.500000Z Alice alice@example.com hello room',
        'lobby@conference.example.com 2008-03-30T01:00:00.500001Z Bobby bob@example.com same ms in the room',
      ]);
      expect(migrated.rejects.map((r) => [r.code, r.location?.table, r.location?.key]).sort()).toEqual([
        ['empty-row', 'ofMessageArchive', 'messageID=206'],
        ['invalid-time', 'ofMessageArchive', 'messageID=205'],
        ['room-message-without-nick', 'ofMessageArchive', 'messageID=210'],
      ]);
      for (const reject of migrated.rejects) expect(reject.location?.source).toContain(scheme);
      expect(migrated.summary.kinds['archived-message'].written).toBe(14);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// A file of XEP-0136 collections

const CHATS = `<?xml version='1.0' encoding='UTF-8'?>
<archive owner='alice@example.com'>
  <chat xmlns='urn:xmpp:archive' with='bob@example.org/pc' start='2008-03-30T00:59:50Z' thread='dst' subject='Clocks' version='1'>
    <to secs='0'><body>start</body></to>
    <from secs='9'><body>chain 9</body></from>
    <from secs='1'><body>chain 1, summer time</body></from>
    <to secs='0'><body>burst a</body></to>
    <to secs='0'><body>burst b</body></to>
    <from utc='2008-03-30T00:30:00Z'><body>utc override, reaching back</body></from>
    <to secs='30'><body>30 s after the override</body></to>
    <to secs='-4'><body>negative secs</body></to>
    <to secs='soon'><body>not a number</body></to>
    <from secs='5'/>
    <from secs='1'><body>caf\u00e9 INVALID</body></from>
    <to secs='1'><body>after the bad ones</body></to>
  </chat>
  <chat xmlns='urn:xmpp:archive' with='balcony@house.capulet.com' start='2008-03-30T01:00:00Z'>
    <from secs='0' name='benvolio'><body>groupchat in the burst second</body></from>
    <from secs='2' name='romeo' jid='romeo@montague.net'><body>with a real jid</body></from>
  </chat>
  <chat xmlns='urn:xmpp:archive' start='2008-03-30T01:10:00Z'>
    <to secs='0'><body>no with</body></to>
  </chat>
  <chat xmlns='urn:xmpp:archive' with='carol@example.net' start='2008-10-26T00:59:59Z'>
    <to secs='0'><body>last second of summer time</body></to>
    <from secs='1'><body>first second of winter time</body></from>
  </chat>
</archive>
`;

function chatsFile(): string {
  const path = join(work, 'chats.xml');
  // One body holds a Latin-1 byte (0xE9) where UTF-8 is declared: those bytes are not UTF-8.
  const [before, after] = CHATS.split('caf\u00e9 INVALID');
  writeFileSync(path, Buffer.concat([Buffer.from(before!, 'utf8'), Buffer.from('caf\xe9 latin-1', 'latin1'), Buffer.from(after!, 'utf8')]));
  return path;
}

describe('a file of XEP-0136 collections through the CLI', () => {
  let path: string;
  beforeAll(() => {
    path = chatsFile();
  });

  it.each(TARGETS)('into MongooseIM on %s: secs chains, bursts, utc overrides, groupchat, DST; bad entries rejected with their line', async (target) => {
    const migrated = await migrateWithCli(`xep0136:${path}`, target, [], databases);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(3);
    expect(migrated.personal).toEqual([
      // The subject goes on the collection's first message in time: the override reaches back before `start`.
      'alice@example.com 2008-03-30T00:30:00.000000Z in bob@example.org/pc utc override, reaching back subject=Clocks thread=dst',
      'alice@example.com 2008-03-30T00:30:30.000000Z out bob@example.org/pc 30 s after the override thread=dst',
      // Rejected entries with a usable secs still advance the chain: 00:30:30 + 0 + 0 + 5 + 1 + 1.
      'alice@example.com 2008-03-30T00:30:37.000000Z out bob@example.org/pc after the bad ones thread=dst',
      'alice@example.com 2008-03-30T00:59:50.000000Z out bob@example.org/pc start thread=dst',
      'alice@example.com 2008-03-30T00:59:59.000000Z in bob@example.org/pc chain 9 thread=dst',
      'alice@example.com 2008-03-30T01:00:00.000000Z in bob@example.org/pc chain 1, summer time thread=dst',
      'alice@example.com 2008-03-30T01:00:00.000001Z out bob@example.org/pc burst a thread=dst',
      'alice@example.com 2008-03-30T01:00:00.000002Z out bob@example.org/pc burst b thread=dst',
      'alice@example.com 2008-03-30T01:00:00.000003Z in balcony@house.capulet.com/benvolio groupchat groupchat in the burst second',
      'alice@example.com 2008-03-30T01:00:02.000000Z in balcony@house.capulet.com/romeo groupchat with a real jid',
      'alice@example.com 2008-10-26T00:59:59.000000Z out carol@example.net last second of summer time',
      'alice@example.com 2008-10-26T01:00:00.000000Z in carol@example.net first second of winter time',
    ]);
    expect(migrated.rejects.map((r) => [r.code, r.location?.file, r.location?.line]).sort()).toEqual([
      ['collection-without-with', path, 21],
      ['empty-entry', path, 13],
      ['invalid-secs', path, 11],
      ['invalid-secs', path, 12],
      ['invalid-utf8', path, 14],
    ].sort());
    expect(migrated.summary.kinds['archived-message'].written).toBe(12);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Prosody mod_archive (files, and Prosody's SQL storage on MariaDB)

/** ann@modarchive.test: mod_mam items and mod_archive collections (newest first) in one archive store. */
const ANN_LIST = `item({
	["key"] = "m1";
	["when"] = ${SUMMER_2008 / 1000};
	["with"] = "bob@example.org";
	["name"] = "message";
	["attr"] = { ["from"] = "bob@example.org/pc"; ["to"] = "ann@modarchive.test"; ["type"] = "chat"; ["xmlns"] = "jabber:client"; };
	{ ["name"] = "body"; ["attr"] = {}; "mam at the change" };
});
item({ name = "chat"; attr = { with = "carol@example.org"; start = "2008-10-26T00:59:59Z"; version = "1"; };
  { name = "to"; attr = { secs = "0"; }; { name = "body"; attr = {}; "last second of summer time" } };
  { name = "from"; attr = { secs = "1"; }; { name = "body"; attr = {}; "first second of winter time" } };
});
item({ name = "chat"; attr = { with = "bob@example.org"; start = "2008-03-30T00:59:58Z"; thread = "dst"; subject = "Clocks"; version = "1"; };
  { name = "to"; attr = { secs = "0"; }; { name = "body"; attr = {}; "start" } };
  { name = "from"; attr = { secs = "2"; }; { name = "body"; attr = {}; "chain 2" } };
  { name = "from"; attr = { secs = "0"; }; { name = "body"; attr = {}; "burst" } };
  { name = "to"; attr = { secs = "-1"; }; { name = "body"; attr = {}; "negative secs" } };
  { name = "to"; attr = { utc = "2008-03-30T02:00:00Z"; }; { name = "body"; attr = {}; "utc override" } };
  { name = "from"; attr = { secs = "7"; }; };
  { name = "to"; attr = { secs = "3"; }; { name = "body"; attr = {}; "after the bad ones" } };
});
item({ name = "chat"; attr = { with = "room@conference.example.org"; start = "2008-03-30T01:00:00Z"; version = "1"; };
  { name = "from"; attr = { secs = "0"; name = "romeo"; }; { name = "body"; attr = {}; "groupchat" } };
});
item({ name = "chat"; attr = { start = "2008-03-30T01:10:00Z"; version = "1"; };
  { name = "to"; attr = { secs = "0"; }; { name = "body"; attr = {}; "no with" } };
});
`;

const PROSODY_EXPECTED = [
  'ann@modarchive.test 2008-03-30T00:59:58.000000Z out bob@example.org start subject=Clocks thread=dst',
  'ann@modarchive.test 2008-03-30T01:00:00.000000Z in bob@example.org/pc mam at the change',
  'ann@modarchive.test 2008-03-30T01:00:00.000001Z in bob@example.org chain 2 thread=dst',
  'ann@modarchive.test 2008-03-30T01:00:00.000002Z in bob@example.org burst thread=dst',
  'ann@modarchive.test 2008-03-30T01:00:00.000003Z in room@conference.example.org/romeo groupchat groupchat',
  'ann@modarchive.test 2008-03-30T02:00:00.000000Z out bob@example.org utc override thread=dst',
  'ann@modarchive.test 2008-03-30T02:00:10.000000Z out bob@example.org after the bad ones thread=dst',
  'ann@modarchive.test 2008-10-26T00:59:59.000000Z out carol@example.org last second of summer time',
  'ann@modarchive.test 2008-10-26T01:00:00.000000Z in carol@example.org first second of winter time',
];

describe('Prosody mod_archive collections through the CLI', () => {
  const data = join(work, 'prosody-data');
  const sql: Record<string, string> = {};
  beforeAll(async () => {
    mkdirSync(join(data, 'modarchive%2etest', 'archive'), { recursive: true });
    writeFileSync(join(data, 'modarchive%2etest', 'archive', 'ann.list'), ANN_LIST);
    const my = await freshMysqlDatabase('cli_prosody_modarchive');
    const pgDb = await freshPostgresDatabase('cli_prosody_modarchive');
    databases.push(my, pgDb);
    const myServer = mysqlServer();
    const pgServer = postgresServer();
    await Promise.all([
      migrateToSql(data, { driver: 'MySQL', database: my.name, username: myServer.user, password: myServer.password, host: myServer.host, port: myServer.port }),
      migrateToSql(data, { driver: 'PostgreSQL', database: pgDb.name, username: pgServer.user, password: pgServer.password, host: pgServer.host, port: pgServer.port }),
    ]);
    sql['SQL on MariaDB'] = my.url;
    sql['SQL on PostgreSQL'] = pgDb.url;
  });

  const cases: Array<[string, TargetDialect]> = [
    ['files', 'mysql'],
    ['files', 'pg'],
    ['SQL on MariaDB', 'mysql'],
    ['SQL on MariaDB', 'pg'],
    ['SQL on PostgreSQL', 'mysql'],
    ['SQL on PostgreSQL', 'pg'],
  ];
  it.each(cases)('from %s into MongooseIM on %s: collections and mod_mam items in one time order, bad entries rejected', async (from, target) => {
    const source = from === 'files' ? `prosody:${data}` : `prosody+sql:${sql[from]}`;
    const migrated = await migrateWithCli(source, target, [], databases);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(3);
    expect(migrated.personal).toEqual(PROSODY_EXPECTED);
    expect(migrated.rejects.map((r) => [r.code, r.location?.key]).sort()).toEqual([
      ['collection-without-with', 'ann@modarchive.test'],
      ['empty-entry', 'ann@modarchive.test entry 6'],
      ['invalid-secs', 'ann@modarchive.test entry 4'],
    ]);
    if (from === 'files') for (const reject of migrated.rejects) expect(reject.location?.file).toMatch(/ann\.list$/);
    expect(migrated.summary.kinds['archived-message'].written).toBe(PROSODY_EXPECTED.length);
  });
});
