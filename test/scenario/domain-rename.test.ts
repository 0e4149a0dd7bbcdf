// Domain renames end to end (`--mapping`), from real source data into real PostgreSQL and MariaDB: a real
// Prosody 0.12.3 data directory (accounts, rosters, vCards, bookmarks, a blocklist, offline messages, personal
// and room archives, rooms with affiliations, a registered nick), the XEP-0227 export (privacy lists) and the
// handwritten Prosody store (last activity). Each is migrated twice, without and with a mapping; every row of
// every table the writer fills, stored messages decoded from their Erlang terms, must be the unmapped run's
// row with the old domains replaced by the new ones and nothing else changed (e-mail addresses in vCards are
// mail, not XMPP, and stay). `verify --mapping` then reports parity, and `plan --mapping` the counts per domain.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { Element as LtxElement } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErlangTerm } from '../../src/adapters/erlang-term-text.js';
import { main } from '../../src/cli/main.js';
import { openMysql } from '../../src/target/mysql/mysql-database.js';
import { openPostgres } from '../../src/target/postgres/postgres-database.js';
import { freshMysqlDatabase, freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';
import { dumpMongooseim, type DumpFlavour } from '../support/target-dump.js';
import { decodeEtf } from '../fixtures/ejabberd/etf-decode.js';

const root = join(import.meta.dirname, '..', '..');
const fixtures = join(root, 'test', 'fixtures');

interface Case {
  name: string;
  source: string;
  /** The mapping file's [domains] lines; undefined: mappings/example.toml, the documented example. */
  mapping?: Record<string, string>;
  /** Old domain → new, longest first, for the expected rows. */
  renames: Array<[string, string]>;
  /** Domains of the source that the mapping leaves alone: they must still be there. */
  untouched: string[];
}

const CASES: Case[] = [
  {
    name: 'a real Prosody 0.12.3',
    source: `prosody:${join(fixtures, 'prosody', 'real-0.12.3', 'data')}`,
    renames: [['conference.example.test', 'muc.chat.example.org'], ['example.test', 'chat.example.org']],
    untouched: ['other.test', 'plain.test', 'evil.test'],
  },
  {
    name: 'the XEP-0227 export',
    source: `xep0227:${join(fixtures, 'xep0227', 'full-v1.1.xml')}`,
    mapping: { 'Example.COM': 'example.net', 'conference.example.com': 'rooms.example.net' },
    renames: [['conference.example.com', 'rooms.example.net'], ['example.com', 'example.net']],
    untouched: ['other.org', 'far.example'],
  },
  {
    name: 'the handwritten Prosody store',
    source: `prosody:${join(fixtures, 'prosody', 'handwritten', 'data')}`,
    mapping: { 'legacy.test': 'legacy.example', 'muc.legacy.test': 'muc.legacy.example' },
    renames: [['muc.legacy.test', 'muc.legacy.example'], ['legacy.test', 'legacy.example']],
    untouched: ['bad.test', 'modarchive.test'],
  },
];

interface Dialect {
  name: string;
  flavour: DumpFlavour;
  fresh(hint: string): Promise<FreshDatabase>;
  open(url: string): Promise<{ query(sql: string): Promise<{ rows: unknown[] }>; close(): Promise<void> }>;
  hex(column: string): string;
}

const DIALECTS: Dialect[] = [
  { name: 'PostgreSQL', flavour: 'postgres', fresh: freshPostgresDatabase, open: openPostgres, hex: (c) => `encode(${c}, 'hex')` },
  { name: 'MariaDB', flavour: 'mysql', fresh: freshMysqlDatabase, open: openMysql, hex: (c) => `LOWER(HEX(${c}))` },
];

/** The tables dumpMongooseim leaves out, with serial ids replaced by the keys they stand for. */
const MORE_TABLES: Record<string, string> = {
  last: 'SELECT server, username, seconds, state FROM last',
  privacy_list: 'SELECT server, username, name FROM privacy_list',
  privacy_list_data: `SELECT l.server, l.username, l.name, d.t, d.value, d.action, d.ord, d.match_all, d.match_iq, d.match_message, d.match_presence_in, d.match_presence_out
                      FROM privacy_list_data d JOIN privacy_list l ON l.id = d.id`,
  privacy_default_list: 'SELECT server, username, name FROM privacy_default_list',
  muc_rooms: 'SELECT muc_host, room_name, options FROM muc_rooms',
  muc_room_aff: 'SELECT r.muc_host, r.room_name, a.luser, a.lserver, a.resource, a.aff FROM muc_room_aff a JOIN muc_rooms r ON r.id = a.room_id',
  muc_registered: 'SELECT muc_host, luser, lserver, nick FROM muc_registered',
  mam_server_user: 'SELECT server, user_name FROM mam_server_user',
};

let work: string;
const databases: FreshDatabase[] = [];
const silent = { stdout: { write: () => undefined }, stderr: { write: (s: string) => void process.stderr.write(s) } };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-rename-'));
});

afterAll(async () => {
  for (const db of databases) await db.drop();
  await rm(work, { recursive: true, force: true });
});

async function mappingFile(c: Case): Promise<string> {
  if (!c.mapping) return join(root, 'mappings', 'example.toml');
  const file = join(work, `${c.name.replace(/\W+/g, '-')}.toml`);
  await writeFile(file, `[domains]\n${Object.entries(c.mapping).map(([a, b]) => `${JSON.stringify(a)} = ${JSON.stringify(b)}`).join('\n')}\n`);
  return file;
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(args, { ...silent, stdout: { write: (s: string) => void (out += s) } });
  return { code, out };
}

async function migrate(dialect: Dialect, c: Case, mapping: string | undefined): Promise<FreshDatabase> {
  const db = await dialect.fresh(`rename_${mapping ? 'mapped' : 'plain'}`);
  databases.push(db);
  const args = ['run', '--source', c.source, '--target', db.url, '--create-schema', '--password-format', 'plain', '--quiet', '--reject-file', join(work, 'rejects.ndjson')];
  const { code } = await cli(mapping ? [...args, '--mapping', mapping] : args);
  // The handwritten store holds deliberately broken files: those records are rejected (3), the rest migrates.
  expect([0, 3]).toContain(code);
  return db;
}

function binaryText(term: ErlangTerm | undefined): string {
  if (term?.type !== 'binary') throw new Error(`expected a binary, got ${JSON.stringify(term)}`);
  return term.bytes.toString('utf8');
}

/** An exml term (`{xmlel, Name, Attrs, Children}`) as XML. */
function exmlToLtx(term: ErlangTerm): LtxElement {
  if (term.type !== 'tuple' || term.items[0]?.type !== 'atom' || term.items[0].name !== 'xmlel') throw new Error(`not an xmlel: ${JSON.stringify(term)}`);
  const [, name, attrs, children] = term.items;
  const pairs: Array<[ErlangTerm, ErlangTerm]> = attrs?.type === 'map' ? attrs.entries : attrs?.type === 'list' ? attrs.items.map((p) => (p.type === 'tuple' ? [p.items[0]!, p.items[1]!] : [p, p])) : [];
  const el = new LtxElement(binaryText(name), Object.fromEntries(pairs.map(([k, v]) => [binaryText(k), binaryText(v)])));
  if (children?.type !== 'list') throw new Error('xmlel children are not a list');
  for (const child of children.items) {
    if (child.type === 'tuple' && child.items[0]?.type === 'atom' && child.items[0].name === 'xmlcdata') el.t(binaryText(child.items[1]));
    else el.cnode(exmlToLtx(child));
  }
  return el;
}

/** A stored MAM message (compressed Erlang term, the default format) as XML text. */
function storedMessage(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  expect(bytes[0]).toBe(131);
  const plain = bytes[1] === 80 ? Buffer.concat([Buffer.from([131]), inflateSync(bytes.subarray(6))]) : bytes;
  return exmlToLtx(decodeEtf(plain)).toString();
}

/** Every table the writer fills, each row a JSON object with stored messages decoded. */
async function dumpAll(dialect: Dialect, url: string): Promise<Record<string, Array<Record<string, unknown>>>> {
  const db = await dialect.open(url);
  try {
    const dump: Record<string, Array<Record<string, unknown>>> = {};
    for (const [table, lines] of Object.entries(await dumpMongooseim(db, dialect.flavour))) {
      dump[table] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    }
    for (const [table, sql] of Object.entries(MORE_TABLES)) dump[table] = (await db.query(sql)).rows as Array<Record<string, unknown>>;
    for (const table of ['mam_message', 'mam_muc_message']) {
      for (const row of dump[table]!) row.message = storedMessage(row.message as string);
    }
    return dump;
  } finally {
    await db.close();
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The domain as a whole DNS name, in any case (a JID's domain is case-insensitive: `Bob@Example.com/PC` is
 * of example.com), never a suffix of a longer name (`muc.legacy.test` is not `legacy.test`).
 */
function domainPattern(domain: string): RegExp {
  return new RegExp(`(?<![\\w.-])${escapeRegExp(domain)}(?![\\w-]|\\.\\w)`, 'gi');
}

/** What a cell of the unmapped run must become: every JID of an old domain renamed, e-mail addresses kept. */
function renamed(value: unknown, renames: Array<[string, string]>, column: string): unknown {
  if (typeof value !== 'string' || column === 'email' || column === 'lemail') return value;
  // vCard <EMAIL><USERID> is an e-mail address: masked while the rest is renamed.
  const kept: string[] = [];
  let text = value.replace(/<USERID>[^<]*<\/USERID>/g, (m) => `\u0000${kept.push(m) - 1}\u0000`);
  for (const [from, to] of renames) text = text.replace(domainPattern(from), to);
  return text.replace(/\u0000(\d+)\u0000/g, (_, i: string) => kept[Number(i)]!);
}

function sortRows(rows: Array<Record<string, unknown>>): string[] {
  return rows.map((r) => JSON.stringify(r)).sort();
}

describe.each(DIALECTS)('domain renames into MongooseIM on $name', (dialect) => {
  describe.each(CASES)('$name', (c) => {
    let plain: Record<string, Array<Record<string, unknown>>>;
    let mapped: Record<string, Array<Record<string, unknown>>>;
    let mappedUrl: string;
    let mapping: string;

    beforeAll(async () => {
      mapping = await mappingFile(c);
      const [a, b] = await Promise.all([migrate(dialect, c, undefined), migrate(dialect, c, mapping)]);
      mappedUrl = b.url;
      [plain, mapped] = await Promise.all([dumpAll(dialect, a.url), dumpAll(dialect, b.url)]);
    }, 240_000);

    it('writes every row of the unmapped run, with each JID of the old domains renamed and nothing else changed', () => {
      const tables = Object.keys(plain).filter((t) => plain[t]!.length > 0);
      expect(tables.length).toBeGreaterThan(5);
      for (const table of Object.keys(plain)) {
        const expected = plain[table]!.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, renamed(v, c.renames, k)])));
        expect(sortRows(mapped[table]!), table).toEqual(sortRows(expected));
      }
    });

    it('leaves no JID of an old domain anywhere, stored stanzas included, but keeps the other domains', () => {
      const text = JSON.stringify(mapped).replace(/<USERID>[^<]*<\/USERID>/g, '').replace(/"l?email":"[^"]*"/g, '');
      for (const [from, to] of c.renames) {
        expect(text.match(domainPattern(from)), `${from} left in the target`).toBeNull();
        expect(text, `${to} in the target`).toContain(to);
      }
      const before = JSON.stringify(plain);
      for (const domain of c.untouched) {
        const count = (s: string): number => (s.match(domainPattern(domain)) ?? []).length;
        expect(count(before), `${domain} in the source`).toBeGreaterThan(0);
        expect(count(text), `${domain} untouched`).toBe(count(before));
      }
    });

    it('verify --mapping reports parity with the renamed target; verify without it does not', async () => {
      const withMapping = await cli(['verify', '--source', c.source, '--target', mappedUrl, '--mapping', mapping, '--json']);
      const report = JSON.parse(withMapping.out) as { parity: boolean; differences: unknown[]; archivesCompared: number; extraArchivesInTarget: number };
      expect(report).toMatchObject({ parity: true, differences: [], extraArchivesInTarget: 0 });
      expect(report.archivesCompared).toBeGreaterThan(0);
      expect(withMapping.code).toBe(0);
      const without = await cli(['verify', '--source', c.source, '--target', mappedUrl, '--json']);
      expect(JSON.parse(without.out)).toMatchObject({ parity: false });
      expect(without.code).toBe(5);
    });
  });
});

describe('the real Prosody data, renamed (other checks)', () => {
  const c = CASES[0]!;
  const example = join(root, 'mappings', 'example.toml');

  it('room messages name their senders by the renamed real JIDs, and the stored rows the renamed archive', async () => {
    const db = await freshPostgresDatabase('rename_rooms');
    databases.push(db);
    expect(await cli(['run', '--source', c.source, '--target', db.url, '--create-schema', '--quiet', '--mapping', example, '--reject-file', join(work, 'r.ndjson')])).toMatchObject({ code: 0 });
    const dump = await dumpAll(DIALECTS[0]!, db.url);
    const open = dump.mam_muc_message!.filter((r) => r.user_name === 'open');
    expect(open.length).toBe(2);
    for (const row of open) {
      expect(row.server).toBe('muc.chat.example.org');
      expect(row.sender_server).toBe('chat.example.org');
      expect(row.message).toMatch(/<item [^>]*jid="(alice|bob)@chat\.example\.org"/);
      expect(row.message).toMatch(/from="open@muc\.chat\.example\.org\//);
    }
    const offline = dump.offline_message!.map((r) => r.packet as string);
    expect(offline.length).toBe(2);
    for (const packet of offline) expect(packet).toMatch(/<stanza-id by="carol@chat\.example\.org"|by="carol@chat\.example\.org"/);
    expect(dump.private_storage!.find((r) => r.namespace === 'storage:bookmarks' && r.username === 'erin')?.data).toContain('jid="semi@muc.chat.example.org"');
    expect(dump.muc_registered).toEqual([{ muc_host: 'muc.chat.example.org', luser: 'bob', lserver: 'chat.example.org', nick: 'Bob' }]);
  }, 120_000);

  it('a run with another mapping (or none) keeps checkpoints of its own instead of resuming these', async () => {
    const db = await freshPostgresDatabase('rename_ckpt');
    databases.push(db);
    const base = ['run', '--source', c.source, '--target', db.url, '--create-schema', '--quiet', '--json', '--reject-file', join(work, 'k.ndjson')];
    const first = await cli([...base, '--mapping', example]);
    const again = await cli([...base, '--mapping', example]);
    const none = await cli(base);
    const summary = (out: string): { migration: string; streams: Array<{ startedFrom: string }> } => JSON.parse(out.trim().split('\n').at(-1)!) as never;
    expect(summary(again.out).migration).toBe(summary(first.out).migration);
    expect(summary(again.out).streams.every((s) => s.startedFrom === 'already complete')).toBe(true);
    expect(summary(none.out).migration).not.toBe(summary(first.out).migration);
    expect(summary(none.out).streams.every((s) => s.startedFrom === 'start')).toBe(true);
  }, 120_000);

  it('cutover --mapping runs the final delta under the same renames and reports parity', async () => {
    const db = await freshPostgresDatabase('rename_cutover');
    databases.push(db);
    const common = ['--source', c.source, '--target', db.url, '--mapping', example, '--reject-file', join(work, 'c.ndjson')];
    expect((await cli(['run', ...common, '--create-schema', '--quiet'])).code).toBe(0);
    const { code, out } = await cli(['cutover', ...common, '--json']);
    const report = JSON.parse(out.trim().split('\n').at(-1)!) as { parity: boolean; phases: Array<{ pass: number }>; verify: { differences: unknown[] } };
    expect(report).toMatchObject({ parity: true, verify: { differences: [] } });
    // The final delta is a second pass of the same migration (same mapping), not a new migration's first.
    expect(report.phases.some((p) => p.pass === 1)).toBe(true);
    expect(code).toBe(0);
  }, 120_000);

  it('plan --mapping shows the records per kind per domain before and after', async () => {
    const { code, out } = await cli(['plan', '--source', c.source, '--target', 'pglite:memory', '--mapping', example, '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(out) as { domains: { before: Array<{ domain: string; records: number; kinds: Record<string, number> }>; after: Array<{ domain: string; records: number; kinds: Record<string, number> }>; unused: string[]; merges: string[] } };
    const byDomain = (list: typeof report.domains.before): Record<string, Record<string, number>> => Object.fromEntries(list.map((d) => [d.domain, d.kinds]));
    const before = byDomain(report.domains.before);
    const after = byDomain(report.domains.after);
    expect(Object.keys(before).sort()).toEqual(['conference.example.test', 'example.test', 'other.test', 'plain.test']);
    expect(Object.keys(after).sort()).toEqual(['chat.example.org', 'muc.chat.example.org', 'other.test', 'plain.test']);
    expect(after['chat.example.org']).toEqual(before['example.test']);
    expect(after['muc.chat.example.org']).toEqual(before['conference.example.test']);
    expect(after['other.test']).toEqual(before['other.test']);
    expect(before['example.test']!.account).toBe(4);
    expect(before['conference.example.test']!['muc-room']).toBe(3);
    expect(report.domains.unused).toEqual([]);
    expect(report.domains.merges).toEqual([]);
  }, 60_000);
});
