// The Openfire database adapter against its schemas (versions 22, 26, 33, 38, 40) created in the test run's real
// PostgreSQL 15 and MariaDB 10.11, with hand-inserted rows of every code and format (fixtures/openfire/data.ts):
// exact records, rejects with table and key, resumption from every cursor, inventory, both password KDFs, and
// no secret in any output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/adapters/index.js';
import { openfireSqlAdapter } from '../../src/adapters/openfire-sql.js';
import type { SourceAdapter, SourceItem } from '../../src/adapters/source-adapter.js';
import { RecordError, SourceError, UsageError } from '../../src/errors.js';
import type { AccountRecord } from '../../src/records.js';
import { type FreshDatabase, freshMysqlDatabase, freshPostgresDatabase } from '../support/databases.js';
import {
  BLOWFISH_SALT,
  DOMAIN,
  PASSWORD_KEY,
  PASSWORDS,
  T,
  cipherFor,
  loadOpenfire,
  ms,
  saltFor,
  scramColumns,
} from '../fixtures/openfire/data.js';
import { OPENFIRE_VERSIONS } from '../fixtures/openfire/schema.js';
import { type Dialect, fixtureDb } from '../fixtures/openfire/sql-fixture.js';
import { itemView, readItems, scramAccepts } from '../fixtures/openfire/source-views.js';
import { encryptOpenfirePassword } from '../../src/adapters/openfire-blowfish.js';

const DIALECTS: Dialect[] = ['pg', 'mysql'];

async function freshDatabase(dialect: Dialect, hint: string): Promise<FreshDatabase> {
  return dialect === 'pg' ? freshPostgresDatabase(hint) : freshMysqlDatabase(hint);
}

async function loaded(dialect: Dialect, version: number, options: Parameters<typeof loadOpenfire>[2] = { kdf: 'sha1' }): Promise<FreshDatabase> {
  const fresh = await freshDatabase(dialect, `openfire${version}`);
  const db = await fixtureDb(dialect, fresh.url);
  try {
    await loadOpenfire(db, version, options);
  } finally {
    await db.close();
  }
  return fresh;
}

const micros = (msValue: number): string => String(BigInt(msValue) * 1000n);
const CREATED = micros(T.created);

function sha1Hash(user: string, password: string): Record<string, unknown> {
  const c = scramColumns(user, password);
  return {
    algorithm: 'sha1',
    iterations: c.iterations,
    salt: saltFor(user).toString('hex'),
    storedKey: Buffer.from(c.storedKey, 'base64').toString('hex'),
    serverKey: Buffer.from(c.serverKey, 'base64').toString('hex'),
  };
}

const user = (local: string): { local: string; domain: string } => ({ local, domain: DOMAIN });

function account(local: string, credential: unknown, created: string | null = CREATED): Record<string, unknown> {
  return { kind: 'account', jid: user(local), credential, ...(created === null ? {} : { createdAt: created }), at: `ofUser ${local}` };
}

function rosterItem(id: number, owner: string, contact: string, subscription: string, ask: string, more: { name?: string; askMessage?: string; groups?: string[] } = {}): Record<string, unknown> {
  return {
    kind: 'roster-item',
    owner: user(owner),
    contact,
    name: more.name ?? '',
    subscription,
    ask,
    askMessage: more.askMessage ?? '',
    groups: more.groups ?? [],
    at: `ofRoster rosterID=${id}`,
  };
}

const LOBBY = { local: 'lobby', domain: 'conference.example.com' };
const DEV = { local: 'dev', domain: 'rooms.example.com' };

/** Every item of every stream of the fixture, as read from schema `version`. */
function expected(version: number): Record<string, Array<Record<string, unknown>>> {
  const logIds = version >= 24;
  const logAt = (room: number, time: number, id: number | null): string => `ofMucConversationLog roomID=${room} logTime=${ms(time)}${logIds && id !== null ? ` messageID=${id}` : ''}`;
  const groupchat = (room: string, nick: string, inner: string): string => `<message xmlns="jabber:client" type="groupchat" from="${room}/${nick}">${inner}</message>`;
  const logMessage = (room: typeof LOBBY, time: number, id: number | null, nick: string, sender: string, stanza: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    kind: 'archived-message',
    archive: { type: 'room', jid: room },
    timestamp: micros(time),
    remote: `${room.local}@${room.domain}/${nick}`,
    stanza,
    senderNick: nick,
    senderRealJid: sender,
    ...extra,
    ...(logIds && id !== null ? { sourceId: String(id) } : {}),
    at: logAt(room === LOBBY ? 10 : 12, time, id),
  });
  const lobby = `${LOBBY.local}@${LOBBY.domain}`;
  const dev = `${DEV.local}@${DEV.domain}`;
  const privateAt = version >= 28 ? 'ofPubsubItem alice@example.com storage:bookmarks current' : 'ofPrivate alice storage storage:bookmarks';
  return {
    accounts: [
      account('admin', { type: 'plain', password: 'admin' }, null),
      account('alice', { type: 'plain+scram', password: PASSWORDS.alice, hashes: [sha1Hash('alice', PASSWORDS.alice)] }),
      { reject: 'invalid-jid', at: 'ofUser bad user' },
      account('bob', { type: 'plain+scram', password: PASSWORDS.bob, hashes: [sha1Hash('bob', PASSWORDS.bob)] }),
      account('carol', { type: 'scram', hashes: [sha1Hash('carol', PASSWORDS.carol)] }),
      account('dave', { type: 'plain', password: PASSWORDS.dave }),
      account('erin', { type: 'none', reason: expect.stringMatching(/^encryptedPassword does not decrypt .*; the account has no SCRAM keys either, so its password cannot be recovered/) }),
      account('frank', { type: 'scram', hashes: [sha1Hash('frank', 'frank-pw')] }),
      account('grace', { type: 'scram', hashes: [sha1Hash('grace', PASSWORDS.grace)] }),
      account('heidi', { type: 'none', reason: 'ofUser has no password for this account (no plainPassword, encryptedPassword or SCRAM keys)' }),
      { reject: 'invalid-scram', at: 'ofUser ivan' },
    ],
    rosters: [
      rosterItem(1, 'alice', 'bob@example.com', 'both', 'none', { name: 'Bob', groups: ['Friends', 'Work'] }),
      rosterItem(2, 'alice', 'carol@example.com', 'none', 'out'),
      rosterItem(3, 'alice', 'dan@other.org', 'none', 'in', { askMessage: version >= 33 ? 'Hi, add me' : '' }),
      rosterItem(4, 'alice', 'erin@example.com', 'from', 'out', { name: 'Erin' }),
      rosterItem(5, 'alice', 'frank@example.com', 'to', 'in'),
      rosterItem(6, 'alice', 'kate@other.org', 'none', 'both', { name: 'Kate' }),
      rosterItem(8, 'alice', 'leo@other.org', 'both', 'none'),
      { reject: 'unknown-roster-code', at: 'ofRoster rosterID=9' },
      { reject: 'unknown-roster-code', at: 'ofRoster rosterID=10' },
      { reject: 'invalid-jid', at: 'ofRoster rosterID=11' },
      rosterItem(12, 'bob', 'alice@example.com', 'both', 'none', { groups: ['Friends'] }),
    ],
    vcards: [
      { kind: 'vcard', owner: user('alice'), vcard: '<vCard xmlns="vcard-temp"><FN>Alice A.</FN><NICKNAME>al</NICKNAME></vCard>', at: 'ofVCard alice' },
      { reject: 'malformed-xml', at: 'ofVCard bob' },
      { reject: 'invalid-vcard', at: 'ofVCard carol' },
    ],
    private: [
      {
        kind: 'private-xml',
        owner: user('alice'),
        element: '<storage xmlns="storage:bookmarks"><conference jid="lobby@conference.example.com" autojoin="true"><nick>Al</nick></conference></storage>',
        at: privateAt,
      },
      { reject: 'malformed-xml', at: version >= 28 ? 'ofPubsubItem bob@example.com storage:bookmarks current' : 'ofPrivate bob storage storage:bookmarks' },
      ...(version >= 28 ? [] : [{ reject: 'private-xml-namespace', at: 'ofPrivate carol prefs urn:example:prefs' }]),
    ],
    privacy: [
      {
        kind: 'privacy-list',
        owner: user('alice'),
        name: 'blocked',
        isDefault: true,
        items: [
          { type: 'jid', value: 'mallory@example.com', action: 'deny', order: 1, matches: [] },
          { type: 'group', value: 'Friends', action: 'allow', order: 2, matches: ['message', 'presence-in'] },
          { type: 'subscription', value: 'none', action: 'deny', order: 3, matches: [] },
          { type: 'none', value: '', action: 'allow', order: 4, matches: [] },
        ],
        at: 'ofPrivacyList alice blocked',
      },
      { reject: 'invalid-privacy-list', at: 'ofPrivacyList alice broken' },
    ],
    offline: [
      {
        kind: 'offline-message',
        owner: user('alice'),
        timestamp: micros(T.offline1),
        from: 'bob@example.com/pc',
        stanza: '<message xmlns="jabber:client" from="bob@example.com/pc" to="alice@example.com" type="chat" id="off1"><body>ping</body></message>',
        at: 'ofOffline alice messageID=1',
      },
      { reject: 'malformed-xml', at: 'ofOffline alice messageID=2' },
      { reject: 'invalid-jid', at: 'ofOffline alice messageID=3' },
      {
        kind: 'offline-message',
        owner: user('bob'),
        timestamp: micros(T.offline3),
        from: 'carol@example.com/tab',
        stanza: '<message xmlns="jabber:client" from="carol@example.com/tab" to="bob@example.com"><body>hey bob</body></message>',
        at: 'ofOffline bob messageID=4',
      },
    ],
    last: [
      { kind: 'last-activity', owner: user('alice'), seconds: Math.floor(T.lastAlice / 1000), status: 'Gone fishing', at: 'ofPresence alice' },
      { kind: 'last-activity', owner: user('bob'), seconds: Math.floor(T.lastBob / 1000), status: '', at: 'ofPresence bob' },
      { reject: 'malformed-xml', at: 'ofPresence carol' },
    ],
    'muc-rooms': [
      {
        kind: 'muc-room',
        room: LOBBY,
        options: {
          title: 'The Lobby', description: 'Welcome', password_protected: false, subject: 'Today: migration', subject_author: version >= 38 ? 'alice' : '',
          max_users: 30, persistent: true, public: true, public_list: true, moderated: false, members_only: false, allow_user_invites: true,
          allow_change_subj: true, anonymous: false, allow_private_messages: true,
        },
        affiliations: [
          { jid: 'alice@example.com', affiliation: 'owner' },
          { jid: 'bob@example.com', affiliation: 'admin' },
          { jid: 'carol@example.com', affiliation: 'member' },
          { jid: 'erin@example.com', affiliation: 'member' },
          { jid: 'frank@example.com', affiliation: 'member' },
          { jid: 'troll@other.org', affiliation: 'outcast' },
        ],
        at: 'ofMucRoom serviceID=1 name=lobby (roomID=10)',
      },
      { reject: 'group-affiliation', at: expect.stringMatching(/^ofMucAffiliation roomID=10 jid=adq62pj6@example\.com\/[0-9a-f]{32}$/) },
      { reject: 'unknown-affiliation', at: 'ofMucAffiliation roomID=10 jid=dave@example.com' },
      { kind: 'muc-registration', mucHost: 'conference.example.com', user: user('carol'), nick: 'Caz', at: 'ofMucMember roomID=10 jid=carol@example.com' },
      { kind: 'muc-registration', mucHost: 'conference.example.com', user: user('frank'), nick: 'Frankie', at: 'ofMucMember roomID=10 jid=frank@example.com' },
      {
        kind: 'muc-room',
        room: { local: 'secret', domain: 'conference.example.com' },
        options: {
          title: 'Secret', description: '', password_protected: true, password: 'hunter2', persistent: true, public: false, public_list: false,
          moderated: false, members_only: true, allow_user_invites: false, allow_change_subj: false, anonymous: true,
          allow_private_messages: version < 23,
        },
        affiliations: [
          { jid: 'alice@example.com', affiliation: 'owner' },
          { jid: 'bob@example.com', affiliation: 'member' },
        ],
        at: 'ofMucRoom serviceID=1 name=secret (roomID=11)',
      },
      { kind: 'muc-registration', mucHost: 'conference.example.com', user: user('bob'), nick: 'Bobby', at: 'ofMucMember roomID=11 jid=bob@example.com' },
      {
        kind: 'muc-room',
        room: DEV,
        options: {
          title: 'Dev', description: '', password_protected: false, max_users: 30, persistent: true, public: true, public_list: true, moderated: true,
          members_only: false, allow_user_invites: false, allow_change_subj: false, anonymous: true, allow_private_messages: true,
        },
        affiliations: [],
        at: 'ofMucRoom serviceID=2 name=dev (roomID=12)',
      },
      { reject: 'invalid-jid', at: 'ofMucRoom serviceID=9 name=orphan (roomID=13)' },
    ],
    'muc-archives': [
      logMessage(LOBBY, T.log0, null, 'Caz', 'carol@example.com/x', groupchat(lobby, 'Caz', '<body>old message</body>')),
      logIds
        ? logMessage(
            LOBBY, T.log1, 100, 'alice', 'alice@example.com/laptop',
            `<message xmlns="jabber:client" type="groupchat" id="m1" from="${lobby}/alice"><body>Hello</body><origin-id xmlns="urn:xmpp:sid:0" id="o-1"/><stanza-id xmlns="urn:xmpp:sid:0" id="5e1c" by="${lobby}"/></message>`,
            { originId: 'o-1' },
          )
        : logMessage(LOBBY, T.log1, 100, 'alice', 'alice@example.com/laptop', groupchat(lobby, 'alice', '<body>Hello</body>')),
      logMessage(
        LOBBY, T.log1, 101, 'bob', 'bob@example.com/phone',
        logIds ? `<message xmlns="jabber:client" type="groupchat" id="m2" from="${lobby}/bob"><body>Hi &amp; welcome</body></message>` : groupchat(lobby, 'bob', '<body>Hi &amp; welcome</body>'),
      ),
      logMessage(LOBBY, T.log2, 102, 'alice', 'alice@example.com/laptop', groupchat(lobby, 'alice', '<subject>Today: migration</subject>')),
      logIds ? { reject: 'malformed-xml', at: logAt(10, T.log3, 103) } : logMessage(LOBBY, T.log3, 103, 'bob', 'bob@example.com/phone', groupchat(lobby, 'bob', '<body>broken</body>')),
      logMessage(DEV, T.log4, 105, 'dave', 'dave@example.com/pc', groupchat(dev, 'dave', '<body>dev talk</body>')),
      { reject: 'room-not-found', at: logAt(99, T.log3, 104) },
    ],
  };
}

const STREAMS = ['accounts', 'rosters', 'vcards', 'private', 'privacy', 'offline', 'last', 'muc-rooms', 'muc-archives'];

describe.each(DIALECTS)('openfire on %s', (dialect) => {
  describe.each([...OPENFIRE_VERSIONS])('schema version %i', (version) => {
    let fresh: FreshDatabase;
    let source: SourceAdapter;
    beforeAll(async () => {
      fresh = await loaded(dialect, version);
      source = await openfireSqlAdapter.open(fresh.url, { settings: {} });
    });
    afterAll(async () => {
      await source?.close();
      await fresh?.drop();
    });

    it('declares its streams and a display name without the password', () => {
      expect(source.streams().map((s) => s.name)).toEqual(STREAMS);
      expect(source.capabilities.resume).toBe('seek');
      expect(source.displayName).toMatch(new RegExp(`^openfire\\+${dialect}:(postgres|mysql)://[^:]+:\\*\\*\\*@`));
    });

    it.each(STREAMS)('reads stream %s exactly, rejects included', async (stream) => {
      const items = await readItems(source, stream);
      expect(items.map(itemView)).toEqual(expected(version)[stream]);
      const cursors = items.map((i) => i.cursor);
      expect([...cursors].sort(), 'cursors increase as text').toEqual(cursors);
      expect(new Set(cursors).size).toBe(cursors.length);
      for (const item of items) {
        if ('reject' in item) {
          expect(item.reject).toBeInstanceOf(RecordError);
          expect(item.reject.location?.source).toBe(source.displayName);
          expect(item.reject.message.length).toBeGreaterThan(10);
        }
      }
    });

    it('resumes every stream from every cursor with exactly the items after it, page by page', async () => {
      const small = await openfireSqlAdapter.open(fresh.url, { settings: { 'page-rows': '2' } });
      try {
        for (const stream of STREAMS) {
          const full = await readItems(small, stream);
          expect(full.map(itemView), `${stream} with 2-row pages`).toEqual(expected(version)[stream]);
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

    it('gives accounts whose SCRAM hashes accept their passwords (client proof) and whose decrypted passwords are right', async () => {
      const accounts = (await readItems(source, 'accounts')).flatMap((i) => ('record' in i && i.record.kind === 'account' ? [i.record as AccountRecord] : []));
      const byName = new Map(accounts.map((a) => [a.jid.local, a]));
      const known: Record<string, string> = { ...PASSWORDS, frank: 'frank-pw' };
      for (const [name, password] of Object.entries(known)) {
        const credential = byName.get(name)!.credential;
        if (credential.type === 'plain' || credential.type === 'plain+scram') expect(credential.password, name).toBe(password);
        if (credential.type === 'scram' || credential.type === 'plain+scram') {
          for (const hash of credential.hashes) {
            expect(scramAccepts(hash, password), `${name} ${hash.algorithm}`).toBe(true);
            expect(scramAccepts(hash, `${password}x`), `${name} wrong password`).toBe(false);
          }
        }
      }
    });

    it('inventories counts, credential shapes, rejects, shared groups and what it cannot provide', async () => {
      const inventory = await source.inventory();
      expect(inventory.description).toBe(`Openfire database, schema version ${version} (Openfire ${({ 22: '4.0', 26: '4.2', 33: '4.7', 38: '5.1', 40: 'main (unreleased)' } as Record<number, string>)[version]}), ${dialect === 'pg' ? 'PostgreSQL' : 'MySQL/MariaDB'}, domain example.com`);
      expect(inventory.counts).toEqual({
        account: 9,
        'roster-item': 8,
        vcard: 1,
        'private-xml': 1,
        'privacy-list': 1,
        'offline-message': 2,
        'last-activity': 2,
        'muc-room': 3,
        'muc-registration': 3,
        'archived-message': 7,
      });
      expect(inventory.owners).toMatchObject({ account: 9, 'roster-item': 2, 'muc-room': 3, 'archived-message': 3 });
      expect(inventory.credentials).toEqual({
        plain: 1,
        'encrypted-recoverable+scram-sha1': 1,
        'plain+scram-sha1': 1,
        'scram-sha1': 3,
        'encrypted-recoverable': 1,
        unrecoverable: 1,
        none: 1,
        invalid: 1,
      });
      expect(inventory.rejects).toEqual({
        'invalid-jid': 4,
        'invalid-scram': 1,
        'unknown-roster-code': 2,
        'malformed-xml': 4,
        'invalid-vcard': 1,
        'invalid-privacy-list': 1,
        'group-affiliation': 1,
        'unknown-affiliation': 1,
        ...(version >= 28 ? {} : { 'private-xml-namespace': 1 }),
      });
      expect(inventory.archiveSpan).toEqual({ first: BigInt(T.log0) * 1000n, last: BigInt(T.log4) * 1000n });
      expect(inventory.cannotProvide.map((c) => c.kind)).toEqual(['roster-item', 'archived-message', 'pep-item']);
      expect(inventory.cannotProvide[0]!.reason).toMatch(/^2 shared group\(s\) .* not in ofRoster/);
      expect(inventory.cannotProvide[2]!.reason).toMatch(/^2 PEP item/);
      expect(inventory.notes).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^2 encryptedPassword value\(s\) decrypted with the SHA-1 KDF, 3 could not be; 1 decrypted password\(s\) checked .*: 1 matched, 0 did not$/),
          expect.stringMatching(/^1 account\(s\) have no recoverable password \(unrecoverable=skip/),
          '1 roster items with sub=-1 (being removed) skipped',
          '1 roster items with ask=1 (unsubscribe pending) migrated without a pending request',
          '1 roster items with recv=2 (unsubscribe received) migrated without a pending request',
          '1 rooms still locked (never configured) in Openfire, migrated as they are',
        ]),
      );
      if (version >= 33) expect(inventory.notes).toContain('1 ofRoster.stanza values (pending request text) unreadable, dropped');
    });
  });
});

describe('openfire passwords and options', () => {
  const databases: FreshDatabase[] = [];
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });
  async function db(dialect: Dialect, version: number, options: Parameters<typeof loadOpenfire>[2]): Promise<FreshDatabase> {
    const fresh = await loaded(dialect, version, options);
    databases.push(fresh);
    return fresh;
  }
  async function credentials(url: string, settings: Record<string, string>): Promise<Map<string, SourceItem>> {
    const source = await openfireSqlAdapter.open(url, { settings });
    try {
      const items = await readItems(source, 'accounts');
      return new Map(items.map((i) => ['record' in i ? (i.record as AccountRecord).jid.local : String(i.reject.location?.key), i]));
    } finally {
      await source.close();
    }
  }
  const credentialOf = (item: SourceItem | undefined): unknown => (item && 'record' in item ? (item.record as AccountRecord).credential : item);

  it.each(DIALECTS)('decrypts passwords made with the PBKDF2 KDF when given the salt (%s, schema 38)', async (dialect) => {
    const fresh = await db(dialect, 38, { kdf: 'pbkdf2' });
    const good = await credentials(fresh.url, { 'blowfish-salt': BLOWFISH_SALT });
    expect(credentialOf(good.get('alice'))).toMatchObject({ type: 'plain+scram', password: PASSWORDS.alice });
    expect(credentialOf(good.get('dave'))).toEqual({ type: 'plain', password: PASSWORDS.dave });
    // With the SHA-1 KDF (the default) nothing decrypts: alice keeps SCRAM only, dave has no password.
    const wrong = await credentials(fresh.url, {});
    expect(credentialOf(wrong.get('alice'))).toMatchObject({ type: 'scram' });
    expect(credentialOf(wrong.get('dave'))).toMatchObject({ type: 'none', reason: expect.stringMatching(/cannot be recovered/) });
    const source = await openfireSqlAdapter.open(fresh.url, { settings: {} });
    const inventory = await source.inventory();
    await source.close();
    expect(inventory.notes).toContain('decryption fails or disagrees with SCRAM: check the passwordKey and the KDF (blowfish-kdf / blowfish-salt from conf/security.xml) before running');
  });

  it('uses a passwordKey given as an option when ofProperty holds it encrypted', async () => {
    const fresh = await db('pg', 40, { kdf: 'sha1', encryptedProperty: true });
    const without = await credentials(fresh.url, {});
    expect(credentialOf(without.get('dave'))).toMatchObject({ type: 'none', reason: expect.stringMatching(/passwordKey is itself encrypted \(encrypted=1/) });
    const given = await credentials(fresh.url, { 'password-key': PASSWORD_KEY });
    expect(credentialOf(given.get('dave'))).toEqual({ type: 'plain', password: PASSWORDS.dave });
  });

  it('rejects unrecoverable accounts instead when asked to, with table and key', async () => {
    const fresh = await db('mysql', 26, { kdf: 'sha1' });
    const items = await credentials(fresh.url, { unrecoverable: 'reject' });
    const erin = items.get('erin');
    expect(erin && 'reject' in erin ? { code: erin.reject.code, table: erin.reject.location?.table } : erin).toEqual({ code: 'unrecoverable-password', table: 'ofUser' });
  });

  it('never shows the passwordKey, a decrypted password or SCRAM keys in inventory, rejects or errors', async () => {
    const fresh = await db('pg', 38, { kdf: 'pbkdf2' });
    const outputs: string[] = [];
    const variants: Array<Record<string, string>> = [{ 'blowfish-salt': BLOWFISH_SALT }, {}, { 'blowfish-salt': BLOWFISH_SALT, unrecoverable: 'reject' }];
    for (const settings of variants) {
      const source = await openfireSqlAdapter.open(fresh.url, { settings });
      outputs.push(source.displayName, JSON.stringify(await source.inventory(), (_, v) => (typeof v === 'bigint' ? String(v) : v)));
      for (const stream of STREAMS) {
        for (const item of await readItems(source, stream)) {
          if ('reject' in item) outputs.push(item.reject.message, item.reject.code, JSON.stringify(item.reject.location), item.excerpt ?? '');
        }
      }
      await expect(readItems(source, 'accounts', 'not a cursor')).rejects.toThrow(UsageError);
      await source.close();
    }
    for (const bad of [`${fresh.url.replace(/@/, 'x@')}`, fresh.url.replace(/\/[^/]*$/, '/no_such_db')]) {
      try {
        await openfireSqlAdapter.open(bad, { settings: { 'password-key': PASSWORD_KEY } });
      } catch (err) {
        outputs.push((err as Error).message);
      }
    }
    const text = outputs.join('\n');
    const secrets = [
      PASSWORD_KEY,
      ...Object.values(PASSWORDS).filter((p) => p !== 'admin'),
      'frank-pw',
      ...['alice', 'bob', 'carol', 'grace'].flatMap((u) => {
        const c = scramColumns(u, (PASSWORDS as Record<string, string>)[u]!);
        return [c.storedKey, c.serverKey, Buffer.from(c.storedKey, 'base64').toString('hex'), Buffer.from(c.serverKey, 'base64').toString('hex')];
      }),
      encryptOpenfirePassword(PASSWORDS.alice, cipherFor('pbkdf2'), Buffer.from([0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 1])),
    ];
    expect(text).toContain('cannot be recovered');
    for (const secret of secrets) expect(text, 'a secret leaked').not.toContain(secret);
    // The URL's password is masked too.
    const password = new URL(fresh.url).password;
    if (password) expect(text).not.toContain(`:${password}@`);
  });

  it('refuses bad options, bad URLs, a database that is not Openfire, and unknown streams and cursors', async () => {
    await expect(openfireSqlAdapter.open('postgres://x', { settings: { nope: '1' } })).rejects.toThrow(/unknown openfire source option "nope"/);
    await expect(openfireSqlAdapter.open('postgres://x', { settings: { 'blowfish-kdf': 'pbkdf2' } })).rejects.toThrow(/needs blowfish-salt/);
    await expect(openfireSqlAdapter.open('postgres://x', { settings: { 'blowfish-salt': Buffer.alloc(8).toString('base64') } })).rejects.toThrow(/under 16 bytes/);
    await expect(openfireSqlAdapter.open('postgres://x', { settings: { unrecoverable: 'invent' } })).rejects.toThrow(UsageError);
    await expect(openfireSqlAdapter.open('sqlite:/tmp/x', { settings: {} })).rejects.toThrow(UsageError);
    const empty = await freshDatabase('pg', 'notopenfire');
    databases.push(empty);
    await expect(openfireSqlAdapter.open(empty.url, { settings: {} })).rejects.toThrow(SourceError);
    const fresh = await db('mysql', 40, { kdf: 'sha1' });
    const source = await openSource(`openfire+mysql:${fresh.url}`, { settings: {} });
    expect(() => source.read('nonsense')).toThrow(UsageError);
    await expect(readItems(source, 'rosters', '000000000001:[["x","y"],0]')).rejects.toThrow(/was not produced by stream "rosters"/);
    await source.close();
  });

  it('reads a conversation-log millisecond that spans pages whole and in order', async () => {
    const fresh = await db('pg', 38, { kdf: 'sha1' });
    const fixture = await fixtureDb('pg', fresh.url);
    for (let i = 0; i < 7; i++) {
      await fixture.insert('ofMucConversationLog', { roomID: 10, messageID: 200 + ((i * 3) % 7), sender: `u${i}@example.com/r`, nickname: `n${i}`, logTime: ms(T.log2), body: `m${i}`, stanza: null });
    }
    await fixture.close();
    for (const pageRows of ['1', '2', '3', '500']) {
      const source = await openfireSqlAdapter.open(fresh.url, { settings: { 'page-rows': pageRows } });
      const items = await readItems(source, 'muc-archives');
      await source.close();
      const ids = items.flatMap((i) => ('record' in i && i.record.kind === 'archived-message' && i.record.timestamp === BigInt(T.log2) * 1000n ? [i.record.sourceId] : []));
      expect(ids, `page-rows=${pageRows}`).toEqual(['102', '200', '201', '202', '203', '204', '205', '206']);
    }
  });
});
