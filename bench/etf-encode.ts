// Encoder speed of the exml ETF encoding (src/encoding/etf.ts): messages per second, single thread.
// Run: npx tsx bench/etf-encode.ts [seconds per case, default 2]
import { deflateSync } from 'node:zlib';
import { encodeExml } from '../src/encoding/etf.js';
import type { ExmlEncodeOptions } from '../src/encoding/etf.js';
import { parseXml, serializeXml } from '../src/xml/element.js';

// A typical one-to-one chat message as a client sends it: about 300 bytes of XML.
const CHAT =
  "<message from='alice@example.com/phone-5f2a' to='bob@example.com' type='chat' id='9b3c1f0e-4d2a-4c55-b1de'>" +
  '<body>Are we still on for lunch tomorrow? I booked the place near the station for 12:30, see you there at half past.</body>' +
  "<active xmlns='http://jabber.org/protocol/chatstates'/></message>";

const seconds = Number(process.argv[2] ?? 2);
const el = parseXml(CHAT);

function measure(label: string, fn: () => unknown): void {
  for (let i = 0; i < 20_000; i++) fn(); // warm up the JIT
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    elapsed = process.hrtime.bigint() - start;
  }
  const perSecond = (n / Number(elapsed)) * 1e9;
  console.log(`${label.padEnd(34)} ${Math.round(perSecond).toLocaleString('en').padStart(12)} msg/s  ${(1e6 / perSecond).toFixed(2)} µs/msg`);
}

const cases: Array<[string, ExmlEncodeOptions]> = [
  ['exml4 compressed', { shape: 'exml4', compressed: true }],
  ['exml4 plain', { shape: 'exml4', compressed: false }],
  ['exml3 compressed', { shape: 'exml3', compressed: true }],
  ['exml3 plain', { shape: 'exml3', compressed: false }],
];
console.log(`chat message: ${Buffer.byteLength(serializeXml(el))} bytes of XML; node ${process.version}`);
for (const [label, options] of cases) {
  const out = encodeExml(el, options);
  console.log(`  ${label}: ${out.length} bytes (${out[1] === 80 ? 'zlib' : 'plain'})`);
}
for (const [label, options] of cases) measure(label, () => encodeExml(el, options));
const term = encodeExml(el, { shape: 'exml4', compressed: false }).subarray(1);
measure('reference: deflateSync alone', () => deflateSync(term));
measure('reference: serializeXml', () => serializeXml(el));
