// A deterministic synthetic XEP-0227 export of any size, written as a stream (flat memory), for scenario
// tests and the benchmark: SCRAM and plain accounts, rosters with groups, vCards, offline messages, and
// archives with realistic bodies (multi-byte UTF-8, emoji, entities), whole-second ties and origin-ids.
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export interface SyntheticExportOptions {
  users: number;
  messagesPerUser: number;
  domain?: string;
  /** Seeds the pseudo-random content; the same seed gives the same file. */
  seed?: number;
}

const WORDS = ['hello', 'meeting', 'tomorrow', 'café', 'naïve', 'déjà', 'vu', 'Straße', 'über', 'ok', 'thanks', '😀', '👍🏽', '<b>bold</b>', 'a&b', '"quoted"', "it's", 'lunch?', 'Привет', 'мир', '你好', 'שלום', 'e-mail', 'ship-to-shore', '100%', 'done!', 'see', 'you', 'at', 'the', 'station', 'at', '5:30'];

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');
}

function iso(micros: bigint): string {
  const ms = Number(micros / 1000n);
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(micros % 1000000n).padStart(6, '0')}Z`;
}

/** SCRAM-SHA-1 keys for `password`, as XEP-0227 carries them (base64 of raw bytes). */
export function scramSha1(password: string, salt: Buffer, iterations: number): { storedKey: string; serverKey: string } {
  const salted = pbkdf2Sync(password, salt, iterations, 20, 'sha1');
  const clientKey = createHmac('sha1', salted).update('Client Key').digest();
  return {
    storedKey: createHash('sha1').update(clientKey).digest('base64'),
    serverKey: createHmac('sha1', salted).update('Server Key').digest('base64'),
  };
}

export function syntheticPassword(user: number): string {
  return `pw-${user}-secret`;
}

/** Writes the export to `path`; returns how many archived messages it holds. */
export async function writeSyntheticExport(path: string, options: SyntheticExportOptions): Promise<{ messages: number; users: number }> {
  const domain = options.domain ?? 'example.com';
  const random = prng(options.seed ?? 42);
  const out = createWriteStream(path);
  let pending = '';
  const write = async (text: string): Promise<void> => {
    pending += text;
    if (pending.length > 1 << 16) {
      if (!out.write(pending)) await once(out, 'drain');
      pending = '';
    }
  };
  const sentence = (): string => {
    const n = 3 + Math.floor(random() * 25);
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(random() * WORDS.length)]!);
    return words.join(' ');
  };
  await write(`<?xml version='1.0' encoding='UTF-8'?>\n<server-data xmlns='urn:xmpp:pie:0'>\n<host jid='${domain}'>\n`);
  let messages = 0;
  const start = 1700000000000000n;
  for (let u = 0; u < options.users; u++) {
    const name = `user${u}`;
    const password = syntheticPassword(u);
    const credentials = u % 3 === 0
      ? ` password='${esc(password)}'>`
      : (() => {
          const salt = createHash('sha256').update(name).digest().subarray(0, 16);
          const keys = scramSha1(password, salt, 4096);
          return `><scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'><iter-count>4096</iter-count><salt>${salt.toString('base64')}</salt><server-key>${keys.serverKey}</server-key><stored-key>${keys.storedKey}</stored-key></scram-credentials>`;
        })();
    await write(`<user name='${name}'${credentials}\n`);
    const peer = (k: number): string => (k % 7 === 0 ? `kate${k}@remote.example.org` : `user${(u + k) % options.users}@${domain}`);
    await write(`<query xmlns='jabber:iq:roster'>`);
    for (let k = 1; k <= 3; k++) await write(`<item jid='${peer(k)}' name='Friend ${k}' subscription='${['both', 'to', 'from'][k % 3]}'><group>Friends</group>${k === 2 ? '<group>Work</group>' : ''}</item>`);
    await write(`</query>\n<vCard xmlns='vcard-temp'><FN>User ${u} Example</FN><NICKNAME>u${u}</NICKNAME><EMAIL><USERID>${name}@${domain}</USERID></EMAIL></vCard>\n`);
    if (u % 5 === 0) {
      await write(`<offline-messages><message xmlns='jabber:client' from='${peer(1)}/pc' to='${name}@${domain}' type='chat' id='off${u}'><body>${esc(sentence())}</body><delay xmlns='urn:xmpp:delay' from='${domain}' stamp='${iso(start + BigInt(u) * 1000000n)}'/></message></offline-messages>\n`);
    }
    await write(`<archive xmlns='urn:xmpp:pie:0#mam'>\n`);
    let t = start + BigInt(u) * 1000n;
    for (let m = 0; m < options.messagesPerUser; m++) {
      // Whole seconds with frequent ties, as many sources store them.
      if (random() < 0.7) t += BigInt(1 + Math.floor(random() * 120)) * 1000000n;
      const outgoing = random() < 0.5;
      const other = peer(1 + Math.floor(random() * 3));
      const from = outgoing ? `${name}@${domain}/phone` : `${other}/desk`;
      const to = outgoing ? other : `${name}@${domain}`;
      const origin = random() < 0.5 ? `<origin-id xmlns='urn:xmpp:sid:0' id='o-${u}-${m}'/>` : '';
      await write(`<result xmlns='urn:xmpp:mam:2' id='${u}-${m}'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='${iso(t)}'/><message xmlns='jabber:client' from='${from}' to='${to}' type='chat' id='m-${u}-${m}'><body>${esc(sentence())}</body>${origin}</message></forwarded></result>\n`);
      messages++;
    }
    await write(`</archive>\n</user>\n`);
  }
  await write(`</host>\n</server-data>\n`);
  out.end(pending);
  await once(out, 'finish');
  return { messages, users: options.users };
}
