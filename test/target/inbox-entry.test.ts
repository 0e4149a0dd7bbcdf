// The inbox rebuild's pure parts: reading a stored MAM message back (every db_message_format and exml shape the
// writer produces), and which messages make an inbox entry (mod_inbox's rules, In → Out).
import { describe, expect, it } from 'vitest';
import { encodeExml } from '../../src/encoding/etf.js';
import { decodeStoredMessage } from '../../src/encoding/exml-decode.js';
import { inboxContent, inboxMsgId, isOneToOneInboxMessage } from '../../src/encoding/inbox-entry.js';
import { parseXml, serializeXml, type Element } from '../../src/xml/element.js';

/** An element as data, attributes sorted: exml 4 keeps attributes in a map, which Erlang orders by key. */
function asData(el: Element): unknown {
  return { name: el.name, attrs: Object.entries(el.attrs).sort(), children: el.children.map((c) => (typeof c === 'string' ? c : asData(c))) };
}

const STANZA = `<message xmlns="jabber:client" to="bob@example.test" id="m1" type="chat" xml:lang="en"><body>héllo 📨 &lt;b&gt;</body><origin-id xmlns="urn:xmpp:sid:0" id="o1"/></message>`;

describe('decodeStoredMessage', () => {
  it.each([
    ['exml4', true],
    ['exml4', false],
    ['exml3', true],
    ['exml3', false],
  ] as const)('reads back what the writer stores as %s (compressed: %s)', (shape, compressed) => {
    const el = parseXml(STANZA);
    const stored = encodeExml(el, { shape, compressed });
    expect(asData(decodeStoredMessage(stored))).toEqual(asData(el));
  });

  it('reads mam_message_xml text', () => {
    expect(serializeXml(decodeStoredMessage(Buffer.from(STANZA, 'utf8')))).toBe(serializeXml(parseXml(STANZA)));
  });

  it('refuses a term that is not an exml element', () => {
    expect(() => decodeStoredMessage(Buffer.from([131, 97, 1]))).toThrow(/xmlel/);
  });
});

describe('isOneToOneInboxMessage', () => {
  it.each([
    ['<message type="chat"><body>hi</body></message>', true],
    ['<message><body>hi</body></message>', true],
    ['<message type="chat"><store xmlns="urn:xmpp:hints"/></message>', true],
    ['<message type="chat"><apply-to xmlns="urn:xmpp:fasten:0" id="x"><retract xmlns="urn:xmpp:message-retract:0"/></apply-to></message>', true],
    ['<message type="chat"><displayed xmlns="urn:xmpp:chat-markers:0" id="m1"/></message>', false],
    ['<message type="chat"><body>hi</body><received xmlns="urn:xmpp:chat-markers:0" id="m1"/></message>', false],
    ['<message type="groupchat"><body>hi</body></message>', false],
    ['<message type="error"><body>hi</body></message>', false],
    ['<message type="headline"><body>hi</body></message>', false],
    ['<message type="chat"><body>hi</body><no-store xmlns="urn:xmpp:hints"/></message>', false],
    ['<message type="chat"><body>hi</body><delay xmlns="urn:xmpp:delay" stamp="2020-01-01T00:00:00Z"/></message>', false],
    ['<message type="chat"><composing xmlns="http://jabber.org/protocol/chatstates"/></message>', false],
    ['<message type="chat"><body>x</body><x xmlns="erlang-solutions.com:xmpp:inbox:0#conversation"/></message>', false],
    ['<presence/>', false],
  ])('%s → %s', (xml, expected) => {
    expect(isOneToOneInboxMessage(parseXml(xml))).toBe(expected);
  });
});

describe('inbox row values', () => {
  it('takes the id attribute as msg_id, and empty without one', () => {
    expect(inboxMsgId(parseXml('<message id="abc"/>'))).toBe('abc');
    expect(inboxMsgId(parseXml('<message/>'))).toBe('');
  });

  it('fills a missing from with the sender and keeps a present one', () => {
    const without = parseXml('<message to="b@x"><body>hi</body></message>');
    expect(inboxContent(without, 'a@x/r').toString()).toBe('<message to="b@x" from="a@x/r"><body>hi</body></message>');
    expect(without.attrs.from).toBeUndefined();
    expect(inboxContent(parseXml('<message from="c@x/s"/>'), 'a@x/r').toString()).toBe('<message from="c@x/s"/>');
  });
});
