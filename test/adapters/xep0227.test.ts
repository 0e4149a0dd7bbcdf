// The XEP-0227 source adapter against a real ejabberd 23.01 export, hand-designed fixtures (generate.ts),
// the demo export, bad input, resumption from every cursor and a >100 MB streamed export.
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/adapters/index.js';
import type { SourceAdapter, SourceItem } from '../../src/adapters/source-adapter.js';
import { parseXmppTimestamp, xep0227Adapter } from '../../src/adapters/xep0227.js';
import { RecordError, SourceError, UsageError } from '../../src/errors.js';
import type { AccountRecord, MigrationRecord, ScramHash } from '../../src/records.js';
import { Element, serializeXml } from '../../src/xml/element.js';
import { DEMO_USERS, FIXTURE_PASSWORDS, renderAll } from '../fixtures/xep0227/generate.js';

const REPO = join(import.meta.dirname, '..', '..');
const FIXTURES = 'test/fixtures/xep0227';
const EJABBERD_MAIN = `${FIXTURES}/ejabberd-23.01/20261201-020344.xml`;
const EJABBERD_HOST = `${FIXTURES}/ejabberd-23.01/20261201-020344_example_test.xml`;
const FULL = `${FIXTURES}/full-v1.1.xml`;
const LEGACY = `${FIXTURES}/legacy-ns.xml`;
const SPLIT = `${FIXTURES}/split/main.xml`;
const OPENFIRE = `${FIXTURES}/openfire-quirks.xml`;
const BAD = `${FIXTURES}/bad-input.xml`;
const DEMO = 'examples/demo-export.xml';

const temp = mkdtempSync(join(tmpdir(), 'xep0227-test-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

process.chdir(REPO);

async function open(file: string, settings: Record<string, string> = {}): Promise<SourceAdapter> {
  return xep0227Adapter.open(file, { settings });
}

interface ReadResult {
  items: SourceItem[];
  error: unknown;
}

async function readAll(source: SourceAdapter, after?: string): Promise<ReadResult> {
  const items: SourceItem[] = [];
  try {
    for await (const item of source.read('users', after)) items.push(item);
  } catch (error) {
    return { items, error };
  }
  return { items, error: undefined };
}

async function records(file: string, settings: Record<string, string> = {}): Promise<MigrationRecord[]> {
  const { items, error } = await readAll(await open(file, settings));
  if (error) throw error;
  return items.flatMap((i) => ('record' in i ? [i.record] : []));
}

/** A record as plain data: XML as text, bytes as hex, no location (checked on its own). */
function view(record: MigrationRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === 'location') continue;
    if (value instanceof Element) out[key] = serializeXml(value);
    else if (key === 'credential' && typeof value === 'object' && value !== null && 'hashes' in value) {
      out[key] = { ...value, hashes: (value.hashes as ScramHash[]).map((h) => ({ ...h, salt: h.salt.toString('hex'), storedKey: h.storedKey.toString('hex'), serverKey: h.serverKey.toString('hex') })) };
    } else out[key] = value;
  }
  return out;
}

function itemView(item: SourceItem): unknown {
  return 'record' in item
    ? { cursor: item.cursor, record: view(item.record), location: item.record.location }
    : { cursor: item.cursor, reject: item.reject.code, message: item.reject.message, location: item.reject.location };
}

const KEY_BYTES = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 } as const;

/** RFC 5802, written out here independently of the fixture generator. */
function expectedKeys(password: string, hash: ScramHash): { storedKey: string; serverKey: string } {
  const salted = pbkdf2Sync(password, hash.salt, hash.iterations, KEY_BYTES[hash.algorithm], hash.algorithm);
  const clientKey = createHmac(hash.algorithm, salted).update('Client Key').digest();
  return {
    storedKey: createHash(hash.algorithm).update(clientKey).digest('hex'),
    serverKey: createHmac(hash.algorithm, salted).update('Server Key').digest('hex'),
  };
}

function expectVerifies(account: AccountRecord, password: string): void {
  const credential = account.credential;
  if (credential.type !== 'scram' && credential.type !== 'plain+scram') throw new Error(`${account.jid.local} has no SCRAM`);
  for (const hash of credential.hashes) {
    expect({ storedKey: hash.storedKey.toString('hex'), serverKey: hash.serverKey.toString('hex') }, `${account.jid.local} ${hash.algorithm}`).toEqual(expectedKeys(password, hash));
  }
}

function accounts(list: MigrationRecord[]): AccountRecord[] {
  return list.filter((r): r is AccountRecord => r.kind === 'account');
}

function ofKind<K extends MigrationRecord['kind']>(list: MigrationRecord[], kind: K): Array<Extract<MigrationRecord, { kind: K }>> {
  return list.filter((r): r is Extract<MigrationRecord, { kind: K }> => r.kind === kind);
}

function lineOf(file: string, marker: string): number {
  const lines = readFileSync(file, 'latin1').split('\n');
  const index = lines.findIndex((l) => l.includes(marker));
  if (index < 0) throw new Error(`marker ${marker} not in ${file}`);
  return index + 1;
}

describe('the fixtures', () => {
  it('are exactly what generate.ts writes', () => {
    for (const [path, content] of Object.entries(renderAll())) {
      const expected = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      expect(readFileSync(join(REPO, path)).equals(expected), `${path} is stale: run npx tsx test/fixtures/xep0227/generate.ts`).toBe(true);
    }
  });

  it('include the RFC 5802 example, whose keys this test derives independently', async () => {
    const pencil = accounts(await records(FULL)).find((a) => a.jid.local === 'pencil')!;
    expectVerifies(pencil, 'pencil');
  });
});

describe('xep0227 source on a real ejabberd 23.01 export_piefxis', () => {
  it('decodes the double base64 SCRAM into keys that verify the known passwords', async () => {
    const list = accounts(await records(EJABBERD_MAIN));
    const passwords: Record<string, string> = {
      'alice@example.test': 'wonderland',
      'bob@example.test': 'builder',
      'carol@example.test': 'p@ss w0rd',
      'dave@example.test': 'dave-secret',
      'erin@other.test': 'erin-secret',
    };
    expect(list.map((a) => `${a.jid.local}@${a.jid.domain}`)).toEqual(Object.keys(passwords));
    for (const account of list) {
      expect(account.credential.type).toBe('scram');
      if (account.credential.type !== 'scram') continue;
      const [hash] = account.credential.hashes;
      expect(account.credential.hashes).toHaveLength(1);
      expect(hash!.algorithm).toBe(account.jid.domain === 'other.test' ? 'sha256' : 'sha1');
      expect(hash!.iterations).toBe(4096);
      expect(hash!.salt).toHaveLength(16);
      expectVerifies(account, passwords[`${account.jid.local}@${account.jid.domain}`]!);
    }
  });

  it('turns pending subscriptions into ask=in items, merged with a contact already in the roster', async () => {
    const roster = ofKind(await records(EJABBERD_MAIN), 'roster-item').filter((r) => r.owner.local === 'alice');
    expect(roster.map(view)).toEqual([
      { kind: 'roster-item', owner: { local: 'alice', domain: 'example.test' }, contact: 'bob@example.test', name: 'Bob B.', subscription: 'both', ask: 'none', askMessage: '', groups: ['Friends', 'Work'] },
      { kind: 'roster-item', owner: { local: 'alice', domain: 'example.test' }, contact: 'carol@example.test', name: 'Carol', subscription: 'to', ask: 'in', askMessage: '', groups: ['Friends'] },
      { kind: 'roster-item', owner: { local: 'alice', domain: 'example.test' }, contact: 'erin@other.test', name: '', subscription: 'from', ask: 'none', askMessage: '', groups: [] },
      { kind: 'roster-item', owner: { local: 'alice', domain: 'example.test' }, contact: 'dave@example.test', name: '', subscription: 'none', ask: 'in', askMessage: "Hi Alice, it's Dave & co", groups: [] },
    ]);
  });

  it("stores offline messages without the delay and without ejabberd's own archive ids", async () => {
    const offline = ofKind(await records(EJABBERD_MAIN), 'offline-message');
    expect(offline.map(view)).toEqual([
      {
        kind: 'offline-message',
        owner: { local: 'bob', domain: 'example.test' },
        timestamp: 1796090623222768n,
        from: 'alice@example.test',
        stanza: "<message xmlns='jabber:client' to='bob@example.test' from='alice@example.test' type='chat' id='3930545189683560125'><body>hello bob &lt;&amp;&gt; ünïcødé 🎉</body></message>".replace(/'/g, '"'),
      },
      {
        kind: 'offline-message',
        owner: { local: 'bob', domain: 'example.test' },
        timestamp: 1796090623464632n,
        from: 'carol@example.test',
        stanza: '<message xmlns="jabber:client" to="bob@example.test" from="carol@example.test" id="11135543410773184047"><body>second offline message</body><subject>Subject line</subject></message>',
      },
      {
        kind: 'offline-message',
        owner: { local: 'erin', domain: 'other.test' },
        timestamp: 1796090623888330n,
        from: 'alice@example.test',
        stanza: '<message xmlns="jabber:client" to="erin@other.test" from="alice@example.test" type="chat" id="16332322182511900001"><body>cross-host hello</body></message>',
      },
    ]);
  });

  it('reads the vCard, each private XML element and the privacy list, each with its own namespace', async () => {
    const list = await records(EJABBERD_MAIN);
    expect(ofKind(list, 'vcard').map((r) => `${r.owner.local}: ${serializeXml(r.vcard)}`)).toEqual([
      'alice: <vCard xmlns="vcard-temp"><FN>Alice Ünïcødé</FN><N><FAMILY>Liddell</FAMILY></N><NICKNAME>ali</NICKNAME></vCard>',
      'erin: <vCard xmlns="vcard-temp"><FN>Erin</FN></vCard>',
    ]);
    expect(ofKind(list, 'private-xml').map((r) => serializeXml(r.element))).toEqual([
      '<exodus xmlns="exodus:prefs"><defaultnick>Ali</defaultnick></exodus>',
      '<storage xmlns="storage:bookmarks"><conference jid="room@conference.example.test" autojoin="true" name="Room"><nick>ali</nick></conference></storage>',
    ]);
    expect(ofKind(list, 'privacy-list').map(view)).toEqual([
      {
        kind: 'privacy-list',
        owner: { local: 'bob', domain: 'example.test' },
        name: 'quiet',
        isDefault: true,
        items: [
          { type: 'jid', value: 'dave@example.test', action: 'deny', order: 1, matches: ['message'] },
          { type: 'none', value: '', action: 'allow', order: 2, matches: [] },
        ],
      },
    ]);
  });

  it('follows the host files and locates every record in the file it came from', async () => {
    const list = await records(EJABBERD_MAIN);
    const alice = accounts(list)[0]!;
    expect(alice.location).toEqual({ source: `xep0227:${EJABBERD_MAIN}`, file: EJABBERD_HOST, line: 1, key: 'alice@example.test' });
    expect(new Set(list.map((r) => r.location.file))).toEqual(new Set([EJABBERD_HOST, `${FIXTURES}/ejabberd-23.01/20261201-020344_other_test.xml`]));
  });

  it("inventories it as ejabberd's export and says what that export leaves out and what to do", async () => {
    const inventory = await (await open(EJABBERD_MAIN)).inventory();
    expect(inventory.description).toBe('XEP-0227 v1.1 (urn:xmpp:pie:0), 3 files, written by ejabberd export_piefxis');
    expect(inventory.counts).toEqual({ account: 5, 'roster-item': 6, vcard: 2, 'private-xml': 2, 'offline-message': 3, 'privacy-list': 1 });
    expect(inventory.owners).toEqual({ account: 5, 'roster-item': 3, vcard: 2, 'private-xml': 1, 'offline-message': 2, 'privacy-list': 1 });
    expect(inventory.credentials).toEqual({ 'scram-sha1': 4, 'scram-sha256': 1, none: 0 });
    expect(inventory.rejects).toEqual({});
    const missing = Object.fromEntries(inventory.cannotProvide.map((c) => [c.kind, c]));
    expect(Object.keys(missing).sort()).toEqual(['archived-message', 'last-activity', 'muc-registration', 'muc-room', 'pep-item']);
    expect(missing['archived-message']!.reason).toMatch(/export_piefxis writes no message archive/);
    expect(missing['archived-message']!.advice).toMatch(/SQL/);
    expect(missing['archived-message']!.advice).toMatch(/export_db_ext/);
    expect(inventory.notes.join('\n')).toMatch(/5 SCRAM credential\(s\) are double base64/);
  });

  it('rejects the accounts when told the SCRAM values are single base64', async () => {
    const { items } = await readAll(await open(EJABBERD_MAIN, { 'scram-double-base64': 'no' }));
    const rejects = items.flatMap((i) => ('reject' in i ? [i.reject] : []));
    expect(rejects.map((r) => r.code)).toEqual(['invalid-scram', 'invalid-scram', 'invalid-scram', 'invalid-scram', 'invalid-scram']);
    expect(rejects[0]!.message).toMatch(/stored-key is 28 bytes, expected 20 \(scram-double-base64=no\)/);
    const forced = accounts(await records(EJABBERD_MAIN, { 'scram-double-base64': 'yes' }));
    expectVerifies(forced[0]!, 'wonderland');
  });
});

const ALICE = { local: 'alice', domain: 'example.com' };

describe('xep0227 source on XEP-0227 v1.1', () => {
  it('emits every record of the full fixture exactly', async () => {
    const list = await records(FULL);
    const withoutKeys = list.map((r) => {
      const v = view(r);
      if (r.kind === 'account' && 'hashes' in r.credential) {
        v.credential = { ...(v.credential as object), hashes: r.credential.hashes.map((h) => `${h.algorithm}/${h.iterations}/${h.salt.length}`) };
      }
      return v;
    });
    expect(withoutKeys).toEqual([
      { kind: 'vcard', owner: ALICE, vcard: '<vCard xmlns="vcard-temp"><FN>Alice Example</FN><N><FAMILY>Example</FAMILY><GIVEN>Alice</GIVEN></N><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO></vCard>' },
      { kind: 'private-xml', owner: ALICE, element: '<exodus xmlns="exodus:prefs"><defaultnick>Ali</defaultnick></exodus>' },
      { kind: 'private-xml', owner: ALICE, element: '<storage xmlns="storage:bookmarks"><conference jid="team@conference.example.com" autojoin="true" name="Team"><nick>ali</nick></conference></storage>' },
      {
        kind: 'privacy-list',
        owner: ALICE,
        name: 'work',
        isDefault: true,
        items: [
          { type: 'jid', value: 'spammer@other.org', action: 'deny', order: 1, matches: [] },
          { type: 'group', value: 'Friends', action: 'allow', order: 2, matches: ['message', 'presence-in'] },
          { type: 'subscription', value: 'none', action: 'deny', order: 3, matches: ['presence-out'] },
          { type: 'none', value: '', action: 'allow', order: 4, matches: [] },
        ],
      },
      { kind: 'privacy-list', owner: ALICE, name: 'empty', isDefault: false, items: [] },
      {
        kind: 'offline-message',
        owner: ALICE,
        timestamp: 1704182400000000n,
        from: 'bob@example.com/pc',
        stanza: '<message xmlns="jabber:client" from="bob@example.com/pc" to="alice@example.com" type="chat" id="off1"><body>ping</body></message>',
      },
      {
        kind: 'offline-message',
        owner: ALICE,
        timestamp: 1704187800000001n,
        from: 'kate@other.org/phone',
        stanza: '<message xmlns="jabber:client" from="kate@other.org/phone" to="alice@example.com" id="off2"><body>forwarded history</body></message>',
      },
      { kind: 'account', jid: ALICE, credential: { type: 'plain+scram', password: 'wonderland', hashes: ['sha1/4096/16', 'sha256/4096/16'] } },
      { kind: 'roster-item', owner: ALICE, contact: 'bob@example.com', name: 'Bob', subscription: 'both', ask: 'none', askMessage: '', groups: ['Friends', 'Work'] },
      { kind: 'roster-item', owner: ALICE, contact: 'carol@example.com', name: 'Carol', subscription: 'to', ask: 'out', askMessage: '', groups: ['Friends'] },
      { kind: 'roster-item', owner: ALICE, contact: 'kate@other.org', name: '', subscription: 'none', ask: 'both', askMessage: "it's kate", groups: [] },
      { kind: 'roster-item', owner: ALICE, contact: 'frank@other.org', name: 'Frank', subscription: 'from', ask: 'none', askMessage: '', groups: [] },
      { kind: 'roster-item', owner: ALICE, contact: 'dan@other.org', name: '', subscription: 'none', ask: 'in', askMessage: 'Hi & hello', groups: [] },
      {
        kind: 'archived-message',
        archive: { type: 'user', jid: ALICE },
        timestamp: 1704110400123456n,
        direction: 'out',
        remote: 'bob@example.com',
        stanza: '<message xmlns="jabber:client" from="alice@example.com/phone" to="bob@example.com" type="chat" id="abc1"><body>Hello</body><origin-id xmlns="urn:xmpp:sid:0" id="abc1"/></message>',
        originId: 'abc1',
        sourceId: 'r1',
      },
      {
        kind: 'archived-message',
        archive: { type: 'user', jid: ALICE },
        timestamp: 1704110400500000n,
        direction: 'in',
        remote: 'bob@example.com/PC',
        stanza: '<message xmlns="jabber:client" from="Bob@Example.com/PC" to="alice@example.com" type="chat" id="b1"><body>Hi Alice 👋 &lt;3 &amp; more</body></message>',
        sourceId: 'r2',
      },
      {
        kind: 'archived-message',
        archive: { type: 'user', jid: ALICE },
        timestamp: 1704110400500000n,
        direction: 'out',
        remote: 'kate@other.org',
        stanza: '<message xmlns="jabber:client" to="kate@other.org" type="chat" id="k1"><body>raw &lt;b&gt;markup&lt;/b&gt; &amp; emoji 🎉</body></message>',
        sourceId: 'r3',
      },
      {
        kind: 'archived-message',
        archive: { type: 'user', jid: ALICE },
        timestamp: 1704153600123456n,
        direction: 'in',
        remote: 'team@conference.example.com/Bob',
        stanza:
          '<message xmlns="jabber:client" from="team@conference.example.com/Bob" to="alice@example.com/phone" type="groupchat" id="g1"><body>in the room</body><stanza-id xmlns="urn:xmpp:sid:0" by="team@conference.example.com" id="room-id-1"/></message>',
        sourceId: 'r4',
      },
      {
        kind: 'archived-message',
        archive: { type: 'user', jid: ALICE },
        timestamp: 1704153601000000n,
        direction: 'out',
        remote: 'remote@far.example/home',
        stanza:
          '<message xmlns="jabber:client" from="alice@example.com/laptop" to="remote@far.example/home" type="chat"><body xml:lang="fr">Ça va ?</body><data xmlns="urn:example:data" ex:flag="yes" xmlns:ex="urn:example:ext"/><thing xmlns="urn:example:ext"/></message>',
        sourceId: 'r5',
      },
      {
        kind: 'archived-message',
        archive: { type: 'user', jid: ALICE },
        timestamp: 1704153601000000n,
        direction: 'in',
        remote: 'remote@far.example/home',
        stanza: '<message xmlns="jabber:client" from="remote@far.example/home" to="alice@example.com"><body>   </body></message>',
      },
      { kind: 'pep-item', owner: { local: 'bob', domain: 'example.com' }, node: 'urn:xmpp:bookmarks:1', itemId: 'team@conference.example.com', payload: '<conference xmlns="urn:xmpp:bookmarks:1" name="Team" autojoin="true"><nick>bob</nick></conference>' },
      { kind: 'account', jid: { local: 'bob', domain: 'example.com' }, credential: { type: 'scram', hashes: ['sha1/4096/16'] } },
      { kind: 'roster-item', owner: { local: 'bob', domain: 'example.com' }, contact: 'alice@example.com', name: 'Alice', subscription: 'both', ask: 'none', askMessage: '', groups: [] },
      { kind: 'account', jid: { local: 'carol', domain: 'example.com' }, credential: { type: 'none', reason: 'the export has neither a password attribute nor <scram-credentials> for this user' } },
      { kind: 'account', jid: { local: 'dave', domain: 'example.com' }, credential: { type: 'scram', hashes: ['sha224/4096/16', 'sha384/10000/16', 'sha512/4096/16'] } },
      {
        kind: 'archived-message',
        archive: { type: 'user', jid: { local: 'dave', domain: 'example.com' } },
        timestamp: 1706781600000000n,
        direction: 'out',
        remote: 'bob@example.com',
        stanza: '<message xmlns="jabber:client" from="dave@example.com/x" to="bob@example.com" type="chat"><body>first</body></message>',
        sourceId: 'd1',
      },
      { kind: 'roster-item', owner: { local: 'dave', domain: 'example.com' }, contact: 'bob@example.com', name: '', subscription: 'to', ask: 'none', askMessage: '', groups: [] },
      { kind: 'account', jid: { local: 'pencil', domain: 'example.com' }, credential: { type: 'scram', hashes: ['sha1/4096/12'] } },
      { kind: 'account', jid: { local: 'frank', domain: 'other.org' }, credential: { type: 'plain', password: 'frank-pw' } },
    ]);
  });

  it('keeps raw SCRAM bytes that verify every known password, whatever the hash', async () => {
    const list = accounts(await records(FULL));
    for (const account of list) {
      const password = FIXTURE_PASSWORDS[`${account.jid.local}@${account.jid.domain}`];
      if (password && account.credential.type !== 'plain') expectVerifies(account, password);
    }
    expect(list.filter((a) => a.credential.type === 'scram' || a.credential.type === 'plain+scram').map((a) => a.jid.local)).toEqual(['alice', 'bob', 'dave', 'pencil']);
  });

  it('locates each record at the line of its element', async () => {
    const list = await records(FULL);
    const r3 = ofKind(list, 'archived-message').find((r) => r.sourceId === 'r3')!;
    expect(r3.location).toEqual({ source: `xep0227:${FULL}`, file: FULL, line: lineOf(FULL, "id='r3'"), key: 'alice@example.com' });
    const dan = ofKind(list, 'roster-item').find((r) => r.contact === 'dan@other.org')!;
    expect(dan.location.line).toBe(lineOf(FULL, "from='dan@other.org'"));
  });

  it('inventories counts, owners, credential shapes, archive bytes and span, and what XEP-0227 cannot carry', async () => {
    const inventory = await (await open(FULL)).inventory();
    expect(inventory.description).toBe('XEP-0227 v1.1 (urn:xmpp:pie:0), 1 file');
    expect(inventory.counts).toEqual({ vcard: 1, 'private-xml': 2, 'privacy-list': 2, 'offline-message': 2, account: 6, 'roster-item': 7, 'archived-message': 7, 'pep-item': 1 });
    expect(inventory.owners['archived-message']).toBe(2);
    expect(inventory.credentials).toEqual({ 'plain+scram-sha1+sha256': 1, 'scram-sha1': 2, none: 1, 'scram-sha224+sha384+sha512': 1, plain: 1 });
    expect(inventory.archiveSpan).toEqual({ first: 1704110400123456n, last: 1706781600000000n });
    const stanzas = ofKind(await records(FULL), 'archived-message').map((r) => Buffer.byteLength(serializeXml(r.stanza)));
    expect(inventory.archiveBytes).toBe(stanzas.reduce((a, b) => a + b, 0));
    expect(inventory.cannotProvide.map((c) => c.kind)).toEqual(['muc-room', 'muc-registration', 'last-activity']);
    expect(inventory.notes).toContain("1 <pubsub xmlns='http://jabber.org/protocol/pubsub#owner'> element(s) (PEP node configuration and affiliations) are not migrated; PEP items are");
    expect(inventory.notes).toContain('1 roster or credential element(s) come after a user\'s <archive>');
  });
});

describe('xep0227 source on the pre-1.0 namespace and old ejabberd passwords', () => {
  it('reads users in the legacy namespace and puts inherited-namespace stanzas in jabber:client', async () => {
    const list = await records(LEGACY);
    const juliet = { local: 'juliet', domain: 'capulet.example' };
    expect(list.filter((r) => r.kind !== 'account' || r.jid.local === 'juliet').map(view)).toEqual([
      {
        kind: 'offline-message',
        owner: juliet,
        timestamp: 1215259200000000n,
        from: 'romeo@montague.example/orchard',
        stanza: '<message xmlns="jabber:client" from="romeo@montague.example/orchard" to="juliet@capulet.example" type="chat"><body>Art thou not Romeo?</body></message>',
      },
      { kind: 'vcard', owner: juliet, vcard: '<vCard xmlns="vcard-temp"><FN>Juliet Capulet</FN></vCard>' },
      { kind: 'account', jid: juliet, credential: { type: 'plain', password: 's3crEt' } },
      { kind: 'roster-item', owner: juliet, contact: 'romeo@montague.example', name: 'Romeo', subscription: 'both', ask: 'none', askMessage: '', groups: ['Friends'] },
    ]);
    const inventory = await (await open(LEGACY)).inventory();
    expect(inventory.description).toBe('XEP-0227 pre-1.0 (http://www.xmpp.org/extensions/xep-0227.html#ns), 1 file');
  });

  it("reads ejabberd's old password='scram:…' form as SCRAM-SHA-1 and SCRAM-SHA-256", async () => {
    const list = accounts(await records(LEGACY)).filter((a) => a.jid.local !== 'juliet');
    expect(list.map((a) => (a.credential.type === 'scram' ? a.credential.hashes.map((h) => h.algorithm) : a.credential.type))).toEqual([['sha1'], ['sha256']]);
    for (const account of list) expectVerifies(account, FIXTURE_PASSWORDS[`${account.jid.local}@${account.jid.domain}`]!);
  });
});

describe('xep0227 source with XInclude', () => {
  it('follows nested includes relative to the including file, in document order, in any layout', async () => {
    const { items, error } = await readAll(await open(SPLIT));
    expect(error).toBeUndefined();
    const summary = items.map((i) =>
      'record' in i ? `${i.record.kind} ${i.record.location.key} ${i.record.location.file}:${i.record.location.line}` : `reject ${i.reject.code} ${i.reject.location?.file}:${i.reject.location?.line}`,
    );
    const users = `${FIXTURES}/split/hosts/users`;
    expect(summary).toEqual([
      `account romeo@example.net ${users}/romeo.xml:2`,
      `roster-item romeo@example.net ${users}/romeo.xml:3`,
      `reject malformed-timestamp ${users}/romeo.xml:5`,
      `archived-message romeo@example.net ${users}/romeo.xml:11`,
      `account benvolio@example.net ${FIXTURES}/split/hosts/example-net.xml:4`,
      `offline-message juliet@example.net ${users}/juliet.xml:4`,
      `account juliet@example.net ${users}/juliet.xml:2`,
      `vcard mercutio@example.org ${FIXTURES}/split/prosody/mercutio@example.org.xml:11`,
      `account mercutio@example.org ${FIXTURES}/split/prosody/mercutio@example.org.xml:4`,
    ]);
    const mercutio = items.flatMap((i) => ('record' in i && i.record.kind === 'account' && i.record.jid.local === 'mercutio' ? [i.record] : []))[0]!;
    expect(mercutio.createdAt).toBe(1700000000000000n);
    expectVerifies(mercutio, 'queen-mab');
    const inventory = await (await open(SPLIT)).inventory();
    expect(inventory.description).toBe('XEP-0227 v1.1 (urn:xmpp:pie:0), 5 files, written by Prosody mod_storage_xep0227');
    expect(inventory.cannotProvide.map((c) => c.kind)).toContain('offline-message');
  });

  it('ends the read with a SourceError naming the include when an included file is missing', async () => {
    const dir = mkdtempSync(join(temp, 'missing-'));
    writeFileSync(join(dir, 'main.xml'), `<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'>\n<host jid='a.example'><user name='u1'/></host>\n<xi:include href='gone.xml'/>\n</server-data>`);
    const { items, error } = await readAll(await open(join(dir, 'main.xml')));
    expect(items.map((i) => ('record' in i ? i.record.kind : i.reject.code))).toEqual(['account']);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe('include-not-found');
    expect((error as Error).message).toContain(`<xi:include href='gone.xml'> at ${join(dir, 'main.xml')}:3`);
  });

  it('refuses an include cycle', async () => {
    const dir = mkdtempSync(join(temp, 'cycle-'));
    writeFileSync(join(dir, 'a.xml'), `<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'><xi:include href='b.xml'/></server-data>`);
    writeFileSync(join(dir, 'b.xml'), `<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'><xi:include href='a.xml'/></server-data>`);
    const { error } = await readAll(await open(join(dir, 'a.xml')));
    expect((error as SourceError).code).toBe('include-cycle');
  });
});

describe('xep0227 source on unusual layouts', () => {
  it('reads a file per user on its own only when told its domain', async () => {
    const file = `${FIXTURES}/split/hosts/users/juliet.xml`;
    const { items } = await readAll(await open(file));
    expect(items.map((i) => ('reject' in i ? `${i.reject.code}: ${i.reject.message}` : i.record.kind))).toEqual([
      "no-host: <user name='juliet'> is in no <host jid>: pass --source-option domain=<domain> to read a file per user on its own",
    ]);
    const list = await records(file, { domain: 'Example.NET' });
    expect(list.map((r) => `${r.kind} ${r.location.key}`)).toEqual(['offline-message juliet@example.net', 'account juliet@example.net']);
  });

  it('skips and reports what it does not read, and rejects what comes too late or cannot be included', async () => {
    const file = join(temp, 'unusual.xml');
    writeFileSync(
      file,
      `<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'>
  <host jid='u.example'>
    <user name='ann' password='pw'>
      <muc xmlns='tigase:xep-0227:muc:0'><room jid='r@muc.u.example'/></muc>
      <archive xmlns='urn:xmpp:pie:0#mam'>
        <result xmlns='urn:xmpp:mam:2' id='a1'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/><message xmlns='jabber:client' to='bo@u.example'><body>hi</body></message></forwarded></result>
      </archive>
      <scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'><iter-count>1</iter-count><salt>AAAA</salt><server-key>AAAA</server-key><stored-key>AAAA</stored-key></scram-credentials>
      <presence xmlns='jabber:client' type='subscribed' from='bo@u.example'/>
      <xi:include href='more.xml'/>
    </user>
  </host>
  <stats xmlns='urn:example:stats'/>
</server-data>`,
    );
    const { items, error } = await readAll(await open(file));
    expect(error).toBeUndefined();
    expect(items.map((i) => ('reject' in i ? `reject ${i.reject.code} :${i.reject.location?.line}` : `${i.record.kind}`))).toEqual([
      'account',
      'archived-message',
      'reject late-credentials :8',
      'reject unsupported-presence :9',
      'reject unsupported-include :10',
    ]);
    const inventory = await (await open(file)).inventory();
    expect(inventory.notes).toContain("skipped 1 × <muc xmlns='tigase:xep-0227:muc:0'> in <user>: not part of XEP-0227 as read here");
    expect(inventory.notes).toContain("skipped 1 × <stats xmlns='urn:example:stats'> outside any <user>: not part of XEP-0227 as read here");
    expect(inventory.rejects).toEqual({ 'late-credentials': 1, 'unsupported-presence': 1, 'unsupported-include': 1 });
  });
});

describe('xep0227 source on Openfire User Import/Export plugin quirks', () => {
  it('does not migrate a password equal to the user name unless told to, and ignores empty groups', async () => {
    const { items } = await readAll(await open(OPENFIRE));
    expect(items.map((i) => ('record' in i ? view(i.record) : { reject: i.reject.code, message: i.reject.message }))).toEqual([
      { reject: 'malformed-timestamp', message: 'admin@openfire.example: offline message stamp "Thu Jan 21 14:17:35 CET 2016" is Java\'s Date.toString() (old Openfire export plugins), not an XEP-0082 date-time' },
      {
        kind: 'account',
        jid: { local: 'admin', domain: 'openfire.example' },
        credential: {
          type: 'none',
          reason:
            'the password equals the user name, which the Openfire User Import/Export plugin writes when it cannot decrypt a password; set a new password after the migration, or pass --source-option password-equals-username=keep to migrate it',
        },
      },
      { kind: 'roster-item', owner: { local: 'admin', domain: 'openfire.example' }, contact: 'test1@openfire.example', name: 'Tester', subscription: 'both', ask: 'none', askMessage: '', groups: [] },
      { kind: 'roster-item', owner: { local: 'admin', domain: 'openfire.example' }, contact: 'test2@openfire.example', name: '', subscription: 'to', ask: 'none', askMessage: '', groups: ['Team,Ops'] },
      { kind: 'account', jid: { local: 'test1', domain: 'openfire.example' }, credential: { type: 'plain', password: 'test' } },
    ]);
  });

  it('keeps the password and splits joined groups when told to', async () => {
    const list = await records(OPENFIRE, { 'password-equals-username': 'keep', 'split-groups': ',' });
    expect(accounts(list)[0]!.credential).toEqual({ type: 'plain', password: 'admin' });
    expect(ofKind(list, 'roster-item')[1]!.groups).toEqual(['Team', 'Ops']);
  });

  it('names the producer and its quirks in the inventory', async () => {
    const inventory = await (await open(OPENFIRE)).inventory();
    expect(inventory.description).toBe('XEP-0227 v1.1 (urn:xmpp:pie:0), 1 file, written by the Openfire User Import/Export plugin');
    expect(inventory.credentials).toEqual({ none: 1, plain: 1 });
    expect(inventory.rejects).toEqual({ 'malformed-timestamp': 1 });
    const notes = inventory.notes.join('\n');
    expect(notes).toMatch(/every roster item has exactly one <group> and 1 are empty/);
    expect(notes).toMatch(/1 account\(s\) have a password equal to their user name/);
    expect(notes).toMatch(/1 delay stamp\(s\) are Java Date.toString\(\)/);
    expect(inventory.cannotProvide.find((c) => c.kind === 'archived-message')?.reason).toMatch(/Openfire/);
  });
});

describe('xep0227 source on bad input', () => {
  it('rejects each bad record with its file and line, goes on past the break in the XML, and reads to the end', async () => {
    const { items, error } = await readAll(await open(BAD));
    const got = items.map((i) => ('record' in i ? `${i.record.kind} ${i.record.location.key}` : `${i.reject.code} ${i.reject.location?.file}:${i.reject.location?.line}`));
    const at = (marker: string, offset = 0): string => `${BAD}:${lineOf(BAD, marker) + offset}`;
    expect(got).toEqual([
      `user-without-name ${at('##no-name##')}`,
      `invalid-jid ${at('##bad-name##')}`,
      `unknown-subscription ${at('##roster##')}`,
      `invalid-jid ${at('##roster##')}`,
      `invalid-scram ${at('##ok1##')}`,
      'roster-item ok1@bad.example',
      `malformed-timestamp ${at('##bad-stamp##')}`,
      `missing-timestamp ${at('##no-delay##')}`,
      `invalid-utf8 ${at('##bad-bytes##')}`,
      'archived-message ok1@bad.example',
      `invalid-utf8 ${at('##ok2##', 1)}`,
      `invalid-jid ${at('##no-from##')}`,
      'account ok2@bad.example',
      `invalid-utf8 ${at('##bad-user-bytes##')}`,
      `invalid-host ${at('##orphan##')}`,
      'account ok3@bad.example',
      'archived-message ok3@bad.example',
      `malformed-xml ${at('##broken##')}`,
      'account after-break@bad.example',
    ]);
    const messages = items.flatMap((i) => ('reject' in i ? [i.reject.message] : []));
    expect(messages).toContain('ok1@bad.example: roster item friend@bad.example: unknown subscription "besties" (expected none, to, from or both)');
    expect(messages).toContain('ok1@bad.example: cannot read the SCRAM credentials: SCRAM-SHA-1 salt is not base64: "not base64!"');
    expect(messages).toContain('ok1@bad.example: archived message stamp "2024-13-01T00:00:00Z" is not an XEP-0082 date-time (CCYY-MM-DDThh:mm:ss[.sss]TZD, 1970 or later)');
    expect(messages).toContain(
      `ok3@bad.example: not well-formed XML at ${at('##broken##')}:${columnAfter(BAD, '##broken##', '<body>unclosed')} (unexpected close tag). ` +
        `Already emitted: the records of this user's elements that ended before the <result> at line ${lineOf(BAD, "id='broken'")}. ` +
        `Skipped: this user's data from the <result> at line ${lineOf(BAD, "id='broken'")} to the next <user> at line ${lineOf(BAD, '##after-break##')}.`,
    );
    for (const item of items) if ('reject' in item) expect(item.reject).toBeInstanceOf(RecordError);
    expect(error).toBeUndefined();
  });

  it('never lets invalid UTF-8 through as U+FFFD', async () => {
    const { items } = await readAll(await open(BAD));
    for (const item of items) if ('record' in item) expect(JSON.stringify(view(item.record), (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain('\uFFFD');
    const utf8 = items.flatMap((i) => ('reject' in i && i.reject.code === 'invalid-utf8' ? [i.reject.message] : []));
    expect(utf8).toEqual([
      `ok1@bad.example: invalid UTF-8 bytes near line ${lineOf(BAD, '##bad-bytes##') + 1} in this archive item: skipped`,
      `ok2@bad.example: invalid UTF-8 bytes near line ${lineOf(BAD, '##ok2##') + 1} in <vCard>: the element is skipped`,
      `invalid UTF-8 bytes in the <user> start tag near line ${lineOf(BAD, '##bad-user-bytes##')}: the user and everything in it is skipped`,
    ]);
  });

  it('decodes characters split across read chunks and finds bad bytes at any offset', async () => {
    const file = join(temp, 'chunks.xml');
    const body = '😀é中'.repeat(20_000); // 4-, 2- and 3-byte sequences, so 256 KB chunk edges fall inside them
    const parts = [`<server-data xmlns='urn:xmpp:pie:0'><host jid='c.example'>`];
    for (let i = 0; i < 8; i++) parts.push(`<user name='u${i}'><vCard xmlns='vcard-temp'><DESC>${body}</DESC></vCard></user>`);
    const head = Buffer.from(parts.join(''), 'utf8');
    const tail = Buffer.from(`<user name='last'><vCard xmlns='vcard-temp'><DESC>x`, 'utf8');
    writeFileSync(file, Buffer.concat([head, tail, Buffer.from([0xf0, 0x9f]), Buffer.from(`</DESC></vCard></user></host></server-data>`)]));
    const { items, error } = await readAll(await open(file));
    expect(error).toBeUndefined();
    const vcards = items.flatMap((i) => ('record' in i && i.record.kind === 'vcard' ? [i.record.vcard.getChildText('DESC')] : []));
    expect(vcards).toHaveLength(8);
    for (const text of vcards) expect(text).toBe(body);
    expect(items.flatMap((i) => ('reject' in i ? [`${i.reject.code} ${i.reject.location?.key}`] : []))).toEqual(['invalid-utf8 last@c.example']);
  });

  it('refuses a file whose XML declaration names another encoding', async () => {
    const file = join(temp, 'latin1.xml');
    writeFileSync(file, `<?xml version='1.0' encoding='ISO-8859-1'?>\n<server-data xmlns='urn:xmpp:pie:0'/>`);
    const { items, error } = await readAll(await open(file));
    expect(items).toEqual([]);
    expect((error as Error).message).toMatch(/encoding="ISO-8859-1"; only UTF-8 exports can be read/);
  });

  it('refuses a file that is not XEP-0227 at all', async () => {
    const file = join(temp, 'other.xml');
    writeFileSync(file, `<rss version='2.0'><channel/></rss>`);
    const { error } = await readAll(await open(file));
    expect((error as Error).message).toMatch(/the root element <rss xmlns=''> is not XEP-0227/);
  });
});

const RECOVERY = `${FIXTURES}/recovery`;
const ARCHIVE_BREAK = `${RECOVERY}/archive-break.xml`;
const UNCLOSED = `${RECOVERY}/unclosed.xml`;
const TRUNCATED = `${RECOVERY}/truncated.xml`;
const GARBAGE = `${RECOVERY}/garbage.xml`;

/** Records as `kind key:line`, rejects as `code key :line:column`. */
function brief(items: SourceItem[]): string[] {
  return items.map((i) =>
    'record' in i
      ? `${i.record.kind} ${i.record.location.key}:${i.record.location.line}`
      : `${i.reject.code} ${i.reject.location?.key ?? '-'} :${i.reject.location?.line}:${i.reject.location?.column ?? ''}`,
  );
}

function rejectMessages(items: SourceItem[]): string[] {
  return items.flatMap((i) => ('reject' in i ? [i.reject.message] : []));
}

/** The 1-based column of the character just after `before` on the line holding `marker`. */
function columnAfter(file: string, marker: string, before: string): number {
  const text = readFileSync(file, 'latin1').split('\n')[lineOf(file, marker) - 1]!;
  const index = text.indexOf(before);
  if (index < 0) throw new Error(`${before} not on the line of ${marker}`);
  return index + before.length + 1;
}

describe('recovering from malformed XML', () => {
  it('rejects the user a malformed stanza breaks, keeps what it emitted, and reads the users, include and host after it', async () => {
    const { items, error } = await readAll(await open(ARCHIVE_BREAK));
    expect(error).toBeUndefined();
    const L = (marker: string): number => lineOf(ARCHIVE_BREAK, marker);
    const column = columnAfter(ARCHIVE_BREAK, '##lt##', '<body>1 <');
    expect(brief(items)).toEqual([
      `account before@recovery.example:${L('##before##')}`,
      `roster-item before@recovery.example:${L('##before##') + 1}`,
      `vcard broken@recovery.example:${L('##broken##') + 2}`,
      `account broken@recovery.example:${L('##broken##')}`,
      `roster-item broken@recovery.example:${L('##broken##') + 1}`,
      `archived-message broken@recovery.example:${L('##kept##')}`,
      `malformed-xml broken@recovery.example :${L('##lt##')}:${column}`,
      `account after@recovery.example:${L('##after##')}`,
      'offline-message juliet@recovery.example:4',
      'account juliet@recovery.example:2',
      `account second@second.example:${L('##second##')}`,
    ]);
    expect(rejectMessages(items)).toEqual([
      `broken@recovery.example: not well-formed XML at ${ARCHIVE_BREAK}:${L('##lt##')}:${column} (disallowed character in tag name). ` +
        `Already emitted: the records of this user's elements that ended before the <result> at line ${L('##malformed##')}. ` +
        `Skipped: this user's data from the <result> at line ${L('##malformed##')} to the next <user> at line ${L('##after##')}. ` +
        'Not emitted: 1 roster item(s) read after its <archive>, which wait for the end of the user.',
    ]);
    const reject = items.find((i) => 'reject' in i)!;
    expect('reject' in reject && reject.reject.location).toEqual({ source: `xep0227:${ARCHIVE_BREAK}`, file: ARCHIVE_BREAK, line: L('##lt##'), column, key: 'broken@recovery.example' });
    const list = items.flatMap((i) => ('record' in i ? [i.record] : []));
    expect(JSON.stringify(list.map(view), (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain('lost-in-the-break');
    // The fresh parser knew the prefixes declared on <server-data>: ns1 for this attribute, xi for the include.
    expect(accounts(list).find((a) => a.jid.local === 'after')!.createdAt).toBe(1700000000000000n);
    expect(list.find((r) => r.kind === 'offline-message')!.location.file).toBe(`${FIXTURES}/split/hosts/users/juliet.xml`);
  });

  it('rejects a user whose stanza is never closed and those whose </user> is missing, and reads the next users and host whole', async () => {
    const { items, error } = await readAll(await open(UNCLOSED));
    expect(error).toBeUndefined();
    const L = (marker: string): number => lineOf(UNCLOSED, marker);
    const closeColumn = columnAfter(UNCLOSED, '##bad-close##', '</message>') - '</message>'.length;
    const hostColumn = columnAfter(UNCLOSED, '##dora-unclosed##', '</host>') - '</host>'.length;
    const cleoColumn = columnAfter(UNCLOSED, '##cleo##', "password='pw-cleo'>") - 1;
    expect(brief(items)).toEqual([
      `offline-message anna@unclosed.example:${L('##unclosed-message##') - 1}`,
      `malformed-xml anna@unclosed.example :${L('##bad-close##')}:${closeColumn}`,
      `vcard ben@unclosed.example:${L('##ben##') + 2}`,
      `malformed-xml ben@unclosed.example :${L('##cleo##')}:${cleoColumn}`,
      `vcard cleo@unclosed.example:${L('##cleo##') + 1}`,
      `account cleo@unclosed.example:${L('##cleo##')}`,
      `vcard dora@unclosed.example:${L('##dora##') + 1}`,
      `malformed-xml dora@unclosed.example :${L('##dora-unclosed##')}:${hostColumn}`,
      `account eve@unclosed2.example:${L('##eve##')}`,
      `malformed-xml - :${L('##host-unclosed##')}:1`,
    ]);
    expect(rejectMessages(items)).toEqual([
      `anna@unclosed.example: not well-formed XML at ${UNCLOSED}:${L('##bad-close##')}:${closeColumn} (unexpected close tag). ` +
        `Already emitted: the records of this user's elements that ended before the <message> at line ${L('##unclosed-message##')}. ` +
        `Skipped: this user's data from the <message> at line ${L('##unclosed-message##')} to the next <user> at line ${L('##ben##')}. ` +
        'Not emitted: its account and 1 roster item(s), which wait for the end of the user.',
      `ben@unclosed.example: <user name='cleo'> starts at ${UNCLOSED}:${L('##cleo##')} inside this user, whose </user> is missing. ` +
        "Already emitted: the records of this user's elements, all read. " +
        'Not emitted: its account and 1 roster item(s), which wait for the end of the user.',
      // saxes closes <user> at </host> before it finds the close tag is not its own: that is taken back.
      `dora@unclosed.example: not well-formed XML at ${UNCLOSED}:${L('##dora-unclosed##')}:${hostColumn} (unexpected close tag). ` +
        `Already emitted: the records of this user's elements that ended before line ${L('##dora-unclosed##')}, column ${hostColumn}. ` +
        `Skipped: this user's data from line ${L('##dora-unclosed##')}, column ${hostColumn} to </host> at line ${L('##dora-unclosed##')}. ` +
        'Not emitted: its account, which waits for the end of the user.',
      `not well-formed XML at ${UNCLOSED}:${L('##host-unclosed##')}:1 (unexpected close tag), outside any <user>: the data from line ${L('##host-unclosed##')} to </server-data> at line ${L('##host-unclosed##')} is skipped`,
    ]);
    expect(JSON.stringify(items.map(itemView), (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain('lost-in-the-break');
  });

  it('ends a truncated export with a reject for the user it cuts, and no error', async () => {
    const { items, error } = await readAll(await open(TRUNCATED));
    expect(error).toBeUndefined();
    const L = (marker: string): number => lineOf(TRUNCATED, marker);
    const end = readFileSync(TRUNCATED, 'utf8').split('\n');
    const last = `${end.length}:${end[end.length - 1]!.length}`;
    expect(brief(items)).toEqual([
      `account whole@cut.example:${L('##whole##')}`,
      `account cut@cut.example:${L('##cut##')}`,
      `roster-item cut@cut.example:${L('##cut##') + 1}`,
      `archived-message cut@cut.example:${L('##c1##')}`,
      `truncated-file cut@cut.example :${last}`,
    ]);
    expect(rejectMessages(items)).toEqual([
      `cut@cut.example: file ends inside <user name='cut'> at line ${end.length} (the export looks truncated): its remaining data is missing. ` +
        `Already emitted: the records of this user's elements that ended before the <result> at line ${L('##c2##')}. ` +
        `Lost: the unfinished <result> from line ${L('##c2##')}.`,
    ]);

    const between = join(temp, 'truncated-between-users.xml');
    writeFileSync(between, `<server-data xmlns='urn:xmpp:pie:0'>\n  <host jid='t.example'>\n    <user name='a'/>\n`);
    const cut = await readAll(await open(between));
    expect(cut.error).toBeUndefined();
    expect(cut.items.map((i) => ('record' in i ? i.record.kind : `${i.reject.code}: ${i.reject.message}`))).toEqual([
      'account',
      "truncated-file: the file ends at line 4 inside <host jid='t.example'> (unclosed tag: host; the export looks truncated): whatever followed is missing",
    ]);
  });

  it("skips garbage between users and rejects what it costs: nothing, one user, or a host's users one by one", async () => {
    const { items, error } = await readAll(await open(GARBAGE));
    expect(error).toBeUndefined();
    const L = (marker: string): number => lineOf(GARBAGE, marker);
    const amp = columnAfter(GARBAGE, '##amp##', 'but this ') ;
    const lt = columnAfter(GARBAGE, '##lt##', '<<') - 1;
    const g3 = columnAfter(GARBAGE, '##g3##', ' oops>') - 1;
    const host = columnAfter(GARBAGE, '##broken-host##', ' oops>') - 1;
    expect(brief(items)).toEqual([
      `account g1@junk.example:${L('##g1##')}`,
      `malformed-xml - :${L('##amp##')}:${amp}`,
      `vcard g2@junk.example:${L('##g2##')}`,
      `account g2@junk.example:${L('##g2##')}`,
      `malformed-xml - :${L('##lt##')}:${lt}`,
      `malformed-xml g3@junk.example :${L('##g3##')}:${g3}`,
      `account g4@junk.example:${L('##g4##')}`,
      `malformed-xml - :${L('##broken-host##')}:${host}`,
      `invalid-host h1@? :${L('##h1##')}:`,
      `account g5@junk.example:${L('##g5##')}`,
    ]);
    expect(rejectMessages(items)).toEqual([
      `not well-formed XML at ${GARBAGE}:${L('##amp##')}:${amp} (disallowed character in entity name), outside any <user>: the data from line ${L('##amp##')} to the next <user> at line ${L('##g2##')} is skipped`,
      `not well-formed XML at ${GARBAGE}:${L('##lt##')}:${lt} (disallowed character in tag name), outside any <user>: the data from line ${L('##lt##')} to the next <user> at line ${L('##g3##')} is skipped`,
      `<user name='g3'> at line ${L('##g3##')}: not well-formed XML at ${GARBAGE}:${L('##g3##')}:${g3} (attribute without value) in its start tag: the user is skipped, with everything up to the next <user> at line ${L('##g4##')}`,
      `<host jid='broken.example'> at line ${L('##broken-host##')}: not well-formed XML at ${GARBAGE}:${L('##broken-host##')}:${host} (attribute without value) in its start tag: its users are rejected (invalid-host); the data up to the next <user> at line ${L('##h1##')} is skipped`,
      `<host jid='broken.example'> at ${GARBAGE}:${L('##broken-host##')}: its start tag is not well-formed XML (attribute without value)`,
    ]);
    const vcard = items.flatMap((i) => ('record' in i && i.record.kind === 'vcard' ? [i.record.vcard.getChildText('FN')] : []));
    expect(vcard).toEqual(['Gee & Two']);
  });

  it('keeps a break in an included file to that file, and reads on in the file that includes it', async () => {
    const dir = mkdtempSync(join(temp, 'include-break-'));
    writeFileSync(
      join(dir, 'main.xml'),
      `<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'>\n<host jid='i.example'>\n<xi:include href='u1.xml'/>\n<xi:include href='u2.xml'/>\n<user name='tail' password='x'/>\n</host>\n</server-data>\n`,
    );
    writeFileSync(join(dir, 'u1.xml'), `<user xmlns='urn:xmpp:pie:0' name='u1' password='p'>\n<vCard xmlns='vcard-temp'><FN>one</FN></vCard>\n<query xmlns='jabber:iq:private'><a xmlns='x:a'>1 < 2</a></query>\n</user>\n`);
    writeFileSync(join(dir, 'u2.xml'), `<user xmlns='urn:xmpp:pie:0' name='u2' password='p'>\n<vCard xmlns='vcard-temp'><FN>two</FN></vCard>\n<offline-messages><message from='a@b' to='u2@i.example'><body>cut`);
    const source = await open(join(dir, 'main.xml'));
    const { items, error } = await readAll(source);
    expect(error).toBeUndefined();
    expect(items.map((i) => ('record' in i ? `${i.record.kind} ${basename(i.record.location.file!)}` : `${i.reject.code} ${basename(i.reject.location!.file!)}`))).toEqual([
      'vcard u1.xml',
      'malformed-xml u1.xml',
      'vcard u2.xml',
      'truncated-file u2.xml',
      'account main.xml',
    ]);
    expect(rejectMessages(items)[0]).toContain("Skipped: this user's data from the <query> at line 3 to the end of the file. Not emitted: its account, which waits for the end of the user.");
    for (let i = 0; i < items.length; i++) expect((await readAll(source, items[i]!.cursor)).items.map(itemView)).toEqual(items.slice(i + 1).map(itemView));
  });

  it('counts in the inventory the same rejects a read emits', async () => {
    for (const file of [ARCHIVE_BREAK, UNCLOSED, TRUNCATED, GARBAGE, BAD]) {
      const source = await open(file);
      const { items } = await readAll(source);
      const counted: Record<string, number> = {};
      for (const item of items) if ('reject' in item) counted[item.reject.code] = (counted[item.reject.code] ?? 0) + 1;
      const inventory = await source.inventory();
      expect(inventory.rejects, file).toEqual(counted);
      expect(Object.values(inventory.counts).reduce((a, b) => a + b, 0), file).toBe(items.filter((i) => 'record' in i).length);
    }
    expect((await (await open(GARBAGE)).inventory()).rejects).toEqual({ 'malformed-xml': 4, 'invalid-host': 1 });
  });

  for (const eol of ['\n', '\r\n']) {
    it(`finds where to go on across read chunks, and keeps counting lines (${eol === '\n' ? 'LF' : 'CRLF'})`, async () => {
      const file = join(temp, `chunked-break-${eol.length}.xml`);
      const chunk = 256 * 1024;
      const result = (i: number, body: string): string =>
        `<result xmlns='urn:xmpp:mam:2' id='r${i}'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/><message xmlns='jabber:client' to='x@c.example'><body>${body}</body></message></forwarded></result>`;
      const lines = [`<server-data xmlns='urn:xmpp:pie:0'>`, `<host jid='c.example'>`, `<user name='big' password='pw'>`, `<archive xmlns='urn:xmpp:pie:0#mam'>`, result(0, 'kept')];
      lines.push(result(1, 'a < b'));
      const broken = lines.length;
      // About 1 MB skipped over several chunks, with bad bytes in it that are part of the skipped data.
      for (let i = 2; i < 4500; i++) lines.push(result(i, i === 3000 ? 'BAD' : `skipped ${i}`));
      lines.push('</archive>', '</user>');
      let head = Buffer.from(lines.join(eol) + eol);
      head = Buffer.from(head.toString('latin1').replace('BAD', '\xff\xfe'), 'latin1');
      // The next <user> start tag is cut by a chunk edge, 3 bytes in.
      let edge = (Math.floor(head.length / chunk) + 1) * chunk;
      if (edge - 3 < head.length) edge += chunk;
      const tail = [`<user name='next' password='pw'/>`, `<user name='last' password='pw'><vCard xmlns='vcard-temp'><FN>Last</FN></vCard></user>`, '</host>', '</server-data>', ''].join(eol);
      writeFileSync(file, Buffer.concat([head, Buffer.from(' '.repeat(edge - 3 - head.length)), Buffer.from(tail)]));
      expect(readFileSync(file).subarray(edge - 3, edge + 2).toString()).toBe('<user');

      const source = await open(file);
      const full = await readAll(source);
      expect(full.error).toBeUndefined();
      const next = lines.length + 1;
      expect(brief(full.items)).toEqual([
        'account big@c.example:3',
        'archived-message big@c.example:5',
        `malformed-xml big@c.example :${broken}:${result(1, 'a < b').indexOf('a <') + 'a <'.length + 1}`,
        `account next@c.example:${next}`,
        `vcard last@c.example:${next + 1}`,
        `account last@c.example:${next + 1}`,
      ]);
      expect(rejectMessages(full.items)[0]).toContain(`Skipped: this user's data from the <result> at line ${broken} to the next <user> at line ${next}.`);
      for (let i = 0; i < full.items.length; i++) {
        const rest = await readAll(source, full.items[i]!.cursor);
        expect(rest.items.map(itemView)).toEqual(full.items.slice(i + 1).map(itemView));
      }
    });
  }

  it('marks bad bytes in the start tag where reading goes on, chunks after the break', async () => {
    const file = join(temp, 'chunked-bad-bytes.xml');
    const chunk = 256 * 1024;
    const head = Buffer.from(
      `<server-data xmlns='urn:xmpp:pie:0'><host jid='c.example'><user name='big'><vCard xmlns='vcard-temp'><FN>x < y</FN><DESC>${'z'.repeat(chunk)}</DESC></vCard></user>\n`,
    );
    // Two chunks after the break: `<user name='n`, a byte that is not UTF-8, `x`, and the end of the chunk.
    const before = Buffer.from(`<user name='n`);
    const pad = Buffer.from(' '.repeat(2 * chunk - head.length - before.length - 2));
    writeFileSync(file, Buffer.concat([head, pad, before, Buffer.from([0xff]), Buffer.from(`x' password='pw'/><user name='ok' password='pw'/></host></server-data>\n`)]));
    expect(readFileSync(file).subarray(2 * chunk - 2, 2 * chunk + 1).toString('latin1')).toBe("\xffx'");
    expect(statSync(file).size).toBeGreaterThan(2 * chunk);
    const source = await open(file);
    const { items, error } = await readAll(source);
    expect(error).toBeUndefined();
    const column = head.toString().indexOf('<FN>x <') + '<FN>x <'.length + 1;
    expect(brief(items)).toEqual([`malformed-xml big@c.example :1:${column}`, 'invalid-utf8 - :2:', 'account ok@c.example:2']);
    for (let i = 0; i < items.length; i++) expect((await readAll(source, items[i]!.cursor)).items.map(itemView)).toEqual(items.slice(i + 1).map(itemView));
  });

  it('still ends the read with a SourceError when the file does not start as XML', async () => {
    const file = join(temp, 'not-xml.xml');
    writeFileSync(file, 'this is no export\n<server-data xmlns="urn:xmpp:pie:0"/>\n');
    const { items, error } = await readAll(await open(file));
    expect(items).toEqual([]);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe('malformed-xml');
    expect((error as Error).message).toMatch(/^\S+not-xml\.xml:\d+:\d+: not well-formed XML: text data outside of root node/);
  });
});

describe('xep0227 source resumption', () => {
  const cases = [EJABBERD_MAIN, FULL, LEGACY, SPLIT, OPENFIRE, BAD, ARCHIVE_BREAK, UNCLOSED, TRUNCATED, GARBAGE, DEMO];
  for (const file of cases) {
    it(`yields exactly the remaining items after every cursor of ${file}`, async () => {
      const source = await open(file);
      const full = await readAll(source);
      const cursors = full.items.map((i) => i.cursor);
      expect([...cursors].sort()).toEqual(cursors);
      expect(new Set(cursors).size).toBe(cursors.length);
      const expected = full.items.map(itemView);
      for (let i = 0; i < cursors.length; i++) {
        const rest = await readAll(source, cursors[i]);
        expect(rest.items.map(itemView), `after ${cursors[i]}`).toEqual(expected.slice(i + 1));
        expect(String(rest.error)).toBe(String(full.error));
      }
    });
  }

  it('resumes a large user mid-archive without building the items it skips', async () => {
    const source = await open(DEMO);
    const { items } = await readAll(source);
    const alice = items.filter((i) => 'record' in i && i.record.kind === 'archived-message' && i.record.archive.jid.local === 'alice');
    const middle = alice[Math.floor(alice.length / 2)]!;
    const rest = await readAll(source, middle.cursor);
    expect(rest.items.map((i) => i.cursor)).toEqual(items.slice(items.indexOf(middle) + 1).map((i) => i.cursor));
  });

  it('refuses a cursor it did not produce and a stream it does not have', async () => {
    const source = await open(FULL);
    expect(() => source.read('users', 'nonsense')).toThrow(UsageError);
    expect(() => source.read('archives')).toThrow(/has one stream, "users"/);
  });
});

describe('xep0227 timestamps', () => {
  const table: Array<[string, bigint | undefined]> = [
    ['2024-01-01T12:00:00.123456Z', 1704110400123456n],
    ['2024-01-01T12:00:00Z', 1704110400000000n],
    ['2024-01-01T12:00:00.1Z', 1704110400100000n],
    ['2024-01-01T12:00:00.123456789Z', 1704110400123456n],
    ['2024-01-01T13:30:00.000001+01:30', 1704110400000001n],
    ['2024-01-01T10:00:00-02:00', 1704110400000000n],
    ['20240101T12:00:00', 1704110400000000n],
    ['2024-02-29T00:00:00Z', 1709164800000000n],
    ['2023-02-29T00:00:00Z', undefined],
    ['2024-01-01T24:00:00Z', undefined],
    ['2024-01-01T12:00:60Z', undefined],
    ['2024-01-01 12:00:00Z', undefined],
    ['2024-01-01T12:00:00', undefined],
    ['1969-12-31T23:59:59Z', undefined],
    ['Thu Jan 21 14:17:35 CET 2016', undefined],
    // Past 2^53 µs (after 2255): exact all the same.
    ['2999-12-31T23:59:59.999999Z', 32_503_679_999_999_999n],
    ['2999-12-31T23:59:59.999999-00:01', 32_503_680_059_999_999n],
    ['1970-01-01T00:00:00.000001Z', 1n],
    ['1970-01-01T00:30:00+01:00', undefined],
  ];
  for (const [text, micros] of table) {
    it(`parses ${JSON.stringify(text)} to ${micros ?? 'nothing'}`, () => {
      expect(parseXmppTimestamp(text)).toBe(micros);
    });
  }
});

describe('xep0227 demo export', () => {
  it('reads without a reject, with SCRAM that verifies the passwords of examples/README.md', async () => {
    const source = await open(DEMO);
    const { items, error } = await readAll(source);
    expect(error).toBeUndefined();
    expect(items.filter((i) => 'reject' in i)).toEqual([]);
    const list = items.flatMap((i) => ('record' in i ? [i.record] : []));
    const readme = readFileSync('examples/README.md', 'utf8');
    for (const user of DEMO_USERS) {
      expect(readme).toContain(`| ${user.name}@example.com | \`${user.password}\` |`);
      const account = accounts(list).find((a) => a.jid.local === user.name)!;
      if (user.plain) expect('password' in account.credential && account.credential.password).toBe(user.password);
      if (user.scram.length > 0) expectVerifies(account, user.password);
    }
    const archive = ofKind(list, 'archived-message');
    expect(archive.length).toBeGreaterThanOrEqual(200);
    expect(archive.some((m) => !m.remote.endsWith('@example.com') && !m.remote.includes('@example.com/'))).toBe(true);
    const sameMicrosecond = archive.some((m, i) => i > 0 && archive[i - 1]!.archive.jid.local === m.archive.jid.local && archive[i - 1]!.timestamp === m.timestamp);
    expect(sameMicrosecond).toBe(true);
    expect(archive.filter((m) => m.originId !== undefined).length).toBeGreaterThan(100);
    expect(archive.some((m) => /[\u{1F300}-\u{1FAFF}]/u.test(m.stanza.getChildText('body') ?? ''))).toBe(true);
    const inventory = await source.inventory();
    expect(inventory.credentials).toEqual({ 'plain+scram-sha1+sha256': 1, 'scram-sha1+sha256': 2, plain: 2, none: 0 });
    expect(inventory.counts['offline-message']).toBe(4);
    expect(ofKind(list, 'roster-item').filter((r) => r.ask === 'in').map((r) => `${r.owner.local}<-${r.contact}`)).toEqual([
      'alice<-dave@example.com',
      'dave<-mia@chat.example.de',
      'erin<-bob@example.com',
    ]);
  });

  it('is reachable through the adapter registry', async () => {
    const source = await openSource(`xep0227:${DEMO}`, { settings: {} });
    expect(source.displayName).toBe(`xep0227:${DEMO}`);
    expect(source.streams()).toEqual([{ name: 'users', kinds: ['account', 'roster-item', 'vcard', 'private-xml', 'privacy-list', 'pep-item', 'offline-message', 'archived-message'] }]);
    expect(source.capabilities.resume).toBe('skip');
  });

  it('refuses unknown options and a missing file', async () => {
    await expect(open(DEMO, { colour: 'blue' })).rejects.toThrow(/unknown xep0227 source option "colour"/);
    await expect(open(DEMO, { 'scram-double-base64': 'maybe' })).rejects.toThrow(UsageError);
    await expect(open(join(temp, 'nope.xml'))).rejects.toThrow(SourceError);
  });
});

describe('xep0227 streaming', () => {
  it('reads a >100 MB export of 200k archived messages with flat memory', async () => {
    const file = join(temp, 'large.xml');
    const out = createWriteStream(file);
    const write = async (s: string): Promise<void> => {
      if (!out.write(s)) await once(out, 'drain');
    };
    const users = 40;
    const perUser = 5000;
    const body = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit &amp; ünïcødé 🎉 sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo.';
    let ts = 1_700_000_000_000_000n;
    await write(`<?xml version='1.0' encoding='UTF-8'?>\n<server-data xmlns='urn:xmpp:pie:0'><host jid='big.example'>\n`);
    for (let u = 0; u < users; u++) {
      await write(`<user name='user${u}' password='pw${u}'><query xmlns='jabber:iq:roster'><item jid='peer@big.example' subscription='both'/></query><archive xmlns='urn:xmpp:pie:0#mam'>\n`);
      for (let i = 0; i < perUser; i++) {
        ts += 1_234_567n;
        const stamp = `${new Date(Number(ts / 1000n)).toISOString().slice(0, 19)}.${String(ts % 1_000_000n).padStart(6, '0')}Z`;
        const outgoing = i % 2 === 0;
        const from = outgoing ? `user${u}@big.example/phone` : 'peer@big.example/pc';
        const to = outgoing ? 'peer@big.example' : `user${u}@big.example`;
        await write(
          `<result xmlns='urn:xmpp:mam:2' id='r${u}-${i}'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='${stamp}'/><message xmlns='jabber:client' from='${from}' to='${to}' type='chat' id='m${i}'><body>${body} #${i}</body><origin-id xmlns='urn:xmpp:sid:0' id='o${u}-${i}'/></message></forwarded></result>\n`,
        );
      }
      await write(`</archive></user>\n`);
    }
    await write(`</host></server-data>\n`);
    out.end();
    await once(out, 'finish');
    const bytes = statSync(file).size;
    expect(bytes).toBeGreaterThan(100 * 1024 * 1024);

    const source = await open(file);
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    let archived = 0;
    let last = 0n;
    let outOfOrder = 0;
    const started = performance.now();
    let count = 0;
    for await (const item of source.read('users')) {
      count++;
      if ('record' in item && item.record.kind === 'archived-message') {
        archived++;
        if (item.record.timestamp <= last) outOfOrder++;
        last = item.record.timestamp;
      }
      if ((count & 1023) === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    const seconds = (performance.now() - started) / 1000;
    expect(archived).toBe(users * perUser);
    expect(outOfOrder).toBe(0);
    expect(count).toBe(users * perUser + users * 2);
    const growthMb = (peak - baseline) / 1024 / 1024;
    // Informational: the report quotes these numbers.
    process.stderr.write(
      `xep0227 streaming: ${(bytes / 1e6).toFixed(1)} MB, ${count} items in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)} records/s, ${(bytes / 1e6 / seconds).toFixed(1)} MB/s; heap peak ${(peak / 1048576).toFixed(0)} MB (+${growthMb.toFixed(0)} MB)\n`,
    );
    expect(peak / 1024 / 1024).toBeLessThan(150);
    rmSync(file);
  }, 60_000);
});
