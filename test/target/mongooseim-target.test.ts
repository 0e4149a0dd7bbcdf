// The MongooseIM writer as one matrix over real PostgreSQL 15, real MariaDB 10.11 and PGlite: the same
// records, the same assertions (XMIG_TEST_DIALECTS selects a subset, see target-dialects.ts).
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseXml } from '../../src/xml/element.js';
import type { MigrationRecord, SourceLocation } from '../../src/records.js';
import { DEFAULT_TARGET_SETTINGS, type TargetSettings } from '../../src/target/mongooseim/target-settings.js';
import { MongooseimSqlTarget } from '../../src/target/mongooseim/mongooseim-sql-target.js';
import type { BulkValue, MongooseimDialect } from '../../src/target/mongooseim/mongooseim-dialect.js';
import { WRITER_TABLE } from '../../src/target/mongooseim/mongooseim-tables.js';
import { parsePassDetails } from '../../src/encoding/scram.js';
import { TargetDataError, type CheckpointKey } from '../../src/target/target.js';
import { selectedDialects, type DialectUnderTest } from './target-dialects.js';

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

describe.each(selectedDialects())('MongooseIM writer on $label', (d: DialectUnderTest) => {
  let dialect: MongooseimDialect;
  let cleanup: () => Promise<void>;
  let target: MongooseimSqlTarget;
  const db = () => dialect.db;

  beforeAll(async () => {
    ({ dialect, cleanup } = await d.open('writer'));
    target = await MongooseimSqlTarget.open(dialect, { settings, createSchema: true });
  });
  afterAll(async () => {
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

    const { rows: users } = await db().query<{ username: string; server: string; password: string; pass_details: string }>('SELECT username, server, password, pass_details FROM users');
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

    const { rows: roster } = await db().query('SELECT jid, nick, subscription, ask, askmessage FROM rosterusers ORDER BY jid');
    expect(roster).toEqual([
      { jid: 'bob@example.com', nick: 'Bob', subscription: 'B', ask: 'N', askmessage: '' },
      { jid: 'dan@other.org', nick: '', subscription: 'N', ask: 'I', askmessage: 'hi, add me' },
    ]);
    const { rows: groups } = await db().query('SELECT jid, grp FROM rostergroups ORDER BY grp');
    expect(groups).toEqual([{ jid: 'bob@example.com', grp: 'Friends' }, { jid: 'bob@example.com', grp: 'Work' }]);

    const { rows: mam } = await db().query<Record<string, unknown>>(
      `SELECT ${d.text('m.id')} AS id, u.server, u.user_name, m.from_jid, m.remote_bare_jid, m.remote_resource, ${d.text('m.direction')} AS direction,
              m.search_body, m.origin_id, m.is_groupchat FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id ORDER BY m.id`,
    );
    expect(mam).toEqual([
      { id: String(T0 << 8n), server: 'example.com', user_name: 'alice', from_jid: '/phone', remote_bare_jid: 'bob', remote_resource: '', direction: 'O', search_body: 'hello world', origin_id: 'o1', is_groupchat: false },
      // Same µs in the same archive: one µs later, in source order.
      { id: String((T0 + 1n) << 8n), server: 'example.com', user_name: 'alice', from_jid: 'other.org@kate/x', remote_bare_jid: 'other.org:kate', remote_resource: 'x', direction: 'I', search_body: 'email dont', origin_id: null, is_groupchat: false },
    ]);
    const { rows: muc } = await db().query<Record<string, unknown>>(
      `SELECT ${d.text('m.id')} AS id, r.server AS room_server, r.user_name AS room, s.server AS sender_server, s.user_name AS sender, m.nick_name, m.search_body
       FROM mam_muc_message m JOIN mam_server_user r ON r.id = m.room_id JOIN mam_server_user s ON s.id = m.sender_id`,
    );
    expect(muc).toEqual([{ id: String((T0 + 5n) << 8n), room_server: 'conference.example.com', room: 'room1', sender_server: 'example.com', sender: 'alice', nick_name: 'Ali', search_body: 'hello room' }]);

    const { rows: vcardSearch } = await db().query('SELECT username, lusername, server, fn, lfn, nickname, lnickname, email FROM vcard_search');
    expect(vcardSearch).toEqual([{ username: 'alice', lusername: 'alice', server: 'example.com', fn: 'Alice Example', lfn: 'alice example', nickname: 'Ali', lnickname: 'ali', email: '' }]);
    const { rows: priv } = await db().query('SELECT namespace, data FROM private_storage');
    expect(priv).toEqual([{ namespace: 'exodus:prefs', data: `<exodus xmlns="exodus:prefs"><defaultnick>Ali</defaultnick></exodus>` }]);
    const { rows: offline } = await db().query<{ timestamp: string; from_jid: string; packet: Buffer | string }>(`SELECT ${d.text('timestamp')} AS timestamp, from_jid, packet FROM offline_message`);
    expect(offline).toHaveLength(1);
    expect(offline[0]!.timestamp).toBe(String(T0));
    expect(offline[0]!.from_jid).toBe('bob@example.com/pc');
    // text on PostgreSQL, a MEDIUMBLOB of the same UTF-8 on MySQL
    const packet = offline[0]!.packet.toString();
    expect(packet).not.toContain('delay');
    expect(packet).toContain('<body>ping</body>');

    const checkpoint = await target.beginStream(key);
    expect(checkpoint).toMatchObject({ cursor: 'c1', completed: false });
    expect(await target.listCheckpoints()).toEqual([expect.objectContaining({ ...key, cursor: 'c1', completed: false, records: batch.length })]);
  });

  it('rolls back the whole batch and its checkpoint when the database refuses one row', async () => {
    const otherKey = { ...key, stream: 'refused' };
    await target.beginStream(otherKey);
    const good = await target.encode({ kind: 'private-xml', owner: { local: 'zed', domain: 'example.com' }, element: parseXml(`<a xmlns='ns:good'/>`), location: here });
    // namespace is varchar(250) everywhere: the database refuses this row, whatever xmpp-migrate checked before
    // (MySQL too: our session is strict, and LOAD DATA's warnings count as refusals).
    const bad = await target.encode({ kind: 'private-xml', owner: { local: 'zed', domain: 'example.com' }, element: parseXml(`<b xmlns='ns:bad'>x</b>`), location: here });
    bad.rows[0]!.namespace = `ns:${'x'.repeat(300)}`;
    await expect(target.write([good, bad], { key: otherKey, cursor: 'x9', completed: true, records: 2 })).rejects.toBeInstanceOf(TargetDataError);
    const { rows } = await db().query(`SELECT namespace FROM private_storage WHERE username = 'zed'`);
    expect(rows).toEqual([]);
    expect(await target.beginStream(otherKey)).toBeUndefined();
    // The next batch on the same connection is unaffected.
    await target.write([good], { key: otherKey, cursor: 'x1', completed: false, records: 1 });
    expect((await db().query(`SELECT namespace FROM private_storage WHERE username = 'zed'`)).rows).toEqual([{ namespace: 'ns:good' }]);
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
    const { rows } = await db().query<{ id: string; search_body: string }>(
      `SELECT ${d.text('m.id')} AS id, m.search_body FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id WHERE u.user_name = 'bob' ORDER BY m.id`,
    );
    expect(rows).toEqual([{ id: String(T0 << 8n), search_body: 'first' }, { id: String((T0 + 1n) << 8n), search_body: 'second' }]);
    // Replaying the second message again finds it at its moved id: already present, not doubled.
    await target.beginStream({ ...roomKey, stream: 'collide-3' });
    const replay = await target.write([await target.encode(make('second'))], { key: { ...roomKey, stream: 'collide-3' }, cursor: '1', completed: false, records: 1 });
    expect(replay.written['archived-message']).toBe(0);
    const { rows: after } = await db().query(`SELECT ${d.int('count(*)')} AS n FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id WHERE u.user_name = 'bob'`);
    expect(after).toEqual([{ n: 2 }]);
  });

  it('forgets the roster version of every owner whose roster it writes, even when the items were there', async () => {
    await db().query(`INSERT INTO roster_version (server, username, version) VALUES ('example.com', 'alice', 'v1'), ('example.com', 'zoe', 'v9')`);
    const versionKey = { ...key, stream: 'roster-version' };
    await target.beginStream(versionKey);
    const outcome = await target.write([await target.encode(records[1]!)], { key: versionKey, cursor: '1', completed: true, records: 1 });
    expect(outcome.present).toEqual({ 'roster-item': 1 });
    expect((await db().query('SELECT username, version FROM roster_version')).rows).toEqual([{ username: 'zoe', version: 'v9' }]);
  });

  it('keeps emoji and other 4-byte UTF-8 exactly, into the database and back', async () => {
    const emojiKey = { ...key, stream: 'emoji' };
    await target.beginStream(emojiKey);
    const erin = { local: 'erin', domain: 'example.com' };
    // U+1F600, a skin-tone sequence, U+1D11E (musical G clef), U+2070E (CJK extension B), a ZWJ family.
    const text = 'ok 😀 👍🏽 𝄞 𠜎 👩‍👩‍👧';
    const batch = await Promise.all(([
      { kind: 'account', jid: erin, credential: { type: 'plain', password: `pw ${text}` }, location: here },
      { kind: 'roster-item', owner: erin, contact: 'bob@example.com', name: text, subscription: 'both', ask: 'none', askMessage: text, groups: [text], location: here },
      { kind: 'vcard', owner: erin, vcard: parseXml(`<vCard xmlns='vcard-temp'><FN>${text}</FN><NICKNAME>Ærin 😀</NICKNAME></vCard>`), location: here },
      { kind: 'private-xml', owner: erin, element: parseXml(`<note xmlns='ns:emoji'>${text}</note>`), location: here },
      { kind: 'offline-message', owner: erin, timestamp: T0, from: 'bob@example.com/pc', stanza: parseXml(`<message xmlns='jabber:client' from='bob@example.com/pc' to='erin@example.com' type='chat'><body>${text}</body></message>`), location: here },
      {
        kind: 'archived-message', archive: { type: 'room', jid: { local: 'room1', domain: 'conference.example.com' } }, timestamp: T0 + 9n,
        remote: 'room1@conference.example.com/𝄞 nick', senderNick: '𝄞 nick', senderRealJid: '𠜎@example.com/𝄞',
        stanza: parseXml(`<message xmlns='jabber:client' from='room1@conference.example.com/𝄞 nick' type='groupchat' id='e1'><body>${text}</body></message>`), location: here,
      },
      // JIDs take 4-byte characters that Unicode 3.2 assigned (stringprep refuses emoji); origin-ids take anything.
      message(`<message xmlns='jabber:client' from='alice@example.com/𝄞' to='bob@example.com' type='chat' id='e2'><body>${text}</body><origin-id xmlns='urn:xmpp:sid:0' id='😀-1'/></message>`, T0 + 7n, 'out', 'bob@example.com'),
    ] satisfies MigrationRecord[]).map((r) => target.encode(r)));
    await target.write(batch, { key: emojiKey, cursor: 'e', completed: true, records: batch.length });

    const { rows: roster } = await db().query(`SELECT nick, askmessage FROM rosterusers WHERE username = 'erin'`);
    expect(roster).toEqual([{ nick: text, askmessage: text }]);
    expect((await db().query(`SELECT grp FROM rostergroups WHERE username = 'erin'`)).rows).toEqual([{ grp: text }]);
    const { rows: vcard } = await db().query<{ vcard: string }>(`SELECT vcard FROM vcard WHERE username = 'erin'`);
    expect(vcard[0]!.vcard).toContain(`<FN>${text}</FN>`);
    expect((await db().query(`SELECT fn, nickname FROM vcard_search WHERE lusername = 'erin'`)).rows).toEqual([{ fn: text, nickname: 'Ærin 😀' }]);
    expect((await db().query(`SELECT data FROM private_storage WHERE username = 'erin'`)).rows).toEqual([{ data: `<note xmlns="ns:emoji">${text}</note>` }]);
    const { rows: offline } = await db().query<{ packet: Buffer | string }>(`SELECT packet FROM offline_message WHERE username = 'erin'`);
    expect(offline[0]!.packet.toString()).toContain(`<body>${text}</body>`);
    const { rows: muc } = await db().query(`SELECT m.nick_name, s.user_name AS sender FROM mam_muc_message m JOIN mam_server_user s ON s.id = m.sender_id WHERE m.nick_name <> 'Ali'`);
    expect(muc).toEqual([{ nick_name: '𝄞 nick', sender: '𠜎' }]);
    const { rows: pm } = await db().query(`SELECT from_jid, origin_id FROM mam_message WHERE origin_id = '😀-1'`);
    expect(pm).toEqual([{ from_jid: '/𝄞', origin_id: '😀-1' }]);
    // The stored message bytes are exactly the encoder's (compressed Erlang terms): compare them whole.
    const stored = await db().query<{ message: Uint8Array }>(`SELECT message FROM mam_message WHERE origin_id = '😀-1'`);
    expect(Buffer.from(stored.rows[0]!.message).equals(batch.at(-1)!.rows[0]!.message as Buffer)).toBe(true);
  });

  it('stores every byte value of a binary message unchanged', async () => {
    const bytesKey = { ...key, stream: 'bytes' };
    await target.beginStream(bytesKey);
    const encoded = await target.encode(message(`<message xmlns='jabber:client' to='bob@example.com' type='chat' id='b1'><body>bytes</body></message>`, T0 + 1000n, 'out', 'bob@example.com'));
    // Tabs, newlines, backslashes, NUL, 0x1A, high bytes: whatever the bulk path's escaping must survive.
    const all = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
    encoded.rows[0]!.message = all;
    // These are the final bytes: not a plain term for the writer to compress (the encoder's deferredDeflate).
    delete encoded.rows[0]!.deferredDeflate;
    await target.write([encoded], { key: bytesKey, cursor: 'b', completed: true, records: 1 });
    const { rows } = await db().query<{ message: Uint8Array }>(`SELECT message FROM mam_message WHERE id = ${String(((T0 + 1000n) << 8n))}`);
    expect(Buffer.from(rows[0]!.message).equals(all)).toBe(true);
  });

  it('summarises each archive for verify exactly as the source side hashes it', async () => {
    const summaries = [];
    for await (const s of target.archiveSummaries()) summaries.push(s);
    const { rows } = await db().query<{ server: string; user_name: string; id: string; message: Uint8Array }>(
      `SELECT u.server, u.user_name, ${d.text('m.id')} AS id, m.message FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id ORDER BY u.server, u.user_name, m.id`,
    );
    const alice = rows.filter((r) => r.user_name === 'alice');
    const hex = alice.map((r) => createHash('md5').update(Buffer.from(r.message)).digest('hex')).join('');
    expect(summaries.find((s) => s.archive === 'example.com/alice')).toEqual({
      archive: 'example.com/alice',
      type: 'user',
      count: alice.length,
      firstMicros: BigInt(alice[0]!.id) >> 8n,
      lastMicros: BigInt(alice.at(-1)!.id) >> 8n,
      contentHash: createHash('md5').update(hex).digest('hex'),
    });
    expect(summaries.filter((s) => s.type === 'room').map((s) => [s.archive, s.count])).toEqual([['conference.example.com/room1', 2]]);
    expect(await target.inventory()).toMatchObject({ tables: { users: 2, mam_message: 6, mam_muc_message: 2, offline_message: 2 } });
  });

  it('keeps MAM ids far beyond 2^53 exact, in the database and in the summary', async () => {
    const farKey = { ...key, stream: 'far' };
    await target.beginStream(farKey);
    const far = 32_503_679_999_999_999n; // 2999-12-31T23:59:59.999999Z: id ≈ 8.3e18, just under 2^63
    const encoded = await target.encode({
      kind: 'archived-message', archive: { type: 'user', jid: { local: 'ferdinand', domain: 'example.com' } }, timestamp: far, direction: 'out', remote: 'bob@example.com',
      stanza: parseXml(`<message xmlns='jabber:client' to='bob@example.com' type='chat' id='far'><body>far</body></message>`), location: here,
    });
    await target.write([encoded], { key: farKey, cursor: 'f', completed: true, records: 1 });
    const { rows } = await db().query<{ id: string }>(`SELECT ${d.text('m.id')} AS id FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id WHERE u.user_name = 'ferdinand'`);
    expect(rows).toEqual([{ id: String(far << 8n) }]);
    const summaries = [];
    for await (const s of target.archiveSummaries()) if (s.archive === 'example.com/ferdinand') summaries.push(s);
    expect(summaries).toEqual([expect.objectContaining({ count: 1, firstMicros: far, lastMicros: far })]);
  });
});

// Archive rows first try the database's own bulk load straight into their table (no staging). What that
// must guarantee: all of a batch goes in, or none of it and the staging path takes it, in the same transaction.
describe.each(selectedDialects())('direct archive load on $label', (d: DialectUnderTest) => {
  let dialect: MongooseimDialect;
  let cleanup: () => Promise<void>;
  const spec = WRITER_TABLE.mam_message!;
  const row = (id: bigint, body: string): BulkValue[] => [id, 1, '/phone', 'bob', '', 'O', Buffer.from([131, 109, 0, 0, 0, body.length, ...Buffer.from(body)]), body, null, false];
  const ids = async (): Promise<string[]> => (await dialect.db.query<{ id: string }>(`SELECT ${d.text('id')} AS id FROM mam_message ORDER BY id`)).rows.map((r) => r.id);

  beforeAll(async () => {
    ({ dialect, cleanup } = await d.open('direct'));
    await MongooseimSqlTarget.open(dialect, { settings, createSchema: true });
  });
  afterAll(async () => {
    await cleanup();
  });

  it('loads a batch of new rows whole, and refuses one holding a present key without writing any of it', async () => {
    if (d.name === 'mysql') expect(dialect.bulkPath).toBe('LOAD DATA LOCAL INFILE');
    expect(dialect.loadArchiveDirect).toBeDefined();
    const loaded = await dialect.db.transaction((s) => dialect.loadArchiveDirect!(s, spec, [row(256n, 'a'), row(512n, 'b')]));
    expect(loaded).toBe(true);
    expect(await ids()).toEqual(['256', '512']);

    // 768 is new, 512 is present: nothing of the batch stays, and the transaction goes on (the checkpoint
    // row and the staging path run after this in the writer).
    const outcome = await dialect.db.transaction(async (s) => {
      const direct = await dialect.loadArchiveDirect!(s, spec, [row(768n, 'c'), row(512n, 'other')]);
      await s.query(`INSERT INTO xmpp_migrate_meta (${d.name === 'mysql' ? '`key`' : 'key'}, value) VALUES ('direct-test', 'after')`);
      return direct;
    });
    expect(outcome).toBe(false);
    expect(await ids()).toEqual(['256', '512']);
    expect((await dialect.db.query<{ value: string }>(`SELECT value FROM xmpp_migrate_meta WHERE ${d.name === 'mysql' ? '`key`' : 'key'} = 'direct-test'`)).rows).toEqual([{ value: 'after' }]);
  });

  it('refuses a row the column cannot hold, like the staging path, and keeps none of the batch', async () => {
    const tooLong = row(1024n, 'x');
    tooLong[2] = `/${'r'.repeat(300)}`; // from_jid is varchar(250)
    const attempt = dialect.db.transaction((s) => dialect.loadArchiveDirect!(s, spec, [row(896n, 'ok'), tooLong]));
    // PostgreSQL refuses it (a data error, bisected by the runner); MySQL's LOAD DATA would have truncated it
    // with a warning, so it declines and leaves the batch to staging, which refuses it there.
    if (d.name === 'mysql') expect(await attempt).toBe(false);
    else await expect(attempt).rejects.toBeInstanceOf(TargetDataError);
    expect(await ids()).toEqual(['256', '512']);
  });
});
