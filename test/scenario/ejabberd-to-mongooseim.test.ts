// Real ejabberd 23.01 nodes (Debian's package, test/fixtures/ejabberd/), seeded with real traffic, migrated by the
// real CLI into fresh MongooseIM databases on PostgreSQL, and asserted row by row against the source's own rows:
// - PostgreSQL, multi-host schema (pg.new.sql): example.test (SCRAM-SHA-1, plain XML) and other.test
//   (SCRAM-SHA-512, mod_mam compress_xml);
// - MariaDB, single-host schema (mysql.sql): example.test with SCRAM-SHA-256, read with --source-option domain=;
// - Mnesia: accounts, roster, vCard, private XML and an offline message from ejabberdctl, `export_piefxis`, then
//   the XEP-0227 path;
// - bad rows written into a copy of the PostgreSQL source: each rejected with table, key and reason, the rest
//   migrated.
// The MongooseIM side is read back with its own encodings decoded here: MAM ids (µs << 8), mam_jid_mini, the
// compressed exml term of each stored message, `==MULTI_SCRAM==` checked by a full RFC 5802 exchange.
// XMIG_SEED_TRACE=1 prints the steps with times.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { Element as LtxElement, equal as ltxEqual, parse as parseLtx } from 'ltx';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErlangTerm } from '../../src/adapters/erlang-term-text.js';
import { main } from '../../src/cli/main.js';
import { parsePassDetails } from '../../src/encoding/scram.js';
import type { ScramAlgorithm, ScramHash } from '../../src/records.js';
import { type FreshDatabase, freshMysqlDatabase, freshPostgresDatabase, mysqlServer, postgresServer } from '../support/databases.js';
import { EjabberdServer, type EjabberdSql } from '../fixtures/ejabberd/ejabberd-server.js';
import { decodeEtf } from '../fixtures/ejabberd/etf-decode.js';
import { loadMysqlSchema, loadPgSchema, mysqlQuery, pgQuery, schemaFile } from '../fixtures/ejabberd/helpers.js';
import { PASSWORD, UNICODE_PASSWORD, type MnesiaSeed, type SeedResult, seedCompressed, seedMain, seedMnesia } from '../fixtures/ejabberd/seed.js';

const D = 'example.test';
const OTHER = 'other.test';
const M = 'mnesia.test';

type Row = Record<string, unknown>;

interface SqlNode {
  name: string;
  db: FreshDatabase;
  /** `--source` */
  source: string;
  /** `--source-option`s */
  options: string[];
  multiHost: boolean;
  /** The hash ejabberd stored, per vhost. */
  hashes: Record<string, ScramAlgorithm>;
  server: EjabberdServer;
  query(sql: string): Promise<Row[]>;
  seeded: SeedResult[];
}

const nodes = {} as Record<'multi' | 'maria', SqlNode>;
let mnesia: { seed: MnesiaSeed; index: string; window: { from: bigint; to: bigint } };
let work: string;
let bad: BadCopy;
/** Each source migrated by the CLI into a fresh MongooseIM database, as soon as the source was ready. */
const migrations = {} as Record<'multi' | 'maria' | 'mnesia' | 'bad', Migration>;
const databases: FreshDatabase[] = [];
const servers: EjabberdServer[] = [];
const roots: string[] = [];

function trace(what: string): void {
  if (process.env.XMIG_SEED_TRACE) process.stderr.write(`[scenario ${new Date().toISOString().slice(11, 23)}] ${what}\n`);
}

function sqlFor(kind: 'pgsql' | 'mysql', db: FreshDatabase, multiHost: boolean): EjabberdSql {
  const s = kind === 'pgsql' ? postgresServer() : mysqlServer();
  return { type: kind, host: s.host, port: s.port, database: db.name, user: s.user, password: s.password, multiHost };
}

async function root(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'xmig-ej-e2e-'));
  roots.push(dir);
  return dir;
}

/** ejabberd writes `last` when a session ends, after the client has gone: wait for it before stopping the node. */
async function settled(node: SqlNode, loggedIn: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const rows = await node.query(`SELECT count(*) AS n FROM last WHERE state <> 'Registered but didn''t login'`);
    if (Number(rows[0]?.n) >= loggedIn) return;
    if (Date.now() > deadline) throw new Error(`${node.name}: ejabberd did not record the logouts`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function seedSqlNode(node: SqlNode, seed: () => Promise<SeedResult[]>, loggedIn: number): Promise<void> {
  await node.server.start();
  trace(`${node.name}: started`);
  node.seeded = await seed();
  await settled(node, loggedIn);
  trace(`${node.name}: seeded`);
  const errors = (await node.server.errors()).trim();
  // The data is in the database now: free the CPU for the migrations.
  await node.server.stop();
  trace(`${node.name}: stopped`);
  if (errors) throw new Error(`${node.name}: ejabberd logged errors while seeding:\n${errors}`);
}

beforeAll(async () => {
  trace('beforeAll');
  work = await mkdtemp(join(tmpdir(), 'xmig-ej-e2e-work-'));
  const mnesiaServer = new EjabberdServer({ root: await root(), hosts: [M] });
  servers.push(mnesiaServer);
  // Each node's database is made and loaded while the others start.
  const multi = async (): Promise<SqlNode> => {
    const db = await freshPostgresDatabase('ej_src_multi');
    databases.push(db);
    await loadPgSchema(db.url, schemaFile('pg.new.sql'));
    const server = new EjabberdServer({ root: await root(), hosts: [D, OTHER], sql: sqlFor('pgsql', db, true), hostConfig: { [OTHER]: { scramHash: 'sha512', compressXml: true } } });
    servers.push(server);
    trace('PostgreSQL multi-host: schema loaded');
    return (nodes.multi = {
      name: 'PostgreSQL multi-host',
      db,
      source: `ejabberd+pg:${db.url}`,
      options: [],
      multiHost: true,
      hashes: { [D]: 'sha1', [OTHER]: 'sha512' },
      server,
      query: (sql) => pgQuery(db.url, sql),
      seeded: [],
    });
  };
  const maria = async (): Promise<SqlNode> => {
    const db = await freshMysqlDatabase('ej_src_single');
    databases.push(db);
    await loadMysqlSchema(db.url, schemaFile('mysql.sql'));
    const server = new EjabberdServer({ root: await root(), hosts: [D], sql: sqlFor('mysql', db, false), scramHash: 'sha256' });
    servers.push(server);
    trace('MariaDB single-host: schema loaded');
    return (nodes.maria = {
      name: 'MariaDB single-host',
      db,
      source: `ejabberd+mysql:${db.url}`,
      options: ['--source-option', `domain=${D}`],
      multiHost: false,
      hashes: { [D]: 'sha256' },
      server,
      query: (sql) => mysqlQuery(db.url, sql),
      seeded: [],
    });
  };
  // allSettled: a failing chain must not let afterAll run while another node is still starting.
  const chains = await Promise.allSettled([
    (async () => {
      const node = await multi();
      await seedSqlNode(node, () => Promise.all([seedMain(node.server, D), seedCompressed(node.server, OTHER)]), 5);
      // Copied before anything reads it: a template database must have no other session.
      bad = await badCopy();
      [migrations.multi, migrations.bad] = await Promise.all([migrate(node.source, node.options, 'mim_from_multi'), migrate(bad.source, [], 'mim_from_bad')]);
    })(),
    (async () => {
      const node = await maria();
      await seedSqlNode(node, async () => [await seedMain(node.server, D)], 3);
      migrations.maria = await migrate(node.source, node.options, 'mim_from_maria');
    })(),
    (async () => {
      trace('Mnesia: starting');
      await mnesiaServer.start();
      trace('Mnesia: started');
      const from = BigInt(Date.now()) * 1000n;
      const seed = await seedMnesia(mnesiaServer, M);
      const to = BigInt(Date.now()) * 1000n;
      const exported = await mnesiaServer.exportPiefxis();
      trace('Mnesia: exported');
      const errors = (await mnesiaServer.errors()).trim();
      // The node's root goes on stop: keep the export.
      const dir = join(work, 'piefxis');
      await cp(dirname(exported), dir, { recursive: true });
      await mnesiaServer.stop();
      trace('Mnesia: stopped');
      if (errors) throw new Error(`Mnesia: ejabberd logged errors while seeding:\n${errors}`);
      mnesia = { seed, index: join(dir, basename(exported)), window: { from, to } };
      migrations.mnesia = await migrate(`xep0227:${mnesia.index}`, [], 'mim_from_mnesia');
    })(),
  ]);
  const failed = chains.filter((c): c is PromiseRejectedResult => c.status === 'rejected');
  if (failed.length > 0) throw failed.length === 1 ? failed[0]!.reason : new AggregateError(failed.map((f) => f.reason as unknown), 'several nodes failed');
  trace('beforeAll done');
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(servers.map((server) => server.stop()));
  await Promise.allSettled(databases.map((db) => db.drop()));
  await Promise.allSettled([...roots, work].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })));
});

interface BadCopy {
  db: FreshDatabase;
  source: string;
  /** The key of the archive row with broken XML, as a reject names it. */
  archiveKey: string;
}

/**
 * A copy of the seeded multi-host database (ejabberd is stopped and nothing else may be connected, as CREATE
 * DATABASE … TEMPLATE requires), then three bad rows inserted: archive XML that is not well-formed, a roster row
 * with an unknown subscription code, a user name with a character nodeprep forbids.
 */
async function badCopy(): Promise<BadCopy> {
  const admin = new pg.Client({ connectionString: postgresServer().url });
  const name = `${nodes.multi.db.name.slice(0, 40)}_bad`;
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${nodes.multi.db.name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(nodes.multi.db.url);
  url.pathname = `/${name}`;
  const db: FreshDatabase = {
    name,
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: postgresServer().url });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => c.end());
    },
  };
  databases.push(db);
  const [last] = await pgQuery(db.url, `SELECT max(timestamp)::text AS ts FROM archive WHERE server_host = $1 AND username = 'bob'`, [D]);
  const ts = (BigInt(text(last!.ts)) + 1n).toString();
  const [inserted] = await pgQuery(
    db.url,
    `INSERT INTO archive (username, server_host, timestamp, peer, bare_peer, xml, txt, kind, nick)
     VALUES ('bob', $1, $2, $3, $4, $5, 'broken', 'chat', '') RETURNING id`,
    [D, ts, `alice@${D}/phone`, `alice@${D}`, `<message from='alice@${D}/phone' to='bob@${D}' type='chat'><body>broken</message>`],
  );
  await pgQuery(
    db.url,
    `INSERT INTO rosterusers (username, server_host, jid, nick, subscription, ask, askmessage, server, subscribe, type)
     VALUES ('alice', $1, $2, 'Zed', 'X', 'N', '', 'N', '', 'item')`,
    [D, `zed@${D}`],
  );
  await pgQuery(db.url, `INSERT INTO users (username, server_host, password) VALUES ('eve&co', $1, 'plain-pw')`, [D]);
  return { db, source: `ejabberd+pg:${db.url}`, archiveKey: `server_host=${D} username=bob timestamp=${ts} id=${text(inserted!.id)}` };
}

// ---------------------------------------------------------------------------------------------------------
// Running the CLI in-process

interface Migration {
  code: number;
  target: FreshDatabase;
  rejectFile: string;
  stderr: string;
}

async function migrate(source: string, options: string[], hint: string): Promise<Migration> {
  const target = await freshPostgresDatabase(hint);
  databases.push(target);
  const rejectFile = join(work, `${hint}-rejects.ndjson`);
  let stderr = '';
  const t0 = performance.now();
  const code = await main(
    ['run', '--source', source, ...options, '--target', target.url, '--create-schema', '--quiet', '--reject-file', rejectFile],
    { stdout: { write: () => undefined }, stderr: { write: (s: string) => void (stderr += s) } },
  );
  trace(`${hint}: migrated in ${Math.round(performance.now() - t0)} ms, exit ${code}`);
  return { code, target, rejectFile, stderr };
}

interface RejectLine {
  stream: string;
  kind?: string;
  code: string;
  reason: string;
  location?: { source: string; table?: string; key?: string };
}

async function rejectsOf(m: Migration): Promise<RejectLine[]> {
  if (!existsSync(m.rejectFile)) return [];
  return (await readFile(m.rejectFile, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as RejectLine);
}

/**
 * The exit code of a clean run, with the rejects in the failure message when there are any. stderr may carry
 * notes (kinds the writer does not handle yet are skipped and say so), never errors.
 */
async function expectClean(m: Migration): Promise<void> {
  const rejects = await rejectsOf(m);
  const errors = m.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('note: '));
  expect({ code: m.code, errors, rejects: rejects.map((r) => `${r.code}: ${r.reason}`) }).toEqual({ code: 0, errors: [], rejects: [] });
}

interface VerifyJson {
  parity: boolean;
  differences: unknown[];
  archivesCompared: number;
  messagesInSource: number;
  messagesInTarget: number;
  kinds: Array<{ kind: string; source: number; targetRows: number }>;
}

async function verify(source: string, options: string[], target: FreshDatabase): Promise<{ code: number; report: VerifyJson }> {
  let out = '';
  let err = '';
  const code = await main(['verify', '--source', source, ...options, '--target', target.url, '--json'], {
    stdout: { write: (s: string) => void (out += s) },
    stderr: { write: (s: string) => void (err += s) },
  });
  expect(err).toBe('');
  return { code, report: JSON.parse(out) as VerifyJson };
}

async function targetQuery<T = Row>(db: FreshDatabase, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Decoding what MongooseIM stores, written here from MongooseIM's definitions (not with the writer's code)

interface SimpleJid {
  local: string;
  domain: string;
  resource: string;
}

/** Splits a JID that is already in normal form (every JID seeded here is lower-case ASCII up to its resource). */
function splitJid(jid: string): SimpleJid {
  const slash = jid.indexOf('/');
  const bare = slash === -1 ? jid : jid.slice(0, slash);
  const at = bare.indexOf('@');
  return {
    local: at === -1 ? '' : bare.slice(0, at).toLowerCase(),
    domain: (at === -1 ? bare : bare.slice(at + 1)).toLowerCase(),
    resource: slash === -1 ? '' : jid.slice(slash + 1),
  };
}

const bareOf = (jid: string): string => {
  const j = splitJid(jid);
  return j.local ? `${j.local}@${j.domain}` : j.domain;
};

/** mam_jid_mini (mod_mam_utils:jid_to_opt_binary/2): the JID written relative to the archive owner. */
function mini(owner: string, jid: string): string {
  const o = splitJid(owner);
  const j = splitJid(jid);
  if (j.domain === o.domain) {
    if (j.local === '' && j.resource === '') return ':';
    if (j.local === o.local) return j.resource === '' ? '' : `/${j.resource}`;
    if (j.resource === '') return j.local;
    return j.local === '' ? `:/${j.resource}` : `${j.local}/${j.resource}`;
  }
  return j.resource === '' ? `${j.domain}:${j.local}` : `${j.domain}@${j.local}/${j.resource}`;
}

function binaryText(term: ErlangTerm | undefined): string {
  if (term?.type !== 'binary') throw new Error(`expected a binary, got ${JSON.stringify(term)}`);
  return term.bytes.toString('utf8');
}

/** An exml term (`{xmlel, Name, Attrs, Children}`, `{xmlcdata, Text, …}`) as an ltx element. */
function exmlToLtx(term: ErlangTerm): LtxElement {
  if (term.type !== 'tuple' || term.items[0]?.type !== 'atom' || term.items[0].name !== 'xmlel') throw new Error(`not an xmlel: ${JSON.stringify(term)}`);
  const [, name, attrs, children] = term.items;
  const pairs: Array<[ErlangTerm, ErlangTerm]> =
    attrs?.type === 'map' ? attrs.entries : attrs?.type === 'list' ? attrs.items.map((p) => (p.type === 'tuple' ? [p.items[0]!, p.items[1]!] : [p, p])) : [];
  const el = new LtxElement(binaryText(name), Object.fromEntries(pairs.map(([k, v]) => [binaryText(k), binaryText(v)])));
  if (children?.type !== 'list') throw new Error('xmlel children are not a list');
  for (const child of children.items) {
    if (child.type === 'tuple' && child.items[0]?.type === 'atom' && child.items[0].name === 'xmlcdata') el.t(binaryText(child.items[1]));
    else el.cnode(exmlToLtx(child));
  }
  return el;
}

/** mam_message.message / mam_muc_message.message as written with db_message_format mam_message_compressed_eterm. */
function storedMessage(bytes: Buffer): LtxElement {
  expect(bytes[0]).toBe(131);
  // term_to_binary(T, [compressed]): 131, 80, the term's size, zlib; or the plain term when that is not smaller.
  const plain = bytes[1] === 80 ? Buffer.concat([Buffer.from([131]), inflateSync(bytes.subarray(6))]) : bytes;
  if (bytes[1] === 80) expect(plain.length - 1).toBe(bytes.readUInt32BE(2));
  return exmlToLtx(decodeEtf(plain));
}

const KEY_BYTES: Record<ScramAlgorithm, number> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

function xor(a: Buffer, b: Buffer): Buffer {
  return Buffer.from(a.map((byte, i) => byte ^ (b[i] as number)));
}

/**
 * A whole RFC 5802 exchange against stored keys: the client derives ClientKey from the password (PBKDF2 with the
 * stored salt and count) and sends ClientProof; the server recovers ClientKey from the proof with its StoredKey and
 * checks H(ClientKey) = StoredKey; the client then checks the ServerSignature the server makes with its ServerKey.
 */
function scramLogin(user: string, password: string, hash: ScramHash): boolean {
  const alg = hash.algorithm;
  const hmac = (key: Buffer, text: string): Buffer => createHmac(alg, key).update(text).digest();
  const clientNonce = randomBytes(18).toString('base64');
  const nonce = `${clientNonce}${randomBytes(18).toString('base64')}`;
  const authMessage = `n=${user},r=${clientNonce},r=${nonce},s=${hash.salt.toString('base64')},i=${hash.iterations},c=biws,r=${nonce}`;
  // client
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), hash.salt, hash.iterations, KEY_BYTES[alg], alg);
  const clientKey = hmac(salted, 'Client Key');
  const clientProof = xor(clientKey, hmac(createHash(alg).update(clientKey).digest(), authMessage));
  // server, from what it stored
  const recovered = xor(clientProof, hmac(hash.storedKey, authMessage));
  const proofOk = createHash(alg).update(recovered).digest().equals(hash.storedKey);
  const serverSignature = hmac(hash.serverKey, authMessage);
  // client checks the server
  const serverOk = serverSignature.equals(hmac(hmac(salted, 'Server Key'), authMessage));
  return proofOk && serverOk;
}

function passwordOf(user: string): string {
  return user === 'carol' ? UNICODE_PASSWORD : PASSWORD;
}

// ---------------------------------------------------------------------------------------------------------
// The source's own rows, and what each must become

const text = (v: unknown): string => (v === null || v === undefined ? '' : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

/** What seedMain/seedCompressed sent, by body: who sent it and its XEP-0359 origin-id. */
function sentByBody(node: SqlNode): Map<string, { from: string; id?: string; originId?: string }> {
  const out = new Map<string, { from: string; id?: string; originId?: string }>();
  // The <origin-id>s seed.ts attaches (its SeededChat does not carry them).
  const originIds: Record<string, string> = { 'chat-1': 'origin-1', 'chat-3': 'origin-3', 'gc-1': 'origin-gc-1', 'z-1': 'origin-z-1' };
  for (const seeded of node.seeded) {
    for (const c of seeded.chats) out.set(c.body, { from: c.from, id: c.id, ...(originIds[c.id] ? { originId: originIds[c.id] } : {}) });
    for (const g of seeded.groupchats) out.set(g.body, { from: g.realJid, id: g.id, ...(originIds[g.id] ? { originId: originIds[g.id] } : {}) });
  }
  // seedMain's `ejabberdctl send_message` from alice's bare JID
  out.set('via ctl 1', { from: `alice@${D}` });
  return out;
}

interface ArchiveSourceRow {
  host: string;
  username: string;
  ts: string;
  id: string;
  peer: string;
  txt: string;
  kind: string;
  nick: string;
}

async function archiveRows(node: SqlNode): Promise<ArchiveSourceRow[]> {
  const host = node.multiHost ? 'server_host' : `'${D}'`;
  const rows = await node.query(`SELECT ${host} AS host, username, timestamp AS ts, id, peer, txt, kind, nick FROM archive`);
  return rows.map((r) => ({ host: text(r.host), username: text(r.username), ts: text(r.ts), id: text(r.id), peer: text(r.peer), txt: text(r.txt), kind: text(r.kind), nick: text(r.nick) }));
}

/** Each personal archive row as mam_message must hold it. */
function expectedUserMessages(node: SqlNode, rows: ArchiveSourceRow[]): Row[] {
  const sent = sentByBody(node);
  return rows
    .filter((r) => r.kind !== 'groupchat')
    .map((r) => {
      const owner = `${r.username}@${r.host}`;
      const origin = sent.get(r.txt);
      if (!origin) throw new Error(`${node.name}: archive row ${r.id} (${owner}) holds ${JSON.stringify(r.txt)}, which the seeding did not send`);
      const outgoing = bareOf(origin.from) === owner;
      return {
        archive: owner,
        micros: r.ts,
        direction: outgoing ? 'O' : 'I',
        remote_bare_jid: mini(owner, bareOf(r.peer)),
        remote_resource: splitJid(r.peer).resource,
        from_jid: mini(owner, origin.from),
        body: r.txt,
        // ejabberdctl send_message makes its own id
        id: origin.id ?? expect.any(String),
        origin_id: origin.originId ?? null,
        is_groupchat: false,
      };
    })
    .sort(byArchiveTime);
}

function byArchiveTime(a: Row, b: Row): number {
  return text(a.archive).localeCompare(text(b.archive)) || Number(BigInt(text(a.micros)) - BigInt(text(b.micros)));
}

async function actualUserMessages(target: FreshDatabase): Promise<Row[]> {
  const rows = await targetQuery<{ owner: string; id: string; direction: string; remote_bare_jid: string; remote_resource: string; from_jid: string; message: Buffer; origin_id: string | null; is_groupchat: boolean }>(
    target,
    `SELECT u.user_name || '@' || u.server AS owner, m.id::text AS id, m.direction::text AS direction, m.remote_bare_jid, m.remote_resource, m.from_jid, m.message, m.origin_id, m.is_groupchat
     FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id`,
  );
  return rows
    .map((r) => {
      const message = storedMessage(r.message);
      return {
        archive: r.owner,
        micros: (BigInt(r.id) >> 8n).toString(),
        direction: r.direction,
        remote_bare_jid: r.remote_bare_jid,
        remote_resource: r.remote_resource,
        from_jid: r.from_jid,
        body: message.getChildText('body') ?? '',
        id: message.attrs.id,
        origin_id: r.origin_id,
        is_groupchat: r.is_groupchat,
      };
    })
    .sort(byArchiveTime);
}

/** Each room archive row as mam_muc_message must hold it: the nick, the sender's bare JID, the real JID only in muc#user. */
function expectedRoomMessages(node: SqlNode, rows: ArchiveSourceRow[]): Row[] {
  const sent = sentByBody(node);
  return rows
    .filter((r) => r.kind === 'groupchat')
    .map((r) => ({
      archive: r.username,
      micros: r.ts,
      nick: r.nick,
      sender: bareOf(r.peer),
      body: r.txt,
      from: `${r.username}/${r.nick}`,
      realJid: bareOf(r.peer),
      leaks: 0,
      origin_id: sent.get(r.txt)?.originId ?? null,
    }))
    .sort(byArchiveTime);
}

async function actualRoomMessages(target: FreshDatabase): Promise<Row[]> {
  const rows = await targetQuery<{ room: string; id: string; nick_name: string; sender: string; message: Buffer; origin_id: string | null }>(
    target,
    `SELECT r.user_name || '@' || r.server AS room, m.id::text AS id, m.nick_name, s.user_name || '@' || s.server AS sender, m.message, m.origin_id
     FROM mam_muc_message m JOIN mam_server_user r ON r.id = m.room_id JOIN mam_server_user s ON s.id = m.sender_id`,
  );
  return rows
    .map((r) => {
      const message = storedMessage(r.message);
      const item = message.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('item');
      const real = item?.attrs.jid ?? '';
      // Anything else in the stanza that names the sender's real JID would reveal it in a semi-anonymous room.
      const withoutItem = message.toString().replace(real === '' ? /$^/ : new RegExp(`jid=["']${real.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}["']`), '');
      return {
        archive: r.room,
        micros: (BigInt(r.id) >> 8n).toString(),
        nick: r.nick_name,
        sender: r.sender,
        body: message.getChildText('body') ?? '',
        from: message.attrs.from,
        realJid: real === '' ? '' : bareOf(real),
        leaks: real === '' ? 0 : withoutItem.split(bareOf(real)).length - 1,
        origin_id: r.origin_id,
      };
    })
    .sort(byArchiveTime);
}

async function rosterSource(node: SqlNode): Promise<Row[]> {
  const host = node.multiHost ? 'server_host' : `'${D}'`;
  const users = await node.query(`SELECT ${host} AS host, username, jid, nick, subscription, ask, askmessage FROM rosterusers`);
  const groups = await node.query(`SELECT ${host} AS host, username, jid, grp FROM rostergroups`);
  const groupsOf = (u: Row): string =>
    groups
      .filter((g) => text(g.host) === text(u.host) && text(g.username) === text(u.username) && text(g.jid) === text(u.jid))
      .map((g) => text(g.grp))
      .sort()
      .join('|');
  return users
    .map((u) => ({
      owner: `${text(u.username)}@${text(u.host)}`,
      jid: text(u.jid),
      nick: text(u.nick),
      subscription: text(u.subscription).trim(),
      ask: text(u.ask).trim(),
      askmessage: text(u.askmessage),
      groups: groupsOf(u),
    }))
    .sort((a, b) => `${a.owner} ${a.jid}`.localeCompare(`${b.owner} ${b.jid}`));
}

async function rosterTarget(target: FreshDatabase): Promise<Row[]> {
  const rows = await targetQuery(
    target,
    `SELECT r.username || '@' || r.server AS owner, r.jid, r.nick, trim(r.subscription) AS subscription, trim(r.ask) AS ask, r.askmessage,
            coalesce((SELECT string_agg(g.grp, '|' ORDER BY g.grp COLLATE "C") FROM rostergroups g WHERE g.server = r.server AND g.username = r.username AND g.jid = r.jid), '') AS groups
     FROM rosterusers r`,
  );
  return rows.map((r): Row => ({ ...r, groups: text(r.groups).split('|').sort().join('|') })).sort((a, b) => `${text(a.owner)} ${text(a.jid)}`.localeCompare(`${text(b.owner)} ${text(b.jid)}`));
}

/** The XML of two rows is the same element (ejabberd writes 'single' quotes, the writer "double" ones). */
function sameXml(a: string, b: string): boolean {
  return ltxEqual(parseLtx(a), parseLtx(b));
}

/** Children the storing server added: its delay, and ejabberd's archive id marks for `owner`. */
function serverMarks(stanza: LtxElement, owner: string): string[] {
  return stanza
    .getChildElements()
    .filter((c) => (c.name === 'delay' && c.attrs.xmlns === 'urn:xmpp:delay') || ((c.name === 'archived' || c.name === 'stanza-id') && c.attrs.by === owner))
    .map((c) => c.name);
}

/** XEP-0082 date-time → µs since the epoch. */
function micros(stamp: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(stamp);
  if (!m) throw new Error(`not an XEP-0082 UTC stamp: ${stamp}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0').slice(0, 6));
}

// ---------------------------------------------------------------------------------------------------------

describe.each([
  { key: 'multi' as const, title: 'ejabberd on PostgreSQL, multi-host schema (two vhosts, one with compress_xml)' },
  { key: 'maria' as const, title: 'ejabberd on MariaDB, single-host schema' },
])('$title, migrated into MongooseIM on PostgreSQL', ({ key }) => {
  let node: SqlNode;
  let migration: Migration;

  beforeAll(() => {
    node = nodes[key];
    migration = migrations[key];
  });

  it('exits 0 with nothing rejected', async () => {
    await expectClean(migration);
  });

  it('keeps every archived message once, with its original µs time, direction, peer and sender', async () => {
    const source = await archiveRows(node);
    const expected = expectedUserMessages(node, source);
    // The seeding reached the archive: both directions, a peer with a resource, Unicode and emoji, every vhost.
    expect(expected.filter((r) => r.direction === 'O').length).toBeGreaterThan(0);
    expect(expected.filter((r) => r.direction === 'I').length).toBeGreaterThan(0);
    expect(expected.some((r) => r.remote_resource !== '')).toBe(true);
    expect(expected.some((r) => /😀/u.test(text(r.body)))).toBe(true);
    expect(new Set(expected.map((r) => text(r.archive).split('@')[1]))).toEqual(new Set(Object.keys(node.hashes)));
    expect(await actualUserMessages(migration.target)).toEqual(expected);
  });

  it('keeps every room message once, with its time, nick and sender, and the real JID only in the muc#user item', async () => {
    const expected = expectedRoomMessages(node, await archiveRows(node));
    expect(expected.length).toBeGreaterThanOrEqual(node.multiHost ? 4 : 3);
    expect(await actualRoomMessages(migration.target)).toEqual(expected);
  });

  it('migrates rosters with the right codes, groups and pending requests', async () => {
    const expected = await rosterSource(node);
    // What the seeding made: a contact in a non-ASCII group, a stranger's pending request with its text.
    expect(expected.some((r) => text(r.groups).includes('Ünïcode ✓'))).toBe(true);
    expect(expected).toContainEqual(expect.objectContaining({ owner: `bob@${D}`, jid: `mallory@${D}`, subscription: 'N', ask: 'I', askmessage: 'please add me 🙏' }));
    expect(await rosterTarget(migration.target)).toEqual(expected);
  });

  it('migrates vCards, private XML and offline messages with their original times', async () => {
    const host = node.multiHost ? 'server_host' : `'${D}'`;
    const vcards = await node.query(`SELECT ${host} AS host, username, vcard FROM vcard`);
    const migratedVcards = await targetQuery(migration.target, `SELECT username || '@' || server AS owner, vcard FROM vcard`);
    expect(vcards.length).toBeGreaterThanOrEqual(2);
    expect(migratedVcards.map((r) => text(r.owner)).sort()).toEqual(vcards.map((r) => `${text(r.username)}@${text(r.host)}`).sort());
    for (const v of vcards) {
      const mine = migratedVcards.find((r) => r.owner === `${text(v.username)}@${text(v.host)}`)!;
      expect(sameXml(text(mine.vcard), text(v.vcard)), `${text(mine.vcard)} vs ${text(v.vcard)}`).toBe(true);
    }
    const search = await targetQuery(migration.target, `SELECT username, fn FROM vcard_search WHERE username = 'alice'`);
    expect(search.map((r) => r.fn)).toEqual(vcards.filter((v) => text(v.username) === 'alice').map(() => 'Alice Ünïcode'));

    const privates = await node.query(`SELECT ${host} AS host, username, namespace, data FROM private_storage`);
    const migratedPrivates = await targetQuery(migration.target, `SELECT username || '@' || server AS owner, namespace, data FROM private_storage`);
    expect(privates.length).toBe(1);
    expect(migratedPrivates.map((r) => `${text(r.owner)} ${text(r.namespace)}`)).toEqual(privates.map((r) => `${text(r.username)}@${text(r.host)} ${text(r.namespace)}`));
    expect(sameXml(text(migratedPrivates[0]!.data), text(privates[0]!.data))).toBe(true);

    const spool = await node.query(`SELECT ${host} AS host, username, seq, xml FROM spool`);
    expect(spool.length).toBeGreaterThanOrEqual(2);
    const expectedOffline = spool.map((r) => {
      const stanza = parseLtx(text(r.xml));
      const delay = stanza.getChildren('delay', 'urn:xmpp:delay').find((d) => d.attrs.from === text(r.host));
      return {
        owner: `${text(r.username)}@${text(r.host)}`,
        timestamp: micros(delay!.attrs.stamp!).toString(),
        from_jid: stanza.attrs.from,
        body: stanza.getChildText('body'),
        // The server's own marks are not part of the message: MongooseIM adds its delay on delivery.
        serverMarks: [],
      };
    });
    expect(spool.every((r) => serverMarks(parseLtx(text(r.xml)), `${text(r.username)}@${text(r.host)}`).includes('delay'))).toBe(true);
    const offline = await targetQuery(migration.target, `SELECT username || '@' || server AS owner, timestamp::text AS timestamp, from_jid, packet FROM offline_message`);
    const byOwnerTime = (a: Row, b: Row): number => `${text(a.owner)} ${text(a.timestamp)}`.localeCompare(`${text(b.owner)} ${text(b.timestamp)}`);
    const migratedOffline = offline.map((r) => {
      const packet = parseLtx(text(r.packet));
      return { owner: r.owner, timestamp: r.timestamp, from_jid: r.from_jid, body: packet.getChildText('body'), serverMarks: serverMarks(packet, text(r.owner)) };
    });
    expect(migratedOffline.sort(byOwnerTime)).toEqual(expectedOffline.sort(byOwnerTime));
  });

  it('verifies: per-archive parity, every message of the source counted', async () => {
    const sourceMessages = (await archiveRows(node)).length;
    const { code, report } = await verify(node.source, node.options, migration.target);
    expect({ code, parity: report.parity, differences: report.differences }).toEqual({ code: 0, parity: true, differences: [] });
    expect(report.messagesInSource).toBe(sourceMessages);
    expect(report.messagesInTarget).toBe(sourceMessages);
  });

  it("stores SCRAM data that logs in with each user's real password, for the hash ejabberd stored", async () => {
    const host = node.multiHost ? 'server_host' : `'${D}'`;
    const source = await node.query(`SELECT ${host} AS host, username, password, serverkey, salt, iterationcount FROM users`);
    const target = await targetQuery<{ owner: string; password: string; pass_details: string | null }>(migration.target, `SELECT username || '@' || server AS owner, password, pass_details FROM users`);
    expect(target.map((r) => r.owner).sort()).toEqual(source.map((r) => `${text(r.username)}@${text(r.host)}`).sort());
    const checked = new Set<ScramAlgorithm>();
    for (const row of source) {
      const user = text(row.username);
      const owner = `${user}@${text(row.host)}`;
      const algorithm = node.hashes[text(row.host)]!;
      const migrated = target.find((t) => t.owner === owner)!;
      expect(migrated.password, owner).toBe('');
      const details = parsePassDetails(migrated.pass_details ?? '');
      // ejabberd stored one hash per user: exactly that one, with its salt, count and keys.
      expect(details.hashes.map((h) => h.algorithm), owner).toEqual([algorithm]);
      const hash = details.hashes[0]!;
      expect({ salt: hash.salt.toString('base64'), iterations: hash.iterations, storedKey: hash.storedKey.toString('base64'), serverKey: hash.serverKey.toString('base64') }, owner).toEqual({
        salt: text(row.salt),
        iterations: Number(row.iterationcount),
        storedKey: text(row.password).replace(/^sha(256|512):/, ''),
        serverKey: text(row.serverkey),
      });
      expect(scramLogin(user, passwordOf(user), hash), `${owner} ${algorithm}`).toBe(true);
      expect(scramLogin(user, `${passwordOf(user)}x`, hash), `${owner} ${algorithm} with a wrong password`).toBe(false);
      checked.add(algorithm);
    }
    expect([...checked].sort()).toEqual([...new Set(Object.values(node.hashes))].sort());
  });
});

describe('ejabberd on Mnesia, through export_piefxis and the XEP-0227 path', () => {
  let migration: Migration;
  beforeAll(() => {
    migration = migrations.mnesia;
  });

  it('exits 0 with nothing rejected', async () => {
    await expectClean(migration);
  });

  it("stores SCRAM data that logs in with each user's real password", async () => {
    const users = await targetQuery<{ username: string; server: string; password: string; pass_details: string | null }>(migration.target, 'SELECT username, server, password, pass_details FROM users ORDER BY username');
    expect(users.map((u) => `${u.username}@${u.server}`)).toEqual(Object.keys(mnesia.seed.passwords).sort().map((u) => `${u}@${M}`));
    for (const u of users) {
      const details = parsePassDetails(u.pass_details ?? '');
      expect(u.password).toBe('');
      expect(details.hashes.map((h) => h.algorithm), u.username).toEqual(['sha1']);
      const password = mnesia.seed.passwords[u.username]!;
      expect(scramLogin(u.username, password, details.hashes[0]!), u.username).toBe(true);
      expect(scramLogin(u.username, `${password}x`, details.hashes[0]!), `${u.username} with a wrong password`).toBe(false);
    }
  });

  it('migrates the roster (codes, groups, the pending request), the vCard, private XML and the offline message', async () => {
    expect(await rosterTarget(migration.target)).toEqual([
      { owner: `alice@${M}`, jid: `bob@${M}`, nick: 'Bob B.', subscription: 'B', ask: 'N', askmessage: '', groups: 'Friends|Ünïcode ✓' },
      { owner: `bob@${M}`, jid: `dave@${M}`, nick: '', subscription: 'N', ask: 'I', askmessage: 'let me in 🙏', groups: '' },
    ]);
    const vcards = await targetQuery(migration.target, 'SELECT username, server, vcard FROM vcard');
    expect(vcards.map((v) => ({ owner: `${text(v.username)}@${text(v.server)}`, fn: parseLtx(text(v.vcard)).getChildText('FN') }))).toEqual([{ owner: `alice@${M}`, fn: 'Alice Ünïcode' }]);
    const privates = await targetQuery(migration.target, 'SELECT username, namespace, data FROM private_storage');
    expect(privates.map((p) => [p.username, p.namespace, parseLtx(text(p.data)).getChildText('defaultnick')])).toEqual([['alice', 'exodus:prefs', 'Ali']]);
    const offline = await targetQuery(migration.target, 'SELECT username, server, from_jid, timestamp::text AS ts, packet FROM offline_message');
    expect(
      offline.map((o) => {
        const owner = `${text(o.username)}@${text(o.server)}`;
        const packet = parseLtx(text(o.packet));
        return { owner, from: o.from_jid, body: packet.getChildText('body'), serverMarks: serverMarks(packet, owner) };
      }),
    ).toEqual([{ owner: `carol@${M}`, from: `alice@${M}`, body: 'you were offline 📬', serverMarks: [] }]);
    // The time ejabberd stored it, not the time of the migration.
    const ts = BigInt(text(offline[0]!.ts));
    expect(ts >= mnesia.window.from && ts <= mnesia.window.to, `${ts} within ${mnesia.window.from}..${mnesia.window.to}`).toBe(true);
  });
});

describe('bad rows in the ejabberd PostgreSQL source', () => {
  let migration: Migration;
  beforeAll(() => {
    migration = migrations.bad;
  });


  it('exits 3 and names table, key and reason of each rejected row', async () => {
    expect(migration.code).toBe(3);
    const rejects = await rejectsOf(migration);
    const view = rejects.map((r) => ({ stream: r.stream, code: r.code, table: r.location?.table, key: r.location?.key }));
    expect(view.sort((a, b) => a.stream.localeCompare(b.stream))).toEqual([
      { stream: 'accounts', code: 'invalid-jid', table: 'users', key: `server_host=${D} username=eve&co` },
      { stream: 'archive', code: 'malformed-xml', table: 'archive', key: bad.archiveKey },
      { stream: 'rosters', code: 'unknown-roster-code', table: 'rosterusers', key: `server_host=${D} username=alice jid=zed@${D}` },
    ]);
    const reason = (stream: string): string => rejects.find((r) => r.stream === stream)!.reason;
    expect(reason('accounts')).toMatch(/eve&co/);
    expect(reason('accounts')).toMatch(/forbid/);
    expect(reason('archive')).toContain(bad.archiveKey);
    expect(reason('rosters')).toMatch(/subscription code "X"/);
  });

  it('migrates everything else: every other row, and verify finds parity', async () => {
    const pgNode: SqlNode = { ...nodes.multi, query: (sql) => pgQuery(bad.db.url, sql) };
    const source = await archiveRows(pgNode);
    const good = source.filter((r) => r.txt !== 'broken');
    expect(good.length).toBe(source.length - 1);
    expect(await actualUserMessages(migration.target)).toEqual(expectedUserMessages(pgNode, good));
    expect(await actualRoomMessages(migration.target)).toEqual(expectedRoomMessages(pgNode, good));
    expect(await rosterTarget(migration.target)).toEqual((await rosterSource(pgNode)).filter((r) => r.jid !== `zed@${D}`));
    const count = async (q: (sql: string) => Promise<Row[]>, table: string): Promise<number> => Number((await q(`SELECT count(*) AS n FROM ${table}`))[0]?.n);
    const tgt = (sql: string): Promise<Row[]> => targetQuery(migration.target, sql);
    expect(await count(tgt, 'users')).toBe((await count(pgNode.query, 'users')) - 1);
    expect(await count(tgt, 'rosterusers')).toBe((await count(pgNode.query, 'rosterusers')) - 1);
    expect(await count(tgt, 'vcard')).toBe(await count(pgNode.query, 'vcard'));
    expect(await count(tgt, 'private_storage')).toBe(await count(pgNode.query, 'private_storage'));
    expect(await count(tgt, 'offline_message')).toBe(await count(pgNode.query, 'spool'));
    const { code, report } = await verify(bad.source, [], migration.target);
    expect({ code, parity: report.parity, differences: report.differences }).toEqual({ code: 0, parity: true, differences: [] });
    expect(report.messagesInTarget).toBe(good.length);
  });
});
