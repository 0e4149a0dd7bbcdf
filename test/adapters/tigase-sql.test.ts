// The Tigase database adapter against its schemas (Tigase 8.0 and 8.4 layouts) created in the test run's real
// PostgreSQL 15 and MariaDB 10.11, with hand-inserted rows of every format (fixtures/tigase/data.ts): exact
// records, rejects with table and key, resumption from every cursor, MySQL's reordered UUIDs, inventory, SCRAM
// client proofs, and no secret in any output.
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/adapters/index.js';
import type { SourceAdapter } from '../../src/adapters/source-adapter.js';
import { orderedHexFromUuid, uuidFromOrderedHex } from '../../src/adapters/tigase-records.js';
import { tigaseSqlAdapter } from '../../src/adapters/tigase-sql.js';
import { SourceError, UsageError } from '../../src/errors.js';
import type { AccountRecord, ScramAlgorithm } from '../../src/records.js';
import { type FreshDatabase, freshMysqlDatabase, freshPostgresDatabase } from '../support/databases.js';
import { type Dialect, fixtureDb } from '../fixtures/openfire/sql-fixture.js';
import { itemView, readItems, scramAccepts } from '../fixtures/openfire/source-views.js';
import { ITERATIONS, PASSWORDS, TIMES, UUID, loadTigase, salted, tigaseSalt } from '../fixtures/tigase/data.js';
import { TIGASE_PROFILES, type TigaseProfile } from '../fixtures/tigase/schema.js';

const DIALECTS: Dialect[] = ['pg', 'mysql'];
const STREAMS = ['accounts', 'last', 'rosters', 'vcards', 'private', 'privacy', 'offline', 'archives', 'muc-rooms', 'muc-archives'];

async function loaded(dialect: Dialect, profile: TigaseProfile): Promise<FreshDatabase> {
  const fresh = dialect === 'pg' ? await freshPostgresDatabase(`tigase${profile}`) : await freshMysqlDatabase(`tigase${profile}`);
  const db = await fixtureDb(dialect, fresh.url);
  try {
    await loadTigase(db, profile);
  } finally {
    await db.close();
  }
  return fresh;
}

/** UTC `YYYY-MM-DD HH:MM:SS[.ffffff]` → µs as a decimal string, written independently of the adapter. */
function micros(text: string): string {
  const [date, time] = text.split(' ') as [string, string];
  const [whole, fraction = ''] = time.split('.');
  return String(BigInt(Date.parse(`${date}T${whole}Z`)) * 1000n + BigInt((fraction + '000000').slice(0, 6)));
}

/** The `ts=` text the adapter reports: microseconds always written out. */
function tsText(text: string): string {
  const [whole, fraction = ''] = text.split('.');
  return `${whole}.${(fraction + '000000').slice(0, 6)}`;
}

const KEY_BYTES = { sha1: 20, sha256: 32, sha512: 64 } as const;

function hash(user: string, password: string, algorithm: 'sha1' | 'sha256' | 'sha512'): Record<string, unknown> {
  const s = salted(user, password, algorithm);
  expect(s).toHaveLength(KEY_BYTES[algorithm]);
  return {
    algorithm,
    iterations: ITERATIONS,
    salt: tigaseSalt(user, algorithm).toString('hex'),
    storedKey: createHash(algorithm).update(createHmac(algorithm, s).update('Client Key').digest()).digest('hex'),
    serverKey: createHmac(algorithm, s).update('Server Key').digest('hex'),
  };
}

const CREATED = micros(TIMES.created);
const user = (local: string, domain = 'example.com'): { local: string; domain: string } => ({ local, domain });

function account(uid: number, userId: string, jid: { local: string; domain: string }, credential: unknown): Record<string, unknown> {
  return { kind: 'account', jid, credential, createdAt: CREATED, at: `tig_users uid=${uid} (${userId})` };
}

function contact(jid: string, subscription: string, ask: string, more: { name?: string; groups?: string[] } = {}): Record<string, unknown> {
  return { kind: 'roster-item', owner: user('alice'), contact: jid, name: more.name ?? '', subscription, ask, askMessage: '', groups: more.groups ?? [], at: 'tig_pairs pid=2 (alice@example.com roster)' };
}

function expected(profile: TigaseProfile, dialect: Dialect): Record<string, Array<Record<string, unknown>>> {
  const latest = profile === '8.4';
  const archived = (owner: string, ts: string, id: string, direction: string, remote: string, stanza: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    kind: 'archived-message',
    archive: { type: 'user', jid: user(owner) },
    timestamp: micros(ts),
    direction,
    remote,
    stanza,
    ...extra,
    sourceId: id,
    at: `tig_ma_msgs owner=${owner}@example.com stable_id=${id}`,
  });
  const historyAt = (room: string, ts: string, id: string): string => `tig_muc_room_history room=${room} ts=${tsText(ts)}${latest ? ` stable_id=${id}` : ''}`;
  const roomMessage = (room: string, stored: string, ts: string, id: string, nick: string, sender: string, stanza: string): Record<string, unknown> => ({
    kind: 'archived-message',
    archive: { type: 'room', jid: { local: room.split('@')[0]!.toLowerCase(), domain: 'muc.example.com' } },
    timestamp: micros(ts),
    remote: `${room.toLowerCase()}/${nick}`,
    stanza,
    senderNick: nick,
    senderRealJid: sender,
    ...(latest ? { sourceId: id } : {}),
    at: historyAt(stored, ts, id),
  });
  const lobby = [
    roomMessage('lobby@muc.example.com', 'lobby@muc.example.com', TIMES.h1, UUID.h1, 'alice', 'alice@example.com/phone', '<message xmlns="jabber:client" type="groupchat" id="g1" from="lobby@muc.example.com/alice"><body>Hello room</body></message>'),
    roomMessage('lobby@muc.example.com', 'lobby@muc.example.com', TIMES.h1, UUID.h2, 'bob', 'bob@example.com/pc', '<message xmlns="jabber:client" type="groupchat" from="lobby@muc.example.com/bob"><body>Same ms</body></message>'),
    { reject: 'malformed-xml', at: historyAt('lobby@muc.example.com', TIMES.h2, UUID.h3) },
    { reject: 'unsupported-event', at: historyAt('lobby@muc.example.com', TIMES.h3, UUID.h4) },
  ];
  const plain = [
    roomMessage('plain@muc.example.com', 'Plain@MUC.example.com', TIMES.h0, UUID.h5, 'Caz', 'carol@example.com/tab', '<message xmlns="jabber:client" type="groupchat" from="plain@muc.example.com/Caz"><body>early</body></message>'),
  ];
  // Rooms come in index order: lower(room_jid) on PostgreSQL, SHA-1 of it on MySQL.
  const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');
  const lobbyFirst = dialect === 'pg' ? true : sha1('lobby@muc.example.com') < sha1('plain@muc.example.com');
  return {
    accounts: [
      account(2, 'alice@example.com', user('alice'), { type: 'scram', hashes: [hash('alice', PASSWORDS.alice, 'sha1'), hash('alice', PASSWORDS.alice, 'sha256'), hash('alice', PASSWORDS.alice, 'sha512')] }),
      account(3, 'bob@example.com', user('bob'), { type: 'plain+scram', password: PASSWORDS.bob, hashes: [hash('bob', PASSWORDS.bob, 'sha1')] }),
      account(4, 'carol@example.com', user('carol'), { type: 'plain', password: PASSWORDS.carol }),
      account(5, 'dave@example.com', user('dave'), {
        type: 'none',
        reason: 'only an MD5 hash of the password is stored (MD5-PASSWORD): it can become neither SCRAM nor plaintext; the user must set a new password',
      }),
      { reject: 'invalid-scram', at: 'tig_users uid=6 (erin@example.com)' },
      account(7, 'frank@example.com', user('frank'), { type: 'none', reason: "tig_user_credentials has no credential for this account (username 'default')" }),
      account(8, 'Grace@Example.com', user('grace'), { type: 'scram', hashes: [hash('grace', PASSWORDS.grace, 'sha1')] }),
      { reject: 'invalid-jid', at: 'tig_users uid=9 (bad user@example.com)' },
      account(10, 'heidi@other.org', user('heidi', 'other.org'), { type: 'plain', password: PASSWORDS.heidi }),
    ],
    last: [{ kind: 'last-activity', owner: user('alice'), seconds: Number(BigInt(micros(TIMES.lastAlice)) / 1_000_000n), status: '', at: 'tig_users uid=2 (alice@example.com)' }],
    rosters: [
      contact('bob@example.com', 'both', 'none', { name: 'Bob & Co', groups: ['Friends', 'Work'] }),
      contact('carol@example.com', 'none', 'out'),
      contact('dan@other.org', 'none', 'in'),
      contact('erin@example.com', 'none', 'both', { groups: ['A'] }),
      contact('frank@example.com', 'to', 'in'),
      contact('gina@example.com', 'from', 'out'),
      contact('hank@example.com', 'to', 'none'),
      contact('ivy@example.com', 'from', 'none'),
      contact('jo@example.com', 'none', 'none'),
      contact('lou@example.com', 'none', 'none'),
      contact('max@example.com', 'none', 'out'),
      contact('ned@example.com', 'to', 'none'),
      { reject: 'unknown-subscription', at: 'tig_pairs pid=2 (alice@example.com roster)' },
      { reject: 'invalid-jid', at: 'tig_pairs pid=2 (alice@example.com roster)' },
      { reject: 'duplicate-roster-item', at: 'tig_pairs pid=2 (alice@example.com roster)' },
      { reject: 'malformed-roster', at: 'tig_pairs pid=9 (bob@example.com roster)' },
      { kind: 'roster-item', owner: user('carol'), contact: 'alice@example.com', name: '', subscription: 'both', ask: 'none', askMessage: '', groups: ['Friends'], at: 'tig_pairs pid=13 (carol@example.com roster)' },
    ],
    vcards: [
      { kind: 'vcard', owner: user('alice'), vcard: '<vCard xmlns="vcard-temp"><FN>Alice T.</FN></vCard>', at: 'tig_pairs pid=3 (alice@example.com vCard)' },
      { reject: 'malformed-xml', at: 'tig_pairs pid=10 (bob@example.com vCard)' },
    ],
    private: [
      { kind: 'private-xml', owner: user('alice'), element: '<storage xmlns="storage:bookmarks"><conference jid="lobby@muc.example.com" autojoin="true"/></storage>', at: 'tig_pairs pid=5 (alice@example.com private)' },
      { reject: 'private-xml-namespace', at: 'tig_pairs pid=11 (bob@example.com private)' },
    ],
    privacy: [
      { kind: 'privacy-list', owner: user('alice'), name: 'blocked', isDefault: true, items: [{ type: 'jid', value: 'mallory@example.com', action: 'deny', order: 1, matches: ['message'] }], at: 'tig_pairs pid=7 (alice@example.com privacy list)' },
      { kind: 'privacy-list', owner: user('alice'), name: 'work', isDefault: false, items: [{ type: 'none', value: '', action: 'allow', order: 1, matches: [] }], at: 'tig_pairs pid=8 (alice@example.com privacy list)' },
      { reject: 'invalid-privacy-list', at: 'tig_pairs pid=12 (bob@example.com privacy list)' },
    ],
    offline: [
      {
        kind: 'offline-message',
        owner: user('alice'),
        timestamp: micros(TIMES.offline1),
        from: 'bob@example.com/pc',
        stanza: '<message from="bob@example.com/pc" to="alice@example.com" type="chat" xmlns="jabber:client"><body>ping</body></message>',
        at: 'tig_offline_messages msg_id=1',
      },
      { reject: 'malformed-xml', at: 'tig_offline_messages msg_id=3' },
      {
        kind: 'offline-message',
        owner: user('bob'),
        timestamp: micros(TIMES.offline4),
        from: 'carol@example.com',
        stanza: '<message to="bob@example.com" xmlns="jabber:client"><body>no from attribute</body></message>',
        expire: micros(TIMES.expire4),
        at: 'tig_offline_messages msg_id=4',
      },
      { reject: 'unexpected-element', at: 'tig_offline_messages msg_id=5' },
    ],
    archives: [
      archived('alice', TIMES.t1, UUID.a1, 'out', 'bob@example.com', '<message xmlns="jabber:client" from="alice@example.com/phone" to="bob@example.com" type="chat" id="abc1"><body>Hello</body><origin-id xmlns="urn:xmpp:sid:0" id="abc1"/></message>', { originId: 'abc1' }),
      archived('alice', TIMES.t1, UUID.a2, 'in', 'bob@example.com/pc', '<message xmlns="jabber:client" from="bob@example.com/pc" to="alice@example.com/phone" type="chat"><body>Hi</body><stanza-id xmlns="urn:xmpp:sid:0" id="00000002-0000-4000-8000-000000000002" by="alice@example.com"/></message>'),
      archived('alice', TIMES.t2, UUID.a3, 'in', 'room@muc.example.com/bob', '<message xmlns="jabber:client" from="room@muc.example.com/bob" to="alice@example.com/phone" type="groupchat" id="g7"><body>in room</body></message>'),
      { reject: 'malformed-xml', at: `tig_ma_msgs owner=alice@example.com stable_id=${UUID.a4}` },
      archived('alice', TIMES.t4, UUID.a5, 'in', 'dan@other.org/x', '<message xmlns="jabber:client" from="dan@other.org/x" to="alice@example.com" type="chat"><body>Hello!</body><replace xmlns="urn:xmpp:message-correct:0" id="x1"/></message>'),
      archived('bob', TIMES.t1, UUID.b1, 'in', 'alice@example.com/phone', '<message xmlns="jabber:client" from="alice@example.com/phone" to="bob@example.com" type="chat" id="abc1"><body>Hello</body><origin-id xmlns="urn:xmpp:sid:0" id="abc1"/></message>', { originId: 'abc1' }),
    ],
    'muc-rooms': [
      {
        kind: 'muc-room',
        room: { local: 'lobby', domain: 'muc.example.com' },
        options: {
          title: 'Lobby', description: 'Welcome', password_protected: true, password: 's3cret', subject: 'Topic', subject_author: 'alice', max_users: 50,
          persistent: true, public: false, public_list: false, moderated: true, members_only: true, allow_user_invites: false, allow_change_subj: true,
          anonymous: false, allow_private_messages: true,
        },
        affiliations: [
          { jid: 'alice@example.com', affiliation: 'owner' },
          { jid: 'bob@example.com', affiliation: 'admin' },
          { jid: 'carol@example.com', affiliation: 'member' },
          { jid: 'troll@other.org', affiliation: 'outcast' },
        ],
        at: 'tig_muc_rooms room_id=1 (lobby@muc.example.com)',
      },
      { reject: 'unknown-affiliation', at: 'tig_muc_room_affiliations room_id=1 jid=eve@example.com' },
      ...(latest
        ? [
            { kind: 'muc-registration', mucHost: 'muc.example.com', user: user('alice'), nick: 'Al', at: 'tig_muc_room_affiliations room_id=1 jid=alice@example.com' },
            { kind: 'muc-registration', mucHost: 'muc.example.com', user: user('carol'), nick: 'Caz', at: 'tig_muc_room_affiliations room_id=1 jid=carol@example.com' },
          ]
        : []),
      { reject: 'malformed-room-config', at: 'tig_muc_rooms room_id=3 (bad@muc.example.com)' },
      {
        kind: 'muc-room',
        room: { local: 'plain', domain: 'muc.example.com' },
        options: {
          title: 'Plain Room', description: '', password_protected: false, persistent: true, public: true, public_list: true, moderated: false,
          members_only: false, allow_user_invites: true, allow_change_subj: false, anonymous: true, allow_private_messages: true,
        },
        affiliations: [],
        at: 'tig_muc_rooms room_id=4 (plain@muc.example.com)',
      },
    ],
    'muc-archives': lobbyFirst ? [...lobby, ...plain] : [...plain, ...lobby],
  };
}

describe('MySQL UUID byte order', () => {
  it('maps the reordered binary(16) of Tig_MA_UuidToOrdered to the canonical UUID and back', () => {
    expect(orderedHexFromUuid('f47ac10b-58cc-4372-a567-0e02b2c3d479')).toBe('437258ccf47ac10ba5670e02b2c3d479');
    expect(uuidFromOrderedHex('437258CCF47AC10BA5670E02B2C3D479')).toBe('f47ac10b-58cc-4372-a567-0e02b2c3d479');
    expect(uuidFromOrderedHex('not hex')).toBeUndefined();
  });
});

describe.each(DIALECTS)('tigase on %s', (dialect) => {
  describe.each([...TIGASE_PROFILES])('Tigase %s schema', (profile) => {
    let fresh: FreshDatabase;
    let source: SourceAdapter;
    beforeAll(async () => {
      fresh = await loaded(dialect, profile);
      source = await tigaseSqlAdapter.open(fresh.url, { settings: {} });
    });
    afterAll(async () => {
      await source?.close();
      await fresh?.drop();
    });

    it('declares its streams and a display name without the password', () => {
      expect(source.streams().map((s) => s.name)).toEqual(STREAMS);
      expect(source.displayName).toMatch(new RegExp(`^tigase\\+${dialect}:(postgres|mysql)://[^:]+:\\*\\*\\*@`));
    });

    it.each(STREAMS)('reads stream %s exactly, rejects included', async (stream) => {
      const items = await readItems(source, stream);
      expect(items.map(itemView)).toEqual(expected(profile, dialect)[stream]);
      const cursors = items.map((i) => i.cursor);
      expect([...cursors].sort()).toEqual(cursors);
      expect(new Set(cursors).size).toBe(cursors.length);
    });

    it('delivers each archive together and in time order', async () => {
      for (const stream of ['archives', 'muc-archives']) {
        const seen: string[] = [];
        let last = -1n;
        for (const item of await readItems(source, stream)) {
          if (!('record' in item) || item.record.kind !== 'archived-message') continue;
          const key = `${item.record.archive.jid.local}@${item.record.archive.jid.domain}`;
          if (seen[seen.length - 1] !== key) {
            expect(seen, `${stream}: ${key} comes back after another archive`).not.toContain(key);
            seen.push(key);
            last = -1n;
          }
          expect(item.record.timestamp >= last, `${stream}: ${key} out of order`).toBe(true);
          last = item.record.timestamp;
        }
      }
    });

    it('resumes every stream from every cursor with exactly the items after it, page by page', async () => {
      const small = await tigaseSqlAdapter.open(fresh.url, { settings: { 'page-rows': '1' } });
      try {
        for (const stream of STREAMS) {
          const full = await readItems(small, stream);
          expect(full.map(itemView), `${stream} with 1-row pages`).toEqual(expected(profile, dialect)[stream]);
          for (let i = 0; i < full.length; i++) {
            const rest = await readItems(small, stream, full[i]!.cursor);
            expect(rest.map((r) => r.cursor), `${stream} after ${full[i]!.cursor}`).toEqual(full.slice(i + 1).map((r) => r.cursor));
            expect(rest.map(itemView)).toEqual(full.slice(i + 1).map(itemView));
          }
        }
      } finally {
        await small.close();
      }
    });

    it('gives SCRAM hashes that accept the known passwords (client proof), the p= form included', async () => {
      const accounts = (await readItems(source, 'accounts')).flatMap((i) => ('record' in i && i.record.kind === 'account' ? [i.record as AccountRecord] : []));
      const checked: string[] = [];
      for (const a of accounts) {
        const password = (PASSWORDS as Record<string, string>)[a.jid.local];
        const c = a.credential;
        if (password === undefined || (c.type !== 'scram' && c.type !== 'plain+scram')) continue;
        for (const h of c.hashes) {
          expect(scramAccepts(h, password), `${a.jid.local} ${h.algorithm}`).toBe(true);
          expect(scramAccepts(h, 'wrong'), `${a.jid.local} ${h.algorithm} wrong password`).toBe(false);
          checked.push(`${a.jid.local}:${h.algorithm}`);
        }
      }
      expect(checked).toEqual(['alice:sha1', 'alice:sha256', 'alice:sha512', 'bob:sha1', 'grace:sha1']);
    });

    it('inventories counts, credential shapes, rejects and notes', async () => {
      const inventory = await source.inventory();
      expect(inventory.description).toBe(
        `Tigase database (schema versions: ${profile === '8.4' ? 'message-archiving 3.3.0, muc 3.5.0, server 8.4.0' : 'message-archiving 3.0.0, muc 3.0.0, server 8.0.0'}), ${dialect === 'pg' ? 'PostgreSQL' : 'MySQL/MariaDB'}`,
      );
      expect(inventory.counts).toEqual({
        account: 7,
        'last-activity': 1,
        'roster-item': 13,
        vcard: 1,
        'private-xml': 1,
        'privacy-list': 2,
        'offline-message': 2,
        'muc-room': 2,
        ...(profile === '8.4' ? { 'muc-registration': 2 } : {}),
        'archived-message': 11,
      });
      expect(inventory.owners).toMatchObject({ account: 7, 'roster-item': 2, 'archived-message': 4 });
      expect(inventory.credentials).toEqual({ 'scram-sha1+sha256+sha512': 1, 'plain+scram-sha1': 1, plain: 2, 'md5-unusable': 1, invalid: 1, none: 1, 'scram-sha1': 1 });
      expect(inventory.rejects).toEqual({
        'invalid-scram': 1,
        'invalid-jid': 2,
        'unknown-subscription': 1,
        'duplicate-roster-item': 1,
        'malformed-roster': 1,
        'malformed-xml': 2,
        'private-xml-namespace': 1,
        'invalid-privacy-list': 1,
        'unexpected-element': 1,
        'unknown-affiliation': 1,
        'malformed-room-config': 1,
      });
      expect(inventory.archiveSpan).toEqual({ first: BigInt(micros(TIMES.h0)), last: BigInt(micros(TIMES.t4)) });
      expect(inventory.cannotProvide.map((c) => c.reason)).toEqual(['1 vCard4 (XEP-0292) value(s) are not read; only vcard-temp vCards are']);
      expect(inventory.notes).toEqual(
        expect.arrayContaining([
          "1 tig_users row(s) without @ (Tigase's own, e.g. db-properties) skipped",
          "1 extra credential(s) (tig_user_credentials username other than 'default': app passwords) not migrated",
          '1 SCRAM credentials in the older p= (SaltedPassword) form, keys derived',
          '1 accounts with account_status 0 (disabled) in Tigase, migrated as ordinary accounts',
          '1 accounts with account_status -5 (banned) in Tigase, migrated as ordinary accounts',
          '1 credentials of mechanism X-OAUTH not read',
          "1 roster contacts with subs='remove' skipped",
          '3 roster contacts with a subscription pre-approval, which MongooseIM does not store',
          '1 offline presences (subscription requests) not migrated: the roster keeps them as pending',
          '1 rooms not configured persistent, skipped (MongooseIM keeps persistent rooms only)',
          '1 rooms allowing private messages to participants or moderators only: MongooseIM allows them to everyone',
          '1 archived reference message(s) (corrections, fastenings) are migrated as ordinary messages',
        ]),
      );
    });
  });
});

describe('tigase options and secrets', () => {
  const databases: FreshDatabase[] = [];
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('never shows a password or SCRAM key in inventory, rejects or errors', async () => {
    const fresh = await loaded('mysql', '8.4');
    databases.push(fresh);
    const source = await openSource(`tigase+mysql:${fresh.url}`, { settings: {} });
    const outputs: string[] = [source.displayName, JSON.stringify(await source.inventory(), (_, v) => (typeof v === 'bigint' ? String(v) : v))];
    for (const stream of STREAMS) {
      for (const item of await readItems(source, stream)) {
        if ('reject' in item) outputs.push(item.reject.message, JSON.stringify(item.reject.location), item.excerpt ?? '');
      }
    }
    await source.close();
    const text = outputs.join('\n');
    const secrets = [...Object.values(PASSWORDS), 'app-password', 'garbage'];
    for (const [u, p] of Object.entries(PASSWORDS)) {
      for (const a of ['sha1', 'sha256', 'sha512'] as ScramAlgorithm[]) {
        const h = hash(u, p, a as 'sha1');
        secrets.push(String(h.storedKey), String(h.serverKey), Buffer.from(String(h.storedKey), 'hex').toString('base64'), salted(u, p, a).toString('base64'));
      }
    }
    expect(text).toContain('invalid-scram');
    for (const secret of secrets) expect(text, 'a secret leaked').not.toContain(secret);
    const password = new URL(fresh.url).password;
    if (password) expect(text).not.toContain(password);
  });

  it('refuses unknown options, a database that is not Tigase, and unknown streams and cursors', async () => {
    await expect(tigaseSqlAdapter.open('postgres://x', { settings: { domain: 'x' } })).rejects.toThrow(/unknown tigase source option "domain"/);
    await expect(tigaseSqlAdapter.open('postgres://x', { settings: { 'page-rows': '0' } })).rejects.toThrow(UsageError);
    const empty = await freshPostgresDatabase('nottigase');
    databases.push(empty);
    await expect(tigaseSqlAdapter.open(empty.url, { settings: {} })).rejects.toThrow(SourceError);
    const fresh = await loaded('pg', '8.0');
    databases.push(fresh);
    const source = await tigaseSqlAdapter.open(fresh.url, { settings: {} });
    expect(() => source.read('rooms')).toThrow(UsageError);
    await expect(readItems(source, 'archives', '000000000003:[["1"],0]')).rejects.toThrow(/was not produced by stream "archives"/);
    await source.close();
  });
});
