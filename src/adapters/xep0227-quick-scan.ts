// `plan --quick` for XEP-0227 exports: counts by a byte scan of the tags, without parsing records. A full plan
// reads every record (a quarter of the run's time on a 2M-message export); this scan reads the file at disk
// speed, a few seconds per GB. It counts elements by name and nesting only: attribute values are not
// validated, records that a run would reject are counted as records, and a `>` inside an attribute value can
// end a tag early. Its counts are estimates, which the plan says.
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordKind } from '../records.js';
import type { SourceInventory } from './source-adapter.js';

const CHUNK = 4 * 1024 * 1024;
const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;

interface ScanState {
  /** Element names from the root, local part only (a prefix is dropped). */
  stack: string[];
  /** The namespace of each open <query>, to tell roster from private from privacy. */
  queryNs: Array<string | undefined>;
  counts: Partial<Record<RecordKind, number>>;
  owners: Partial<Record<RecordKind, number>>;
  credentials: Record<string, number>;
  /** Per current user: kinds seen, plain password, SCRAM mechanisms. */
  user?: { kinds: Set<RecordKind>; plain: boolean; mechanisms: string[] };
  bytes: number;
  files: number;
}

const MECHANISM_ORDER = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'];

export async function quickScanXep0227(file: string): Promise<SourceInventory> {
  const state: ScanState = { stack: [], queryNs: [], counts: {}, owners: {}, credentials: {}, bytes: 0, files: 0 };
  await scanFile(file, state, [file]);
  endUser(state);
  return {
    description: `XEP-0227 export, ${state.files} file(s), ${(state.bytes / 1e6).toFixed(0)} MB: quick scan (counts are estimates)`,
    counts: state.counts,
    owners: state.owners,
    credentials: state.credentials,
    rejects: {},
    cannotProvide: [],
    notes: ['quick scan: records were counted by their tags, not read; records a run would reject are not known (run the full plan, or run --dry-run, for them)'],
  };
}

async function scanFile(file: string, state: ScanState, chain: string[]): Promise<void> {
  state.files++;
  const handle = await open(file, 'r');
  try {
    let carry = Buffer.alloc(0);
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, null);
      if (bytesRead === 0) break;
      state.bytes += bytesRead;
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      const consumed = await scanBuffer(buf, state, file, chain);
      carry = Buffer.from(buf.subarray(consumed));
    }
  } finally {
    await handle.close();
  }
}

/** Scans whole tags of `buf`; returns how far it got (a tag cut by the chunk's end waits for the next chunk). */
async function scanBuffer(buf: Buffer, state: ScanState, file: string, chain: string[]): Promise<number> {
  let pos = 0;
  for (;;) {
    const lt = buf.indexOf(LT, pos);
    if (lt < 0) return buf.length;
    const next = buf[lt + 1];
    if (next === undefined) return lt;
    if (next === 0x21 /* ! */ || next === 0x3f /* ? */) {
      // Comment, CDATA, doctype or processing instruction: skip to its end.
      const end = buf[lt + 2] === 0x2d ? buf.indexOf('-->', lt) : buf[lt + 2] === 0x5b ? buf.indexOf(']]>', lt) : buf.indexOf(GT, lt);
      if (end < 0) return lt;
      pos = end + 1;
      continue;
    }
    const gt = buf.indexOf(GT, lt);
    if (gt < 0) return lt;
    pos = gt + 1;
    if (next === SLASH) {
      close(state);
      continue;
    }
    let nameEnd = lt + 1;
    while (nameEnd < gt && !isNameEnd(buf[nameEnd]!)) nameEnd++;
    const qualified = buf.toString('latin1', lt + 1, nameEnd);
    const colon = qualified.indexOf(':');
    const name = colon >= 0 ? qualified.slice(colon + 1) : qualified;
    const selfClosing = buf[gt - 1] === SLASH;
    if (name === 'include' && colon >= 0) {
      const href = attribute(buf.toString('utf8', lt, gt + 1), 'href');
      if (href) {
        const target = /^file:/i.test(href) ? fileURLToPath(href) : resolve(dirname(file), href);
        if (!chain.includes(target)) await scanFile(target, state, [...chain, target]);
      }
      if (!selfClosing) state.stack.push(name);
      continue;
    }
    open_(state, name, () => buf.toString('utf8', lt, gt + 1));
    if (selfClosing) close(state);
  }
}

function isNameEnd(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === SLASH || byte === GT;
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:'([^']*)'|"([^"]*)")`).exec(tag);
  return match ? (match[1] ?? match[2]) : undefined;
}

function count(state: ScanState, kind: RecordKind): void {
  state.counts[kind] = (state.counts[kind] ?? 0) + 1;
  if (state.user && !state.user.kinds.has(kind)) {
    state.user.kinds.add(kind);
    state.owners[kind] = (state.owners[kind] ?? 0) + 1;
  }
}

function open_(state: ScanState, name: string, tag: () => string): void {
  const parent = state.stack[state.stack.length - 1];
  const parentNs = state.queryNs[state.queryNs.length - 1];
  if (name === 'user') {
    endUser(state);
    state.user = { kinds: new Set(), plain: attribute(tag(), 'password') !== undefined, mechanisms: [] };
    count(state, 'account');
  } else if (name === 'scram-credentials' && parent === 'user' && state.user) {
    const mechanism = attribute(tag(), 'mechanism')?.toLowerCase().replace(/^scram-/, '').replace(/-/g, '');
    if (mechanism) state.user.mechanisms.push(mechanism);
  } else if (name === 'item' && parent === 'query' && parentNs === 'jabber:iq:roster') count(state, 'roster-item');
  else if (name === 'vCard' && parent === 'user') count(state, 'vcard');
  else if (parent === 'query' && parentNs === 'jabber:iq:private') count(state, 'private-xml');
  else if (name === 'message' && parent === 'offline-messages') count(state, 'offline-message');
  else if ((name === 'result' || name === 'message') && parent === 'archive') count(state, 'archived-message');
  else if (name === 'list' && parent === 'query' && parentNs === 'jabber:iq:privacy') count(state, 'privacy-list');
  state.stack.push(name);
  state.queryNs.push(name === 'query' ? attribute(tag(), 'xmlns') : name === 'user' ? undefined : parentNs);
}

function close(state: ScanState): void {
  const name = state.stack.pop();
  state.queryNs.pop();
  if (name === 'user') endUser(state);
}

function endUser(state: ScanState): void {
  const user = state.user;
  if (!user) return;
  state.user = undefined;
  const scram = MECHANISM_ORDER.filter((m) => user.mechanisms.includes(m));
  const shape = scram.length === 0 ? (user.plain ? 'plain' : 'none') : `${user.plain ? 'plain+' : ''}scram-${scram.join('+')}`;
  state.credentials[shape] = (state.credentials[shape] ?? 0) + 1;
}
