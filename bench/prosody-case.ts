// The benchmark's Prosody case (`npm run bench -- --prosody`), kept apart from bench/run.ts's XEP-0227 phases:
// a generated Prosody data directory (internal file storage, written in Prosody's own serializer format),
// migrated end-to-end by the real `run` of `prosody:DIR` into an empty PostgreSQL database in a child process
// (messages/s, peak RSS), and copied in the same run by Prosody's own `prosody-migrator` from files into
// SQLite (driver = "SQLite3"), timed. prosody-migrator handles some tens of items per second, so by default
// it copies a deterministic subset of the same directory (the first users in sorted order); the report says
// so. See bench/README.md.
//
//   npx tsx bench/prosody-case.ts [--messages N] [--users U] [--migrator-messages K] [--work DIR]   (standalone)
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, createWriteStream, existsSync, readFileSync, readdirSync, type WriteStream } from 'node:fs';
import { link, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { BatchLimits } from '../src/pipeline/batch-limits.js';
import { migrateToSql } from '../test/fixtures/prosody/migrator.js';
import { reused, startThrowawayPostgres } from '../test/support/postgres-server.js';
import { runPhaseChild, type PhaseResult } from './phases.js';

const SELF = fileURLToPath(import.meta.url);
const SEED = 42;
const DOMAIN = 'example.com';
/** better-sqlite3 (a dependency, untyped here), only to count what prosody-migrator wrote. */
interface SqliteDb {
  prepare(sql: string): { get(): unknown };
  close(): void;
}
const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string, options: { readonly: boolean }) => SqliteDb;
/** Archived messages prosody-migrator copies by default (a subset when the directory holds more). */
export const DEFAULT_MIGRATOR_MESSAGES = 10_000;

export interface ProsodyCaseResult {
  messages: number;
  users: number;
  /** The real `run` of prosody:DIR into an empty PostgreSQL database, in a child process. */
  endToEnd: PhaseResult;
  /** prosody-migrator, files → SQLite: the users and messages it copied, its wall time, rows it wrote. */
  migrator: { users: number; messages: number; ms: number; archiveRows: number; keyvalRows: number; subset: boolean };
  /** End-to-end msg/s ÷ prosody-migrator msg/s. */
  ratio: number;
}

// ------------------------------------------------------------------------------------------ the data dir

/** Words of the generated message bodies (shared with bench/ejabberd-case.ts): multi-byte, emoji, markup, entities. */
export const WORDS = ['hello', 'meeting', 'tomorrow', 'café', 'naïve', 'déjà', 'vu', 'Straße', 'über', 'ok', 'thanks', '😀', '👍🏽', '<b>bold</b>', 'a&b', '&amp;', '"quoted"', "it's", 'lunch?', 'Привет', 'мир', '你好', 'שלום', 'e-mail', '100%', 'done!', 'see', 'you', 'at', 'the', 'station', '5:30', 'back\\slash', 'tab\there', 'line\nbreak'];

/** xorshift32: the generators' deterministic randomness. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const LUA_ESCAPES: Record<number, string> = { 9: '\\t', 10: '\\n', 13: '\\r', 34: '\\"', 39: "\\'", 92: '\\\\' };

/** A Lua string literal as Prosody's util/serialization writes it: bytes outside printable ASCII as \ddd. */
function lua(text: string): string {
  let out = '"';
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c > 126 || c === 34 || c === 39 || c === 92) {
      plain = false;
      break;
    }
  }
  if (plain) return `"${text}"`;
  for (const b of Buffer.from(text, 'utf8')) out += LUA_ESCAPES[b] ?? (b >= 32 && b < 127 ? String.fromCharCode(b) : `\\${b}`);
  return `${out}"`;
}

/** util/datamanager's encode: every non-alphanumeric byte as %xx (lower-case hex). */
function encodeName(name: string): string {
  let out = '';
  for (const b of Buffer.from(name, 'utf8')) {
    out += (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** User names: mostly ASCII, every 25th with a multi-byte character and a dot (so its file name is %-encoded). */
function userName(u: number): string {
  return u % 25 === 7 ? `zoé.${u}` : `user${u}`;
}

/** Buffered writes with back-pressure: memory stays flat whatever the size. */
class Out {
  private pending = '';
  private readonly stream: WriteStream;
  constructor(path: string) {
    this.stream = createWriteStream(path);
  }
  async write(text: string): Promise<void> {
    this.pending += text;
    if (this.pending.length > 1 << 16) {
      if (!this.stream.write(this.pending)) await once(this.stream, 'drain');
      this.pending = '';
    }
  }
  async close(): Promise<void> {
    this.stream.end(this.pending);
    await once(this.stream, 'finish');
  }
}

async function writeFileText(path: string, text: string): Promise<void> {
  const out = new Out(path);
  await out.write(text);
  await out.close();
}

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Writes a Prosody data directory under `dir`: for each user, accounts/<u>.dat (SCRAM-SHA-1, hex keys, text
 * salt), roster/<u>.dat (groups, subscriptions, an ask, the [false] entry with its version) and
 * archive/<u>.list (`item({...});` entries with key, whole-second `when` with ties, `with`). Streams every
 * file: memory does not grow with the size.
 */
export async function writeProsodyData(dir: string, options: { users: number; messagesPerUser: number; seed?: number }): Promise<{ messages: number }> {
  const random = prng(options.seed ?? SEED);
  const host = join(dir, encodeName(DOMAIN));
  for (const store of ['accounts', 'roster', 'archive']) await mkdir(join(host, store), { recursive: true });
  const key = (): string => {
    let k = '';
    for (let i = 0; i < 24; i++) k += KEY_ALPHABET[Math.floor(random() * 64)];
    return k;
  };
  const sentence = (): string => {
    const n = 2 + Math.floor(random() * 20);
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(random() * WORDS.length)]!);
    return words.join(' ');
  };
  let messages = 0;
  const start = 1_700_000_000;
  for (let u = 0; u < options.users; u++) {
    const name = userName(u);
    const jid = `${name}@${DOMAIN}`;
    const file = encodeName(name);
    // Accounts: SCRAM-SHA-1 as Prosody stores it (hex keys, a UUID as the text salt).
    const salt = createHash('sha256').update(`salt-${u}`).digest('hex');
    const saltText = `${salt.slice(0, 8)}-${salt.slice(8, 12)}-4${salt.slice(13, 16)}-a${salt.slice(17, 20)}-${salt.slice(20, 32)}`;
    const iterations = u % 2 === 0 ? 4096 : 10000;
    const salted = pbkdf2Sync(`pw-${u}-secret`, saltText, iterations, 20, 'sha1');
    const storedKey = createHash('sha1').update(createHmac('sha1', salted).update('Client Key').digest()).digest('hex');
    const serverKey = createHmac('sha1', salted).update('Server Key').digest('hex');
    await writeFileText(
      join(host, 'accounts', `${file}.dat`),
      `return {\n\t["iteration_count"] = ${iterations};\n\t["stored_key"] = ${lua(storedKey)};\n\t["salt"] = ${lua(saltText)};\n\t["server_key"] = ${lua(serverKey)};\n};\n`,
    );
    const peer = (k: number): string => (k % 7 === 0 ? `kate${k}@remote.example.org` : `${userName((u + k) % options.users)}@${DOMAIN}`);
    // Roster: three contacts with groups, one with a pending outgoing request, and the version entry.
    let roster = `return {\n\t[false] = {\n\t\t["version"] = ${3 + (u % 11)};\n\t};\n`;
    for (let k = 1; k <= 3; k++) {
      roster += `\t[${lua(peer(k))}] = {\n\t\t["name"] = ${lua(k === 2 ? `Frère ${k}` : `Friend ${k}`)};\n\t\t["subscription"] = ${lua(['both', 'to', 'none'][k % 3]!)};\n\t\t["groups"] = {\n\t\t\t["Friends"] = true;\n${k === 2 ? '\t\t\t["W\\195\\182rk"] = true;\n' : ''}\t\t};\n${k === 3 ? '\t\t["ask"] = "subscribe";\n' : ''}\t};\n`;
    }
    await writeFileText(join(host, 'roster', `${file}.dat`), `${roster}};\n`);
    // Archive: the user's side of its conversations, in send order, whole seconds with frequent ties.
    const out = new Out(join(host, 'archive', `${file}.list`));
    let t = start + u * 3;
    for (let m = 0; m < options.messagesPerUser; m++) {
      if (random() < 0.7) t += 1 + Math.floor(random() * 120);
      const outgoing = random() < 0.5;
      const other = peer(1 + Math.floor(random() * 3));
      const from = outgoing ? `${jid}/phone` : `${other}/desk`;
      const to = outgoing ? other : jid;
      const origin = random() < 0.5
        ? `\t{\n\t\t["name"] = "origin-id";\n\t\t["attr"] = {\n\t\t\t["xmlns"] = "urn:xmpp:sid:0";\n\t\t\t["id"] = ${lua(`o-${u}-${m}`)};\n\t\t};\n\t};\n`
        : '';
      await out.write(
        `item({\n\t{\n\t\t${lua(sentence())};\n\t\t["name"] = "body";\n\t\t["attr"] = {};\n\t};\n${origin}\t["name"] = "message";\n\t["attr"] = {\n` +
          `\t\t["to"] = ${lua(to)};\n\t\t["id"] = ${lua(`m-${u}-${m}`)};\n\t\t["from"] = ${lua(from)};\n\t\t["xml:lang"] = "en";\n\t\t["type"] = "chat";\n\t};\n` +
          `\t["key"] = ${lua(key())};\n\t["when"] = ${t};\n\t["with"] = ${lua(other)};\n});\n`,
      );
      messages++;
    }
    await out.close();
  }
  return { messages };
}

/** The data directory for these parameters, generated once: its name holds the parameters and this file's hash. */
export async function ensureProsodyData(work: string, messages: number, users: number, log: (s: string) => void = () => undefined): Promise<string> {
  const generator = createHash('sha256').update(readFileSync(SELF)).digest('hex').slice(0, 10);
  const dir = join(work, `prosody-${messages}m-${users}u-seed${SEED}-${generator}`);
  if (existsSync(dir)) {
    log(`prosody data ${dir} (reused)`);
    return dir;
  }
  await mkdir(work, { recursive: true });
  const partial = `${dir}.${process.pid}.partial`;
  const t0 = performance.now();
  log(`generating a Prosody data directory: ${messages.toLocaleString('en')} messages for ${users} users…`);
  try {
    await writeProsodyData(partial, { users, messagesPerUser: messages / users });
    await rename(partial, dir);
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  log(`prosody data ${dir} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return dir;
}

/** The first `users` users of the directory, in sorted order of their file names: a data dir of hard links. */
async function subsetDir(dataDir: string, target: string, users: number): Promise<void> {
  for (const hostDir of readdirSync(dataDir)) {
    const files = readdirSync(join(dataDir, hostDir, 'accounts')).map((f) => f.slice(0, -'.dat'.length)).sort().slice(0, users);
    for (const [store, ext] of [['accounts', '.dat'], ['roster', '.dat'], ['archive', '.list']] as const) {
      await mkdir(join(target, hostDir, store), { recursive: true });
      for (const f of files) {
        const from = join(dataDir, hostDir, store, `${f}${ext}`);
        if (existsSync(from)) await link(from, join(target, hostDir, store, `${f}${ext}`));
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------- phases

async function pgAdmin(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url, application_name: 'xmpp-migrate-bench' });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/**
 * The Prosody case: see the header. `serverUrl` is a PostgreSQL superuser URL (a database is created and
 * dropped there); `migratorMessages` caps what prosody-migrator copies (whole users, at least two).
 */
export async function benchProsody(
  serverUrl: string,
  options: { messages: number; users: number; work: string; limits?: Partial<BatchLimits>; migratorMessages?: number },
  log: (s: string) => void = () => undefined,
): Promise<ProsodyCaseResult> {
  const { messages, users, work } = options;
  const dataDir = await ensureProsodyData(work, messages, users, log);
  const perUser = messages / users;
  const rate = (n: number, ms: number): string => Math.round(n / (ms / 1000)).toLocaleString('en');
  const scratch = await mkdtemp(join(work, `prosody-${process.pid}-`));
  const scratchDirs = [scratch];
  const db = `xmig_bench_prosody_${process.pid}_${randomBytes(3).toString('hex')}`;
  const dbUrl = new URL(serverUrl);
  dbUrl.pathname = `/${db}`;
  try {
    await pgAdmin(serverUrl, `CREATE DATABASE "${db}"`);
    let e2e: PhaseResult;
    try {
      e2e = await runPhaseChild({
        phase: 'end-to-end',
        source: `prosody:${dataDir}`,
        target: dbUrl.toString(),
        rejectFile: join(scratch, 'rejects.ndjson'),
        ...(options.limits ? { limits: options.limits } : {}),
      }, [], 'Prosody end-to-end');
    } finally {
      await pgAdmin(serverUrl, `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    }
    log(`prosody end-to-end   ${rate(e2e.messages, e2e.ms).padStart(9)} msg/s  ${(e2e.ms / 1000).toFixed(1)} s  peak RSS ${e2e.peakRssMb.toFixed(0)} MB`);
    if (e2e.messages !== messages) log(`warning: the run wrote ${e2e.messages} messages, the data directory holds ${messages}`);
    if (e2e.rejected > 0) log(`warning: the run rejected ${e2e.rejected} records`);

    // prosody-migrator: the first users of the same directory (all of it when small enough), files → SQLite.
    const migUsers = Math.min(users, Math.max(2, Math.ceil((options.migratorMessages ?? DEFAULT_MIGRATOR_MESSAGES) / perUser)));
    const subset = migUsers < users;
    let source = dataDir;
    if (subset) {
      source = join(scratch, 'subset');
      await subsetDir(dataDir, source, migUsers);
    }
    // The migrator drops root for user prosody: the database file lives in a directory it may write.
    const sqliteDir = await mkdtemp(join(tmpdir(), 'xmig-prosody-sqlite-'));
    chmodSync(sqliteDir, 0o777);
    scratchDirs.push(sqliteDir);
    const sqliteFile = join(sqliteDir, 'prosody.sqlite');
    log(`prosody-migrator: ${(migUsers * perUser).toLocaleString('en')} messages of ${migUsers} users${subset ? ` (a subset of ${users})` : ''}, files → SQLite…`);
    const { ms } = await migrateToSql(source, { driver: 'SQLite3', database: sqliteFile });
    const sqlite = new Database(sqliteFile, { readonly: true });
    let archiveRows: number;
    let keyvalRows: number;
    try {
      archiveRows = (sqlite.prepare(`SELECT count(*) AS n FROM prosodyarchive WHERE store = 'archive'`).get() as { n: number }).n;
      keyvalRows = (sqlite.prepare(`SELECT count(*) AS n FROM prosody`).get() as { n: number }).n;
    } finally {
      sqlite.close();
    }
    const migMessages = migUsers * perUser;
    if (archiveRows !== migMessages) log(`warning: prosody-migrator wrote ${archiveRows} archive rows, the ${subset ? 'subset' : 'directory'} holds ${migMessages}`);
    log(`prosody-migrator     ${rate(archiveRows, ms).padStart(9)} msg/s  ${(ms / 1000).toFixed(1)} s  (${archiveRows} archive rows, ${keyvalRows} key-value rows)`);
    const perSecond = (n: number, t: number): number => n / (t / 1000);
    return {
      messages,
      users,
      endToEnd: e2e,
      migrator: { users: migUsers, messages: archiveRows, ms, archiveRows, keyvalRows, subset },
      ratio: perSecond(e2e.messages, e2e.ms) / perSecond(archiveRows, ms),
    };
  } finally {
    for (const d of scratchDirs) await rm(d, { recursive: true, force: true });
  }
}

/** The case's lines for the report. */
export function formatProsody(results: ProsodyCaseResult[]): string {
  const rate = (n: number, ms: number): string => Math.round(n / (ms / 1000)).toLocaleString('en');
  const rows = results.map((r) => [
    r.messages.toLocaleString('en'),
    r.users.toLocaleString('en'),
    rate(r.endToEnd.messages, r.endToEnd.ms),
    r.endToEnd.peakRssMb.toFixed(0),
    `${rate(r.migrator.messages, r.migrator.ms)}${r.migrator.subset ? ` (subset: ${r.migrator.messages.toLocaleString('en')} msgs, ${r.migrator.users} users)` : ''}`,
    `${r.ratio.toFixed(0)}×`,
  ]);
  const header = ['messages', 'users', 'xmpp-migrate → pg msg/s', 'peak RSS MB', 'prosody-migrator → SQLite msg/s', 'ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [
    'Prosody case: prosody:DIR (internal file storage) → MongooseIM on PostgreSQL with `run`, against Prosody\'s own',
    'prosody-migrator copying the same files (accounts, roster, archive) into SQLite; ratio = xmpp-migrate msg/s ÷ prosody-migrator msg/s',
    fmt(header),
    fmt(widths.map((w) => '-'.repeat(w))),
    ...rows.map(fmt),
    ...(results.some((r) => r.migrator.subset) ? ['prosody-migrator was measured on a subset: the first users of the same directory, in sorted order.'] : []),
  ].join('\n');
}

// ------------------------------------------------------------------------------------------- standalone

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { messages: { type: 'string' }, users: { type: 'string' }, work: { type: 'string' }, 'migrator-messages': { type: 'string' } } });
  const messages = Number(values.messages ?? 200_000);
  const users = Number(values.users ?? Math.max(1, Math.floor(messages / 1000)));
  if (!(messages > 0 && users > 0 && messages % users === 0)) throw new Error(`${messages} messages do not divide into ${users} users`);
  const work = values.work ?? join(tmpdir(), 'xmig-bench');
  const given = process.env.XMIG_BENCH_PG_URL;
  const server = given ? reused(given) : await startThrowawayPostgres();
  try {
    const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
    const migratorMessages = values['migrator-messages'] ? Number(values['migrator-messages']) : undefined;
    const result = await benchProsody(server.server.url, { messages, users, work, ...(migratorMessages ? { migratorMessages } : {}) }, log);
    process.stdout.write(`${formatProsody([result])}\n`);
  } finally {
    await server.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
