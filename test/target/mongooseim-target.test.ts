// The MongooseIM writer against real PostgreSQL 15 and PGlite: the same records, the same assertions.
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseXml } from '../../src/xml/element.js';
import type { MigrationRecord, SourceLocation } from '../../src/records.js';
import { DEFAULT_TARGET_SETTINGS, type TargetSettings } from '../../src/target/mongooseim/target-settings.js';
import { PostgresMongooseimTarget } from '../../src/target/mongooseim/postgres-target.js';
import { openPglite, openPostgres, type PostgresDatabase } from '../../src/target/postgres/postgres-database.js';
import { parsePassDetails } from '../../src/encoding/scram.js';
import { TargetDataError, type CheckpointKey } from '../../src/target/target.js';
import { freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';

const here: SourceLocation = { source: 'test', key: 'case' };
const settings: TargetSettings = { ...DEFAULT_TARGET_SETTINGS, origin: {}, scramIterations: 4096, passwordHashes: ['sha1', 'sha256'] };
const key: CheckpointKey = { migration: 'm1', stream: 'users', shard: 'all' };
const alice = { local: 'alice', domain: 'example.com' };
const T0 = 1704110400123456n; // 2024-01-01T12:00:00.123456Z

function message(xml: string, timestamp: bigint, direction: 'in' | 'out', remote: string): MigrationRecord {
  return { kind: 'archived-message', archive: { type: 'user', jid: alice }, timestamp, direction, remote, stanza: parseXml(xml), location: here };
}

const records: MigrationRecord[] = [
  { kind: 'account', jid: alice, credential: { type: 'plain', password: 'pencil' }, location: here },
  { kind: 'roster-item', owner: alice, contact: 'bob@example.com', name: 'Bob', subscription: 'both', ask: 'none', askMessage: '', groups: ['Friends', 'Work', ''], location: here },
  { kind: 'roster-item', owner: alice, contact: 'dan@other.org', name: '', subscription: 'none', ask: 'in', askMessage: 'hi, add me', groups: [], location: here },
  message(`<message xmlns='jabber:client' from='alice@example.com/phone' to='bob@example.com' type='chat' id='m1'><body>Hello, World!</body><origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>`, T0, 'out', 'bob@example.com'),
  message(`<message xmlns='jabber:client' from='kate@other.org/x' to='alice@example.com' type='chat' id='m2'><body>e-mail don't</body><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T12:00:00Z'/></message>`, T0, 'in', 'kate@other.org/x'),
  {
    kind: 'archived-message', archive: { type: 'room', jid: { local: 'room1', domain: 'conference.example.com' } }, timestamp: T0 + 5n,
    remote: 'room1@conference.example.com/Ali', senderNick: 'Ali', senderRealJid: 'alice@example.com/phone',
    stanza: parseXml(`<message xmlns='jabber:client' from='room1@conference.example.com/Ali' type='groupchat' id='g1'><body>hello room</body></message>`), location: here,
  },
  { kind: 'vcard', owner: alice, vcard: parseXml(`<vCard xmlns='vcard-temp'><FN>Alice Example</FN><NICKNAME>Ali</NICKNAME></vCard>`), location: here },
  { kind: 'private-xml', owner: alice, element: parseXml(`<exodus xmlns='exodus:prefs'><defaultnick>Ali</defaultnick></exodus>`), location: here },
  {
    kind: 'offline-message', owner: alice, timestamp: T0, from: 'bob@example.com/pc',
    stanza: parseXml(`<message xmlns='jabber:client' from='bob@example.com/pc' to='alice@example.com' type='chat'><body>ping</body><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T12:00:00Z'/></message>`), location: here,
  },
];

const backends: Array<[string, () => Promise<{ db: PostgresDatabase; cleanup: () => Promise<void> }>]> = [
  ['PostgreSQL 15', async () => {
    const fresh: FreshDatabase = await freshPostgresDatabase('writer');
    return { db: await openPostgres(fresh.url), cleanup: fresh.drop };
  }],
  ['PGlite', async () => ({ db: await openPglite('memory'), cleanup: async () => undefined })],
];

describe.each(backends)('MongooseIM writer on %s', (_name, connect) => {
  let db: PostgresDatabase;
  let cleanup: () => Promise<void>;
  let target: PostgresMongooseimTarget;

  beforeAll(async () => {
    ({ db, cleanup } = await connect());
    target = await PostgresMongooseimTarget.open(db, { settings, createSchema: true });
  });
  afterAll(async () => {
    await target.close();
    await cleanup();
  });

  it('writes every kind as MongooseIM would, and reports a replay as already present', async () => {
    await target.beginStream(key);
    const batch = await Promise.all(records.map((r) => target.encode(r)));
    const first = await target.write(batch, { key, cursor: 'c1', completed: false, records: batch.length });
    expect(first.written).toEqual({ account: 1, 'roster-item': 2, 'archived-message': 3, vcard: 1, 'private-xml': 1, 'offline-message': 1 });

    const again = await target.write(batch, { key, cursor: 'c1', completed: false, records: batch.length });
    expect(again.written).toEqual({ account: 0, 'roster-item': 0, 'archived-message': 0, vcard: 0, 'private-xml': 0, 'offline-message': 0 });
    expect(again.present).toEqual({ account: 1, 'roster-item': 2, 'archived-message': 3, vcard: 1, 'private-xml': 1, 'offline-message': 1 });

    const { rows: users } = await db.query<{ username: string; server: string; password: string; pass_details: string }>('SELECT username, server, password, pass_details FROM users');
    expect(users).toHaveLength(1);
    expect(users[0]!.password).toBe('');
    const parsed = parsePassDetails(users[0]!.pass_details);
    for (const hash of parsed.hashes) {
      // A client holding only the password must be able to log in: recompute the keys from it.
      const digest = hash.algorithm === 'sha1' ? 'sha1' : 'sha256';
      const salted = pbkdf2Sync('pencil', hash.salt, hash.iterations, digest === 'sha1' ? 20 : 32, digest);
      expect(hash.storedKey).toEqual(createHash(digest).update(createHmac(digest, salted).update('Client Key').digest()).digest());
      expect(hash.serverKey).toEqual(createHmac(digest, salted).update('Server Key').digest());
    }
    expect(parsed.hashes.map((h) => h.algorithm)).toEqual(['sha1', 'sha256']);

    const { rows: roster } = await db.query('SELECT jid, nick, subscription, ask, askmessage FROM rosterusers ORDER BY jid');
    expect(roster).toEqual([
      { jid: 'bob@example.com', nick: 'Bob', subscription: 'B', ask: 'N', askmessage: '' },
      { jid: 'dan@other.org', nick: '', subscription: 'N', ask: 'I', askmessage: 'hi, add me' },
    ]);
    const { rows: groups } = await db.query('SELECT jid, grp FROM rostergroups ORDER BY grp');
    expect(groups).toEqual([{ jid: 'bob@example.com', grp: 'Friends' }, { jid: 'bob@example.com', grp: 'Work' }]);

    const { rows: mam } = await db.query<Record<string, unknown>>(
      `SELECT m.id::text AS id, u.server, u.user_name, m.from_jid, m.remote_bare_jid, m.remote_resource, m.direction::text AS direction,
              m.search_body, m.origin_id, m.is_groupchat FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id ORDER BY m.id`,
    );
    expect(mam).toEqual([
      { id: String(T0 << 8n), server: 'example.com', user_name: 'alice', from_jid: '/phone', remote_bare_jid: 'bob', remote_resource: '', direction: 'O', search_body: 'hello world', origin_id: 'o1', is_groupchat: false },
      // Same µs in the same archive: one µs later, in source order.
      { id: String((T0 + 1n) << 8n), server: 'example.com', user_name: 'alice', from_jid: 'other.org@kate/x', remote_bare_jid: 'other.org:kate', remote_resource: 'x', direction: 'I', search_body: 'email dont', origin_id: null, is_groupchat: false },
    ]);
    const { rows: muc } = await db.query<Record<string, unknown>>(
      `SELECT m.id::text AS id, r.server AS room_server, r.user_name AS room, s.server AS sender_server, s.user_name AS sender, m.nick_name, m.search_body
       FROM mam_muc_message m JOIN mam_server_user r ON r.id = m.room_id JOIN mam_server_user s ON s.id = m.sender_id`,
    );
    expect(muc).toEqual([{ id: String((T0 + 5n) << 8n), room_server: 'conference.example.com', room: 'room1', sender_server: 'example.com', sender: 'alice', nick_name: 'Ali', search_body: 'hello room' }]);

    const { rows: vcardSearch } = await db.query('SELECT username, lusername, server, fn, lfn, nickname, lnickname, email FROM vcard_search');
    expect(vcardSearch).toEqual([{ username: 'alice', lusername: 'alice', server: 'example.com', fn: 'Alice Example', lfn: 'alice example', nickname: 'Ali', lnickname: 'ali', email: '' }]);
    const { rows: priv } = await db.query('SELECT namespace, data FROM private_storage');
    expect(priv).toEqual([{ namespace: 'exodus:prefs', data: `<exodus xmlns="exodus:prefs"><defaultnick>Ali</defaultnick></exodus>` }]);
    const { rows: offline } = await db.query<{ timestamp: string; from_jid: string; packet: string }>('SELECT timestamp::text AS timestamp, from_jid, packet FROM offline_message');
    expect(offline).toHaveLength(1);
    expect(offline[0]!.timestamp).toBe(String(T0));
    expect(offline[0]!.from_jid).toBe('bob@example.com/pc');
    expect(offline[0]!.packet).not.toContain('delay');
    expect(offline[0]!.packet).toContain('<body>ping</body>');

    const checkpoint = await target.beginStream(key);
    expect(checkpoint).toMatchObject({ cursor: 'c1', completed: false });
  });

  it('rolls back the whole batch and its checkpoint when the database refuses one row', async () => {
    const otherKey = { ...key, stream: 'refused' };
    await target.beginStream(otherKey);
    const good = await target.encode({ kind: 'private-xml', owner: { local: 'zed', domain: 'example.com' }, element: parseXml(`<a xmlns='ns:good'/>`), location: here });
    // PostgreSQL text cannot hold U+0000: the database refuses this row, whatever xmpp-migrate checked before.
    const bad = await target.encode({ kind: 'private-xml', owner: { local: 'zed', domain: 'example.com' }, element: parseXml(`<b xmlns='ns:bad'>x</b>`), location: here });
    bad.rows[0]!.data = 'nul \u0000 here';
    await expect(target.write([good, bad], { key: otherKey, cursor: 'x9', completed: true, records: 2 })).rejects.toBeInstanceOf(TargetDataError);
    const { rows } = await db.query(`SELECT namespace FROM private_storage WHERE username = 'zed'`);
    expect(rows).toEqual([]);
    expect(await target.beginStream(otherKey)).toBeUndefined();
  });

  it('moves a MAM row whose id is taken by a different message to the next free microsecond', async () => {
    const roomKey = { ...key, stream: 'collide' };
    await target.beginStream(roomKey);
    const bob = { local: 'bob', domain: 'example.com' };
    const make = (body: string): MigrationRecord => ({
      kind: 'archived-message', archive: { type: 'user', jid: bob }, timestamp: T0, direction: 'in', remote: 'carol@example.com/a',
      stanza: parseXml(`<message xmlns='jabber:client' from='carol@example.com/a' to='bob@example.com' type='chat'><body>${body}</body></message>`), location: here,
    });
    await target.write([await target.encode(make('first'))], { key: roomKey, cursor: '1', completed: false, records: 1 });
    // A fresh allocator (as after lost checkpoints) gives the next message the same µs.
    await target.beginStream({ ...roomKey, stream: 'collide-2' });
    const outcome = await target.write([await target.encode(make('second'))], { key: { ...roomKey, stream: 'collide-2' }, cursor: '1', completed: false, records: 1 });
    expect(outcome.written['archived-message']).toBe(1);
    const { rows } = await db.query<{ id: string; search_body: string }>(
      `SELECT m.id::text AS id, m.search_body FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id WHERE u.user_name = 'bob' ORDER BY m.id`,
    );
    expect(rows).toEqual([{ id: String(T0 << 8n), search_body: 'first' }, { id: String((T0 + 1n) << 8n), search_body: 'second' }]);
    // Replaying the second message again finds it at its moved id: already present, not doubled.
    await target.beginStream({ ...roomKey, stream: 'collide-3' });
    const replay = await target.write([await target.encode(make('second'))], { key: { ...roomKey, stream: 'collide-3' }, cursor: '1', completed: false, records: 1 });
    expect(replay.written['archived-message']).toBe(0);
    const { rows: after } = await db.query(`SELECT count(*)::int AS n FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id WHERE u.user_name = 'bob'`);
    expect(after).toEqual([{ n: 2 }]);
  });
});
