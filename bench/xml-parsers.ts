// Which XML parser for stanzas: fidelity first (does parse → serialise → parse give back the same element?),
// then speed on typical archived messages. Run: npx tsx bench/xml-parsers.ts
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import * as ltx from 'ltx';
import { parseXml, serializeXml } from '../src/xml/element.js';

const CASES: Record<string, string> = {
  namespaces: `<message xmlns='jabber:client' to='b@x'><body>hi</body><x xmlns='jabber:x:data' type='form'/><origin-id xmlns='urn:xmpp:sid:0' id='1'/></message>`,
  'prefixed attribute': `<message xml:lang='en' to='b@x'><body xml:lang='de'>hallo</body></message>`,
  'entities in attributes': `<message to='b@x' id='a&amp;b&lt;c&gt;&quot;&apos;'><body>x</body></message>`,
  'entities in text': `<message><body>&lt;&amp;&gt; &#x1F600; &#233;</body></message>`,
  'mixed content': `<message><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>a <b>bold</b> and <i>it</i> end</p></body></html></message>`,
  'empty elements': `<message><body></body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`,
  cdata: `<message><body><![CDATA[<not> & markup]]></body></message>`,
  'numeric-looking text': `<message><body>007</body><thread>1e3</thread></message>`,
  'significant spaces': `<message><body>  two  spaces  </body></message>`,
  'same-name siblings': `<message><body>a</body><body xml:lang='fr'>b</body></message>`,
};

type Parser = { name: string; roundTrip(xml: string): string; parse(xml: string): unknown };

const fxpParser = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, parseAttributeValue: false, trimValues: false, processEntities: true, htmlEntities: true });
const fxpBuilder = new XMLBuilder({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true });

const parsers: Parser[] = [
  { name: 'saxes → ltx Element (ours)', parse: parseXml, roundTrip: (xml) => serializeXml(parseXml(xml)) },
  { name: 'ltx (its own parser)', parse: (xml) => ltx.parse(xml), roundTrip: (xml) => ltx.parse(xml).toString() },
  { name: 'fast-xml-parser (preserveOrder)', parse: (xml) => fxpParser.parse(xml), roundTrip: (xml) => fxpBuilder.build(fxpParser.parse(xml)) as string },
];

function same(a: string, b: string): boolean {
  try {
    return ltx.equal(parseXml(a), parseXml(b));
  } catch {
    return false;
  }
}

console.log('Fidelity (parse → serialise → compare with the original as elements):');
for (const parser of parsers) {
  const failures = Object.entries(CASES).filter(([, xml]) => {
    try {
      return !same(xml, parser.roundTrip(xml));
    } catch {
      return true;
    }
  }).map(([name]) => name);
  console.log(`  ${parser.name.padEnd(34)} ${Object.keys(CASES).length - failures.length}/${Object.keys(CASES).length}${failures.length ? `  fails: ${failures.join(', ')}` : ''}`);
}
console.log('Malformed input rejected (duplicate attribute, mismatched tag, control character, trailing junk):');
const MALFORMED = [`<a x='1' x='2'/>`, `<a><b></a>`, `<a>\u0001</a>`, `<a/>junk`];
for (const parser of parsers) {
  const accepted = MALFORMED.filter((xml) => {
    try {
      parser.parse(xml);
      return true;
    } catch {
      return false;
    }
  });
  console.log(`  ${parser.name.padEnd(34)} ${MALFORMED.length - accepted.length}/${MALFORMED.length}${accepted.length ? `  accepts: ${accepted.map((a) => JSON.stringify(a)).join(', ')}` : ''}`);
}
const stanza = `<message xmlns='jabber:client' from='alice@example.com/phone' to='bob@example.com' type='chat' id='m-1'><body>Hello Bob &amp; welcome — see you at 5:30? 😀</body><origin-id xmlns='urn:xmpp:sid:0' id='o-1'/><active xmlns='http://jabber.org/protocol/chatstates'/></message>`;
console.log('Speed (typical archived message, parse only):');
for (const parser of parsers) {
  const n = 100_000;
  for (let i = 0; i < 5_000; i++) parser.parse(stanza);
  const t = performance.now();
  for (let i = 0; i < n; i++) parser.parse(stanza);
  const ms = performance.now() - t;
  console.log(`  ${parser.name.padEnd(34)} ${Math.round(n / (ms / 1000)).toLocaleString('en')} stanzas/s`);
}
