// The Prosody file adapter against the data directory of a real Prosody 0.12.3 (seed-real-prosody.ts), hand-written
// files for every escape form and legacy shape, hostile input, and resumption from every cursor.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/adapters/index.js';
import { prosodyFilesAdapter } from '../../src/adapters/prosody-files.js';
import type { SourceAdapter, SourceItem } from '../../src/adapters/source-adapter.js';
import type { AccountRecord, ArchivedMessageRecord, MigrationRecord, ScramHash } from '../../src/records.js';
import { bareJidString } from '../../src/records.js';
import { serializeXml } from '../../src/xml/element.js';
import { canonicalXml, itemView, readAllStreams, readStream, recordsOf } from '../fixtures/prosody/canonical.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'prosody');
const REAL = join(FIXTURES, 'real-0.12.3', 'data');
const HAND = join(FIXTURES, 'handwritten', 'data');
const PASSWORDS = JSON.parse(readFileSync(join(FIXTURES, 'real-0.12.3', 'passwords.json'), 'utf8')) as Record<string, string>;

async function open(dir: string): Promise<SourceAdapter> {
  return prosodyFilesAdapter.open(dir, { settings: {} });
}

function of<K extends MigrationRecord['kind']>(records: MigrationRecord[], kind: K): Array<Extract<MigrationRecord, { kind: K }>> {
  return records.filter((r): r is Extract<MigrationRecord, { kind: K }> => r.kind === kind);
}

/** RFC 5802 §3: a client proves the password; the server checks it with StoredKey only, then signs with ServerKey. */
function scramExchangeSucceeds(password: string, hash: ScramHash): boolean {
  const digest = hash.algorithm;
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), hash.salt, hash.iterations, digest === 'sha1' ? 20 : 32, digest);
  const clientKey = createHmac(digest, salted).update('Client Key').digest();
  const authMessage = `n=user,r=abc,r=abcdef,s=${hash.salt.toString('base64')},i=${hash.iterations},c=biws,r=abcdef`;
  const clientSignature = createHmac(digest, createHash(digest).update(clientKey).digest()).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ clientSignature[i]!));
  // Server side, from the migrated keys alone:
  const serverSignatureCheck = createHmac(digest, hash.storedKey).update(authMessage).digest();
  const recoveredClientKey = Buffer.from(proof.map((b, i) => b ^ serverSignatureCheck[i]!));
  const serverSignature = createHmac(digest, hash.serverKey).update(authMessage).digest();
  const clientExpects = createHmac(digest, createHmac(digest, salted).update('Server Key').digest()).update(authMessage).digest();
  return createHash(digest).update(recoveredClientKey).digest().equals(hash.storedKey) && serverSignature.equals(clientExpects);
}

describe('Prosody file storage written by a real Prosody 0.12.3', () => {
  let streams: Map<string, SourceItem[]>;
  let records: MigrationRecord[];
  beforeAll(async () => {
    streams = await readAllStreams(await open(REAL));
    records = [...streams.values()].flatMap(recordsOf);
  });

  it('reads everything without a single reject', () => {
    const rejects = [...streams.values()].flat().filter((i) => 'reject' in i);
    expect(rejects.map(itemView)).toEqual([]);
  });

  it('emits accounts first and as the accounts stream, one per registered user, with the stored password kinds', () => {
    const accounts = of(records, 'account');
    expect(accounts.map((a) => bareJidString(a.jid)).sort()).toEqual(Object.keys(PASSWORDS).sort());
    const shape = (a: AccountRecord): string => (a.credential.type === 'scram' ? `scram-${a.credential.hashes.map((h) => h.algorithm).join('+')}-${a.credential.hashes[0]!.iterations}` : a.credential.type);
    expect(Object.fromEntries(accounts.map((a) => [bareJidString(a.jid), shape(a)]))).toEqual({
      'alice@example.test': 'scram-sha1-10000',
      'bob@example.test': 'scram-sha1-10000',
      'carol@example.test': 'scram-sha1-10000',
      'zoë@example.test': 'scram-sha1-10000',
      'erin@other.test': 'scram-sha256-10000',
      'frank@other.test': 'scram-sha256-10000',
      'pat@plain.test': 'plain',
    });
    expect(streams.get('accounts')!.every((i) => 'record' in i && i.record.kind === 'account')).toBe(true);
  });

  it("keeps SCRAM keys that verify a client proof made from the user's real password, and fail a wrong one", () => {
    for (const account of of(records, 'account')) {
      const password = PASSWORDS[bareJidString(account.jid)]!;
      if (account.credential.type === 'plain') {
        expect(account.credential.password).toBe(password);
        continue;
      }
      expect(account.credential.type).toBe('scram');
      const hash = (account.credential as { hashes: ScramHash[] }).hashes[0]!;
      expect(hash.salt.toString('utf8')).toMatch(/^[0-9a-f-]{36}$/); // Prosody's UUID salt, used as text bytes
      expect(scramExchangeSucceeds(password, hash)).toBe(true);
      expect(scramExchangeSucceeds(`${password}x`, hash)).toBe(false);
    }
  });

  it('reads rosters with names, groups, subscriptions and pending requests both ways', () => {
    const view = of(records, 'roster-item').map((r) => `${bareJidString(r.owner)} → ${r.contact} ${r.subscription}/${r.ask} "${r.name}" [${[...r.groups].sort().join(',')}] ${r.askMessage}`.trim()).sort();
    expect(view).toEqual([
      'alice@example.test → bob@example.test both/none "Bob B." [Friends,Wörk]',
      'alice@example.test → carol@example.test none/out "Carol" [Friends]',
      'alice@example.test → pat@plain.test none/in "" []',
      'alice@example.test → zoë@example.test none/in "" [] Zoë here',
      'bob@example.test → alice@example.test both/none "" []',
      'carol@example.test → alice@example.test none/in "" [] Hi Carol, it is Alice 👋',
      'erin@other.test → frank@other.test to/none "" []',
      'frank@other.test → erin@other.test from/none "" []',
      'pat@plain.test → alice@example.test none/out "" []',
      'zoë@example.test → alice@example.test none/out "" []',
    ]);
  });

  it('reads vCards from the vcard store and converts PEP vcard4 (+ avatar) where mod_vcard_legacy put them', () => {
    const vcards = Object.fromEntries(of(records, 'vcard').map((v) => [bareJidString(v.owner), canonicalXml(v.vcard)]));
    expect(Object.keys(vcards).sort()).toEqual(['alice@example.test', 'erin@other.test']);
    expect(vcards['alice@example.test']).toContain('"ali 🐇"');
    expect(vcards['erin@other.test']).toBe(
      '<vCard xmlns="vcard-temp"><FN>"Erin Ötzi"</FN><N><FAMILY>"Ötzi"</FAMILY><GIVEN>"Erin"</GIVEN></N><NICKNAME>"erin"</NICKNAME>' +
        '<PHOTO><TYPE>"image/png"</TYPE><BINVAL>"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="</BINVAL></PHOTO></vCard>',
    );
  });

  it('merges bookmarks from private XML, legacy PEP and XEP-0402 PEP, one per room, newest form first', () => {
    const storage = of(records, 'private-xml').filter((p) => p.element.attrs.xmlns === 'storage:bookmarks');
    const byOwner = Object.fromEntries(storage.map((s) => [bareJidString(s.owner), canonicalXml(s.element)]));
    expect(byOwner['alice@example.test']).toBe(
      '<storage xmlns="storage:bookmarks"><conference autojoin="true" jid="semi@conference.example.test" name="Semi"><nick>"Alice"</nick></conference>' +
        '<conference autojoin="false" jid="open@conference.example.test" name="Open room"><nick>"Ali"</nick></conference></storage>',
    );
    // erin: legacy PEP wins over private XML for the semi room; the url of private XML is kept.
    expect(byOwner['erin@other.test']).toBe(
      '<storage xmlns="storage:bookmarks"><conference autojoin="true" jid="semi@conference.example.test" name="Semi (PEP)"><nick>"erin"</nick></conference>' +
        '<conference jid="open@conference.example.test" name="Open (PEP)"></conference><url name="Prosody" url="https://prosody.im/"></url></storage>',
    );
    const bm1 = of(records, 'pep-item').filter((p) => p.node === 'urn:xmpp:bookmarks:1').map((p) => `${bareJidString(p.owner)} ${p.itemId} ${canonicalXml(p.payload)}`).sort();
    expect(bm1).toEqual([
      'alice@example.test open@conference.example.test <conference autojoin="false" name="Open room" xmlns="urn:xmpp:bookmarks:1"><nick>"Ali"</nick></conference>',
      'alice@example.test semi@conference.example.test <conference autojoin="true" name="Semi" xmlns="urn:xmpp:bookmarks:1"><nick>"Alice"</nick></conference>',
      'erin@other.test open@conference.example.test <conference name="Open (PEP)" xmlns="urn:xmpp:bookmarks:1"></conference>',
      'erin@other.test semi@conference.example.test <conference autojoin="true" name="Semi (PEP)" xmlns="urn:xmpp:bookmarks:1"><nick>"erin"</nick></conference>',
    ]);
    expect(of(records, 'pep-item').some((p) => p.node === 'storage:bookmarks')).toBe(false);
  });

  it('reads private XML, other PEP nodes and the blocklist', () => {
    const exodus = of(records, 'private-xml').find((p) => p.element.attrs.xmlns === 'exodus:prefs')!;
    expect(serializeXml(exodus.element)).toBe('<exodus xmlns="exodus:prefs"><defaultnick>Ali &lt;&amp;&gt; 🐇</defaultnick></exodus>');
    const nick = of(records, 'pep-item').find((p) => p.node === 'http://jabber.org/protocol/nick')!;
    expect([bareJidString(nick.owner), nick.itemId, serializeXml(nick.payload)]).toEqual(['frank@other.test', 'current', '<nick xmlns="http://jabber.org/protocol/nick">Frankie</nick>']);
    expect(nick.publishedAt).toBeTypeOf('bigint');
    expect(of(records, 'blocklist').map((b) => [bareJidString(b.owner), [...b.blocked].sort()])).toEqual([['alice@example.test', ['evil.test', 'spammer@evil.test']]]);
  });

  it('reads offline messages with their storage time and sender, in jabber:client, without stamp', () => {
    const offline = of(records, 'offline-message');
    expect(offline.map((o) => [bareJidString(o.owner), o.from, o.stanza.getChildText('body')]).sort()).toEqual([
      ['carol@example.test', 'alice@example.test/phone', 'carol, you are offline 📨 <b>not markup</b>'],
      ['carol@example.test', 'bob@example.test/laptop', 'second offline message'],
    ]);
    for (const o of offline) {
      expect(o.stanza.attrs.xmlns).toBe('jabber:client');
      expect(o.stanza.attrs.stamp).toBeUndefined();
      expect(o.timestamp % 1_000_000n).toBe(0n);
    }
  });

  it('reads every chat message once per local party, in file order, with direction, peer and content', () => {
    const messages = of(records, 'archived-message').filter((m) => m.archive.type === 'user');
    const view = (m: ArchivedMessageRecord): string => `${bareJidString(m.archive.jid)} ${m.direction} ${m.remote} ${m.stanza.attrs.id} ${m.stanza.getChildText('body')}`;
    const sent: Record<string, [string, string, string]> = {
      m1: ['alice@example.test', 'bob@example.test', 'hello bob <&> "quotes" \'apos\' ünïcødé'],
      m2: ['bob@example.test', 'alice@example.test', 'hi alice 😀👍🏽 — ok?'],
      m3: ['alice@example.test', 'bob@example.test', 'with markup'],
      m4: ['bob@example.test', 'alice@example.test', 'line one\nline two\ttabbed'],
      x1: ['erin@other.test', 'alice@example.test', 'from other.test 🌍'],
      x2: ['alice@example.test', 'erin@other.test', 'back to other.test'],
      e1: ['erin@other.test', 'frank@other.test', 'erin→frank'],
      o1: ['alice@example.test', 'carol@example.test', 'carol, you are offline 📨 <b>not markup</b>'],
      o2: ['bob@example.test', 'carol@example.test', 'second offline message'],
    };
    for (const [id, [from, to, body]] of Object.entries(sent)) {
      const copies = messages.filter((m) => m.stanza.attrs.id === id);
      expect(copies.map((m) => bareJidString(m.archive.jid)).sort(), id).toEqual([from, to].sort());
      const out = copies.find((m) => bareJidString(m.archive.jid) === from)!;
      const inn = copies.find((m) => bareJidString(m.archive.jid) === to)!;
      expect([out.direction, out.remote.split('/')[0], out.stanza.getChildText('body')]).toEqual(['out', to, body]);
      expect([inn.direction, inn.remote.split('/')[0], inn.stanza.getChildText('body')]).toEqual(['in', from, body]);
      for (const m of copies) {
        expect(m.stanza.attrs.xmlns).toBe('jabber:client');
        expect(m.stanza.attrs.stamp).toBeUndefined();
        expect(m.sourceId).toMatch(/^[A-Za-z0-9_-]{24}$/);
      }
    }
    expect(messages).toHaveLength(Object.keys(sent).length * 2);
    const markup = messages.find((m) => m.stanza.attrs.id === 'm3')!;
    expect(markup.originId).toBe('c8a1d6c3-origin');
    expect(serializeXml(markup.stanza.getChild('html')!)).toBe('<html xmlns="http://jabber.org/protocol/xhtml-im"><body xmlns="http://www.w3.org/1999/xhtml"><p>with <strong>markup</strong></p></body></html>');
    // Each archive's messages come together, in file order (which is not send order when sessions race).
    const archives = messages.map((m) => bareJidString(m.archive.jid));
    expect(archives).toEqual([...archives].sort((a, b) => archives.indexOf(a) - archives.indexOf(b)));
    const alice = readFileSync(join(REAL, 'example%2etest', 'archive', 'alice.list'), 'latin1');
    const fileOrder = [...alice.matchAll(/\["key"\] = "([^"]+)"/g)].map((m) => m[1]);
    expect(messages.filter((m) => bareJidString(m.archive.jid) === 'alice@example.test').map((m) => m.sourceId)).toEqual(fileOrder);
  });

  it('reads room archives: real JIDs only in the non-anonymous room, never invented for the semi-anonymous one', () => {
    const room = of(records, 'archived-message').filter((m) => m.archive.type === 'room');
    const view = room.map((m) => `${bareJidString(m.archive.jid)} ${m.remote} ${m.senderNick} ${m.senderRealJid ?? '-'} ${m.stanza.getChildText('body')}`).sort();
    expect(view).toEqual([
      'open@conference.example.test open@conference.example.test/Alice Alice alice@example.test non-anonymous hello',
      'open@conference.example.test open@conference.example.test/Bob Bob bob@example.test real JIDs are visible here ✔',
      'semi@conference.example.test semi@conference.example.test/Alice Alice - hello semi room <&>',
      'semi@conference.example.test semi@conference.example.test/Böb Böb - Böb here 🎸',
    ]);
    for (const m of room) expect(m.stanza.getChild('x', 'http://jabber.org/protocol/muc#user')).toBeUndefined();
  });

  it('reads rooms with options and affiliations, registered nicks, and skips the destroyed room', () => {
    const rooms = Object.fromEntries(of(records, 'muc-room').map((r) => [bareJidString(r.room), r]));
    expect(Object.keys(rooms).sort()).toEqual(['club@conference.example.test', 'open@conference.example.test', 'semi@conference.example.test']);
    expect(rooms['open@conference.example.test']!.options).toMatchObject({ title: 'Open room', anonymous: false, persistent: true, subject: 'Topic: everything 🌈', subject_author: 'Alice', allow_change_subj: true });
    expect(rooms['semi@conference.example.test']!.options).toMatchObject({ title: 'Semi-anonymous room', description: 'whois = moderators', anonymous: true });
    expect(rooms['club@conference.example.test']!.options).toMatchObject({ members_only: true, password_protected: true, password: 's3cret' });
    expect([...rooms['club@conference.example.test']!.affiliations].sort((a, b) => a.jid.localeCompare(b.jid))).toEqual([
      { jid: 'alice@example.test', affiliation: 'owner' },
      { jid: 'bob@example.test', affiliation: 'member' },
      { jid: 'erin@other.test', affiliation: 'admin' },
      { jid: 'spammer@evil.test', affiliation: 'outcast' },
    ]);
    expect(of(records, 'muc-registration').map((r) => [r.mucHost, bareJidString(r.user), r.nick])).toEqual([['conference.example.test', 'bob@example.test', 'Bob']]);
  });

  it('inventories kinds, owners, password kinds, the archive span and what Prosody never kept', async () => {
    const inventory = await (await open(REAL)).inventory();
    expect(inventory.counts).toMatchObject({ account: 7, 'roster-item': 10, 'archived-message': 22, 'offline-message': 2, 'muc-room': 3, 'muc-registration': 1, vcard: 2, blocklist: 1 });
    expect(inventory.credentials).toEqual({ plain: 1, 'scram-sha1': 4, 'scram-sha256': 2, none: 0 });
    expect(inventory.owners['archived-message']).toBe(7); // 5 users, 2 rooms
    expect(inventory.rejects).toEqual({});
    expect(inventory.archiveSpan!.first).toBeLessThanOrEqual(inventory.archiveSpan!.last);
    expect(inventory.cannotProvide.map((c) => c.kind)).toEqual(['last-activity', 'archived-message']);
    expect(inventory.notes.join('\n')).toMatch(/1 destroyed room/);
    expect(inventory.notes.join('\n')).toMatch(/muc_log_cleanup exists/);
  });

  it('is registered under prosody: and names the directory in its display name', async () => {
    const source = await openSource(`prosody:${REAL}`, { settings: {} });
    expect(source.displayName).toBe(`prosody:${REAL}`);
    expect(source.capabilities.resume).toBe('skip');
    expect(source.streams().map((s) => s.name)).toEqual(['accounts', 'users', 'offline', 'archives', 'muc', 'muc-archives']);
    await expect(openSource('prosody:/nonexistent/prosody', { settings: {} })).rejects.toThrow(/cannot open/);
  });
});

describe('hand-written Prosody files: every escape form, legacy shapes and hostile input', () => {
  let streams: Map<string, SourceItem[]>;
  let records: MigrationRecord[];
  beforeAll(async () => {
    rmSync('/tmp/xmig-prosody-pwned', { force: true });
    streams = await readAllStreams(await open(HAND));
    records = [...streams.values()].flatMap(recordsOf);
  });

  it('never executes the code it finds', () => {
    expect(existsSync('/tmp/xmig-prosody-pwned')).toBe(false);
  });

  it('decodes every string escape form of Lua 5.1 to 5.4, long strings and raw 0.9 bytes', () => {
    const notes = of(records, 'private-xml').find((p) => p.element.name === 'notes')!.element;
    const text = (name: string): string => notes.getChild(name)!.getText();
    expect(text('simple')).toBe('tab\tnl\ncr\rbs\\dq"sq\'');
    expect(text('decimal')).toBe('ABC1\t|ë');
    expect(text('hex')).toBe('Abë');
    expect(text('z')).toBe('ab');
    expect(text('unicode')).toBe('Hé😀');
    expect(text('continued')).toBe('one\ntwo');
    expect(text('long')).toBe('first\nsecond "q" \\n kept');
    expect(text('longer')).toBe('a]]b]=]c');
    expect(text('raw')).toBe('raw 😀 bytes');
    expect(text('unquoted')).toBe('single');
    expect(notes.attrs).toEqual({ xmlns: 'x:escapes', 'xml:lang': 'en', 'xmlns:ns1': 'http://www.w3.org/1999/xlink', 'ns1:href': 'http://example.org/', 'xmlns:ns2': 'urn:x', 'ns2:old': 'pipe' });
  });

  it('reads 0.9 accounts (raw UTF-8 bytes in %q strings, 4096 iterations), empty accounts and 13.0 created', () => {
    const accounts = Object.fromEntries(of(records, 'account').map((a) => [bareJidString(a.jid), a]));
    expect(accounts['old@legacy.test']!.credential).toEqual({ type: 'plain', password: 'päss "w\\rd"' });
    expect(accounts['hashed@legacy.test']!.credential).toMatchObject({ type: 'scram', hashes: [{ algorithm: 'sha1', iterations: 4096 }] });
    expect(accounts['empty@legacy.test']!.credential.type).toBe('none');
    expect(accounts['zü@legacy.test']!.createdAt).toBe(1704110400_000000n);
  });

  it('reads a pre-0.10 roster: the top-level pending set, persist=false and self-contacts skipped', () => {
    const view = of(records, 'roster-item').filter((r) => r.owner.domain === 'legacy.test').map((r) => `${r.contact} ${r.subscription}/${r.ask} ${JSON.stringify(r.name)} ${r.groups.join(',')}`);
    expect(view).toEqual([
      'friend@example.org to/in "Frédéric \\"Fred\\"" Café',
      'mate@example.org both/out "line\\none" ',
      'fan@example.org none/in "" ',
    ]);
  });

  it('reads 0.9 offline messages (time from attr.stamp), archive2 before archive, 13.0 float times and XEP-0136 collections', () => {
    const offline = of(records, 'offline-message');
    expect(offline.map((o) => [o.timestamp, o.from, serializeXml(o.stanza)])).toEqual([
      [1367402400_000000n, 'friend@example.org/home', '<message xmlns="jabber:client" from="friend@example.org/home" to="old@legacy.test" type="chat"><body>from 2013</body></message>'],
    ]);
    const archive = of(records, 'archived-message').filter((m) => m.archive.jid.domain === 'legacy.test');
    expect(archive.map((m) => [m.sourceId, m.timestamp, m.direction, m.remote])).toEqual([
      ['a2-1', 1400000000_000000n, 'out', 'friend@example.org'],
      ['a2-2', 1400000000_000000n, 'in', 'friend@example.org/home'],
      ['a-1', 1704110400_123456n, 'out', 'friend@example.org/home'],
    ]);
    // old.list holds mod_archive collections: the archive is emitted whole in time order, rejects first.
    expect(of(records, 'legacy-collection').filter((c) => c.owner.domain === 'legacy.test').map((c) => [c.with, c.start, c.thread, c.startsCollection, c.entries.map((e) => [e.direction, e.utc, e.body])])).toEqual([
      ['friend@example.org/home', 1325412000_000000n, 't1', true, [['to', 1325412000_000000n, 'hi (XEP-0136)'], ['from', 1325412012_000000n, 'hello back']]],
    ]);
    const rejects = streams.get('archives')!.filter((i) => 'reject' in i && i.reject.location?.key?.startsWith('old@legacy.test')).map(itemView);
    expect(rejects).toEqual([
      { reject: 'missing-timestamp', message: expect.stringMatching(/old\.list:14: .*no valid when \(Infinity\)/) },
      { reject: 'invalid-start', message: expect.stringMatching(/start="yesterday".*not an XEP-0082 date-time/) },
    ]);
  });

  it('reads privacy lists, the blocklist and last activity from mod_lastlog, mod_lastlog2 and account_activity', () => {
    expect(of(records, 'privacy-list').map((p) => [p.name, p.isDefault, p.items])).toEqual([
      ['main', true, [{ type: 'none', value: '', action: 'allow', order: 1, matches: [] }, { type: 'jid', value: 'spam@example.org', action: 'deny', order: 2, matches: ['message'] }]],
    ]);
    expect(of(records, 'blocklist').filter((b) => b.owner.domain === 'legacy.test').map((b) => b.blocked)).toEqual([['evil.example', 'spam@example.org']]);
    expect(of(records, 'last-activity').map((l) => [bareJidString(l.owner), l.seconds])).toEqual([['old@legacy.test', 1704200000], ['zü@legacy.test', 1704300000]]);
  });

  it('reads the old MUC format and keeps the real JID of a non-anonymous room; skips presences and non-persistent rooms', () => {
    const rooms = of(records, 'muc-room');
    expect(rooms.map((r) => [bareJidString(r.room), r.options.anonymous, r.options.moderated, r.options.public, r.affiliations])).toEqual([
      ['oldroom@muc.legacy.test', false, true, true, [{ jid: 'friend@example.org', affiliation: 'member' }, { jid: 'old@legacy.test', affiliation: 'owner' }]],
    ]);
    const log = of(records, 'archived-message').filter((m) => m.archive.type === 'room');
    expect(log.map((m) => [m.sourceId, m.senderNick, m.senderRealJid])).toEqual([['r1', 'Old', 'old@legacy.test'], ['r3', 'Friend', undefined]]);
  });

  it('rejects code, invalid UTF-8, unknown subscriptions and cut-off files with file:line, and reads the rest', () => {
    const bad = [...streams.values()].flat().filter((i) => (('reject' in i) ? i.reject.location?.file : i.record.location.file)?.includes('bad%2etest'));
    expect(bad.map((i) => ('reject' in i ? `${i.reject.code} ${i.reject.message.replace(HAND, '')}` : `record ${i.record.kind} ${i.record.kind === 'roster-item' ? i.record.contact : i.record.kind === 'archived-message' ? i.record.sourceId : ''}`))).toEqual([
      'record account ',
      'record account ',
      'record account ',
      'malformed-file /bad%2etest/roster/evil.dat:1: not Prosody data: "os" is code, not data: only tables, strings, numbers, true, false and nil are read; nothing of this file is migrated',
      'invalid-utf8 /bad%2etest/roster/mixed.dat:3: mixed@bad.test: the name of roster item bad@example.org is not valid UTF-8',
      'unknown-subscription /bad%2etest/roster/mixed.dat:4: mixed@bad.test: roster item odd@example.org has subscription "maybe"; expected none, to, from or both',
      'invalid-utf8 /bad%2etest/roster/mixed.dat:5: mixed@bad.test: the name of roster item esc@example.org is not valid UTF-8',
      'record roster-item good@example.org',
      'malformed-file /bad%2etest/vcard/evil.dat:1: not Prosody data: "require" is code, not data: only tables, strings, numbers, true, false and nil are read; nothing of this file is migrated',
      'record archived-message c1',
      'malformed-item /bad%2etest/archive/cut.list:9: not a Prosody archive item: "function" is code, not data: only tables, strings, numbers, true, false and nil are read',
      'record archived-message c2',
      'malformed-item /bad%2etest/archive/cut.list:18: not a Prosody archive item: expected item(…) (a Prosody .list file) but found the name "os"',
      'invalid-utf8 /bad%2etest/archive/cut.list:25: text in <body> is not valid UTF-8 (line 25)',
      'record archived-message c4',
      'truncated-file /bad%2etest/archive/cut.list:35: unfinished string at line 40; the rest of the file cannot be split into items',
      'record archived-message m1',
      'truncated-file /bad%2etest/archive/mixed.list:9: unfinished string at line 9; the rest of the file cannot be split into items',
    ]);
  });
});

describe('resuming the file source', () => {
  for (const [name, dir] of [['real Prosody data', REAL], ['hand-written data', HAND]] as const) {
    it(`returns exactly the remaining items after every cursor (${name})`, async () => {
      const source = await open(dir);
      for (const stream of source.streams()) {
        const full = await readStream(source, stream.name);
        const cursors = full.map((i) => i.cursor);
        expect([...cursors].sort(), `${stream.name}: cursors increase as strings`).toEqual(cursors);
        expect(new Set(cursors).size).toBe(cursors.length);
        for (let k = 0; k < full.length; k++) {
          const rest = await readStream(source, stream.name, full[k]!.cursor);
          expect(rest.map((i) => [i.cursor, itemView(i)]), `${stream.name} after ${full[k]!.cursor}`).toEqual(full.slice(k + 1).map((i) => [i.cursor, itemView(i)]));
        }
      }
    });
  }

  it('skips delivered .list items without parsing them: a resumed read passes over an item it could not parse', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xmig-prosody-skip-'));
    try {
      const user = join(dir, 'h%2etest', 'archive');
      mkdirSync(user, { recursive: true });
      mkdirSync(join(dir, 'h%2etest', 'accounts'));
      writeFileSync(join(dir, 'h%2etest', 'accounts', 'u.dat'), 'return { password = "x" };\n');
      const item = (k: number): string => `item({ key = "k${k}"; when = ${1600000000 + k}; with = "p@h.test"; name = "message"; attr = { from = "p@h.test/r" }; { name = "body"; attr = {}; "b${k}" } });\n`;
      writeFileSync(join(user, 'u.list'), item(1) + item(2) + item(3));
      const source = await open(dir);
      const full = await readStream(source, 'archives');
      expect(full).toHaveLength(3);
      // Corrupt the first two items in place: a read from the second cursor must not even look at them.
      writeFileSync(join(user, 'u.list'), `item({ x${randomBytes(4).toString('hex')} = os.exit() });\nitem(os.execute("rm -rf /"));\n${item(3)}`);
      const rest = await readStream(source, 'archives', full[1]!.cursor);
      expect(rest.map(itemView)).toEqual([itemView(full[2]!)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a cursor it did not produce', async () => {
    const source = await open(HAND);
    expect(() => source.read('archives', 'nonsense')).toThrow(/not produced by the prosody file source/);
  });
});

afterAll(() => rmSync('/tmp/xmig-prosody-pwned', { force: true }));
