// prepareArchivedStanza and withMucUserItem as In → Out tables (storage-facts §1.5.6, MongooseIM 6.8.0
// mod_mam_utils / mod_mam_muc).
import { describe, expect, it } from 'vitest';
import { prepareArchivedStanza, withMucUserItem } from '../../src/encoding/archive-stanza.js';
import type { MucUserItemOptions } from '../../src/encoding/archive-stanza.js';
import { RecordError } from '../../src/errors.js';
import { parseJid } from '../../src/jid.js';
import { parseXml, serializeXml } from '../../src/xml/element.js';

const ALICE = 'alice@example.com';
const ROOM = 'room@conference.example.com';

/** The quoting ltx writes, so expectations can be written with single quotes. */
function xml(text: string): string {
  return serializeXml(parseXml(text));
}

interface Row {
  name: string;
  archive: string;
  input: string;
  output: string;
  originId?: string;
  wrapperStamp?: string;
}

const ROWS: Row[] = [
  {
    name: 'keeps a plain outgoing message as the client sent it',
    archive: ALICE,
    input: "<message to='bob@example.com' type='chat' id='m1' xml:lang='en'><body>Hi</body></message>",
    output: "<message to='bob@example.com' type='chat' id='m1' xml:lang='en'><body>Hi</body></message>",
  },
  {
    name: 'drops a top-level xmlns jabber:client, which MongooseIM sets again on every read',
    archive: ALICE,
    input: "<message xmlns='jabber:client' from='bob@example.com/pc' to='alice@example.com' type='chat'><body>Hi</body></message>",
    output: "<message from='bob@example.com/pc' to='alice@example.com' type='chat'><body>Hi</body></message>",
  },
  {
    name: 'drops a top-level xmlns jabber:server too',
    archive: ALICE,
    input: "<message xmlns='jabber:server' from='kate@other.org' to='alice@example.com'><body>Hi</body></message>",
    output: "<message from='kate@other.org' to='alice@example.com'><body>Hi</body></message>",
  },
  {
    name: 'keeps any other top-level xmlns as data',
    archive: ALICE,
    input: "<message xmlns='urn:example:odd' to='bob@example.com'><body>Hi</body></message>",
    output: "<message xmlns='urn:example:odd' to='bob@example.com'><body>Hi</body></message>",
  },
  {
    name: 'unwraps a MAM result message and strips the stanza-id the archive gave it',
    archive: ALICE,
    input:
      "<message to='alice@example.com/phone' from='alice@example.com' id='w1'>" +
      "<result xmlns='urn:xmpp:mam:2' queryid='q1' id='28482-98726-73623'><forwarded xmlns='urn:xmpp:forward:0'>" +
      "<delay xmlns='urn:xmpp:delay' stamp='2024-01-01T12:00:00.123456Z'/>" +
      "<message xmlns='jabber:client' from='bob@example.com/pc' to='alice@example.com' type='chat' id='m9'><body>Hello</body>" +
      "<stanza-id xmlns='urn:xmpp:sid:0' by='alice@example.com' id='28482-98726-73623'/>" +
      "<origin-id xmlns='urn:xmpp:sid:0' id='o9'/></message></forwarded></result></message>",
    output:
      "<message from='bob@example.com/pc' to='alice@example.com' type='chat' id='m9'><body>Hello</body>" +
      "<origin-id xmlns='urn:xmpp:sid:0' id='o9'/></message>",
    originId: 'o9',
    wrapperStamp: '2024-01-01T12:00:00.123456Z',
  },
  {
    name: 'unwraps a bare urn:xmpp:mam:1 result',
    archive: ALICE,
    input:
      "<result xmlns='urn:xmpp:mam:1' id='x1'><forwarded xmlns='urn:xmpp:forward:0'>" +
      "<delay xmlns='urn:xmpp:delay' stamp='2020-05-05T10:00:00Z'/>" +
      "<message xmlns='jabber:client' to='bob@example.com' type='chat'><body>old</body></message></forwarded></result>",
    output: "<message to='bob@example.com' type='chat'><body>old</body></message>",
    wrapperStamp: '2020-05-05T10:00:00Z',
  },
  {
    name: 'unwraps a bare forwarded element (XEP-0227 exports) without a delay',
    archive: ALICE,
    input:
      "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' to='bob@example.com' type='chat'>" +
      '<body>x</body></message></forwarded>',
    output: "<message to='bob@example.com' type='chat'><body>x</body></message>",
  },
  {
    name: 'does not unwrap a message that merely forwards another one (XEP-0297 content)',
    archive: ALICE,
    input:
      "<message to='bob@example.com' type='chat'><body>fwd</body><forwarded xmlns='urn:xmpp:forward:0'>" +
      "<message from='kate@other.org' to='alice@example.com'><body>orig</body></message></forwarded></message>",
    output:
      "<message to='bob@example.com' type='chat'><body>fwd</body><forwarded xmlns='urn:xmpp:forward:0'>" +
      "<message from='kate@other.org' to='alice@example.com'><body>orig</body></message></forwarded></message>",
  },
  {
    name: 'strips stanza-id and archived by the archive, any case, and keeps those of other entities',
    archive: ALICE,
    input:
      "<message from='kate@other.org/x' to='alice@example.com' type='chat'><body>b</body>" +
      "<stanza-id xmlns='urn:xmpp:sid:0' by='Alice@Example.COM' id='1'/>" +
      "<stanza-id xmlns='urn:xmpp:sid:0' by='other.org' id='2'/>" +
      "<stanza-id xmlns='urn:xmpp:sid:0' by='alice@example.com/phone' id='3'/>" +
      "<stanza-id xmlns='urn:example:not-sid' by='alice@example.com' id='4'/>" +
      "<stanza-id xmlns='urn:xmpp:sid:0' by='not a jid@@' id='5'/>" +
      "<archived xmlns='urn:xmpp:mam:tmp' by='alice@example.com' id='6'/>" +
      "<archived xmlns='urn:xmpp:mam:tmp' by='other.org' id='7'/></message>",
    output:
      "<message from='kate@other.org/x' to='alice@example.com' type='chat'><body>b</body>" +
      "<stanza-id xmlns='urn:xmpp:sid:0' by='other.org' id='2'/>" +
      "<stanza-id xmlns='urn:xmpp:sid:0' by='alice@example.com/phone' id='3'/>" +
      "<stanza-id xmlns='urn:example:not-sid' by='alice@example.com' id='4'/>" +
      "<stanza-id xmlns='urn:xmpp:sid:0' by='not a jid@@' id='5'/>" +
      "<archived xmlns='urn:xmpp:mam:tmp' by='other.org' id='7'/></message>",
  },
  {
    name: "strips the room's stanza-id in a room archive, and keeps the sender's own server's",
    archive: ROOM,
    input:
      "<message from='room@conference.example.com/kate' type='groupchat' id='g1'><body>yo</body>" +
      "<stanza-id xmlns='urn:xmpp:sid:0' by='room@conference.example.com' id='r1'/>" +
      "<stanza-id xmlns='urn:xmpp:sid:0' by='alice@example.com' id='a1'/></message>",
    output:
      "<message from='room@conference.example.com/kate' type='groupchat' id='g1'><body>yo</body>" +
      "<stanza-id xmlns='urn:xmpp:sid:0' by='alice@example.com' id='a1'/></message>",
  },
  {
    name: 'strips top-level delays (XEP-0203 and legacy XEP-0091) and keeps nested ones and other x',
    archive: ALICE,
    input:
      "<message from='bob@example.com' to='alice@example.com'><body>late</body>" +
      "<delay xmlns='urn:xmpp:delay' from='example.com' stamp='2024-01-01T12:00:00Z'>Offline Storage</delay>" +
      "<x xmlns='jabber:x:delay' stamp='20240101T12:00:00'/>" +
      "<x xmlns='jabber:x:oob'><url>https://example.com/a.png</url></x>" +
      "<quote xmlns='urn:example:q'><delay xmlns='urn:xmpp:delay' stamp='2023-01-01T00:00:00Z'/></quote></message>",
    output:
      "<message from='bob@example.com' to='alice@example.com'><body>late</body>" +
      "<x xmlns='jabber:x:oob'><url>https://example.com/a.png</url></x>" +
      "<quote xmlns='urn:example:q'><delay xmlns='urn:xmpp:delay' stamp='2023-01-01T00:00:00Z'/></quote></message>",
  },
  {
    name: "removes Prosody's stamp and stamp_legacy attributes",
    archive: ALICE,
    input:
      "<message to='bob@example.com' from='alice@example.com/phone' type='chat' id='abc1' stamp='2024-01-01T12:00:00Z' " +
      "stamp_legacy='20240101T12:00:00'><body>Zoë says hi</body></message>",
    output: "<message to='bob@example.com' from='alice@example.com/phone' type='chat' id='abc1'><body>Zoë says hi</body></message>",
  },
  {
    name: 'reads the first origin-id in urn:xmpp:sid:0 and leaves it in place',
    archive: ALICE,
    input:
      "<message to='bob@example.com'><body>o</body><origin-id xmlns='urn:example:other' id='no'/>" +
      "<origin-id xmlns='urn:xmpp:sid:0' id='first'/><origin-id xmlns='urn:xmpp:sid:0' id='second'/></message>",
    output:
      "<message to='bob@example.com'><body>o</body><origin-id xmlns='urn:example:other' id='no'/>" +
      "<origin-id xmlns='urn:xmpp:sid:0' id='first'/><origin-id xmlns='urn:xmpp:sid:0' id='second'/></message>",
    originId: 'first',
  },
  {
    name: "keeps an empty origin-id id as '' (MongooseIM stores '' then, not NULL)",
    archive: ALICE,
    input: "<message to='bob@example.com'><origin-id xmlns='urn:xmpp:sid:0' id=''/></message>",
    output: "<message to='bob@example.com'><origin-id xmlns='urn:xmpp:sid:0' id=''/></message>",
    originId: '',
  },
  {
    name: 'has no origin id when the first origin-id has no id attribute',
    archive: ALICE,
    input: "<message to='bob@example.com'><origin-id xmlns='urn:xmpp:sid:0'/><origin-id xmlns='urn:xmpp:sid:0' id='later'/></message>",
    output: "<message to='bob@example.com'><origin-id xmlns='urn:xmpp:sid:0'/><origin-id xmlns='urn:xmpp:sid:0' id='later'/></message>",
  },
];

describe('prepareArchivedStanza', () => {
  it.each(ROWS.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const input = parseXml(row.input);
    const before = serializeXml(input);
    const prepared = prepareArchivedStanza(input, row.archive);
    expect(serializeXml(prepared.stanza)).toBe(xml(row.output));
    expect(prepared.originId).toBe(row.originId);
    expect(prepared.wrapperStamp).toBe(row.wrapperStamp);
    expect(serializeXml(input)).toBe(before);
    expect(prepared.stanza).not.toBe(input);
    expect(prepared.stanza.parent).toBeNull();
  });

  it.each([
    ['a result without forwarded', "<result xmlns='urn:xmpp:mam:2' id='1'/>", 'mam-result-without-message'],
    [
      'a result message whose forwarded is empty',
      "<message><result xmlns='urn:xmpp:mam:2' id='1'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/></forwarded></result></message>",
      'mam-result-without-message',
    ],
    ['a forwarded presence', "<forwarded xmlns='urn:xmpp:forward:0'><presence from='bob@example.com'/></forwarded>", 'archive-not-message'],
    ['an iq', "<iq type='get' id='1'><query xmlns='urn:xmpp:mam:2'/></iq>", 'archive-not-message'],
  ])('refuses %s (RecordError %s)', (_what, input, code) => {
    const location = { source: 'test:archive', key: 'k1' };
    let error: unknown;
    try {
      prepareArchivedStanza(parseXml(input), ALICE, location);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RecordError);
    expect((error as RecordError).code).toBe(code);
    expect((error as RecordError).location).toEqual(location);
  });
});

describe('withMucUserItem', () => {
  const GROUPCHAT =
    "<message to='room@conference.example.com' type='groupchat' id='g1'><body>hello room</body>" +
    "<x xmlns='http://jabber.org/protocol/muc#user'><item jid='spoofed@evil.example/x'/></x>" +
    "<x xmlns='http://jabber.org/protocol/muc'/>" +
    "<x xmlns='http://jabber.org/protocol/muc#user'><status code='100'/></x>" +
    "<x xmlns='jabber:x:oob'><url>u</url></x></message>";
  const KEPT =
    "<message to='room@conference.example.com' type='groupchat' id='g1'><body>hello room</body>" +
    "<x xmlns='http://jabber.org/protocol/muc'/><x xmlns='jabber:x:oob'><url>u</url></x>";

  it.each<[string, string, MucUserItemOptions | undefined, string]>([
    [
      'defaults to affiliation none and role participant',
      'alice@example.com/phone',
      undefined,
      "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' jid='alice@example.com/phone' role='participant'/></x>",
    ],
    [
      'writes the affiliation and role it is given',
      'alice@example.com/phone',
      { affiliation: 'owner', role: 'moderator' },
      "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' jid='alice@example.com/phone' role='moderator'/></x>",
    ],
    [
      'writes a bare real JID when the resource is unknown, normalised',
      'Alice@Example.COM',
      { affiliation: 'member' },
      "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' jid='alice@example.com' role='participant'/></x>",
    ],
  ])('replaces every muc#user x and appends its own last: %s', (_what, real, options, x) => {
    const input = parseXml(GROUPCHAT);
    const out = withMucUserItem(input, parseJid(real), options);
    expect(serializeXml(out)).toBe(xml(`${KEPT}${x}</message>`));
    expect(serializeXml(input)).toBe(xml(GROUPCHAT));
    expect(out.getChildren('x', 'http://jabber.org/protocol/muc#user')).toHaveLength(1);
  });

  it('composes with prepareArchivedStanza for a room message read back from a MAM result', () => {
    const stored =
      "<message from='room@conference.example.com/kate'><result xmlns='urn:xmpp:mam:2' id='r7'>" +
      "<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2024-02-02T08:00:00Z'/>" +
      "<message xmlns='jabber:client' from='room@conference.example.com/kate' type='groupchat' id='g2'><body>hi</body>" +
      "<x xmlns='http://jabber.org/protocol/muc#user'><item jid='kate@other.org/x'/></x>" +
      "<stanza-id xmlns='urn:xmpp:sid:0' by='room@conference.example.com' id='r7'/></message></forwarded></result></message>";
    const prepared = prepareArchivedStanza(parseXml(stored), ROOM);
    const out = withMucUserItem(prepared.stanza, parseJid('kate@other.org/x'), { affiliation: 'member' });
    expect(serializeXml(out)).toBe(
      xml(
        "<message from='room@conference.example.com/kate' type='groupchat' id='g2'><body>hi</body>" +
          "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' jid='kate@other.org/x' role='participant'/></x></message>",
      ),
    );
    expect(prepared.wrapperStamp).toBe('2024-02-02T08:00:00Z');
  });
});
