// The ejabberd SQL adapter against real ejabberd 23.01 servers started here (Debian's package), each seeded with
// real traffic (ejabberdctl and @xmpp/client, test/fixtures/ejabberd/seed.ts), then read back record by record:
// - PostgreSQL, multi-host schema (pg.new.sql): example.test (SCRAM-SHA-1, plain XML) and other.test
//   (SCRAM-SHA-512, mod_mam compress_xml);
// - PostgreSQL, single-host schema (pg.sql): example.test with SCRAM-SHA-256;
// - MariaDB, single-host schema (mysql.sql): example.test with compress_xml on, so every archive row is
//   ejabberd's compressed format.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/adapters/index.js';
import type { SourceAdapter, SourceItem } from '../../src/adapters/source-adapter.js';
import { UsageError } from '../../src/errors.js';
import type { AccountRecord, ArchivedMessageRecord, MigrationRecord, ScramAlgorithm } from '../../src/records.js';
import { serializeXml } from '../../src/xml/element.js';
import { type FreshDatabase, freshMysqlDatabase, freshPostgresDatabase, mysqlServer, postgresServer } from '../support/databases.js';
import { EjabberdServer, type EjabberdSql } from '../fixtures/ejabberd/ejabberd-server.js';
import {
  itemView,
  loadMysqlSchema,
  loadPgSchema,
  mysqlQuery,
  pgQuery,
  readAll,
  readEverything,
  recordsOf,
  scramMatches,
  schemaFile,
  view,
} from '../fixtures/ejabberd/helpers.js';
import { PASSWORD, UNICODE_PASSWORD, seedCompressed, seedMain } from '../fixtures/ejabberd/seed.js';

const D = 'example.test';
const OTHER = 'other.test';

interface Backend {
  name: string;
  db: FreshDatabase;
  url: string;
  server: EjabberdServer;
  query: (sql: string) => Promise<Array<Record<string, unknown>>>;
  window: { from: bigint; to: bigint };
}

const backends: Record<'multi' | 'single' | 'maria', Backend> = {} as Record<'multi' | 'single' | 'maria', Backend>;
const roots: string[] = [];

function sqlFor(kind: 'pgsql' | 'mysql', db: FreshDatabase, multiHost: boolean): EjabberdSql {
  const s = kind === 'pgsql' ? postgresServer() : mysqlServer();
  return { type: kind, host: s.host, port: s.port, database: db.name, user: s.user, password: s.password, multiHost };
}

function trace(what: string): void {
  if (process.env.XMIG_SEED_TRACE) process.stderr.write(`[seed ${new Date().toISOString().slice(11, 23)}] ${what}\n`);
}

/** ejabberd writes `last` when a session ends, after the client has gone: wait for it before stopping the node. */
async function settled(b: Backend, loggedIn: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const rows = await b.query(`SELECT count(*) AS n FROM last WHERE state <> 'Registered but didn''t login'`);
    if (Number(rows[0]?.n) >= loggedIn) return;
    if (Date.now() > deadline) throw new Error(`${b.name}: ejabberd did not record the logouts`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  const [multiDb, singleDb, mariaDb] = await Promise.all([
    freshPostgresDatabase('ej_multi'),
    freshPostgresDatabase('ej_single'),
    freshMysqlDatabase('ej_single'),
  ]);
  await Promise.all([
    loadPgSchema(multiDb.url, schemaFile('pg.new.sql')),
    loadPgSchema(singleDb.url, schemaFile('pg.sql')),
    loadMysqlSchema(mariaDb.url, schemaFile('mysql.sql')),
  ]);
  const root = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'xmig-ejabberd-'));
    roots.push(dir);
    return dir;
  };
  const servers = {
    multi: new EjabberdServer({
      root: await root(),
      hosts: [D, OTHER],
      sql: sqlFor('pgsql', multiDb, true),
      hostConfig: { [OTHER]: { scramHash: 'sha512', compressXml: true } },
    }),
    single: new EjabberdServer({ root: await root(), hosts: [D], sql: sqlFor('pgsql', singleDb, false), scramHash: 'sha256' }),
    maria: new EjabberdServer({ root: await root(), hosts: [D], sql: sqlFor('mysql', mariaDb, false), hostConfig: { [D]: { compressXml: true } } }),
  };
  const pgq = (db: FreshDatabase) => (sql: string) => pgQuery(db.url, sql);
  backends.multi = { name: 'PostgreSQL multi-host', db: multiDb, url: `ejabberd+pg:${multiDb.url}`, server: servers.multi, query: pgq(multiDb), window: { from: 0n, to: 0n } };
  backends.single = { name: 'PostgreSQL single-host', db: singleDb, url: `ejabberd+pg:${singleDb.url}`, server: servers.single, query: pgq(singleDb), window: { from: 0n, to: 0n } };
  backends.maria = {
    name: 'MariaDB single-host',
    db: mariaDb,
    url: `ejabberd+mysql:${mariaDb.url}`,
    server: servers.maria,
    query: (sql) => mysqlQuery(mariaDb.url, sql),
    window: { from: 0n, to: 0n },
  };
  await Promise.all(
    Object.values(backends).map(async (b) => {
      b.window.from = BigInt(Date.now()) * 1000n;
      await b.server.start();
      trace(`${b.name}: started`);
      const seeded = [seedMain(b.server, D)];
      if (b === backends.multi) seeded.push(seedCompressed(b.server, OTHER));
      await Promise.all(seeded);
      await settled(b, b === backends.multi ? 5 : 3);
      b.window.to = BigInt(Date.now()) * 1000n;
      trace(`${b.name}: seeded`);
      const errors = (await b.server.errors()).trim();
      // The data is in the database now: free the CPU for the rest of the run.
      await b.server.stop();
      trace(`${b.name}: stopped`);
      if (errors) throw new Error(`${b.name}: ejabberd logged errors while seeding:\n${errors}`);
    }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(Object.values(backends).map((b) => b.server?.stop()));
  await Promise.allSettled(Object.values(backends).map((b) => b.db?.drop()));
});

async function open(b: Backend, settings: Record<string, string> = b === backends.multi ? {} : { domain: D }): Promise<SourceAdapter> {
  return openSource(b.url, { settings });
}

// ---------------------------------------------------------------------------------------------------------
// What the seeding produced, as records.

function msg(attrs: Record<string, string>, inner: string): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${v}"`)
    .join('');
  return `<message${a}>${inner}</message>`;
}

const ORIGIN = (id: string): string => `<origin-id xmlns="urn:xmpp:sid:0" id="${id}"/>`;

/** The example.test scenario (seedMain) as the adapter must read it, archive rows in key order, timestamps apart. */
function expectedArchive(ctlId: string): Array<Partial<Record<string, unknown>>> {
  const alice = `alice@${D}/phone`;
  const bob = `bob@${D}/laptop`;
  const room = `room1@conference.${D}`;
  const user = (local: string) => ({ type: 'user', jid: { local, domain: D } });
  const lang = { 'xml:lang': 'en' };
  const chat1 = msg({ ...lang, to: `bob@${D}`, from: alice, type: 'chat', id: 'chat-1', xmlns: 'jabber:client' }, `${ORIGIN('origin-1')}<body>hello bob &lt;&amp;&gt; ünïcødé 😀</body>`);
  const chat2 = msg({ ...lang, to: alice, from: bob, type: 'chat', id: 'chat-2', xmlns: 'jabber:client' }, '<body>hi alice 👋</body>');
  const chat3 = msg({ ...lang, to: `carol@${D}`, from: alice, type: 'chat', id: 'chat-3', xmlns: 'jabber:client' }, `${ORIGIN('origin-3')}<body>you were offline 📬</body>`);
  const ctl = msg({ to: `bob@${D}`, from: `alice@${D}`, type: 'chat', id: ctlId, xmlns: 'jabber:client' }, '<body>via ctl 1</body>');
  const gc = (nick: string, id: string, inner: string) => msg({ ...lang, to: room, from: `${room}/${nick}`, type: 'groupchat', id, xmlns: 'jabber:client' }, inner);
  return [
    { archive: user('alice'), direction: 'out', remote: `bob@${D}`, stanza: chat1, originId: 'origin-1' },
    { archive: user('alice'), direction: 'in', remote: bob, stanza: chat2 },
    { archive: user('alice'), direction: 'out', remote: `carol@${D}`, stanza: chat3, originId: 'origin-3' },
    { archive: user('alice'), direction: 'out', remote: `bob@${D}`, stanza: ctl },
    { archive: user('bob'), direction: 'in', remote: alice, stanza: chat1, originId: 'origin-1' },
    { archive: user('bob'), direction: 'out', remote: alice, stanza: chat2 },
    { archive: user('bob'), direction: 'in', remote: `alice@${D}`, stanza: ctl },
    { archive: user('carol'), direction: 'in', remote: alice, stanza: chat3, originId: 'origin-3' },
    ...[
      { nick: 'Alice', real: alice, stanza: gc('Alice', 'subject-1', '<subject>Topic ✨</subject>') },
      { nick: 'Alice', real: alice, stanza: gc('Alice', 'gc-1', `${ORIGIN('origin-gc-1')}<body>hello room 🎉</body>`), originId: 'origin-gc-1' },
      // bob sent a muc#user item with his real JID: ejabberd dropped it before storing, and it is not back.
      { nick: 'Bobby', real: bob, stanza: gc('Bobby', 'gc-2', '<body>hi all &lt;b&gt;</body>') },
    ].map((r) => ({
      archive: { type: 'room', jid: { local: 'room1', domain: `conference.${D}` } },
      remote: `${room}/${r.nick}`,
      senderNick: r.nick,
      senderRealJid: r.real,
      stanza: r.stanza,
      ...(r.originId ? { originId: r.originId } : {}),
    })),
  ];
}

function expectedOtherArchive(): Array<Partial<Record<string, unknown>>> {
  const dave = `dave@${OTHER}/desk`;
  const erin = `erin@${OTHER}/pad`;
  const room = `room2@conference.${OTHER}`;
  const lang = { 'xml:lang': 'en' };
  const z1 = msg({ ...lang, to: `erin@${OTHER}`, from: dave, type: 'chat', id: 'z-1', xmlns: 'jabber:client' }, `${ORIGIN('origin-z-1')}<markable xmlns="urn:xmpp:chat-markers:0"/><body>compressed ✓ ü</body>`);
  const z2 = msg({ ...lang, to: dave, from: erin, type: 'chat', id: 'z-2', xmlns: 'jabber:client' }, '<x xmlns="urn:example:custom" note="n"><deep a="b">text</deep></x><body>got it 👍</body>');
  const user = (local: string) => ({ type: 'user', jid: { local, domain: OTHER } });
  return [
    { archive: user('dave'), direction: 'out', remote: `erin@${OTHER}`, stanza: z1, originId: 'origin-z-1' },
    { archive: user('dave'), direction: 'in', remote: erin, stanza: z2 },
    { archive: user('erin'), direction: 'in', remote: dave, stanza: z1, originId: 'origin-z-1' },
    { archive: user('erin'), direction: 'out', remote: dave, stanza: z2 },
    {
      archive: { type: 'room', jid: { local: 'room2', domain: `conference.${OTHER}` } },
      remote: `${room}/Dave`,
      senderNick: 'Dave',
      senderRealJid: dave,
      stanza: msg({ ...lang, to: room, from: `${room}/Dave`, type: 'groupchat', id: 'zgc-1', xmlns: 'jabber:client' }, '<body>compressed room 🗜</body>'),
    },
  ];
}

function expectedRosters(domain: string): unknown[] {
  const item = (owner: string, contact: string, name: string, subscription: string, ask: string, askMessage: string, groups: string[]) => ({
    kind: 'roster-item',
    owner: { local: owner, domain },
    contact: `${contact}@${domain}`,
    name,
    subscription,
    ask,
    askMessage,
    groups,
  });
  return [
    item('alice', 'bob', 'Bob B.', 'both', 'none', '', ['Friends']),
    item('alice', 'carol', 'Carol C.', 'none', 'out', '', ['Work', 'Ünïcode ✓']),
    // a stranger's pending request: not a contact, but what the server keeps (N + I, with its status text)
    item('bob', 'mallory', '', 'none', 'in', 'please add me 🙏', []),
    item('carol', 'alice', '', 'none', 'in', '', []),
    item('mallory', 'bob', '', 'none', 'out', '', []),
  ];
}

const owner = (local: string, domain = D) => ({ local, domain });

function expectedSmallKinds(domain: string): Record<string, unknown[]> {
  return {
    vcards: [
      { kind: 'vcard', owner: owner('alice', domain), vcard: '<vCard xmlns="vcard-temp"><FN>Alice Ünïcode</FN><NICKNAME>ali 🦊</NICKNAME></vCard>' },
      { kind: 'vcard', owner: owner('bob', domain), vcard: '<vCard xmlns="vcard-temp"><FN>Bob Builder</FN></vCard>' },
    ],
    private: [{ kind: 'private-xml', owner: owner('alice', domain), element: '<exodus xmlns="exodus:prefs"><defaultnick>Ali</defaultnick></exodus>' }],
    privacy: [
      // alice had no default list: ejabberd made "Blocked contacts" for her blocks; it is only a blocklist here
      { kind: 'blocklist', owner: owner('alice', domain), blocked: ['spam.example', 'troll@spam.example'] },
      {
        kind: 'privacy-list',
        owner: owner('bob', domain),
        name: 'work',
        isDefault: true,
        items: [
          { type: 'jid', value: `mallory@${domain}`, action: 'deny', order: 5, matches: ['message'] },
          { type: 'subscription', value: 'both', action: 'allow', order: 7, matches: [] },
          { type: 'none', value: '', action: 'allow', order: 9, matches: [] },
        ],
      },
      { kind: 'blocklist', owner: owner('bob', domain), blocked: ['spam@spam.example'] },
    ],
    'muc-rooms': [
      {
        kind: 'muc-room',
        room: { local: 'room1', domain: `conference.${domain}` },
        options: {
          title: 'Tëst room ✓',
          description: 'A room for tests',
          password: '',
          allow_change_subj: true,
          allow_query_users: true,
          allow_private_messages: true,
          allow_visitor_status: true,
          allow_visitor_nickchange: true,
          public: true,
          public_list: true,
          persistent: true,
          moderated: true,
          members_by_default: true,
          members_only: false,
          allow_user_invites: false,
          password_protected: false,
          anonymous: true,
          max_users: 30,
          subject: 'Topic ✨',
          subject_author: 'Alice',
        },
        affiliations: [
          { jid: `alice@${domain}`, affiliation: 'owner' },
          { jid: `bob@${domain}`, affiliation: 'member' },
          { jid: `mallory@${domain}`, affiliation: 'outcast' },
        ],
      },
    ],
    'muc-registrations': [{ kind: 'muc-registration', mucHost: `conference.${domain}`, user: owner('bob', domain), nick: 'Bobby' }],
  };
}

function inWindow(b: Backend, micros: bigint | undefined): boolean {
  return micros !== undefined && micros >= b.window.from - 5_000_000n && micros <= b.window.to + 5_000_000n;
}

async function dbArchiveRows(b: Backend): Promise<Array<{ username: string; timestamp: string; id: string }>> {
  const order = b === backends.multi ? 'server_host, username, timestamp, id' : 'username, timestamp, id';
  return (await b.query(`SELECT username, timestamp, id FROM archive ORDER BY ${order}`)).map((r) => ({ username: String(r.username), timestamp: String(r.timestamp), id: String(r.id) }));
}

const SCRAM: Record<string, ScramAlgorithm> = { multi: 'sha1', single: 'sha256', maria: 'sha1' };

// ---------------------------------------------------------------------------------------------------------

describe.each(['multi', 'single', 'maria'] as const)('a real ejabberd 23.01 (%s)', (which) => {
  let items: Map<string, SourceItem[]>;
  let source: SourceAdapter;
  const b = (): Backend => backends[which];
  const domainRecords = (stream: string, domain = D): MigrationRecord[] =>
    recordsOf(items.get(stream)).filter((r) => {
      const o = 'owner' in r ? r.owner : 'jid' in r ? r.jid : 'archive' in r ? r.archive.jid : 'room' in r ? r.room : 'user' in r ? r.user : undefined;
      return o !== undefined && (o.domain === domain || o.domain === `conference.${domain}`);
    });

  beforeAll(async () => {
    source = await open(b());
    items = await readEverything(source);
  });
  afterAll(async () => {
    await source?.close();
  });

  it('reads every stream without a reject', () => {
    expect([...items.keys()]).toEqual(['accounts', 'rosters', 'vcards', 'private', 'last', 'privacy', 'offline', 'muc-rooms', 'muc-registrations', 'pep', 'archive']);
    const rejects = [...items.values()].flat().filter((i) => 'reject' in i).map(itemView);
    expect(rejects).toEqual([]);
  });

  it('merges each user into one account whose SCRAM keys verify against the real password', () => {
    const accounts = domainRecords('accounts') as AccountRecord[];
    expect(accounts.map((a) => a.jid.local)).toEqual(['alice', 'bob', 'carol', 'mallory']);
    for (const account of accounts) {
      expect(account.credential.type, account.jid.local).toBe('scram');
      if (account.credential.type !== 'scram') continue;
      expect(account.credential.hashes.map((h) => [h.algorithm, h.iterations, h.salt.length])).toEqual([[SCRAM[which], 4096, 16]]);
      const password = account.jid.local === 'carol' ? UNICODE_PASSWORD : PASSWORD;
      expect(scramMatches(password, account.credential.hashes[0]!), account.jid.local).toBe(true);
      expect(scramMatches(`${password}x`, account.credential.hashes[0]!)).toBe(false);
      expect(inWindow(b(), account.createdAt), `createdAt ${account.createdAt}`).toBe(true);
    }
  });

  it('reads rosters with their codes, groups and pending requests', () => {
    expect(domainRecords('rosters').map(view)).toEqual(expectedRosters(D));
  });

  it('reads vCards, private XML, privacy lists with the blocklist, rooms and registered nicks', () => {
    for (const [stream, expected] of Object.entries(expectedSmallKinds(D))) expect(domainRecords(stream).map(view), stream).toEqual(expected);
  });

  it('reads last activity: seconds as a number, the status text', () => {
    const last = domainRecords('last').map(view);
    expect(last.map((l) => (l.owner as { local: string }).local)).toEqual(['alice', 'bob', 'carol', 'mallory']);
    for (const l of last) expect(inWindow(b(), BigInt(l.seconds as number) * 1_000_000n)).toBe(true);
    expect(last[2]).toMatchObject({ status: "Registered but didn't login" });
  });

  it('reads offline messages with the receive time from their delay, in seq order per user', () => {
    const offline = domainRecords('offline');
    const ctlId = ((domainRecords('archive')[3] as ArchivedMessageRecord).stanza.attrs.id as string) ?? '';
    expect(ctlId).toMatch(/^\d+$/);
    expect(offline.map(view).map(({ timestamp, ...rest }) => rest)).toEqual([
      {
        kind: 'offline-message',
        owner: owner('bob'),
        from: `alice@${D}`,
        // ejabberd's <archived>/<stanza-id> by bob are its MAM ids: not carried over; the delay stays for the writer
        stanza: msg({ to: `bob@${D}`, from: `alice@${D}`, type: 'chat', id: ctlId, xmlns: 'jabber:client' }, `<delay from="${D}" stamp="STAMP" xmlns="urn:xmpp:delay">Offline Storage</delay><body>via ctl 1</body>`).replace('STAMP', stampOf(offline[0]!)),
      },
      {
        kind: 'offline-message',
        owner: owner('carol'),
        from: `alice@${D}/phone`,
        stanza: msg({ 'xml:lang': 'en', to: `carol@${D}`, from: `alice@${D}/phone`, type: 'chat', id: 'chat-3', xmlns: 'jabber:client' }, `${ORIGIN('origin-3')}<delay from="${D}" stamp="STAMP" xmlns="urn:xmpp:delay">Offline Storage</delay><body>you were offline 📬</body>`).replace('STAMP', stampOf(offline[1]!)),
      },
    ]);
    for (const o of offline) {
      if (o.kind !== 'offline-message') continue;
      const stamp = stampOf(o);
      expect(stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(o.timestamp).toBe(BigInt(Date.parse(stamp)) * 1000n + BigInt(stamp.slice(23, 26)));
      expect(inWindow(b(), o.timestamp)).toBe(true);
    }
  });

  it('reads the PEP item', () => {
    const pep = recordsOf(items.get('pep'));
    expect(pep.map(view).map(({ publishedAt, ...rest }) => rest)).toEqual([
      { kind: 'pep-item', owner: owner('alice'), node: 'http://jabber.org/protocol/tune', itemId: 'current', payload: '<tune xmlns="http://jabber.org/protocol/tune"><artist>Ünï</artist><title>Song 🎵</title></tune>' },
    ]);
    expect(inWindow(b(), (pep[0] as { publishedAt?: bigint }).publishedAt)).toBe(true);
  });

  it('reads every archived message once, with the exact microsecond timestamp, direction and peer', async () => {
    const archive = recordsOf(items.get('archive')) as ArchivedMessageRecord[];
    const rows = await dbArchiveRows(b());
    expect(archive.map((r) => r.timestamp.toString())).toEqual(rows.map((r) => r.timestamp));
    expect(archive.map((r) => r.sourceId)).toEqual(rows.map((r) => r.timestamp));
    const ours = archive.filter((r) => r.archive.jid.domain.endsWith(D));
    const ctlId = ours[3]!.stanza.attrs.id as string;
    expect(ours.map(view).map(({ kind, timestamp, sourceId, ...rest }) => rest)).toEqual(expectedArchive(ctlId));
    if (which === 'multi') {
      const other = archive.filter((r) => r.archive.jid.domain.endsWith(OTHER));
      expect(other.map(view).map(({ kind, timestamp, sourceId, ...rest }) => rest)).toEqual(expectedOtherArchive());
    }
    for (const r of archive) expect(inWindow(b(), r.timestamp)).toBe(true);
    // Each archive's messages come together, in timestamp order.
    const seen = new Set<string>();
    let previous = '';
    for (const r of archive) {
      const key = JSON.stringify(r.archive);
      if (key !== previous) {
        expect(seen.has(key), `${key} comes back later`).toBe(false);
        seen.add(key);
        previous = key;
      }
    }
  });

  it('never leaks a real JID into a room message: from is room/nick, the real JID only in senderRealJid', () => {
    const rooms = (recordsOf(items.get('archive')) as ArchivedMessageRecord[]).filter((r) => r.archive.type === 'room');
    expect(rooms.length).toBe(which === 'multi' ? 4 : 3);
    for (const r of rooms) {
      const xml = serializeXml(r.stanza);
      expect(r.stanza.attrs.from).toBe(`${r.archive.jid.local}@${r.archive.jid.domain}/${r.senderNick}`);
      expect(r.senderRealJid).toMatch(/^[a-z]+@[a-z.]+\/[a-z]+$/);
      expect(xml).not.toContain(r.senderRealJid!.split('/')[0]);
      expect(xml).not.toContain('muc#user');
    }
  });

  it('describes the schema and counts what plan needs', async () => {
    const inv = await source.inventory();
    expect(inv.description).toContain(which === 'multi' ? 'multi-host schema' : `single-host schema (no server_host; domain ${D}`);
    expect(inv.description).toContain(which === 'maria' ? 'MariaDB 10.11' : 'PostgreSQL 15');
    expect(inv.description).toContain('users.type: no (before 25.03)');
    expect(inv.description).toContain('archive.origin_id: no (before 24.02)');
    const m = which === 'multi';
    expect(inv.counts).toEqual({
      account: m ? 6 : 4,
      'roster-item': 5,
      vcard: 2,
      'private-xml': 1,
      'last-activity': m ? 6 : 4,
      'privacy-list': 1,
      blocklist: 2,
      'offline-message': 2,
      'muc-room': m ? 2 : 1,
      'muc-registration': 1,
      'pep-item': 1,
      'archived-message': m ? 16 : 11,
    });
    expect(inv.owners).toMatchObject({ account: m ? 6 : 4, 'roster-item': 4, blocklist: 2, 'archived-message': m ? 7 : 4 });
    expect(inv.credentials).toEqual(m ? { none: 0, 'scram-sha1': 4, 'scram-sha512': 2 } : { none: 0, [`scram-${SCRAM[which]}`]: 4 });
    expect(inv.rejects).toEqual({});
    const rows = await dbArchiveRows(b());
    const stamps = rows.map((r) => BigInt(r.timestamp)).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    expect(inv.archiveSpan).toEqual({ first: stamps[0], last: stamps[stamps.length - 1] });
    const compressed = which === 'maria' ? 11 : which === 'multi' ? 5 : 0;
    if (compressed) expect(inv.notes).toContain(`${compressed} archive row(s) are stored with compress_xml (ejabberd's dictionary-coded binary); ${compressed} decode, 0 cannot be decoded and will be rejected`);
    else expect(inv.notes.join('\n')).not.toContain('compress_xml');
    expect(inv.notes.join('\n')).toContain('roles ×1');
  });

  it('resumes after every cursor with exactly the remaining items', async () => {
    for (const stream of source.streams()) {
      const all = items.get(stream.name)!;
      const cursors = all.map((i) => i.cursor);
      expect([...cursors].sort(), stream.name).toEqual(cursors);
      expect(new Set(cursors).size).toBe(cursors.length);
      for (let i = 0; i < all.length; i++) {
        const rest = await readAll(source, stream.name, cursors[i]);
        expect(rest.map(itemView), `${stream.name} after ${cursors[i]}`).toEqual(all.slice(i + 1).map(itemView));
      }
    }
  });
});

function stampOf(record: MigrationRecord): string {
  if (record.kind !== 'offline-message') return '';
  return record.stanza.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp ?? '';
}

describe('opening', () => {
  it('needs the domain for a single-host schema, and says which option', async () => {
    await expect(open(backends.single, {})).rejects.toThrow(UsageError);
    await expect(open(backends.maria, {})).rejects.toThrow(/single-host schema, whose rows carry no domain: pass the vhost with --source-option domain=<vhost>/);
  });

  it('warns in plan when the stored stanzas do not mention the domain given for a single-host schema', async () => {
    const wrong = await open(backends.single, { domain: 'wrong.example' });
    const right = await open(backends.single);
    try {
      expect((await wrong.inventory()).notes.join('\n')).toMatch(/WARNING: none of \d+ sampled stored stanzas \(archive, spool\) is from or to a JID of wrong\.example: check --source-option domain \(found example\.test/);
      expect((await right.inventory()).notes.join('\n')).not.toContain('WARNING');
    } finally {
      await wrong.close();
      await right.close();
    }
  });

  it('never shows the password in its name or its locations', async () => {
    for (const b of Object.values(backends)) {
      const password = new URL(b.db.url).password;
      const source = await open(b);
      try {
        expect(source.displayName).toBe(`${b.url.split(':')[0]}:${b.db.url.replace(`:${password}@`, '@')}`);
        expect(source.displayName).not.toContain(password);
        const [first] = await readAll(source, 'accounts');
        expect(JSON.stringify((first as { record: MigrationRecord }).record.location)).not.toContain(password);
      } finally {
        await source.close();
      }
    }
  });

  it('reads one vhost of a multi-host database when given a domain', async () => {
    const source = await open(backends.multi, { domain: OTHER });
    try {
      const accounts = recordsOf(await readAll(source, 'accounts')) as AccountRecord[];
      expect(accounts.map((a) => `${a.jid.local}@${a.jid.domain}`)).toEqual([`dave@${OTHER}`, `erin@${OTHER}`]);
      const archive = recordsOf(await readAll(source, 'archive'));
      expect(archive).toHaveLength(5);
      expect((await source.inventory()).description).toContain(`reading vhost ${OTHER} only`);
    } finally {
      await source.close();
    }
  });

  it('refuses unknown options, a wrong URL and a database that is not ejabberd', async () => {
    await expect(open(backends.multi, { domian: D })).rejects.toThrow(/unknown ejabberd source option "domian"/);
    await expect(openSource('ejabberd+pg:mysql://x@127.0.0.1/y', { settings: {} })).rejects.toThrow(/needs a postgres:\/\/user:password@host:port\/database URL/);
    const empty = await freshPostgresDatabase('ej_empty');
    try {
      await expect(openSource(`ejabberd+pg:${empty.url}`, { settings: {} })).rejects.toThrow(/no ejabberd users table/);
    } finally {
      await empty.drop();
    }
  });
});
