// Domain renames as a pure transform: the file format and its refusals, JIDs as text, JIDs inside XML, and
// every record kind.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseDomainMapping, renameInElement, renameJid, renameRecordDomains, renameXmppUri } from '../../src/mappings/domain-mapping.js';
import { transform } from '../../src/pipeline/transforms.js';
import type { MigrationRecord } from '../../src/records.js';
import { parseXml, serializeXml } from '../../src/xml/element.js';

const mapping = parseDomainMapping(
  `[domains]
"Old.Example" = "new.example"
"conference.old.example" = "muc.new.example"
"Straße.example" = "neu.example"`,
  'test.toml',
);
const location = { source: 'test' };

describe('the mapping file', () => {
  it('keys renames by the nameprepped domain and fingerprints them independently of order and case', () => {
    expect([...mapping.domains]).toEqual([
      ['old.example', 'new.example'],
      ['conference.old.example', 'muc.new.example'],
      ['strasse.example', 'neu.example'],
    ]);
    const again = parseDomainMapping(`[domains]\n"conference.old.example" = "muc.new.example"\n"old.example" = "NEW.example"`, 'b.toml');
    const first = parseDomainMapping(`[domains]\n"old.example" = "new.example"\n"conference.old.example" = "muc.new.example"`, 'a.toml');
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(parseDomainMapping(`[domains]\n"old.example" = "other.example"`, 'c.toml').fingerprint).not.toBe(first.fingerprint);
  });

  it.each([
    ['no [domains] table', `"a.example" = "b.example"`, /unknown key "a.example"/],
    ['an empty table', `[domains]`, /renames nothing/],
    ['a number as the new domain', `[domains]\n"a.example" = 3`, /must map to a domain name/],
    ['a JID instead of a domain', `[domains]\n"alice@a.example" = "b.example"`, /is not a domain/],
    ['a key listed twice after nameprep', `[domains]\n"A.example" = "b.example"\n"a.example" = "c.example"`, /listed twice/],
    ['two domains onto one', `[domains]\n"a.example" = "c.example"\n"b.example" = "c.example"`, /both map to c.example/],
    ['bad TOML', `[domains\n`, /not valid TOML/],
  ])('refuses %s with a usage error naming the file', (_, text, message) => {
    expect(() => parseDomainMapping(text, 'bad.toml')).toThrow(UsageError);
    expect(() => parseDomainMapping(text, 'bad.toml')).toThrow(message);
    expect(() => parseDomainMapping(text, 'bad.toml')).toThrow(/bad\.toml/);
  });

  it('allows swapping two domains', () => {
    const swap = parseDomainMapping(`[domains]\n"a.example" = "b.example"\n"b.example" = "a.example"`, 'swap.toml');
    expect(renameJid('x@a.example', swap)).toBe('x@b.example');
    expect(renameJid('x@b.example', swap)).toBe('x@a.example');
  });

  it('documents a working example in mappings/', async () => {
    const text = await readFile(join(import.meta.dirname, '..', '..', 'mappings', 'example.toml'), 'utf8');
    const example = parseDomainMapping(text, 'mappings/example.toml');
    expect(example.domains.get('example.test')).toBe('chat.example.org');
    expect(example.domains.get('conference.example.test')).toBe('muc.chat.example.org');
  });
});

describe('renameJid', () => {
  it.each([
    ['alice@old.example', 'alice@new.example'],
    ['Alice@Old.EXAMPLE/Phone', 'Alice@new.example/Phone'],
    ['old.example', 'new.example'],
    ['old.example/admin', 'new.example/admin'],
    ['room@conference.old.example/Nick with @ and /', 'room@muc.new.example/Nick with @ and /'],
    ['zoë@straße.example', 'zoë@neu.example'],
    ['zoë@STRASSE.example', 'zoë@neu.example'],
    ['bob@other.example', 'bob@other.example'],
    ['sub.old.example', 'sub.old.example'],
    ['old.example.', 'old.example.'],
    ['not a jid@old.example', 'not a jid@old.example'],
    ['', ''],
  ])('%s → %s', (input, output) => {
    expect(renameJid(input, mapping)).toBe(output);
  });

  it.each([
    ['xmpp:alice@old.example', 'xmpp:alice@new.example'],
    ['xmpp:room@conference.old.example?join', 'xmpp:room@muc.new.example?join'],
    ['xmpp://me@old.example/alice@other.example', 'xmpp://me@old.example/alice@other.example'],
    ['https://old.example/', 'https://old.example/'],
  ])('URI %s → %s', (input, output) => {
    expect(renameXmppUri(input, mapping)).toBe(output);
  });
});

describe('renameInElement', () => {
  it('renames every JID a stored stanza carries and nothing else', () => {
    const input = parseXml(
      `<message xmlns="jabber:client" from="room@conference.old.example/Nick" to="alice@old.example/phone" type="groupchat" id="x">` +
        `<body>write to alice@old.example</body>` +
        `<x xmlns="http://jabber.org/protocol/muc#user"><item jid="bob@old.example/pc" affiliation="member" role="participant"/><invite from="carol@old.example" to="dave@far.example"/></x>` +
        `<delay xmlns="urn:xmpp:delay" from="old.example" stamp="2024-01-01T00:00:00Z"/>` +
        `<addresses xmlns="http://jabber.org/protocol/address"><address type="ofrom" jid="erin@old.example"/><address type="to" jid="far@far.example"/></addresses>` +
        `<stanza-id xmlns="urn:xmpp:sid:0" by="room@conference.old.example" id="1"/>` +
        `<x xmlns="jabber:x:conference" jid="other@conference.old.example"/>` +
        `<reference xmlns="urn:xmpp:reference:0" type="mention" uri="xmpp:alice@old.example"/>` +
        `<forwarded xmlns="urn:xmpp:forward:0"><message from="alice@old.example/x" to="bob@far.example"><body>inner</body></message></forwarded>` +
        `</message>`,
    );
    const before = serializeXml(input);
    const output = renameInElement(input, mapping);
    expect(serializeXml(input)).toBe(before);
    expect(serializeXml(output)).toBe(
      `<message xmlns="jabber:client" from="room@muc.new.example/Nick" to="alice@new.example/phone" type="groupchat" id="x">` +
        `<body>write to alice@old.example</body>` +
        `<x xmlns="http://jabber.org/protocol/muc#user"><item jid="bob@new.example/pc" affiliation="member" role="participant"/><invite from="carol@new.example" to="dave@far.example"/></x>` +
        `<delay xmlns="urn:xmpp:delay" from="new.example" stamp="2024-01-01T00:00:00Z"/>` +
        `<addresses xmlns="http://jabber.org/protocol/address"><address type="ofrom" jid="erin@new.example"/><address type="to" jid="far@far.example"/></addresses>` +
        `<stanza-id xmlns="urn:xmpp:sid:0" by="room@muc.new.example" id="1"/>` +
        `<x xmlns="jabber:x:conference" jid="other@muc.new.example"/>` +
        `<reference xmlns="urn:xmpp:reference:0" type="mention" uri="xmpp:alice@new.example"/>` +
        `<forwarded xmlns="urn:xmpp:forward:0"><message from="alice@new.example/x" to="bob@far.example"><body>inner</body></message></forwarded>` +
        `</message>`,
    );
  });

  it('renames vCard JABBERID and bookmarks, keeps e-mail addresses', () => {
    const vcard = parseXml(`<vCard xmlns="vcard-temp"><JABBERID> alice@old.example </JABBERID><EMAIL><USERID>alice@old.example</USERID></EMAIL></vCard>`);
    expect(serializeXml(renameInElement(vcard, mapping))).toBe(`<vCard xmlns="vcard-temp"><JABBERID> alice@new.example </JABBERID><EMAIL><USERID>alice@old.example</USERID></EMAIL></vCard>`);
    const bookmarks = parseXml(`<storage xmlns="storage:bookmarks"><conference jid="team@conference.old.example" name="Team"><nick>ali</nick></conference><url url="https://old.example/"/></storage>`);
    expect(serializeXml(renameInElement(bookmarks, mapping))).toBe(`<storage xmlns="storage:bookmarks"><conference jid="team@muc.new.example" name="Team"><nick>ali</nick></conference><url url="https://old.example/"/></storage>`);
  });

  it('returns the very element when nothing is renamed', () => {
    const el = parseXml(`<message from="a@far.example" to="b@far.example"><body>hi</body></message>`);
    expect(renameInElement(el, mapping)).toBe(el);
  });
});

describe('renameRecordDomains', () => {
  const stanza = parseXml(`<message from="alice@old.example/p" to="bob@far.example"><body>x</body></message>`);
  const cases: Array<[string, MigrationRecord, Record<string, unknown>]> = [
    ['account', { kind: 'account', jid: { local: 'alice', domain: 'old.example' }, credential: { type: 'plain', password: 'p' }, location }, { jid: { local: 'alice', domain: 'new.example' } }],
    ['roster item', { kind: 'roster-item', owner: { local: 'bob', domain: 'far.example' }, contact: 'alice@old.example', name: '', subscription: 'both', ask: 'none', askMessage: '', groups: [], location }, { owner: { local: 'bob', domain: 'far.example' }, contact: 'alice@new.example' }],
    ['room message', { kind: 'archived-message', archive: { type: 'room', jid: { local: 'r', domain: 'conference.old.example' } }, timestamp: 1n, remote: 'r@conference.old.example/N', senderNick: 'N', senderRealJid: 'alice@old.example/p', stanza, location }, { archive: { type: 'room', jid: { local: 'r', domain: 'muc.new.example' } }, remote: 'r@muc.new.example/N', senderRealJid: 'alice@new.example/p' }],
    ['offline message', { kind: 'offline-message', owner: { local: 'alice', domain: 'old.example' }, timestamp: 1n, from: 'bob@old.example/x', stanza, location }, { owner: { local: 'alice', domain: 'new.example' }, from: 'bob@new.example/x' }],
    ['last activity', { kind: 'last-activity', owner: { local: 'alice', domain: 'old.example' }, seconds: 5, status: '', location }, { owner: { local: 'alice', domain: 'new.example' } }],
    ['privacy list', { kind: 'privacy-list', owner: { local: 'alice', domain: 'old.example' }, name: 'l', isDefault: true, items: [{ type: 'jid', value: 'old.example', action: 'deny', order: 1, matches: [] }, { type: 'group', value: 'old.example', action: 'deny', order: 2, matches: [] }], location }, { items: [{ type: 'jid', value: 'new.example', action: 'deny', order: 1, matches: [] }, { type: 'group', value: 'old.example', action: 'deny', order: 2, matches: [] }] }],
    ['blocklist', { kind: 'blocklist', owner: { local: 'alice', domain: 'far.example' }, blocked: ['spam@old.example', 'evil.example'], location }, { blocked: ['spam@new.example', 'evil.example'] }],
    ['room', { kind: 'muc-room', room: { local: 'r', domain: 'conference.old.example' }, options: { title: 't' }, affiliations: [{ jid: 'alice@old.example', affiliation: 'owner' }, { jid: 'x@far.example', affiliation: 'member' }], location }, { room: { local: 'r', domain: 'muc.new.example' }, affiliations: [{ jid: 'alice@new.example', affiliation: 'owner' }, { jid: 'x@far.example', affiliation: 'member' }] }],
    ['room registration', { kind: 'muc-registration', mucHost: 'conference.old.example', user: { local: 'alice', domain: 'old.example' }, nick: 'A', location }, { mucHost: 'muc.new.example', user: { local: 'alice', domain: 'new.example' } }],
    ['PEP bookmark', { kind: 'pep-item', owner: { local: 'alice', domain: 'old.example' }, node: 'urn:xmpp:bookmarks:1', itemId: 'r@conference.old.example', payload: parseXml('<conference xmlns="urn:xmpp:bookmarks:1"/>'), location }, { owner: { local: 'alice', domain: 'new.example' }, itemId: 'r@muc.new.example' }],
  ];
  it.each(cases)('renames a %s', (_, input, expected) => {
    const copy = structuredClone({ ...input, ...('stanza' in input ? { stanza: undefined } : {}), ...('payload' in input ? { payload: undefined } : {}) });
    const output = renameRecordDomains(input, mapping);
    expect(output).toMatchObject(expected);
    // The input record is left as it was.
    expect({ ...input, ...('stanza' in input ? { stanza: undefined } : {}), ...('payload' in input ? { payload: undefined } : {}) }).toEqual(copy);
  });

  it('renames inside the messages a XEP-0136 collection fans out into', () => {
    const { records } = transform(
      { kind: 'legacy-collection', owner: { local: 'alice', domain: 'old.example' }, with: 'bob@old.example/pc', start: 1_700_000_000_000_000n, groupchat: false, entries: [{ direction: 'to', secs: 0, body: 'hi' }], location },
      { domains: mapping },
    );
    expect(records).toHaveLength(1);
    const message = records[0]!;
    if (message.kind !== 'archived-message') throw new Error(message.kind);
    expect(message.archive.jid).toEqual({ local: 'alice', domain: 'new.example' });
    expect(message.remote).toBe('bob@new.example/pc');
    expect(serializeXml(message.stanza)).not.toContain('old.example');
  });
});
