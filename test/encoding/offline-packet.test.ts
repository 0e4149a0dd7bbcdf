import { describe, expect, it } from 'vitest';
import { offlinePacket, offlinePacketElement } from '../../src/encoding/offline-packet.js';
import { parseXml, serializeXml } from '../../src/xml/element.js';

// In → Out, both as XML text.
const CASES: Array<[string, string, string]> = [
  [
    'removes the XEP-0203 delay',
    "<message from='bob@example.com/pc' to='alice@example.com' type='chat' id='m9'><body>ping</body><delay xmlns='urn:xmpp:delay' from='example.com' stamp='2024-01-02T08:00:00Z'/></message>",
    '<message from="bob@example.com/pc" to="alice@example.com" type="chat" id="m9"><body>ping</body></message>',
  ],
  [
    'removes the legacy XEP-0091 x delay',
    "<message to='a@x'><x xmlns='jabber:x:delay' stamp='20240102T08:00:00'/><body>hi</body></message>",
    '<message to="a@x"><body>hi</body></message>',
  ],
  [
    'removes every delay, both kinds, keeping the order of the rest',
    "<message><delay xmlns='urn:xmpp:delay' stamp='1'/><body>a</body><x xmlns='jabber:x:delay'/><delay xmlns='urn:xmpp:delay' stamp='2'/><thread>t</thread></message>",
    '<message><body>a</body><thread>t</thread></message>',
  ],
  [
    'drops a jabber:client top-level namespace',
    "<message xmlns='jabber:client' to='a@x' xml:lang='en'><body>hi</body></message>",
    '<message to="a@x" xml:lang="en"><body>hi</body></message>',
  ],
  [
    'drops a jabber:server top-level namespace',
    "<message xmlns='jabber:server' to='a@x'><body>hi</body></message>",
    '<message to="a@x"><body>hi</body></message>',
  ],
  [
    'keeps extension namespaces',
    "<message><body>x</body><request xmlns='urn:xmpp:receipts'/><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
    '<message><body>x</body><request xmlns="urn:xmpp:receipts"/><active xmlns="http://jabber.org/protocol/chatstates"/></message>',
  ],
  [
    'keeps a delay nested in a forwarded carbon',
    "<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='1'/><message xmlns='jabber:client'><body>x</body></message></forwarded></received></message>",
    '<message><received xmlns="urn:xmpp:carbons:2"><forwarded xmlns="urn:xmpp:forward:0"><delay xmlns="urn:xmpp:delay" stamp="1"/><message xmlns="jabber:client"><body>x</body></message></forwarded></received></message>',
  ],
  [
    'keeps elements named delay or x in other namespaces',
    "<message><delay xmlns='urn:example'/><x xmlns='jabber:x:oob'><url>u</url></x><x xmlns='jabber:x:event'/></message>",
    '<message><delay xmlns="urn:example"/><x xmlns="jabber:x:oob"><url>u</url></x><x xmlns="jabber:x:event"/></message>',
  ],
  [
    'escapes text and attributes',
    "<message id='a&amp;&quot;b'><body>1 &lt; 2 &amp; 3 &gt; 2 \"q\" 'a' 😀</body></message>",
    '<message id="a&amp;&quot;b"><body>1 &lt; 2 &amp; 3 &gt; 2 "q" \'a\' 😀</body></message>',
  ],
  [
    'keeps whitespace text as it was',
    "<message>\n  <body>hi</body>\n  <delay xmlns='urn:xmpp:delay' stamp='1'/>\n</message>",
    '<message>\n  <body>hi</body>\n  \n</message>',
  ],
];

describe('offlinePacket', () => {
  it.each(CASES)('%s', (_name, input, expected) => {
    expect(offlinePacket(parseXml(input))).toBe(expected);
  });

  it('writes text the strict parser reads back to the same element', () => {
    for (const [, input] of CASES) {
      const text = offlinePacket(parseXml(input));
      expect(serializeXml(parseXml(text))).toBe(text);
    }
  });

  it('does not modify its input', () => {
    const input = parseXml("<message xmlns='jabber:client'><body>x</body><delay xmlns='urn:xmpp:delay' stamp='1'/></message>");
    const before = serializeXml(input);
    const cleaned = offlinePacketElement(input);
    expect(serializeXml(input)).toBe(before);
    expect(cleaned.getChild('body')?.parent).toBe(cleaned);
  });
});
