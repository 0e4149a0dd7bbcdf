// ejabberd's SQL storage (PostgreSQL, MySQL/MariaDB; single-host and multi-host schemas) as canonical records.
// Facts: shared/docs/storage-facts.md §2; processone/ejabberd: sql/*.sql, src/ejabberd_auth_sql.erl,
// src/mod_{roster,mam,muc,privacy,offline,private,vcard,last}_sql.erl, src/node_flat_sql.erl, src/xml_compress.erl.
//
// Every stream is read with keyset pagination (`WHERE (k1, k2, …) > (…) ORDER BY k1, k2, … LIMIT n`) over the
// table's own index, never OFFSET, and a cursor is the last key read: a resumed run seeks. On the multi-host
// schema the vhosts are read one after the other (`server_host = $h AND (rest of the key) > (…)`), see hostPages.
// Cursors are `NNNNNNNNNNNN:[key…, sub]`: a 12-digit ordinal (items of this stream so far, continued across resumes, so
// cursors sort as strings in read order whatever the database's collation), then the row key as JSON and the
// item's index within its row (a default privacy list yields the list, then its blocklist).
import pg from 'pg';
import mysql from 'mysql2/promise';
import { RecordError, SourceError, UsageError } from '../errors.js';
import { JidError, formatJid, normaliseDomain, normaliseLocal, parseJid, type Jid } from '../jid.js';
import type {
  AccountRecord,
  Ask,
  BareJid,
  BlocklistRecord,
  Credential,
  MigrationRecord,
  PrivacyItem,
  PrivacyListRecord,
  RecordKind,
  ScramAlgorithm,
  ScramHash,
  SourceLocation,
  Subscription,
} from '../records.js';
import { bareJidString, credentialShape, ownerKeyOf } from '../records.js';
import { Element, XmlParseError, parseXml, removeChildren } from '../xml/element.js';
import { NS_CLIENT, NS_DELAY, NS_MAM_TMP, NS_MUC_USER, NS_SID } from '../xml/namespaces.js';
import {
  type EjabberdDb,
  type EjabberdSchema,
  type KeyColumn,
  SqlBuilder,
  describeSchema,
  detectSchema,
  hasColumn,
  hasTable,
  keysetCondition,
} from './ejabberd-schema.js';
import { mapMucRoomOptions } from './ejabberd-muc-room.js';
import { CompressedXmlError, COMPRESSED_XML_MARK, decodeCompressedXml } from './ejabberd-xml-compress.js';
import { ErlangTermError, parseErlangTerm } from './erlang-term-text.js';
import type {
  NotProvided,
  SourceAdapter,
  SourceAdapterDefinition,
  SourceInventory,
  SourceItem,
  SourceOptions,
  StreamInfo,
} from './source-adapter.js';
import { parseXmppTimestamp } from './xep0227.js';

const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const NS_ADDRESS = 'http://jabber.org/protocol/address';

/** The archive's order: one archive after another, by time; `id` (a serial) breaks ties, as timestamps may repeat. */
const ARCHIVE_KEY: KeyColumn[] = [{ expr: 'username' }, { expr: 'timestamp', numeric: true }, { expr: 'id', numeric: true }];

/** Rows per query. Small enough to keep memory flat, large enough that round trips do not dominate. */
export const DEFAULT_PAGE_SIZE = 1000;
const EXCERPT_CHARS = 300;

// ---------------------------------------------------------------------------------------------------------
// Settings (`--source-option key=value`)

export interface EjabberdSqlSettings {
  /** The vhost of a single-host schema (required there); on a multi-host schema, read only this vhost. */
  domain: string | undefined;
  pageSize: number;
}

const SETTING_KEYS = ['domain', 'page-size'];

export function parseEjabberdSqlSettings(settings: Record<string, string>): EjabberdSqlSettings {
  for (const key of Object.keys(settings)) {
    if (!SETTING_KEYS.includes(key)) throw new UsageError(`unknown ejabberd source option ${JSON.stringify(key)}: expected one of ${SETTING_KEYS.join(', ')}`);
  }
  let domain = settings.domain;
  if (domain !== undefined) {
    try {
      if (/[\s@/]/u.test(domain)) throw new Error('a vhost name has no spaces, @ or /');
      domain = normaliseDomain(domain);
    } catch (err) {
      throw new UsageError(`ejabberd option domain=${domain}: ${(err as Error).message}`);
    }
  }
  const pageSize = settings['page-size'] === undefined ? DEFAULT_PAGE_SIZE : Number(settings['page-size']);
  if (!Number.isInteger(pageSize) || pageSize < 2 || pageSize > 100_000) throw new UsageError(`ejabberd option page-size=${settings['page-size']}: expected an integer from 2 to 100000`);
  return { domain, pageSize };
}

// ---------------------------------------------------------------------------------------------------------
// Cursors

interface Position {
  ordinal: number;
  key: string[];
  sub: number;
}

function encodeCursor(p: Position): string {
  return `${String(p.ordinal).padStart(12, '0')}:${JSON.stringify([...p.key, p.sub])}`;
}

function decodeCursor(stream: string, cursor: string, arity: number): Position {
  const bad = (): UsageError => new UsageError(`cursor ${JSON.stringify(cursor)} was not produced by the ejabberd source's ${stream} stream`);
  const m = /^(\d{12}):(\[.*\])$/s.exec(cursor);
  if (!m) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(m[2] as string);
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== arity + 1) throw bad();
  const sub = parsed[arity];
  const key = parsed.slice(0, arity);
  if (!Number.isInteger(sub) || sub < 0 || !key.every((k) => typeof k === 'string')) throw bad();
  return { ordinal: Number(m[1]), key: key as string[], sub: sub as number };
}

// ---------------------------------------------------------------------------------------------------------
// Streams

/** What one row (or group of rows) turns into: a record or a reject. */
type Produced = { record: MigrationRecord } | { reject: RecordError; excerpt?: string };

/** One produced item and where it sits in the stream's order. */
interface Keyed {
  key: string[];
  sub: number;
  produced: Produced;
}

type Row = Record<string, unknown>;

interface StreamSpec {
  name: string;
  kinds: RecordKind[];
  /** The table the stream reads (it is skipped when the table does not exist). */
  table: string;
  /** Key columns, as cursors carry them. */
  arity: number;
  /** Rows strictly after `after` (or from `after` on, inclusive, when resuming), in key order. */
  read(after: string[] | undefined, since?: bigint): AsyncGenerator<Keyed>;
  /** An append-only table's largest row id: the stream's high-water mark for delta runs. */
  highWater?: () => Promise<bigint | undefined>;
}

/**
 * Row ids are drawn when a row is inserted but become visible when its transaction commits: a row with a
 * smaller id can appear after a mark was taken. A delta pass re-reads this many ids below the last mark;
 * rows it sees again are already in the target and change nothing.
 */
const DELTA_ID_LAG = 10_000n;

export const EJABBERD_STREAMS = [
  'accounts',
  'rosters',
  'vcards',
  'private',
  'last',
  'privacy',
  'offline',
  'muc-rooms',
  'muc-registrations',
  'pep',
  'archive',
] as const;

const SUBSCRIPTIONS: Readonly<Record<string, Subscription>> = { B: 'both', T: 'to', F: 'from', N: 'none', '': 'none' };
// mod_roster_sql:decode_ask/3. `S` (subscribe) is pending out; `U` (unsubscribe) is nothing pending (mod_roster:ask_to_pending).
const ASKS: Readonly<Record<string, Ask>> = { O: 'out', I: 'in', B: 'both', N: 'none', '': 'none', S: 'out', U: 'none' };

const SCRAM_TYPES: Readonly<Record<number, ScramAlgorithm>> = { 2: 'sha1', 3: 'sha256', 4: 'sha512' };
const KEY_BYTES: Readonly<Record<ScramAlgorithm, number>> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };
const ALGORITHM_ORDER: readonly ScramAlgorithm[] = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'];

const PRIVACY_TYPES: Readonly<Record<string, PrivacyItem['type']>> = { n: 'none', j: 'jid', g: 'group', s: 'subscription' };
const PRIVACY_ACTIONS: Readonly<Record<string, PrivacyItem['action']>> = { a: 'allow', d: 'deny' };
const SUBSCRIPTION_VALUES = new Set(['none', 'both', 'from', 'to']);

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't' || value === 'true';
}

function strictBase64(value: string): Buffer | undefined {
  if (value === '' || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
  return Buffer.from(value, 'base64');
}

function excerpt(value: string): string {
  return value.length > EXCERPT_CHARS ? `${value.slice(0, EXCERPT_CHARS)}…` : value;
}

class EjabberdSqlSource implements SourceAdapter {
  readonly capabilities;
  private readonly specs: Map<string, StreamSpec>;
  /** Room options with no MongooseIM counterpart, seen by the last pass over muc-rooms: key → rooms. */
  private droppedRoomOptions = new Map<string, number>();
  /** Accounts migrated without one of their password rows, which could not be read (last pass over accounts). */
  private partialCredentials: string[] = [];

  constructor(
    readonly displayName: string,
    private readonly db: EjabberdDb,
    readonly schema: EjabberdSchema,
    private readonly settings: EjabberdSqlSettings,
  ) {
    this.specs = new Map(this.buildSpecs().filter((s) => hasTable(schema, s.table)).map((s) => [s.name, s]));
    const kinds = [...new Set([...this.specs.values()].flatMap((s) => s.kinds))];
    this.capabilities = { resume: 'seek' as const, delta: this.specs.has('archive') ? ('exact' as const) : ('scan' as const), kinds };
  }

  streams(): StreamInfo[] {
    return [...this.specs.values()].map((s) => ({ name: s.name, kinds: s.kinds }));
  }

  read(stream: string, after?: string, since?: string): AsyncIterable<SourceItem> {
    const spec = this.specs.get(stream);
    if (!spec) {
      throw new UsageError(`the ejabberd source has no stream ${JSON.stringify(stream)} here: it has ${[...this.specs.keys()].join(', ')}`);
    }
    const resume = after === undefined ? undefined : decodeCursor(stream, after, spec.arity);
    if (since !== undefined && !/^\d+$/.test(since)) throw new UsageError(`the ejabberd source cannot read ${stream} since ${JSON.stringify(since)}: not a row id`);
    const from = since === undefined || !spec.highWater ? undefined : BigInt(since) > DELTA_ID_LAG ? BigInt(since) - DELTA_ID_LAG : 0n;
    return this.readFrom(spec, resume, from);
  }

  async highWater(stream: string): Promise<string | undefined> {
    const mark = await this.specs.get(stream)?.highWater?.();
    return mark === undefined ? undefined : mark.toString();
  }

  private async *readFrom(spec: StreamSpec, resume: Position | undefined, since: bigint | undefined): AsyncGenerator<SourceItem> {
    let ordinal = resume?.ordinal ?? 0;
    let skipping = resume !== undefined;
    for await (const item of spec.read(resume?.key, since)) {
      if (skipping && resume) {
        // Resumed reads start at the cursor's row (inclusive): skip what was already delivered from it.
        if (sameKey(item.key, resume.key) && item.sub <= resume.sub) continue;
        skipping = false;
      }
      ordinal++;
      const cursor = encodeCursor({ ordinal, key: item.key, sub: item.sub });
      const p = item.produced;
      if ('record' in p) yield { record: p.record, cursor };
      else if (p.excerpt !== undefined) yield { reject: p.reject, cursor, excerpt: p.excerpt };
      else yield { reject: p.reject, cursor };
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  // -------------------------------------------------------------------------------------------------------
  // Queries

  private get multi(): boolean {
    return this.schema.multiHost;
  }

  /** The vhost of a row: its server_host, or the configured domain of a single-host schema. */
  private hostOf(row: Row): string {
    return this.multi ? text(row.server_host) : (this.settings.domain as string);
  }

  /** `server_host = $n` when a multi-host read is limited to one vhost. */
  private hostFilter(b: SqlBuilder, column = 'server_host'): string[] {
    return this.multi && this.settings.domain !== undefined ? [`${column} = ${b.param(this.settings.domain)}`] : [];
  }

  private location(table: string, key: string): SourceLocation {
    return { source: this.displayName, table, key };
  }

  /**
   * Pages of `select` in key order: the first page from `after` (inclusive) or from the start, each next page
   * strictly after the last row of the previous one. The next page is requested while the caller works on the
   * current one.
   */
  private async *pages(
    select: string,
    key: KeyColumn[],
    filters: (b: SqlBuilder) => string[],
    after: string[] | undefined,
    keyOf: (row: Row) => string[],
    pageSize = this.settings.pageSize,
  ): AsyncGenerator<Row[]> {
    const fetch = (from: string[] | undefined, inclusive: boolean): Promise<Row[]> => {
      const b = new SqlBuilder(this.db.dialect);
      const where = [...filters(b)];
      if (from !== undefined) where.push(keysetCondition(b, key.slice(0, from.length), from, inclusive ? '>=' : '>'));
      const sql = `${select}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${key.map((k) => k.expr).join(', ')} LIMIT ${pageSize}`;
      return this.db.query(sql, b.values);
    };
    let next: Promise<Row[]> | undefined = fetch(after, after !== undefined);
    try {
      while (next) {
        const rows: Row[] = await next;
        next = undefined;
        if (rows.length === pageSize) {
          next = fetch(keyOf(rows[rows.length - 1] as Row), false);
          // Handled when awaited; marked here so an abandoned read does not crash the process.
          next.catch(() => {});
        }
        if (rows.length > 0) yield rows;
      }
    } finally {
      if (next) await next.catch(() => {});
    }
  }

  /**
   * Pages of a per-user table in (server_host, key…) order. On a multi-host schema the vhosts are read one at
   * a time, `server_host = $h` plus the keyset on the rest of the key, each next vhost found with
   * `min(server_host) > previous` on the table's index. PostgreSQL estimates a row comparison by its first
   * column alone: led by server_host (a handful of values) it guesses one row and scans the whole table.
   */
  private async *hostPages(
    table: string,
    hostExpr: string,
    select: string,
    rest: KeyColumn[],
    filters: (b: SqlBuilder) => string[],
    after: string[] | undefined,
    keyOf: (row: Row) => string[],
  ): AsyncGenerator<Row[]> {
    if (!this.multi) {
      yield* this.pages(select, rest, filters, after, keyOf);
      return;
    }
    const only = this.settings.domain;
    let inner = after?.slice(1);
    let host: string | undefined;
    if (only !== undefined) {
      // One vhost: a cursor from before it starts it afresh, one from after it has nothing left.
      if (after !== undefined && after[0] !== only) inner = undefined;
      host = after === undefined || (after[0] as string) <= only ? only : undefined;
    } else host = after?.[0] ?? (await this.nextHost(table, undefined));
    // Within one vhost the page key is the rest of the key.
    const innerKeyOf = (row: Row): string[] => keyOf(row).slice(1);
    while (host !== undefined) {
      const h = host;
      yield* this.pages(select, rest, (b) => [`${hostExpr} = ${b.param(h)}`, ...filters(b)], inner, innerKeyOf);
      inner = undefined;
      host = only !== undefined ? undefined : await this.nextHost(table, h);
    }
  }

  private async nextHost(table: string, after: string | undefined): Promise<string | undefined> {
    const b = new SqlBuilder(this.db.dialect);
    const where = after === undefined ? '' : ` WHERE server_host > ${b.param(after)}`;
    const row = (await this.db.query(`SELECT min(server_host) AS h FROM ${table}${where}`, b.values))[0];
    return row?.h === null || row?.h === undefined ? undefined : text(row.h);
  }

  private rowKey(row: Row, ...columns: string[]): string[] {
    return (this.multi ? ['server_host', ...columns] : columns).map((c) => text(row[c]));
  }

  private buildSpecs(): StreamSpec[] {
    const hostArity = this.multi ? 1 : 0;
    return [
      { name: 'accounts', kinds: ['account'], table: 'users', arity: hostArity + 1, read: (a) => this.accounts(a) },
      { name: 'rosters', kinds: ['roster-item'], table: 'rosterusers', arity: hostArity + 2, read: (a) => this.rosters(a) },
      { name: 'vcards', kinds: ['vcard'], table: 'vcard', arity: hostArity + 1, read: (a) => this.vcards(a) },
      { name: 'private', kinds: ['private-xml'], table: 'private_storage', arity: hostArity + 2, read: (a) => this.privateStorage(a) },
      { name: 'last', kinds: ['last-activity'], table: 'last', arity: hostArity + 1, read: (a) => this.last(a) },
      { name: 'privacy', kinds: ['privacy-list', 'blocklist'], table: 'privacy_list', arity: hostArity + 2, read: (a) => this.privacy(a) },
      { name: 'offline', kinds: ['offline-message'], table: 'spool', arity: hostArity + 2, read: (a) => this.offline(a) },
      { name: 'muc-rooms', kinds: ['muc-room'], table: 'muc_room', arity: 2, read: (a) => this.mucRooms(a) },
      { name: 'muc-registrations', kinds: ['muc-registration'], table: 'muc_registered', arity: 2, read: (a) => this.mucRegistrations(a) },
      { name: 'pep', kinds: ['pep-item'], table: 'pubsub_item', arity: 2, read: (a) => this.pep(a) },
      { name: 'archive', kinds: ['archived-message'], table: 'archive', arity: hostArity + 3, read: (a, since) => this.archive(a, since), highWater: () => this.archiveHighWater() },
    ];
  }

  /** The owner of a row, or a reject naming the table and key. */
  private owner(row: Row, table: string, key: string): BareJid | RecordError {
    const username = text(row.username);
    try {
      const local = normaliseLocal(username);
      if (local.includes('@')) throw new JidError(`invalid user name ${JSON.stringify(username)}: it contains @`);
      return { local, domain: normaliseDomain(this.hostOf(row)) };
    } catch (err) {
      return new RecordError('invalid-jid', `${table} row ${key}: ${(err as Error).message}`, this.location(table, key), { cause: err });
    }
  }

  private keyText(row: Row, ...columns: string[]): string {
    return (this.multi ? ['server_host', ...columns] : columns).map((c) => `${c}=${text(row[c])}`).join(' ');
  }

  // -------------------------------------------------------------------------------------------------------
  // accounts: one AccountRecord per user from its one or more `users` rows.

  private async *accounts(after: string[] | undefined): AsyncGenerator<Keyed> {
    const s = this.schema;
    const cols = [
      ...(this.multi ? ['server_host'] : []),
      'username',
      s.usersType ? 'type' : 'NULL AS type',
      'password',
      s.scramColumns ? 'serverkey' : "'' AS serverkey",
      s.scramColumns ? 'salt' : "'' AS salt",
      s.scramColumns ? 'iterationcount' : '0 AS iterationcount',
      hasColumn(s, 'users', 'created_at') ? `${this.createdMicros('created_at')} AS created_us` : 'NULL AS created_us',
    ];
    const rest: KeyColumn[] = [{ expr: 'username' }, ...(s.usersType ? [{ expr: 'type', numeric: true }] : [])];
    const keyOf = (row: Row): string[] => [...this.rowKey(row, 'username'), ...(s.usersType ? [text(row.type)] : [])];
    let group: Row[] = [];
    let groupKey: string[] | undefined;
    this.partialCredentials = [];
    // A cursor names a user (server_host, username): resume from that user's first row.
    for await (const page of this.hostPages('users', 'server_host', `SELECT ${cols.join(', ')} FROM users`, rest, () => [], after, keyOf)) {
      for (const row of page) {
        const userKey = this.rowKey(row, 'username');
        if (groupKey && !sameKey(groupKey, userKey)) {
          yield { key: groupKey, sub: 0, produced: this.account(group) };
          group = [];
        }
        groupKey = userKey;
        group.push(row);
      }
    }
    if (groupKey) yield { key: groupKey, sub: 0, produced: this.account(group) };
  }

  /** Microseconds since the epoch of a `created_at` column (PG: timestamp without time zone, read in the server's zone). */
  private createdMicros(column: string): string {
    return this.db.dialect === 'pg'
      ? `(EXTRACT(EPOCH FROM (${column} AT TIME ZONE current_setting('TimeZone'))) * 1000000)::bigint`
      : `CAST(UNIX_TIMESTAMP(${column}) * 1000000 AS SIGNED)`;
  }

  private account(rows: Row[]): Produced {
    const first = rows[0] as Row;
    const key = this.keyText(first, 'username');
    const location = this.location('users', key);
    const owner = this.owner(first, 'users', key);
    if (owner instanceof RecordError) return { reject: owner };
    let plain: string | undefined;
    const hashes = new Map<ScramAlgorithm, ScramHash>();
    const problems: string[] = [];
    for (const row of rows) {
      const read = this.passwordRow(row);
      if (typeof read === 'string') problems.push(read);
      else if (read.type === 'plain') plain ??= read.password;
      else if (!hashes.has(read.hash.algorithm) || text(row.type) !== '0') hashes.set(read.hash.algorithm, read.hash);
    }
    if (problems.length > 0 && plain === undefined && hashes.size === 0) {
      return { reject: new RecordError('invalid-password', `account ${bareJidString(owner)}: ${problems.join('; ')}`, location) };
    }
    // Another row of the user is usable: migrate that, and say in plan what was left out.
    if (problems.length > 0) this.partialCredentials.push(`${bareJidString(owner)} (${problems.join('; ')})`);
    const scram = ALGORITHM_ORDER.flatMap((a) => (hashes.has(a) ? [hashes.get(a) as ScramHash] : []));
    let credential: Credential;
    if (plain !== undefined && plain !== '' && scram.length > 0) credential = { type: 'plain+scram', password: plain, hashes: scram };
    else if (scram.length > 0) credential = { type: 'scram', hashes: scram };
    else if (plain !== undefined && plain !== '') credential = { type: 'plain', password: plain };
    else credential = { type: 'none', reason: problems.length > 0 ? problems.join('; ') : 'the stored plaintext password is empty' };
    const record: AccountRecord = { kind: 'account', jid: owner, credential, location };
    const created = text(first.created_us);
    if (/^\d+$/.test(created) && created !== '0') record.createdAt = BigInt(created);
    return { record };
  }

  /**
   * One `users` row (ejabberd_auth_sql:get_password/2): empty serverkey and salt with count 0 mean plaintext;
   * else `type` 2/3/4 is SCRAM-SHA-1/256/512, and without the column or with type 0 (not yet converted) the hash
   * is named by a `sha256:`/`sha512:` prefix of the stored key (none for SHA-1); `type` 1 is plaintext.
   */
  private passwordRow(row: Row): { type: 'plain'; password: string } | { type: 'scram'; hash: ScramHash } | string {
    const password = text(row.password);
    const serverKey = text(row.serverkey);
    const salt = text(row.salt);
    const iterations = Number(text(row.iterationcount) || '0');
    const typeText = text(row.type);
    const type = typeText === '' ? 0 : Number(typeText);
    // As ejabberd reads it: no SCRAM fields means plaintext, whatever the type says.
    if (type === 1 || (serverKey === '' && salt === '' && iterations === 0)) return { type: 'plain', password };
    let algorithm: ScramAlgorithm;
    let stored = password;
    const prefixed = /^(sha256|sha512):(.*)$/s.exec(password);
    if (type === 0) {
      algorithm = prefixed ? (prefixed[1] as ScramAlgorithm) : 'sha1';
      if (prefixed) stored = prefixed[2] as string;
    } else if (SCRAM_TYPES[type]) {
      algorithm = SCRAM_TYPES[type] as ScramAlgorithm;
      // 25.03 strips the prefix when it converts a row; tolerate one that names the same hash.
      if (prefixed && prefixed[1] === algorithm) stored = prefixed[2] as string;
    } else {
      return `password type ${typeText} is not 0 (legacy), 1 (plain), 2, 3 or 4 (SCRAM-SHA-1/256/512)`;
    }
    const storedKey = strictBase64(stored);
    const serverKeyBytes = strictBase64(serverKey);
    const saltBytes = strictBase64(salt);
    const bytes = KEY_BYTES[algorithm];
    const name = `SCRAM-${algorithm.toUpperCase().replace('SHA', 'SHA-')}`;
    if (!storedKey || storedKey.length !== bytes) return `${name} stored key is not base64 of ${bytes} bytes`;
    if (!serverKeyBytes || serverKeyBytes.length !== bytes) return `${name} server key is not base64 of ${bytes} bytes`;
    if (!saltBytes) return `${name} salt is not base64`;
    if (!Number.isInteger(iterations) || iterations < 1) return `${name} iteration count ${text(row.iterationcount)} is not a positive integer`;
    return { type: 'scram', hash: { algorithm, iterations, salt: saltBytes, storedKey, serverKey: serverKeyBytes } };
  }

  // -------------------------------------------------------------------------------------------------------
  // rosters: rosterusers rows, with their rostergroups rows read by key range for each page.

  private async *rosters(after: string[] | undefined): AsyncGenerator<Keyed> {
    const cols = [...(this.multi ? ['server_host'] : []), 'username', 'jid', 'nick', 'subscription', 'ask', 'askmessage'];
    const rest: KeyColumn[] = [{ expr: 'username' }, { expr: 'jid' }];
    const keyOf = (row: Row): string[] => this.rowKey(row, 'username', 'jid');
    const hasGroups = hasTable(this.schema, 'rostergroups');
    for await (const page of this.hostPages('rosterusers', 'server_host', `SELECT ${cols.join(', ')} FROM rosterusers`, rest, () => [], after, keyOf)) {
      const groups = hasGroups ? await this.rosterGroups(rest, page[0] as Row, page[page.length - 1] as Row) : new Map<string, string[]>();
      for (const row of page) {
        const k = keyOf(row);
        // Groups are a set; rostergroups has no order of its own (and the column's collation would give one per DBMS).
        yield { key: k, sub: 0, produced: this.rosterItem(row, (groups.get(JSON.stringify(k)) ?? []).sort(byCodePoint)) };
      }
    }
  }

  /** The groups of the contacts from `first` to `last` (one page of rosterusers, so one vhost), by key range. */
  private async rosterGroups(rest: KeyColumn[], first: Row, last: Row): Promise<Map<string, string[]>> {
    const b = new SqlBuilder(this.db.dialect);
    const where = [
      ...(this.multi ? [`server_host = ${b.param(text(first.server_host))}`] : []),
      keysetCondition(b, rest, [text(first.username), text(first.jid)], '>='),
      keysetCondition(b, rest, [text(last.username), text(last.jid)], '<='),
    ];
    const cols = [...(this.multi ? ['server_host'] : []), 'username', 'jid', 'grp'];
    const rows = await this.db.query(`SELECT ${cols.join(', ')} FROM rostergroups WHERE ${where.join(' AND ')}`, b.values);
    const out = new Map<string, string[]>();
    for (const row of rows) {
      const k = JSON.stringify(this.rowKey(row, 'username', 'jid'));
      const list = out.get(k) ?? [];
      const grp = text(row.grp);
      if (grp !== '' && !list.includes(grp)) list.push(grp);
      out.set(k, list);
    }
    return out;
  }

  private rosterItem(row: Row, groups: string[]): Produced {
    const key = this.keyText(row, 'username', 'jid');
    const location = this.location('rosterusers', key);
    const owner = this.owner(row, 'rosterusers', key);
    if (owner instanceof RecordError) return { reject: owner };
    const rawJid = text(row.jid);
    let contact: string;
    try {
      contact = formatJid(parseJid(rawJid));
    } catch (err) {
      return { reject: new RecordError('invalid-jid', `rosterusers row ${key}: contact ${(err as Error).message}`, location, { cause: err }) };
    }
    // char(1) columns come back padded on PostgreSQL.
    const sub = text(row.subscription).trim();
    const ask = text(row.ask).trim();
    const subscription = Object.hasOwn(SUBSCRIPTIONS, sub) ? SUBSCRIPTIONS[sub] : undefined;
    const pending = Object.hasOwn(ASKS, ask) ? ASKS[ask] : undefined;
    if (subscription === undefined || pending === undefined) {
      const what = subscription === undefined ? `subscription code ${JSON.stringify(sub)} (expected B, T, F or N)` : `ask code ${JSON.stringify(ask)} (expected O, I, B, N, or the legacy S, U)`;
      return { reject: new RecordError('unknown-roster-code', `rosterusers row ${key}: unknown ${what}; ejabberd itself reads it as none`, location) };
    }
    return {
      record: {
        kind: 'roster-item',
        owner,
        contact,
        name: text(row.nick),
        subscription,
        ask: pending,
        askMessage: text(row.askmessage),
        groups,
        location,
      },
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // vcard, private_storage, last

  private async *vcards(after: string[] | undefined): AsyncGenerator<Keyed> {
    const cols = [...(this.multi ? ['server_host'] : []), 'username', 'vcard'];
    const keyOf = (row: Row): string[] => this.rowKey(row, 'username');
    for await (const page of this.hostPages('vcard', 'server_host', `SELECT ${cols.join(', ')} FROM vcard`, [{ expr: 'username' }], () => [], after, keyOf)) {
      for (const row of page) {
        const key = this.keyText(row, 'username');
        const location = this.location('vcard', key);
        const owner = this.owner(row, 'vcard', key);
        let produced: Produced;
        if (owner instanceof RecordError) produced = { reject: owner };
        else {
          const xml = this.xml(text(row.vcard), 'vcard', key);
          produced = xml instanceof Element ? { record: { kind: 'vcard', owner, vcard: xml, location } } : xml;
        }
        yield { key: keyOf(row), sub: 0, produced };
      }
    }
  }

  private async *privateStorage(after: string[] | undefined): AsyncGenerator<Keyed> {
    const cols = [...(this.multi ? ['server_host'] : []), 'username', 'namespace', 'data'];
    const keyOf = (row: Row): string[] => this.rowKey(row, 'username', 'namespace');
    const rest: KeyColumn[] = [{ expr: 'username' }, { expr: 'namespace' }];
    for await (const page of this.hostPages('private_storage', 'server_host', `SELECT ${cols.join(', ')} FROM private_storage`, rest, () => [], after, keyOf)) {
      for (const row of page) {
        const keyText = this.keyText(row, 'username', 'namespace');
        const location = this.location('private_storage', keyText);
        const owner = this.owner(row, 'private_storage', keyText);
        let produced: Produced;
        if (owner instanceof RecordError) produced = { reject: owner };
        else {
          const xml = this.xml(text(row.data), 'private_storage', keyText);
          const namespace = text(row.namespace);
          if (!(xml instanceof Element)) produced = xml;
          else if (xml.attrs.xmlns !== undefined && xml.attrs.xmlns !== namespace) {
            produced = { reject: new RecordError('namespace-mismatch', `private_storage row ${keyText}: the stored element is in namespace ${JSON.stringify(xml.attrs.xmlns)}, not the row's ${JSON.stringify(namespace)}`, location), excerpt: excerpt(text(row.data)) };
          } else {
            if (xml.attrs.xmlns === undefined) xml.attrs.xmlns = namespace;
            produced = { record: { kind: 'private-xml', owner, element: xml, location } };
          }
        }
        yield { key: keyOf(row), sub: 0, produced };
      }
    }
  }

  private async *last(after: string[] | undefined): AsyncGenerator<Keyed> {
    const cols = [...(this.multi ? ['server_host'] : []), 'username', 'seconds', 'state'];
    const keyOf = (row: Row): string[] => this.rowKey(row, 'username');
    for await (const page of this.hostPages('last', 'server_host', `SELECT ${cols.join(', ')} FROM last`, [{ expr: 'username' }], () => [], after, keyOf)) {
      for (const row of page) {
        const key = this.keyText(row, 'username');
        const location = this.location('last', key);
        const owner = this.owner(row, 'last', key);
        const seconds = text(row.seconds).trim();
        let produced: Produced;
        if (owner instanceof RecordError) produced = { reject: owner };
        else if (!/^\d{1,12}$/.test(seconds)) {
          produced = { reject: new RecordError('malformed-seconds', `last row ${key}: seconds ${JSON.stringify(seconds)} is not a whole number of Unix seconds`, location) };
        } else produced = { record: { kind: 'last-activity', owner, seconds: Number(seconds), status: text(row.state), location } };
        yield { key: keyOf(row), sub: 0, produced };
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // privacy: each list with its items; the XEP-0191 blocks ejabberd keeps in the default list become a
  // BlocklistRecord right after it.

  private async *privacy(after: string[] | undefined): AsyncGenerator<Keyed> {
    const hasDefault = hasTable(this.schema, 'privacy_default_list');
    const cols = [...(this.multi ? ['l.server_host'] : []), 'l.username', 'l.name', 'l.id', hasDefault ? 'd.name AS default_name' : 'NULL AS default_name'];
    const join = hasDefault ? ` LEFT JOIN privacy_default_list d ON d.username = l.username${this.multi ? ' AND d.server_host = l.server_host' : ''}` : '';
    const rest: KeyColumn[] = [{ expr: 'l.username' }, { expr: 'l.name' }];
    const keyOf = (row: Row): string[] => this.rowKey(row, 'username', 'name');
    for await (const page of this.hostPages('privacy_list', 'l.server_host', `SELECT ${cols.join(', ')} FROM privacy_list l${join}`, rest, () => [], after, keyOf)) {
      const items = await this.privacyItems(page.map((r) => text(r.id)));
      for (const row of page) {
        const k = keyOf(row);
        let sub = 0;
        for (const produced of this.privacyList(row, items.get(text(row.id)) ?? [])) yield { key: k, sub: sub++, produced };
      }
    }
  }

  private async privacyItems(ids: string[]): Promise<Map<string, Row[]>> {
    const out = new Map<string, Row[]>();
    if (ids.length === 0 || !hasTable(this.schema, 'privacy_list_data')) return out;
    const b = new SqlBuilder(this.db.dialect);
    const list = ids.map((id) => b.param(this.db.dialect === 'pg' ? id : BigInt(id))).join(', ');
    const rows = await this.db.query(
      `SELECT id, t, value, action, ord, match_all, match_iq, match_message, match_presence_in, match_presence_out FROM privacy_list_data WHERE id IN (${list}) ORDER BY id, ord, t, value, action`,
      b.values,
    );
    for (const row of rows) {
      const id = text(row.id);
      const items = out.get(id) ?? [];
      items.push(row);
      out.set(id, items);
    }
    return out;
  }

  private privacyList(row: Row, rows: Row[]): Produced[] {
    const key = this.keyText(row, 'username', 'name');
    const location = this.location('privacy_list', key);
    const owner = this.owner(row, 'privacy_list', key);
    if (owner instanceof RecordError) return [{ reject: owner }];
    const name = text(row.name);
    const isDefault = row.default_name !== null && row.default_name !== undefined && text(row.default_name) === name;
    const items: PrivacyItem[] = [];
    const blocked: string[] = [];
    for (const item of rows) {
      const read = this.privacyItem(item);
      if (typeof read === 'string') {
        return [{ reject: new RecordError('invalid-privacy-item', `privacy_list row ${key} (id ${text(row.id)}): ${read}`, location) }];
      }
      // What mod_blocking writes: a JID denied for every stanza kind with order 0, in the default list. Order 0
      // puts it before every other item, so taking it out of the list changes nothing the list decides.
      if (isDefault && read.type === 'jid' && read.action === 'deny' && read.order === 0 && read.matches.length === 0) blocked.push(read.value);
      else items.push(read);
    }
    const out: Produced[] = [];
    // mod_blocking creates "Blocked contacts" as the default list when the user had none; emptied, it is no list.
    if (!(blocked.length > 0 && items.length === 0 && name === 'Blocked contacts')) {
      const list: PrivacyListRecord = { kind: 'privacy-list', owner, name, isDefault, items, location };
      out.push({ record: list });
    }
    if (blocked.length > 0) {
      const blocklist: BlocklistRecord = { kind: 'blocklist', owner, blocked: blocked.sort(byCodePoint), location: { ...location, key: `${key} (XEP-0191 items: jid, deny, order 0)` } };
      out.push({ record: blocklist });
    }
    return out;
  }

  private privacyItem(row: Row): PrivacyItem | string {
    const t = text(row.t).trim();
    const action = text(row.action).trim();
    const type = Object.hasOwn(PRIVACY_TYPES, t) ? PRIVACY_TYPES[t] : undefined;
    const act = Object.hasOwn(PRIVACY_ACTIONS, action) ? PRIVACY_ACTIONS[action] : undefined;
    if (!type) return `item type ${JSON.stringify(t)} is not n, j, g or s`;
    if (!act) return `item action ${JSON.stringify(action)} is not a or d`;
    const order = Number(text(row.ord));
    if (!Number.isInteger(order) || order < 0) return `item order ${text(row.ord)} is not a non-negative integer`;
    let value = text(row.value);
    if (type === 'jid') {
      try {
        value = formatJid(parseJid(value));
      } catch (err) {
        return `item value: ${(err as Error).message}`;
      }
    } else if (type === 'subscription' && !SUBSCRIPTION_VALUES.has(value)) return `subscription item value ${JSON.stringify(value)} is not none, both, from or to`;
    else if (type === 'none') value = '';
    const matches: PrivacyItem['matches'] = [];
    if (!truthy(row.match_all)) {
      if (truthy(row.match_iq)) matches.push('iq');
      if (truthy(row.match_message)) matches.push('message');
      if (truthy(row.match_presence_in)) matches.push('presence-in');
      if (truthy(row.match_presence_out)) matches.push('presence-out');
      if (matches.length === 0) return `item with order ${order} matches no stanza kind (match_all and every match_* are false)`;
      // All four named is the same as none named.
      if (matches.length === 4) matches.length = 0;
    }
    return { type, value, action: act, order, matches };
  }

  // -------------------------------------------------------------------------------------------------------
  // offline: spool rows in seq order per user; the receive time is the delay ejabberd added.

  private async *offline(after: string[] | undefined): AsyncGenerator<Keyed> {
    const cols = [...(this.multi ? ['server_host'] : []), 'username', 'seq', 'xml'];
    const keyOf = (row: Row): string[] => this.rowKey(row, 'username', 'seq');
    const rest: KeyColumn[] = [{ expr: 'username' }, { expr: 'seq', numeric: true }];
    for await (const page of this.hostPages('spool', 'server_host', `SELECT ${cols.join(', ')} FROM spool`, rest, () => [], after, keyOf)) {
      for (const row of page) yield { key: keyOf(row), sub: 0, produced: this.offlineMessage(row) };
    }
  }

  private offlineMessage(row: Row): Produced {
    const key = this.keyText(row, 'username', 'seq');
    const location = this.location('spool', key);
    const owner = this.owner(row, 'spool', key);
    if (owner instanceof RecordError) return { reject: owner };
    const raw = text(row.xml);
    const stanza = this.xml(raw, 'spool', key);
    if (!(stanza instanceof Element)) return stanza;
    // misc:add_delay_info/4 adds <delay from=vhost stamp> unless a delay from the vhost is already there.
    const delay = stanza.children.find(
      (c): c is Element => typeof c !== 'string' && c.name === 'delay' && c.attrs.xmlns === NS_DELAY && sameDomain(c.attrs.from, owner.domain),
    );
    const stamp = delay?.attrs.stamp;
    const timestamp = stamp === undefined ? undefined : parseXmppTimestamp(stamp);
    if (timestamp === undefined) {
      const why = stamp === undefined ? `no <delay xmlns='${NS_DELAY}' from='${owner.domain}'>` : `delay stamp ${JSON.stringify(stamp)} is not an XEP-0082 date-time`;
      return { reject: new RecordError('offline-without-timestamp', `spool row ${key}: ${why}, so the time the server stored it is unknown`, location), excerpt: excerpt(raw) };
    }
    const from = stanza.attrs.from;
    let sender: string;
    try {
      if (from === undefined) throw new JidError('no from attribute');
      sender = formatJid(parseJid(from));
    } catch (err) {
      return { reject: new RecordError('invalid-jid', `spool row ${key}: sender ${(err as Error).message}`, location), excerpt: excerpt(raw) };
    }
    // ejabberd's MAM ids for the copy in the user's ejabberd archive: MongooseIM numbers its archive itself.
    removeChildren(stanza, (c) => isOwnArchiveMark(c, owner));
    return { record: { kind: 'offline-message', owner, timestamp, from: sender, stanza, location } };
  }

  // -------------------------------------------------------------------------------------------------------
  // MUC rooms and registered nicks

  private async *mucRooms(after: string[] | undefined): AsyncGenerator<Keyed> {
    const key: KeyColumn[] = [{ expr: 'name' }, { expr: 'host' }];
    const keyOf = (row: Row): string[] => [text(row.name), text(row.host)];
    this.droppedRoomOptions = new Map();
    for await (const page of this.pages('SELECT name, host, opts FROM muc_room', key, (b) => this.hostFilter(b), after, keyOf)) {
      for (const row of page) yield { key: keyOf(row), sub: 0, produced: this.mucRoom(row) };
    }
  }

  private mucRoom(row: Row): Produced {
    const key = `name=${text(row.name)} host=${text(row.host)}`;
    const location = this.location('muc_room', key);
    let room: BareJid;
    try {
      room = { local: normaliseLocal(text(row.name)), domain: normaliseDomain(text(row.host)) };
    } catch (err) {
      return { reject: new RecordError('invalid-jid', `muc_room row ${key}: ${(err as Error).message}`, location) };
    }
    const opts = text(row.opts);
    let mapped;
    try {
      mapped = mapMucRoomOptions(parseErlangTerm(opts));
    } catch (err) {
      const why = err instanceof ErlangTermError ? `opts is not an Erlang term: ${err.message}` : (err as Error).message;
      return { reject: new RecordError('malformed-room-options', `muc_room row ${key}: ${why}`, location), excerpt: excerpt(opts) };
    }
    if (mapped.problems.length > 0) {
      return { reject: new RecordError('malformed-room-options', `muc_room row ${key}: ${mapped.problems.join('; ')}`, location), excerpt: excerpt(opts) };
    }
    for (const option of mapped.dropped.keys()) this.droppedRoomOptions.set(option, (this.droppedRoomOptions.get(option) ?? 0) + 1);
    const affiliations: Array<{ jid: string; affiliation: (typeof mapped.affiliations)[number]['affiliation'] }> = [];
    for (const a of mapped.affiliations) {
      try {
        affiliations.push({ jid: formatJid(parseJid(a.jid)), affiliation: a.affiliation });
      } catch (err) {
        return { reject: new RecordError('invalid-jid', `muc_room row ${key}: affiliation of ${(err as Error).message}`, location), excerpt: excerpt(opts) };
      }
    }
    return { record: { kind: 'muc-room', room, options: mapped.options, affiliations, location } };
  }

  private async *mucRegistrations(after: string[] | undefined): AsyncGenerator<Keyed> {
    const key: KeyColumn[] = [{ expr: 'jid' }, { expr: 'host' }];
    const keyOf = (row: Row): string[] => [text(row.jid), text(row.host)];
    for await (const page of this.pages('SELECT jid, host, nick FROM muc_registered', key, (b) => this.hostFilter(b), after, keyOf)) {
      for (const row of page) {
        const keyText = `jid=${text(row.jid)} host=${text(row.host)}`;
        const location = this.location('muc_registered', keyText);
        let produced: Produced;
        try {
          const user = parseJid(text(row.jid));
          const host = parseJid(text(row.host));
          if (host.local !== '' || host.resource !== '') {
            produced = {
              reject: new RecordError(
                'room-nick-registration',
                `muc_registered row ${keyText}: a nick registered in one room (ejabberd 23.10+); MongooseIM registers nicks per MUC service only`,
                location,
              ),
            };
          } else if (user.local === '') throw new JidError(`invalid JID ${JSON.stringify(text(row.jid))}: not a user`);
          else produced = { record: { kind: 'muc-registration', mucHost: host.domain, user: { local: user.local, domain: user.domain }, nick: text(row.nick), location } };
        } catch (err) {
          produced = { reject: new RecordError('invalid-jid', `muc_registered row ${keyText}: ${(err as Error).message}`, location) };
        }
        yield { key: keyOf(row), sub: 0, produced };
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // PEP items (pubsub nodes of plugin pep, whose host is the owner's bare JID)

  private async *pep(after: string[] | undefined): AsyncGenerator<Keyed> {
    if (!hasTable(this.schema, 'pubsub_node')) return;
    const key: KeyColumn[] = [{ expr: 'i.nodeid', numeric: true }, { expr: 'i.itemid' }];
    const keyOf = (row: Row): string[] => [text(row.nodeid), text(row.itemid)];
    const select = 'SELECT i.nodeid, i.itemid, i.creation, i.payload, n.host, n.node FROM pubsub_item i JOIN pubsub_node n ON n.nodeid = i.nodeid';
    for await (const page of this.pages(select, key, (b) => [`n.plugin = ${b.param('pep')}`], after, keyOf)) {
      for (const row of page) {
        const produced = this.pepItem(row);
        if (produced) yield { key: keyOf(row), sub: 0, produced };
      }
    }
  }

  private pepItem(row: Row): Produced | undefined {
    const keyText = `nodeid=${text(row.nodeid)} itemid=${text(row.itemid)}`;
    const location = this.location('pubsub_item', `${keyText} (node ${text(row.node)} of ${text(row.host)})`);
    let owner: BareJid;
    try {
      const jid = parseJid(text(row.host));
      if (jid.local === '' || jid.resource !== '') throw new JidError(`PEP node host ${JSON.stringify(text(row.host))} is not a user's bare JID`);
      owner = { local: jid.local, domain: jid.domain };
    } catch (err) {
      return { reject: new RecordError('invalid-jid', `pubsub_item row ${keyText}: ${(err as Error).message}`, location) };
    }
    if (this.settings.domain !== undefined && this.multi && owner.domain !== this.settings.domain) return undefined;
    const payloadText = text(row.payload);
    if (payloadText.trim() === '') return { reject: new RecordError('empty-pep-item', `pubsub_item row ${keyText}: the item has no payload`, location) };
    const payload = this.xml(payloadText, 'pubsub_item', keyText);
    if (!(payload instanceof Element)) return payload;
    const record: MigrationRecord = { kind: 'pep-item', owner, node: text(row.node), itemId: text(row.itemid), payload, location };
    // node_flat_sql:encode_now/1: "MegaSecs:Secs:MicroSecs", each zero-padded to 6 digits.
    const now = /^(\d+):(\d+):(\d+)$/.exec(text(row.creation));
    if (now) record.publishedAt = (BigInt(now[1] as string) * 1_000_000n + BigInt(now[2] as string)) * 1_000_000n + BigInt(now[3] as string);
    return { record };
  }

  // -------------------------------------------------------------------------------------------------------
  // archive: personal and room archives, each archive's rows together in (timestamp, id) order.

  private async *archive(after: string[] | undefined, since: bigint | undefined): AsyncGenerator<Keyed> {
    const cols = [...(this.multi ? ['server_host'] : []), 'username', 'timestamp', 'id', 'peer', 'xml', 'kind', 'nick'];
    const keyOf = (row: Row): string[] => this.rowKey(row, 'username', 'timestamp', 'id');
    const sinceFilter = (b: SqlBuilder): string[] => (since === undefined ? [] : [`id > ${b.param(since.toString())}`]);
    for await (const page of this.hostPages('archive', 'server_host', `SELECT ${cols.join(', ')} FROM archive`, ARCHIVE_KEY, sinceFilter, after, keyOf)) {
      for (const row of page) yield { key: keyOf(row), sub: 0, produced: this.archivedMessage(row) };
    }
  }

  private async archiveHighWater(): Promise<bigint | undefined> {
    const b = new SqlBuilder(this.db.dialect);
    const where = this.hostFilter(b);
    const row = (await this.db.query(`SELECT max(id) AS m FROM archive${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, b.values))[0];
    return row?.m === null || row?.m === undefined ? undefined : BigInt(text(row.m));
  }

  private archivedMessage(row: Row): Produced {
    const key = this.keyText(row, 'username', 'timestamp', 'id');
    const location = this.location('archive', key);
    const username = text(row.username);
    const kind = text(row.kind);
    const peer = text(row.peer);
    const raw = text(row.xml);
    const timestampText = text(row.timestamp);
    if (!/^\d+$/.test(timestampText)) return { reject: new RecordError('malformed-timestamp', `archive row ${key}: timestamp ${timestampText} is not microseconds`, location) };
    const timestamp = BigInt(timestampText);
    if (kind !== 'chat' && kind !== 'groupchat' && kind !== '') {
      return { reject: new RecordError('unknown-archive-kind', `archive row ${key}: kind ${JSON.stringify(kind)} is not chat or groupchat`, location) };
    }
    const room = kind === 'groupchat';
    let archiveJid: BareJid;
    try {
      if (room) {
        const jid = parseJid(username);
        if (jid.local === '' || jid.resource !== '') throw new JidError(`room archive username ${JSON.stringify(username)} is not a room's bare JID`);
        archiveJid = { local: jid.local, domain: jid.domain };
      } else {
        const owner = this.owner(row, 'archive', key);
        if (owner instanceof RecordError) return { reject: owner };
        archiveJid = owner;
      }
    } catch (err) {
      return { reject: new RecordError('invalid-jid', `archive row ${key}: ${(err as Error).message}`, location) };
    }
    let stanza: Element;
    if (raw.charCodeAt(0) === COMPRESSED_XML_MARK) {
      // mod_mam_sql:store/8 compresses with J1 = the archive's JID as ejabberd spells it, J2 = the peer column.
      const j1 = room ? username : `${username}@${this.hostOf(row)}`;
      try {
        stanza = decodeCompressedXml(Buffer.from(raw, 'utf8'), j1, peer);
      } catch (err) {
        const why = err instanceof CompressedXmlError ? err.message : String(err);
        return { reject: new RecordError('undecodable-compressed-xml', `archive row ${key}: compress_xml value cannot be decoded: ${why}`, location), excerpt: excerpt(JSON.stringify(raw)) };
      }
      // What the plain row would hold (fxml:element_to_binary of the packet): the stream namespace on top.
      if (stanza.attrs.xmlns === undefined) stanza.attrs = { ...stanza.attrs, xmlns: NS_CLIENT };
    } else {
      const parsed = this.xml(raw, 'archive', key);
      if (!(parsed instanceof Element)) return parsed;
      stanza = parsed;
    }
    if (stanza.name !== 'message') {
      return { reject: new RecordError('archive-not-message', `archive row ${key}: the stored stanza is a <${stanza.name}>, not a <message>`, location), excerpt: excerpt(raw) };
    }
    const originId = stanza.children.find((c): c is Element => typeof c !== 'string' && c.name === 'origin-id' && c.attrs.xmlns === NS_SID)?.attrs.id;
    const base = { kind: 'archived-message' as const, timestamp, sourceId: timestampText, location, ...(originId !== undefined ? { originId } : {}) };
    if (room) {
      const nick = text(row.nick);
      if (nick === '') return { reject: new RecordError('room-message-without-nick', `archive row ${key}: a room message without the sender's nick`, location), excerpt: excerpt(raw) };
      let occupant: Jid;
      let realJid: string;
      try {
        occupant = parseJid(`${bareJidString(archiveJid)}/${nick}`);
        realJid = formatJid(parseJid(peer));
      } catch (err) {
        return { reject: new RecordError('invalid-jid', `archive row ${key}: ${(err as Error).message}`, location), excerpt: excerpt(raw) };
      }
      // The stored `from` is the sender's real JID: as ejabberd does on read, show the occupant JID instead,
      // and keep nothing else that would reveal it (the writer adds its own muc#user item from senderRealJid).
      const remote = formatJid(occupant);
      stanza.attrs = { ...stanza.attrs, from: remote };
      removeChildren(stanza, revealsRealJid);
      return { record: { ...base, archive: { type: 'room', jid: archiveJid }, remote, senderNick: nick, senderRealJid: realJid, stanza } };
    }
    let remote: string;
    let outgoing: boolean;
    try {
      remote = formatJid(parseJid(peer));
      const from = stanza.attrs.from === undefined ? undefined : parseJid(stanza.attrs.from);
      // The sender's copy is stored with from = the owner (full JID from a client, bare from ejabberdctl).
      outgoing = from === undefined || (from.local === archiveJid.local && from.domain === archiveJid.domain);
    } catch (err) {
      return { reject: new RecordError('invalid-jid', `archive row ${key}: ${(err as Error).message}`, location), excerpt: excerpt(raw) };
    }
    return { record: { ...base, archive: { type: 'user', jid: archiveJid }, direction: outgoing ? 'out' : 'in', remote, stanza } };
  }

  /** Parses stored XML, or a reject naming the table and key. */
  private xml(raw: string, table: string, key: string): Element | Produced {
    try {
      return parseXml(raw);
    } catch (err) {
      const why = err instanceof XmlParseError ? err.message : String(err);
      return { reject: new RecordError('malformed-xml', `${table} row ${key}: ${why}`, this.location(table, key), { cause: err }), excerpt: excerpt(raw) };
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // inventory

  async inventory(): Promise<SourceInventory> {
    const counts: SourceInventory['counts'] = {};
    const owners: SourceInventory['owners'] = {};
    const credentials: Record<string, number> = { none: 0 };
    const rejects: Record<string, number> = {};
    const notes: string[] = [];
    let legacyPasswordRows = 0;
    let blocklists = 0;
    for (const spec of this.specs.values()) {
      if (spec.name === 'archive') continue;
      // Records of one owner come together in every stream, so a change of owner (per kind) is a new owner.
      const lastOwner = new Map<RecordKind, string>();
      for await (const item of this.readFrom(spec, undefined, undefined)) {
        if ('reject' in item) {
          rejects[item.reject.code] = (rejects[item.reject.code] ?? 0) + 1;
          continue;
        }
        const record = item.record;
        counts[record.kind] = (counts[record.kind] ?? 0) + 1;
        const owner = ownerKeyOf(record);
        if (owner !== undefined && owner !== lastOwner.get(record.kind)) owners[record.kind] = (owners[record.kind] ?? 0) + 1;
        if (owner !== undefined) lastOwner.set(record.kind, owner);
        if (record.kind === 'account') {
          const shape = credentialShape(record.credential);
          credentials[shape] = (credentials[shape] ?? 0) + 1;
        } else if (record.kind === 'blocklist') blocklists++;
      }
    }
    if (this.schema.usersType) {
      const b = new SqlBuilder(this.db.dialect);
      const where = [`type = 0`, ...this.hostFilter(b)];
      legacyPasswordRows = Number(text((await this.db.query(`SELECT count(*) AS n FROM users WHERE ${where.join(' AND ')}`, b.values))[0]?.n));
    }
    const inventory: SourceInventory = {
      description: describeSchema(this.schema, this.settings.domain) + (this.multi && this.settings.domain ? `; reading vhost ${this.settings.domain} only` : ''),
      counts,
      owners,
      credentials,
      rejects,
      cannotProvide: [],
      notes,
    };
    if (this.specs.has('archive')) await this.archiveInventory(inventory);
    inventory.cannotProvide = await this.cannotProvide();
    if (legacyPasswordRows > 0) notes.push(`${legacyPasswordRows} users row(s) have type 0 (written before 25.03 and not yet converted): read by their sha256:/sha512: prefix or empty salt, as ejabberd does`);
    if (this.partialCredentials.length > 0) {
      notes.push(`${this.partialCredentials.length} account(s) keep the password rows that can be read and lose one that cannot: ${this.partialCredentials.slice(0, 5).join(', ')}`);
    }
    if (blocklists > 0) {
      notes.push(
        `${blocklists} XEP-0191 blocklist(s): ejabberd keeps blocks as privacy items (jid, deny, order 0, every stanza kind) in the user's default list; ` +
          'they are emitted as blocklist records and left out of that privacy list (order 0 comes first, so the list still decides the same for everything else); ' +
          'a default list named "Blocked contacts" that held only blocks is not emitted as a privacy list',
      );
    }
    if (this.droppedRoomOptions.size > 0) {
      notes.push(
        `room options with no MongooseIM counterpart (not migrated; rooms with a non-default value): ${[...this.droppedRoomOptions].map(([k, n]) => `${k} ×${n}`).join(', ')}`,
      );
    }
    if (!this.multi) {
      notes.push(`single-host schema: every row is taken to belong to ${this.settings.domain}; several vhosts sharing one single-host database cannot be told apart`);
      const evidence = await this.domainEvidence();
      if (evidence.sampled > 0 && evidence.matching === 0) {
        notes.push(
          `WARNING: none of ${evidence.sampled} sampled stored stanzas (archive, spool) is from or to a JID of ${this.settings.domain}: check --source-option domain (found ${[...evidence.seen].slice(0, 5).join(', ')})`,
        );
      }
    }
    if (this.db.dialect === 'mysql') {
      notes.push('MySQL: rows are ordered by the columns\' own collation (utf8mb4_unicode_ci in ejabberd\'s schema); user names that differ only in case or accents would share an archive in ejabberd too');
    }
    return inventory;
  }

  private async archiveInventory(inventory: SourceInventory): Promise<void> {
    const b = new SqlBuilder(this.db.dialect);
    const where = this.hostFilter(b);
    const whereSql = where.length ? ` WHERE ${where.join(' AND ')}` : '';
    const length = this.db.dialect === 'pg' ? 'octet_length(xml)' : 'LENGTH(xml)';
    const mark = this.db.dialect === 'pg' ? 'chr(1)' : 'CHAR(1)';
    const agg = (
      await this.db.query(
        `SELECT count(*) AS n, min(timestamp) AS first, max(timestamp) AS last, sum(${length}) AS bytes,
                sum(CASE WHEN kind = 'groupchat' THEN 1 ELSE 0 END) AS room_rows,
                sum(CASE WHEN substr(xml, 1, 1) = ${mark} THEN 1 ELSE 0 END) AS compressed,
                sum(CASE WHEN kind IS NOT NULL AND kind NOT IN ('chat', 'groupchat', '') THEN 1 ELSE 0 END) AS bad_kind
         FROM archive${whereSql}`,
        b.values,
      )
    )[0] as Row;
    const ownersSql = `SELECT count(*) AS n FROM (SELECT DISTINCT ${this.multi ? 'server_host, ' : ''}username FROM archive${whereSql}) o`;
    const ownerCount = Number(text((await this.db.query(ownersSql, b.values))[0]?.n));
    const total = Number(text(agg.n));
    if (total > 0) {
      inventory.counts['archived-message'] = total;
      inventory.owners['archived-message'] = ownerCount;
      inventory.archiveBytes = Number(text(agg.bytes));
      inventory.archiveSpan = { first: BigInt(text(agg.first)), last: BigInt(text(agg.last)) };
    }
    const compressed = Number(text(agg.compressed) || '0');
    const badKind = Number(text(agg.bad_kind) || '0');
    if (badKind > 0) inventory.rejects['unknown-archive-kind'] = (inventory.rejects['unknown-archive-kind'] ?? 0) + badKind;
    if (compressed > 0) {
      // Decode every compressed row now, so plan says exactly how many cannot be read.
      let failed = 0;
      for await (const item of this.compressedRows()) if (item) failed++;
      if (failed > 0) inventory.rejects['undecodable-compressed-xml'] = (inventory.rejects['undecodable-compressed-xml'] ?? 0) + failed;
      inventory.notes.push(`${compressed} archive row(s) are stored with compress_xml (ejabberd's dictionary-coded binary); ${compressed - failed} decode, ${failed} cannot be decoded and will be rejected`);
    }
    const roomRows = Number(text(agg.room_rows) || '0');
    if (roomRows > 0) {
      inventory.notes.push(`${roomRows} room archive row(s): their stored from is the sender's real JID; each is given from = room/nick, the real JID only as the sender's (muc#user items and ofrom addresses are dropped)`);
    }
    inventory.notes.push("archive XML is parsed during the run: malformed rows are counted there, not in plan; the origin_id column is not read (ejabberd fills it with the message id when there is no <origin-id>), the stanza's own <origin-id> is");
  }

  /**
   * A single-host schema stores no domain: sample stored stanzas and see whether the configured one is in them
   * (a wrong domain would put every user, and every JID rebuilt from a compressed row, on the wrong vhost).
   */
  private async domainEvidence(): Promise<{ sampled: number; matching: number; seen: Set<string> }> {
    const domain = this.settings.domain as string;
    const out = { sampled: 0, matching: 0, seen: new Set<string>() };
    const samples: string[] = [];
    for (const table of ['archive', 'spool']) {
      if (!hasTable(this.schema, table)) continue;
      const rows = await this.db.query(`SELECT xml FROM ${table} WHERE substr(xml, 1, 1) = '<' LIMIT 100`);
      samples.push(...rows.map((r) => text(r.xml)));
    }
    for (const xml of samples) {
      let el: Element;
      try {
        el = parseXml(xml);
      } catch {
        continue;
      }
      out.sampled++;
      const domains = [el.attrs.from, el.attrs.to].flatMap((raw) => {
        try {
          return raw === undefined ? [] : [parseJid(raw).domain];
        } catch {
          return [];
        }
      });
      for (const d of domains) out.seen.add(d);
      if (domains.some((d) => d === domain || d.endsWith(`.${domain}`))) out.matching++;
    }
    return out;
  }

  /** For each compressed archive row, true when it cannot be decoded. */
  private async *compressedRows(): AsyncGenerator<boolean> {
    const mark = this.db.dialect === 'pg' ? 'chr(1)' : 'CHAR(1)';
    const cols = [...(this.multi ? ['server_host'] : []), 'username', 'timestamp', 'id', 'peer', 'xml', 'kind'];
    const keyOf = (row: Row): string[] => this.rowKey(row, 'username', 'timestamp', 'id');
    const filters = (): string[] => [`substr(xml, 1, 1) = ${mark}`];
    for await (const page of this.hostPages('archive', 'server_host', `SELECT ${cols.join(', ')} FROM archive`, ARCHIVE_KEY, filters, undefined, keyOf)) {
      for (const row of page) {
        const username = text(row.username);
        const j1 = text(row.kind) === 'groupchat' ? username : `${username}@${this.hostOf(row)}`;
        try {
          decodeCompressedXml(Buffer.from(text(row.xml), 'utf8'), j1, text(row.peer));
          yield false;
        } catch {
          yield true;
        }
      }
    }
  }

  private async cannotProvide(): Promise<NotProvided[]> {
    const out: NotProvided[] = [];
    const count = async (table: string, where = ''): Promise<number> =>
      hasTable(this.schema, table) ? Number(text((await this.db.query(`SELECT count(*) AS n FROM ${table}${where}`))[0]?.n)) : 0;
    const add = async (table: string, kind: string, reason: string, advice?: string, where = ''): Promise<void> => {
      const n = await count(table, where);
      if (n > 0) out.push({ kind, reason: `${n} ${table} row(s): ${reason}`, ...(advice ? { advice } : {}) });
    };
    await add('archive_prefs', 'mam-preferences', 'MAM preferences (default always/never/roster and JID lists) are not migrated', "users' clients can set them again; MongooseIM's default applies meanwhile");
    await add('muc_room_subscribers', 'muc-subscriptions', 'MucSub subscriptions have no MongooseIM equivalent');
    await add('sr_group', 'shared-roster-groups', 'shared roster groups (mod_shared_roster) are not migrated', 'recreate them with MongooseIM mod_shared_roster_ldap or as plain roster items');
    await add('pubsub_node', 'pubsub', 'pubsub nodes other than PEP (plugin <> pep) are not migrated', undefined, " WHERE plugin <> 'pep'");
    await add('motd', 'motd', 'message-of-the-day is not migrated');
    await add('push_session', 'push-sessions', 'XEP-0357 push registrations are not migrated', 'clients register again on their next login');
    await add('mix_channel', 'mix', 'MIX channels have no MongooseIM equivalent');
    if (this.schema.rosterApproved) await add('rosterusers', 'roster-preapproval', 'pre-approved subscriptions (approved = true) are migrated without the pre-approval', undefined, ' WHERE approved = true');
    out.push({ kind: 'vcard_search', reason: 'vcard_search is not read: the writer recomputes the search fields from each vCard' });
    out.push({ kind: 'roster_version', reason: 'roster versions are not read: the writer gives migrated rosters a new version' });
    return out;
  }
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameKey(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameDomain(raw: string | undefined, domain: string): boolean {
  if (raw === undefined) return false;
  try {
    const jid = parseJid(raw);
    return jid.local === '' && jid.resource === '' && jid.domain === domain;
  } catch {
    return false;
  }
}

/** ejabberd's own MAM marks on a stored copy (`<archived>`, `<stanza-id>` by the owner). */
function isOwnArchiveMark(child: Element, owner: BareJid): boolean {
  const ours = (by: string | undefined): boolean => {
    if (by === undefined) return false;
    try {
      const jid = parseJid(by);
      return jid.local === owner.local && jid.domain === owner.domain && jid.resource === '';
    } catch {
      return false;
    }
  };
  return (
    (child.name === 'archived' && child.attrs.xmlns === NS_MAM_TMP && ours(child.attrs.by)) ||
    (child.name === 'stanza-id' && child.attrs.xmlns === NS_SID && ours(child.attrs.by))
  );
}

/**
 * Children of a room message that carry the sender's real JID: muc#user/#admin/#owner `<x>` with an item
 * that names a JID (ejabberd's mod_mam:strip_x_jid_tags/1 drops these before storing; older rows or other
 * writers may still have them), and XEP-0033 `ofrom` addresses.
 */
function revealsRealJid(child: Element): boolean {
  const ns = child.attrs.xmlns;
  if (child.name === 'x' && (ns === NS_MUC_USER || ns === NS_MUC_ADMIN || ns === NS_MUC_OWNER)) {
    return child.children.some((c) => typeof c !== 'string' && c.name === 'item' && c.attrs.jid !== undefined);
  }
  if (child.name === 'addresses' && ns === NS_ADDRESS) {
    return child.children.some((c) => typeof c !== 'string' && c.name === 'address' && c.attrs.type === 'ofrom');
  }
  return false;
}


// ---------------------------------------------------------------------------------------------------------
// Wiring: the drivers (pg, mysql2) are imported here and nowhere else in the adapter.

async function connectPostgres(url: string): Promise<EjabberdDb> {
  const client = new pg.Client({ connectionString: url, application_name: 'xmpp-migrate' });
  try {
    await client.connect();
    // A source is only read: make that a property of the session.
    await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  return {
    dialect: 'pg',
    async query(sql, params = []) {
      return (await client.query(sql, params)).rows as Array<Record<string, unknown>>;
    },
    async close() {
      await client.end();
    },
  };
}

async function connectMysql(url: string): Promise<EjabberdDb> {
  // Strings for BIGINT (µs timestamps exceed 2^53 only far in the future, ids may not), raw date strings.
  const conn = await mysql.createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, charset: 'utf8mb4' });
  try {
    await conn.query('SET SESSION TRANSACTION READ ONLY');
  } catch (err) {
    await conn.end().catch(() => {});
    throw err;
  }
  return {
    dialect: 'mysql',
    async query(sql, params = []) {
      const [rows] = await conn.query(sql, params);
      return rows as Array<Record<string, unknown>>;
    },
    async close() {
      await conn.end();
    },
  };
}

/** The location without its password: safe to print. */
function redactUrl(scheme: string, url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.searchParams.delete('password');
    return `${scheme}:${parsed.toString()}`;
  } catch {
    return `${scheme}:(unparsable URL)`;
  }
}

async function openEjabberd(scheme: 'ejabberd+pg' | 'ejabberd+mysql', location: string, options: SourceOptions): Promise<SourceAdapter> {
  const settings = parseEjabberdSqlSettings(options.settings);
  const dialect = scheme === 'ejabberd+pg' ? 'pg' : 'mysql';
  const expected = dialect === 'pg' ? /^postgres(ql)?:\/\//i : /^mysql:\/\//i;
  if (!expected.test(location)) {
    throw new UsageError(`${scheme} needs a ${dialect === 'pg' ? 'postgres://user:password@host:port/database' : 'mysql://user:password@host:port/database'} URL after the scheme, e.g. ${scheme}:${dialect === 'pg' ? 'postgres' : 'mysql'}://ejabberd:secret@127.0.0.1/ejabberd`);
  }
  const displayName = redactUrl(scheme, location);
  let db: EjabberdDb;
  try {
    db = dialect === 'pg' ? await connectPostgres(location) : await connectMysql(location);
  } catch (err) {
    throw new SourceError('connect-failed', `cannot connect to ${displayName}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await createEjabberdSqlSource(displayName, db, settings);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

/**
 * The adapter on an open connection (any EjabberdDb: the drivers above, or a wrapper around one). Detects the
 * schema; throws UsageError when a single-host schema comes without a domain. close() closes `db`.
 */
export async function createEjabberdSqlSource(displayName: string, db: EjabberdDb, settings: EjabberdSqlSettings): Promise<SourceAdapter> {
  const schema = await detectSchema(db);
  if (!schema.multiHost && settings.domain === undefined) {
    throw new UsageError(
      `${displayName} has ejabberd's single-host schema, whose rows carry no domain: pass the vhost with --source-option domain=<vhost> (e.g. domain=example.com)`,
    );
  }
  return new EjabberdSqlSource(displayName, db, schema, settings);
}

export const ejabberdPostgresAdapter: SourceAdapterDefinition = {
  schemes: ['ejabberd+pg'],
  summary: "ejabberd's SQL database on PostgreSQL (single- or multi-host schema; single-host needs --source-option domain=)",
  example: 'ejabberd+pg:postgres://ejabberd:secret@127.0.0.1:5432/ejabberd',
  open: (location, options) => openEjabberd('ejabberd+pg', location, options),
};

export const ejabberdMysqlAdapter: SourceAdapterDefinition = {
  schemes: ['ejabberd+mysql'],
  summary: "ejabberd's SQL database on MySQL or MariaDB (single- or multi-host schema; single-host needs --source-option domain=)",
  example: 'ejabberd+mysql:mysql://ejabberd:secret@127.0.0.1:3306/ejabberd',
  open: (location, options) => openEjabberd('ejabberd+mysql', location, options),
};

