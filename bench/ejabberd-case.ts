// The benchmark's ejabberd SQL source: a database with ejabberd's own single-host PostgreSQL schema (Debian's
// /usr/share/ejabberd/sql/pg.sql, the schema of a default ejabberd install) on the bench's PostgreSQL server,
// filled deterministically by COPY as a stream (memory stays flat whatever the size): `users` (plaintext and
// SCRAM-SHA-1 passwords, as ejabberd_auth_sql stores them), `rosterusers`/`rostergroups` (three contacts each,
// groups, a pending request), and `archive` (mod_mam_sql rows: the stanza as XML, µs timestamps on whole seconds
// with ties, peer and bare_peer, both directions, an origin-id on half, bodies with multi-byte UTF-8, markup and
// entities). Read by `run` as `ejabberd+pg:postgres://…` with `--source-option domain=example.com` (the
// single-host schema stores no domain). The database is kept while its size, seed and this generator (and
// Debian's schema file) are unchanged: the parameters are in its name, the rest in its comment, set last.
//
//   npx tsx bench/ejabberd-case.ts [--messages N] [--users U] [--keep]   (standalone: generate, then `run` it
//   into an empty PostgreSQL database and check every message arrived; XMIG_BENCH_PG_URL for an existing server)
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { EJABBERD_SQL_DIR, loadPgSchema, schemaFile } from '../test/fixtures/ejabberd/helpers.js';
import { reused, startThrowawayPostgres } from '../test/support/postgres-server.js';
import { prng, WORDS } from './prosody-case.js';
import { BENCH_SEED, databaseUrl, runPhaseChild, withPgClient, type SourceSettings } from './phases.js';

const SELF = fileURLToPath(import.meta.url);
/** Holds the word list and PRNG the content comes from: part of the generator's identity. */
const PROSODY_CASE = fileURLToPath(new URL('./prosody-case.js', import.meta.url)).replace(/\.js$/, '.ts');
export const EJABBERD_DOMAIN = 'example.com';
const SCHEMA_FILE = 'pg.sql';
const REMOTE_DOMAIN = 'remote.example.org';

export interface EjabberdSource {
  /** `ejabberd+pg:postgres://…/database`: what `run --source` takes. */
  source: string;
  /** The single-host schema's vhost, as `--source-option domain=…`. */
  sourceSettings: SourceSettings;
  database: string;
  /** True when an earlier run's database was used as it was. */
  reused: boolean;
}

export interface EjabberdRowCounts {
  users: number;
  rosterusers: number;
  rostergroups: number;
  archive: number;
}

// ------------------------------------------------------------------------------------------------ content

/** User names: mostly ASCII, every 25th with a multi-byte character and a dot (as the Prosody case has them). */
function userName(u: number): string {
  return u % 25 === 7 ? `zoé.${u}` : `user${u}`;
}

/** The same passwords as the XEP-0227 export's users. */
function password(u: number): string {
  return `pw-${u}-secret`;
}

/** A user's contacts: the next two users (when there are others) and one remote contact. */
function contacts(u: number, users: number): string[] {
  const local = [1, 2].map((k) => (u + k) % users).filter((v) => v !== u).map((v) => `${userName(v)}@${EJABBERD_DOMAIN}`);
  return [...new Set([...local, `kate${u % 50}@${REMOTE_DOMAIN}`])];
}

const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const xmlAttr = (s: string): string => xmlText(s).replace(/'/g, '&apos;').replace(/"/g, '&quot;');

/** One field of COPY's text format: backslash, tab, newline and carriage return escaped; null as \N. */
function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

const copyLine = (fields: Array<string | number | null>): string => `${fields.map(copyField).join('\t')}\n`;

/** SCRAM-SHA-1 keys as ejabberd_auth_sql stores them: base64 stored key, server key and salt. */
function scramSha1(pw: string, salt: Buffer, iterations: number): { storedKey: string; serverKey: string } {
  const salted = pbkdf2Sync(pw, salt, iterations, 20, 'sha1');
  const clientKey = createHmac('sha1', salted).update('Client Key').digest();
  return {
    storedKey: createHash('sha1').update(clientKey).digest('base64'),
    serverKey: createHmac('sha1', salted).update('Server Key').digest('base64'),
  };
}

function* userRows(users: number): Generator<string> {
  for (let u = 0; u < users; u++) {
    const name = userName(u);
    const created = new Date(Date.UTC(2023, 0, 1) + u * 60_000).toISOString().replace('T', ' ').slice(0, 19);
    // A third with a plaintext password (the run hashes it), the rest SCRAM-SHA-1, as the XEP-0227 export has them.
    if (u % 3 === 0) {
      yield copyLine([name, password(u), '', '', 0, created]);
    } else {
      const salt = createHash('sha256').update(name).digest().subarray(0, 16);
      const keys = scramSha1(password(u), salt, 4096);
      yield copyLine([name, keys.storedKey, keys.serverKey, salt.toString('base64'), 4096, created]);
    }
  }
}

function* rosterRows(users: number): Generator<string> {
  for (let u = 0; u < users; u++) {
    for (const [k, jid] of contacts(u, users).entries()) {
      // mod_roster_sql's codes: subscription B/T/F/N; ask O (pending out) on the remote contact, N otherwise.
      const remote = jid.endsWith(`@${REMOTE_DOMAIN}`);
      const nick = k === 1 ? 'Frère 2' : `Friend ${k + 1}`;
      yield copyLine([userName(u), jid, nick, remote ? 'N' : ['B', 'T'][k % 2]!, remote ? 'O' : 'N', '', 'N', '', 'item']);
    }
  }
}

function* rosterGroupRows(users: number): Generator<string> {
  for (let u = 0; u < users; u++) {
    for (const [k, jid] of contacts(u, users).entries()) {
      yield copyLine([userName(u), jid, 'Friends']);
      if (k === 1) yield copyLine([userName(u), jid, 'Wörk']);
    }
  }
}

/**
 * mod_mam_sql rows, one archive after another: the stanza as ejabberd serialises it (jabber:client), timestamps
 * in µs on whole seconds with ties (30 % of messages share the previous one's second), peer = the other party's
 * JID as routed (full when it sent, bare when it was the recipient), bare_peer, txt = the body.
 */
function* archiveRows(users: number, messagesPerUser: number, seed: number): Generator<string> {
  const random = prng(seed);
  const sentence = (): string => {
    const n = 2 + Math.floor(random() * 20);
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(random() * WORDS.length)]!);
    return words.join(' ');
  };
  for (let u = 0; u < users; u++) {
    const name = userName(u);
    const own = `${name}@${EJABBERD_DOMAIN}`;
    const peers = contacts(u, users);
    let seconds = 1_700_000_000 + u * 3;
    for (let m = 0; m < messagesPerUser; m++) {
      if (random() < 0.7) seconds += 1 + Math.floor(random() * 120);
      const outgoing = random() < 0.5;
      const other = peers[Math.floor(random() * peers.length)]!;
      const from = outgoing ? `${own}/phone` : `${other}/desk`;
      const to = outgoing ? other : own;
      const peer = outgoing ? other : `${other}/desk`;
      const origin = random() < 0.5 ? `<origin-id xmlns='urn:xmpp:sid:0' id='o-${u}-${m}'/>` : '';
      const body = sentence();
      const xml = `<message xml:lang='en' to='${xmlAttr(to)}' from='${xmlAttr(from)}' type='chat' id='m-${u}-${m}' xmlns='jabber:client'><body>${xmlText(body)}</body>${origin}</message>`;
      yield copyLine([name, seconds * 1_000_000, peer, other, xml, body, 'chat', '']);
    }
  }
}

/** Rows in chunks of about 64 KiB: COPY gets few large writes, and back-pressure holds the generator. */
async function copyRows(client: pg.Client, table: string, columns: string[], rows: Iterable<string>): Promise<number> {
  function* chunks(): Generator<string> {
    let chunk = '';
    for (const row of rows) {
      chunk += row;
      if (chunk.length >= 1 << 16) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  const copy = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  try {
    await pipeline(Readable.from(chunks()), copy);
  } catch (err) {
    throw new Error(`COPY into ejabberd's ${table} failed: ${(err as Error).message}`, { cause: err });
  }
  return copy.rowCount;
}

/** Loads ejabberd's schema into the empty database at `url` and fills it (see the header). */
export async function writeEjabberdDatabase(url: string, options: { users: number; messagesPerUser: number; seed?: number }): Promise<EjabberdRowCounts> {
  const { users, messagesPerUser } = options;
  await loadPgSchema(url, schemaFile(SCHEMA_FILE));
  return withPgClient(url, async (client) => {
    // The archive's indexes are built once after the load, not maintained row by row (as a restore does).
    const { rows: indexes } = await client.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'archive'`,
    );
    for (const { indexname } of indexes) await client.query(`DROP INDEX "${indexname}"`);
    const counts: EjabberdRowCounts = {
      users: await copyRows(client, 'users', ['username', 'password', 'serverkey', 'salt', 'iterationcount', 'created_at'], userRows(users)),
      rosterusers: await copyRows(client, 'rosterusers', ['username', 'jid', 'nick', 'subscription', 'ask', 'askmessage', 'server', 'subscribe', 'type'], rosterRows(users)),
      rostergroups: await copyRows(client, 'rostergroups', ['username', 'jid', 'grp'], rosterGroupRows(users)),
      archive: await copyRows(client, 'archive', ['username', 'timestamp', 'peer', 'bare_peer', 'xml', 'txt', 'kind', 'nick'], archiveRows(users, messagesPerUser, options.seed ?? BENCH_SEED)),
    };
    for (const { indexdef } of indexes) await client.query(indexdef);
    // Statistics for the planner, and hint bits set now: the timed run's first read does not rewrite every page.
    await client.query('VACUUM (ANALYZE)');
    return counts;
  });
}

// ------------------------------------------------------------------------------------------- the database

/** What the database's comment must say for it to be reused: parameters, this file and Debian's schema file. */
function generationKey(messages: number, users: number): string {
  const generator = createHash('sha256').update(readFileSync(SELF)).update(readFileSync(PROSODY_CASE)).update(schemaFile(SCHEMA_FILE)).digest('hex').slice(0, 12);
  return `xmig-bench ejabberd source: ${messages} messages, ${users} users, seed ${BENCH_SEED}, generator ${generator}`;
}

/** The name of the source database for a size: the same in every run, so a later run finds it. */
export function ejabberdDatabaseName(messages: number, users: number): string {
  return `xmig_bench_ejabberd_src_${messages}m_${users}u`;
}

/**
 * The ejabberd source for `messages` archived messages over `users` users on the PostgreSQL server at
 * `serverUrl` (a superuser URL), generated unless a complete one of the same generation is there already.
 */
export async function ensureEjabberdSource(serverUrl: string, messages: number, users: number, log: (s: string) => void = () => undefined): Promise<EjabberdSource> {
  if (messages % users !== 0) throw new Error(`ejabberd source: ${messages} messages do not divide into ${users} users`);
  const database = ejabberdDatabaseName(messages, users);
  const url = databaseUrl(serverUrl, database);
  const key = generationKey(messages, users);
  const result = (wasReused: boolean): EjabberdSource => ({
    source: `ejabberd+pg:${url}`,
    sourceSettings: { domain: EJABBERD_DOMAIN },
    database,
    reused: wasReused,
  });
  const note = await withPgClient(serverUrl, async (c) => {
    const { rows } = await c.query<{ note: string | null }>(`SELECT shobj_description(oid, 'pg_database') AS note FROM pg_database WHERE datname = $1`, [database]);
    return rows.length === 0 ? undefined : (rows[0]!.note ?? '');
  });
  if (note === key) {
    log(`ejabberd source database ${database} (reused)`);
    return result(true);
  }
  // Another generation, or one that stopped halfway (the comment is set last).
  if (note !== undefined) await dropEjabberdSource(serverUrl, database);
  const t0 = performance.now();
  log(`generating an ejabberd SQL database (${EJABBERD_SQL_DIR}/${SCHEMA_FILE}): ${messages.toLocaleString('en')} messages for ${users} users…`);
  await withPgClient(serverUrl, (c) => c.query(`CREATE DATABASE "${database}"`));
  try {
    const counts = await writeEjabberdDatabase(url, { users, messagesPerUser: messages / users });
    if (counts.archive !== messages) throw new Error(`ejabberd source: wrote ${counts.archive} archive rows, expected ${messages}`);
    await withPgClient(serverUrl, (c) => c.query(`COMMENT ON DATABASE "${database}" IS '${key.replace(/'/g, "''")}'`));
    log(`ejabberd source database ${database}: ${counts.users} users, ${counts.rosterusers} roster items, ${counts.archive} archive rows (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    await dropEjabberdSource(serverUrl, database).catch(() => undefined);
    throw err;
  }
  return result(false);
}

export async function dropEjabberdSource(serverUrl: string, database: string): Promise<void> {
  await withPgClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
}

// ------------------------------------------------------------------------------------------- standalone

/** Generates the source, `run`s it into an empty PostgreSQL database in a child process, and checks the counts. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { messages: { type: 'string' }, users: { type: 'string' }, keep: { type: 'boolean', default: false } } });
  const messages = Number(values.messages ?? 2_000);
  const users = Number(values.users ?? Math.max(1, Math.floor(messages / 1000)));
  if (!(Number.isInteger(messages) && Number.isInteger(users) && messages > 0 && users > 0 && messages % users === 0)) {
    throw new Error(`--messages ${values.messages} and --users ${values.users}: positive integers, the messages a multiple of the users`);
  }
  const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
  const given = process.env.XMIG_BENCH_PG_URL;
  const server = given ? reused(given) : await startThrowawayPostgres();
  const serverUrl = server.server.url;
  const scratch = await mkdtemp(join(tmpdir(), 'xmig-ejabberd-'));
  const target = `xmig_bench_ejabberd_e2e_${process.pid}`;
  let source: EjabberdSource | undefined;
  try {
    source = await ensureEjabberdSource(serverUrl, messages, users, log);
    await withPgClient(serverUrl, (c) => c.query(`CREATE DATABASE "${target}"`));
    const rejectFile = join(scratch, 'rejects.ndjson');
    const result = await runPhaseChild({ phase: 'end-to-end', source: source.source, sourceSettings: source.sourceSettings, target: databaseUrl(serverUrl, target), rejectFile }, [], 'ejabberd end-to-end');
    const rate = Math.round(result.messages / (result.ms / 1000)).toLocaleString('en');
    process.stdout.write(`ejabberd+pg → PostgreSQL: ${result.messages.toLocaleString('en')} of ${messages.toLocaleString('en')} messages in ${(result.ms / 1000).toFixed(1)} s (${rate} msg/s), ` +
      `${result.rejected} rejected, peak RSS ${result.peakRssMb.toFixed(0)} MB; rows written: ${JSON.stringify(result.rows)}\n`);
    if (result.rejected > 0) process.stdout.write(`rejects:\n${readFileSync(rejectFile, 'utf8').split('\n').slice(0, 20).join('\n')}\n`);
    if (result.messages !== messages || result.rejected > 0) process.exitCode = 1;
  } finally {
    await withPgClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${target}" WITH (FORCE)`)).catch(() => undefined);
    if (source && !values.keep) await dropEjabberdSource(serverUrl, source.database).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
    await server.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
