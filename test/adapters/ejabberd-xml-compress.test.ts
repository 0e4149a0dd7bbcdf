// Our decoder of ejabberd's compress_xml format against ejabberd 23.01 itself: xml_compress:encode/3 (from the
// installed package) compresses stanzas that use every dictionary element and attribute form, ejabberd's own
// decode/3 says what they mean, ours must agree; then corrupt data is refused with a reason.
import { describe, expect, it } from 'vitest';
import { CompressedXmlError, decodeCompressedXml } from '../../src/adapters/ejabberd-xml-compress.js';
import { Element, parseXml } from '../../src/xml/element.js';
import { runErl } from '../support/databases.js';

const EJABBERD_EBIN = '/usr/lib/x86_64-linux-gnu/ejabberd-23.01-1/ebin';
const J1 = 'alice@example.test';
const J2 = 'bob@example.test/phone';
const OMEMO = 'I sent you an OMEMO encrypted message but your client doesn’t seem to support that. Find more information on https://conversations.im/omemo';

/** Stanzas (XML text, namespace on the root) covering each code of the dictionary and each value form. */
const STANZAS: string[] = [
  // message attributes: from = J2 / J1+rest / other; to = J1 / J2 / J1+rest / other; every type; xml:lang en / other
  `<message xmlns='jabber:client' from='${J2}' to='${J1}' type='chat' id='m1' xml:lang='en'><body>hello</body></message>`,
  `<message xmlns='jabber:client' from='${J1}/desk' to='${J2}' type='groupchat' xml:lang='de'><body>Grüße 😀</body></message>`,
  `<message xmlns='jabber:client' from='carol@example.test' to='${J1}/other' type='normal'><subject>s</subject><thread>t1</thread></message>`,
  `<message xmlns='jabber:client' to='dave@example.test' type='headline' extra='x'><body/></message>`,
  // J1 as a prefix of something that is not a resource: ejabberd keeps the rest as is
  `<message xmlns='jabber:client' from='${J1}.evil.example' to='${J1}'/>`,
  // OMEMO: the body constant, key/header/iv/payload, encryption hint, store hint
  `<message xmlns='jabber:client' to='${J2}'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='123'><key prekey='true' rid='456'>a2V5</key><key rid='789' prekey='false'>a2V5Mg==</key><iv>aXY=</iv></header><payload>cGF5</payload></encrypted><encryption xmlns='urn:xmpp:eme:0' name='OMEMO' namespace='eu.siacs.conversations.axolotl'/><encryption xmlns='urn:xmpp:eme:0' name='Other' namespace='urn:other'/><store xmlns='urn:xmpp:hints'/><body>${OMEMO}</body></message>`,
  // ids, markers, receipts, chat states, correction
  `<message xmlns='jabber:client'><origin-id xmlns='urn:xmpp:sid:0' id='o1'/><stanza-id xmlns='urn:xmpp:sid:0' by='${J1}' id='123'/><archived xmlns='urn:xmpp:mam:tmp' by='${J1}' id='123'/><markable xmlns='urn:xmpp:chat-markers:0'/><displayed xmlns='urn:xmpp:chat-markers:0' id='d1' sender='${J1}/x'/><displayed xmlns='urn:xmpp:chat-markers:0' id='d2' sender='${J2}/y'/><displayed xmlns='urn:xmpp:chat-markers:0' id='d3' sender='zed@example.test'/><received xmlns='urn:xmpp:chat-markers:0' id='r1'/><request xmlns='urn:xmpp:receipts'/><received xmlns='urn:xmpp:receipts' id='r2'/><active xmlns='http://jabber.org/protocol/chatstates'/><composing xmlns='http://jabber.org/protocol/chatstates'/><replace xmlns='urn:xmpp:message-correct:0' id='m0'/></message>`,
  // delay from J1 / other, addresses (ofrom / other, jid J1+rest / other)
  `<message xmlns='jabber:client'><delay xmlns='urn:xmpp:delay' from='${J1}' stamp='2026-12-01T00:00:00Z'/><delay xmlns='urn:xmpp:delay' from='example.test' stamp='2026-12-01T00:00:01Z'>Offline Storage</delay><addresses xmlns='http://jabber.org/protocol/address'><address type='ofrom' jid='${J1}/r'/><address type='to' jid='x@y'/></addresses></message>`,
  // MUC: invite (from J1+rest / other), reason, x; conference invitation (jid = J2 / other)
  `<message xmlns='jabber:client'><x xmlns='http://jabber.org/protocol/muc#user'><invite from='${J1}/r'><reason>join</reason></invite><invite from='other@example.test'/></x><x xmlns='jabber:x:conference' jid='${J2}'/><x xmlns='jabber:x:conference' jid='room@muc.example.test'/></message>`,
  // MucSub event, p1 push
  `<message xmlns='jabber:client'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:mucsub:nodes:messages'><item id='i1'><message xmlns='jabber:client' type='groupchat'><body>inner</body></message></item></items><items node='other'/></event><x xmlns='p1:push:custom' key='k' value='v'/><x xmlns='p1:pushed'/></message>`,
  // elements outside the dictionary: same namespace as the parent, another namespace, nested, mixed text
  `<message xmlns='jabber:client'><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>a <b>bold</b> move</p></body></html><custom xmlns='urn:example' a='1' b=''><child>text &amp; more</child><other xmlns='urn:other'/></custom><unknown/></message>`,
  // strings of 63, 64, 4095, 4096 and 70000 bytes: all three length forms
  `<message xmlns='jabber:client'><body>${'a'.repeat(63)}</body><body>${'b'.repeat(64)}</body><body>${'c'.repeat(4095)}</body><body>${'d'.repeat(4096)}</body><body>${'é'.repeat(32_000)}</body></message>`,
  // another stanza kind at the top
  `<presence xmlns='jabber:client' from='${J2}'><status>away</status></presence>`,
];

/** Element trees compared structurally: attribute order is not data. */
function tree(el: Element | string): unknown {
  if (typeof el === 'string') return el;
  return { name: el.name, attrs: { ...el.attrs }, children: el.children.map(tree) };
}

describe("ejabberd's compress_xml format", () => {
  it('decodes what ejabberd 23.01 compresses, as ejabberd itself decodes it', async () => {
    const hex = STANZAS.map((s) => Buffer.from(s, 'utf8').toString('hex'));
    const out = await runErl(
      `code:add_patha("${EJABBERD_EBIN}"),
       lists:foreach(fun(Hex) ->
         El = fxml_stream:parse_element(binary:decode_hex(Hex)),
         C = xml_compress:encode(El, <<"${J1}">>, <<"${J2}">>),
         D = fxml:element_to_binary(xml_compress:decode(C, <<"${J1}">>, <<"${J2}">>)),
         io:format("~s ~s~n", [binary:encode_hex(C), binary:encode_hex(D)])
       end, binary:split(Input, <<"\n">>, [global]))`,
      { bindings: { Input: hex.join('\n') } },
    );
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(STANZAS.length);
    const sizes: number[] = [];
    lines.forEach((line, i) => {
      const [compressedHex, decodedHex] = line.split(' ') as [string, string];
      const compressed = Buffer.from(compressedHex, 'hex');
      sizes.push(compressed.length);
      const theirs = parseXml(Buffer.from(decodedHex, 'hex').toString('utf8'));
      const ours = decodeCompressedXml(compressed, J1, J2);
      // ejabberd drops the root's jabber:client (it is the stream's); so do we, the adapter adds it back.
      expect(tree(ours), STANZAS[i]!.slice(0, 80)).toEqual(tree(theirs));
      // And it is the stanza that went in.
      const original = parseXml(STANZAS[i]!);
      delete original.attrs.xmlns;
      expect(tree(ours)).toEqual(tree(original));
    });
    // Dictionary hits make it small: the OMEMO stanza with its 141-byte fallback body.
    expect(sizes[5]).toBeLessThan(Buffer.byteLength(STANZAS[5]!) / 3);
  });

  const corrupt: Array<[string, number[], RegExp]> = [
    ['not compressed', [...Buffer.from('<message/>')], /first byte is not 0x01/],
    ['empty after the mark', [1], /unexpected end of data at byte 1/],
    ['an unknown element code', [1, 6, 2, 77], /unknown element code 77 at byte 3/],
    ['an unknown attribute code', [1, 6, 99], /unknown attribute code 99 in <message> at byte 2/],
    ['a dictionary attribute code on a generic element', [1, 2, 1, 0x61, 3], /unknown attribute code 3 at byte 4/],
    ['the OMEMO text outside a body', [1, 6, 2, 9, 4], /unknown element code 9/],
    ['a string running past the end', [1, 6, 6, 10, 0x61], /a string of 10 bytes runs past the end/],
    ['a bad length byte', [1, 6, 6, 0x80], /malformed string length byte 0x80/],
    ['a bad second length byte', [1, 6, 6, 0x41, 0xc0], /malformed string length byte 0xc0/],
    ['bytes that are not UTF-8', [1, 6, 6, 2, 0xc3, 0x28, 2, 4], /a string that is not UTF-8 at byte 4/],
    ['an element that never ends', [1, 6, 2, 8, 2], /unexpected end of data/],
    ['bytes after the message', [1, 6, 2, 4, 4], /1 byte\(s\) after the end of the message/],
    ['only text', [1, 1, 1, 0x61], /no element after the 0x01 mark/],
  ];
  it.each(corrupt)('refuses %s', (_what, bytes, reason) => {
    expect(() => decodeCompressedXml(Buffer.from(bytes), J1, J2)).toThrow(CompressedXmlError);
    expect(() => decodeCompressedXml(Buffer.from(bytes), J1, J2)).toThrow(reason);
  });

  it('refuses nesting deeper than a stanza can be', () => {
    const deep = [1, ...Array.from({ length: 300 }, () => [2, 1, 0x61, 2]).flat(), ...Array.from({ length: 300 }, () => 4)];
    expect(() => decodeCompressedXml(Buffer.from(deep), J1, J2)).toThrow(/nested deeper than 200/);
  });
});
