// What the Openfire and Tigase database adapters share: a connection to PostgreSQL or MySQL/MariaDB behind one
// small interface, keyset pagination with seek cursors, and the row → record helpers both servers need
// (µs times from their column encodings, XML, privacy lists, SCRAM keys).
import { createHash, createHmac } from 'node:crypto';
import { RecordError, SourceError, UsageError, redactSecrets } from '../errors.js';
import { JidError, normaliseJid } from '../jid.js';
import type { Micros, MigrationRecord, PrivacyItem, ScramAlgorithm, ScramHash, SourceLocation } from '../records.js';
import { Element, childElements, parseXml, serializeXml } from '../xml/element.js';
import type { SourceItem } from './source-adapter.js';

// ---------------------------------------------------------------------------------------------------------
// Connections: only this wiring imports the drivers.

export type SqlDialect = 'pg' | 'mysql';
export type SqlRow = Record<string, unknown>;

/** The slice of a SQL client the adapters call. */
export interface SqlSession {
  readonly dialect: SqlDialect;
  /**
   * Runs one statement with `?` placeholders. Column aliases are written in lower case, so both drivers
   * return the same keys. Times come back as the text the query formats them to, never as Date.
   */
  query(sql: string, params?: unknown[]): Promise<SqlRow[]>;
  close(): Promise<void>;
}

/** `postgres://…` or `mysql://…` (mariadb:// too), for the display name and errors: the password is masked. */
export function redactedUrl(url: string): string {
  return redactSecrets(url);
}

export function dialectOfUrl(url: string, scheme: string): SqlDialect {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'pg';
  if (/^(mysql|mariadb):\/\//i.test(url)) return 'mysql';
  throw new UsageError(`${scheme}: expected a postgres://… or mysql://… URL after "${scheme}:", got ${JSON.stringify(redactSecrets(url))}`);
}

/** Opens one connection; times are read and compared in UTC. */
export async function openSqlSession(url: string, dialect: SqlDialect, label: string): Promise<SqlSession> {
  try {
    if (dialect === 'pg') {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: url });
      // An idle connection that drops must not crash the process; the next query reports it.
      client.on('error', () => undefined);
      await client.connect();
      await client.query("SET TIME ZONE 'UTC'");
      return {
        dialect,
        async query(sql, params = []) {
          try {
            return (await client.query(numberedPlaceholders(sql), params)).rows as SqlRow[];
          } catch (err) {
            throw queryError(label, sql, err);
          }
        },
        close: async () => {
          await client.end();
        },
      };
    }
    const mysql = (await import('mysql2/promise')).default;
    const conn = await mysql.createConnection({
      uri: url.replace(/^mariadb:/i, 'mysql:'),
      // BIGINT ids beyond 2^53 and DATETIME(6) would lose precision as JS numbers and Dates.
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      charset: 'UTF8MB4_GENERAL_CI',
    });
    conn.on('error', () => undefined);
    await conn.query("SET time_zone = '+00:00'");
    return {
      dialect,
      async query(sql, params = []) {
        try {
          const [rows] = await conn.query(sql, params);
          return rows as SqlRow[];
        } catch (err) {
          throw queryError(label, sql, err);
        }
      },
      close: async () => {
        await conn.end();
      },
    };
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError('connect-failed', `${label}: cannot connect: ${redactSecrets((err as Error).message)}`, { cause: err });
  }
}

function numberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function queryError(label: string, sql: string, err: unknown): SourceError {
  const statement = sql.replace(/\s+/g, ' ').slice(0, 160);
  return new SourceError('query-failed', `${label}: ${redactSecrets((err as Error).message)} (while running: ${statement})`, { cause: err });
}

/** Lower-cased column names of a table in the connection's schema, or undefined when there is no such table. */
export async function tableColumns(db: SqlSession, table: string): Promise<Set<string> | undefined> {
  const schema = db.dialect === 'pg' ? 'current_schema()' : 'DATABASE()';
  const rows = await db.query(
    `SELECT column_name AS col FROM information_schema.columns WHERE table_schema = ${schema} AND lower(table_name) = lower(?)`,
    [table],
  );
  if (rows.length === 0) return undefined;
  return new Set(rows.map((r) => String(r.col).toLowerCase()));
}

/** A MySQL identifier that may be a keyword in some versions (`rank`). */
export function quoteIdent(db: SqlSession, name: string): string {
  return db.dialect === 'mysql' ? `\`${name}\`` : `"${name.toLowerCase()}"`;
}

// ---------------------------------------------------------------------------------------------------------
// Keyset pagination. A stream reads "units": the rows sharing one key, ordered by it. A unique key makes one
// row a unit; tables without a unique key (conversation logs) are read by a coarser key whose rows are fetched
// together and ordered in memory, so every unit is complete and its order deterministic. Each unit turns into
// items, and the cursor of an item is its place: `SSSSSSSSSSSS:[key values, item index]`. S counts the items of
// the stream, so cursors are strictly increasing as text too; the key and index are what a resume seeks by.

export type KeyValue = string | number;

export interface KeyColumn {
  /** The expression ordered and compared by, e.g. `u.username` or `lower(room_jid)`. */
  expr: string;
  /** How a cursor value is bound: text, an integer, a UTC time text, hex bytes (MySQL binary columns). */
  type: 'text' | 'int' | 'time' | 'hex';
}

export type Produced = { record: MigrationRecord } | { reject: RecordError; excerpt?: string };

export interface KeysetQuery<Row> {
  /** `SELECT … FROM …` with lower-case aliases, no WHERE. */
  select: string;
  /** Conditions every row must meet (joined with AND), with their parameters. */
  where?: string[];
  params?: unknown[];
  key: KeyColumn[];
  /** The key of a row, as cursor values: what `key` selects, in the same order. */
  keyOf(row: Row): KeyValue[];
  /** True when the key is unique: each unit is one row. */
  unique: boolean;
  /** Orders the rows of a unit whose key is not unique, deterministically. */
  order?(a: Row, b: Row): number;
}

export interface UnitReader<Row> {
  query: KeysetQuery<Row>;
  /** Loads what the units of one page need from other tables (roster groups, credentials, …). */
  enrich?(rows: Row[]): Promise<void>;
  /** The items of one unit, in a fixed order. */
  items(rows: Row[]): Produced[] | Promise<Produced[]>;
}

export const PAGE_ROWS = 500;

/** The `page-rows` source option: rows per keyset query. */
export function parsePageRows(value: string | undefined, adapter: string): number {
  if (value === undefined) return PAGE_ROWS;
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1) throw new UsageError(`${adapter} option page-rows=${value}: expected a positive number of rows (default ${PAGE_ROWS})`);
  return Number(value);
}

interface CursorPosition {
  seq: number;
  key: KeyValue[];
  index: number;
}

export function encodeCursor(position: CursorPosition): string {
  return `${String(position.seq).padStart(12, '0')}:${JSON.stringify([position.key, position.index])}`;
}

export function decodeCursor(cursor: string, keyLength: number, source: string, stream: string): CursorPosition {
  const m = /^(\d{12}):(.*)$/s.exec(cursor);
  let parsed: unknown;
  try {
    parsed = m ? JSON.parse(m[2] as string) : undefined;
  } catch {
    parsed = undefined;
  }
  const ok =
    m !== null &&
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    Array.isArray(parsed[0]) &&
    (parsed[0] as unknown[]).length === keyLength &&
    (parsed[0] as unknown[]).every((v) => typeof v === 'string' || typeof v === 'number') &&
    Number.isInteger(parsed[1]);
  if (!ok) throw new UsageError(`cursor ${JSON.stringify(cursor.slice(0, 120))} was not produced by stream ${JSON.stringify(stream)} of ${source}`);
  return { seq: Number((m as RegExpExecArray)[1]), key: (parsed as [KeyValue[], number])[0], index: (parsed as [KeyValue[], number])[1] };
}

function bindKey(db: SqlSession, column: KeyColumn, value: KeyValue): unknown {
  switch (column.type) {
    case 'hex':
      return Buffer.from(String(value), 'hex');
    case 'time':
      // PostgreSQL reads an untyped literal in the session time zone (UTC here); the offset makes it explicit.
      return db.dialect === 'pg' ? `${value}+00` : value;
    default:
      return value;
  }
}

/** `(k1, k2) > (?, ?)` (PostgreSQL, index-friendly) or its expansion (MySQL/MariaDB optimise that better). */
function afterCondition(db: SqlSession, key: KeyColumn[], values: KeyValue[]): { sql: string; params: unknown[] } {
  const bound = key.map((k, i) => bindKey(db, k, values[i] as KeyValue));
  if (db.dialect === 'pg') {
    return { sql: `(${key.map((k) => k.expr).join(', ')}) > (${key.map(() => '?').join(', ')})`, params: bound };
  }
  const build = (i: number): { sql: string; params: unknown[] } => {
    const k = key[i] as KeyColumn;
    if (i === key.length - 1) return { sql: `${k.expr} > ?`, params: [bound[i]] };
    const rest = build(i + 1);
    return { sql: `(${k.expr} > ? OR (${k.expr} = ? AND ${rest.sql}))`, params: [bound[i], bound[i], ...rest.params] };
  };
  return build(0);
}

function equalCondition(db: SqlSession, key: KeyColumn[], values: KeyValue[]): { sql: string; params: unknown[] } {
  return { sql: key.map((k) => `${k.expr} = ?`).join(' AND '), params: key.map((k, i) => bindKey(db, k, values[i] as KeyValue)) };
}

function sameKey(a: KeyValue[], b: KeyValue[]): boolean {
  return a.length === b.length && a.every((v, i) => String(v) === String(b[i]));
}

async function fetchRows<Row>(db: SqlSession, q: KeysetQuery<Row>, extra: { sql: string; params: unknown[] } | undefined, limit: number | undefined): Promise<Row[]> {
  const where = [...(q.where ?? []), ...(extra ? [extra.sql] : [])];
  const sql = `${q.select}${where.length > 0 ? ` WHERE ${where.map((w) => `(${w})`).join(' AND ')}` : ''} ORDER BY ${q.key.map((k) => k.expr).join(', ')}${limit === undefined ? '' : ` LIMIT ${limit}`}`;
  return (await db.query(sql, [...(q.params ?? []), ...(extra?.params ?? [])])) as Row[];
}

/**
 * Reads a stream unit by unit, strictly after `after`, and numbers its items. `label` names the source in
 * cursor errors.
 */
export async function* readUnits<Row>(
  db: SqlSession,
  reader: UnitReader<Row>,
  after: string | undefined,
  label: { source: string; stream: string },
  pageRows = PAGE_ROWS,
): AsyncGenerator<SourceItem> {
  const q = reader.query;
  let seq = 0;
  let from: KeyValue[] | undefined;
  let skipThrough = -1;
  if (after !== undefined) {
    const position = decodeCursor(after, q.key.length, label.source, label.stream);
    seq = position.seq;
    from = position.key;
    skipThrough = position.index;
    // The unit the cursor points into: what is left of it comes first.
    const rows = await fetchRows(db, q, equalCondition(db, q.key, position.key), undefined);
    if (rows.length > 0) {
      const unit = sortUnit(q, rows);
      await reader.enrich?.(unit);
      const produced = await reader.items(unit);
      for (let index = skipThrough + 1; index < produced.length; index++) {
        yield toItem(produced[index] as Produced, encodeCursor({ seq: ++seq, key: position.key, index }));
      }
    }
  }
  for (;;) {
    const page = await fetchRows(db, q, from === undefined ? undefined : afterCondition(db, q.key, from), pageRows);
    if (page.length === 0) return;
    let rows = page;
    let tail: Row[] | undefined;
    const lastKey = q.keyOf(page[page.length - 1] as Row);
    if (!q.unique && page.length === pageRows) {
      // The last unit may continue past the page: read it whole on its own.
      rows = page.filter((r) => !sameKey(q.keyOf(r), lastKey));
      tail = await fetchRows(db, q, equalCondition(db, q.key, lastKey), undefined);
    }
    const units: Row[][] = [];
    for (const row of rows) {
      const current = units[units.length - 1];
      if (current && sameKey(q.keyOf(current[0] as Row), q.keyOf(row))) current.push(row);
      else units.push([row]);
    }
    if (tail && tail.length > 0) units.push(tail);
    const sorted = units.map((u) => sortUnit(q, u));
    await reader.enrich?.(sorted.flat());
    for (const unit of sorted) {
      const key = q.keyOf(unit[0] as Row);
      const produced = await reader.items(unit);
      for (let index = 0; index < produced.length; index++) {
        yield toItem(produced[index] as Produced, encodeCursor({ seq: ++seq, key, index }));
      }
    }
    if (page.length < pageRows) return;
    from = lastKey;
  }
}

function sortUnit<Row>(q: KeysetQuery<Row>, rows: Row[]): Row[] {
  return q.unique || !q.order || rows.length < 2 ? rows : [...rows].sort(q.order);
}

function toItem(p: Produced, cursor: string): SourceItem {
  if ('record' in p) return { record: p.record, cursor };
  return p.excerpt === undefined ? { reject: p.reject, cursor } : { reject: p.reject, cursor, excerpt: p.excerpt };
}

/** Compares values as text (code unit order) with null first: a deterministic order for rows of one unit. */
export function compareNullable(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------
// Row values.

/** A column that may come back as a number, a bigint string or a Buffer, as text (or undefined for NULL). */
export function text(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

export function integer(value: unknown): number | undefined {
  const t = text(value)?.trim();
  if (t === undefined || !/^-?\d{1,15}$/.test(t)) return undefined;
  return Number(t);
}

/** Openfire's CHAR(15) epoch-ms strings (`001712345678901`, or `'0'`), trimmed, to µs. */
export function millisTextToMicros(value: unknown): Micros | undefined {
  const t = text(value)?.trim();
  if (t === undefined || !/^\d{1,15}$/.test(t)) return undefined;
  return BigInt(t) * 1000n;
}

/** A UTC `YYYY-MM-DD HH:MM:SS[.ffffff]` text (as the queries format times) to µs. */
export function utcTextToMicros(value: unknown): Micros | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text(value)?.trim() ?? '');
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1000n + BigInt(((m[7] ?? '') + '000000').slice(0, 6));
}

/** SQL that formats a timestamp column as UTC text with microseconds (the session time zone is UTC). */
export function utcTimeText(db: SqlSession, column: string): string {
  return db.dialect === 'pg' ? `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')` : `DATE_FORMAT(${column}, '%Y-%m-%d %H:%i:%s.%f')`;
}

// ---------------------------------------------------------------------------------------------------------
// XML.

export const EXCERPT_CHARS = 300;

export function excerptText(value: string): string {
  return value.length > EXCERPT_CHARS ? `${value.slice(0, EXCERPT_CHARS)}…` : value;
}

export function excerptOf(el: Element): string {
  return excerptText(serializeXml(el));
}

/** Parses stored XML; the error message says what is wrong, never the whole value. */
export function parseStored(value: string): { el: Element } | { problem: string } {
  try {
    return { el: parseXml(value) };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

/** Removes a top-level `<delay>` (XEP-0203) and `<x xmlns='jabber:x:delay'>` (XEP-0091). */
export function withoutDelays(el: Element): Element {
  el.children = el.children.filter((c) => typeof c === 'string' || !((c.name === 'delay' && c.attrs.xmlns === 'urn:xmpp:delay') || (c.name === 'x' && c.attrs.xmlns === 'jabber:x:delay')));
  return el;
}

/** `<origin-id xmlns='urn:xmpp:sid:0' id>` of a stanza (XEP-0359). */
export function originIdOf(el: Element): string | undefined {
  for (const c of el.children) {
    if (typeof c !== 'string' && c.name === 'origin-id' && c.attrs.xmlns === 'urn:xmpp:sid:0') return c.attrs.id ?? '';
  }
  return undefined;
}

export function textElement(name: string, value: string, attrs: Record<string, string> = {}): Element {
  const el = new Element(name, attrs);
  if (value !== '') el.children.push(value);
  return el;
}

export function appendChild(parent: Element, child: Element): void {
  child.parent = parent;
  parent.children.push(child);
}

/**
 * One XEP-0016 `<list name>` as stored by Openfire and Tigase. https://xmpp.org/extensions/xep-0016.html
 * Returns the items, or the first problem found.
 */
export function privacyItems(list: Element): { items: PrivacyItem[] } | { problem: string } {
  const items: PrivacyItem[] = [];
  for (const item of childElements(list)) {
    if (item.name !== 'item') continue;
    const type = item.attrs.type ?? 'none';
    let value = item.attrs.value ?? '';
    const action = item.attrs.action ?? '';
    const order = item.attrs.order ?? '';
    if (type !== 'none' && type !== 'jid' && type !== 'group' && type !== 'subscription') return { problem: `item type ${JSON.stringify(type)}` };
    if (action !== 'allow' && action !== 'deny') return { problem: `item action ${JSON.stringify(action)}` };
    if (!/^\d{1,9}$/.test(order)) return { problem: `item order ${JSON.stringify(order)}` };
    if (type === 'subscription' && !['none', 'to', 'from', 'both'].includes(value)) return { problem: `subscription value ${JSON.stringify(value)}` };
    if (type === 'jid') {
      try {
        value = normaliseJid(value);
      } catch (err) {
        return { problem: (err as JidError).message };
      }
    }
    const matches = childElements(item)
      .map((c) => c.name)
      .filter((n): n is PrivacyItem['matches'][number] => n === 'iq' || n === 'message' || n === 'presence-in' || n === 'presence-out');
    items.push({ type: type as PrivacyItem['type'], value, action: action as PrivacyItem['action'], order: Number(order), matches });
  }
  return { items };
}

// ---------------------------------------------------------------------------------------------------------
// SCRAM (RFC 5802): keys from a SaltedPassword, base64 fields.

export const SCRAM_KEY_BYTES: Record<ScramAlgorithm, number> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

/** StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key"). */
export function scramKeysFromSalted(algorithm: ScramAlgorithm, salted: Buffer): { storedKey: Buffer; serverKey: Buffer } {
  const clientKey = createHmac(algorithm, salted).update('Client Key').digest();
  return {
    storedKey: createHash(algorithm).update(clientKey).digest(),
    serverKey: createHmac(algorithm, salted).update('Server Key').digest(),
  };
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function strictBase64(value: string | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  const compact = value.trim();
  return compact !== '' && STRICT_BASE64.test(compact) ? Buffer.from(compact, 'base64') : undefined;
}

/** Checks a SCRAM hash's shape; the problem is phrased for a reject, without key material. */
export function scramProblem(hash: ScramHash): string | undefined {
  if (!Number.isInteger(hash.iterations) || hash.iterations < 1) return `iteration count ${hash.iterations} is not a positive integer`;
  if (hash.salt.length === 0) return 'empty salt';
  const bytes = SCRAM_KEY_BYTES[hash.algorithm];
  if (hash.storedKey.length !== bytes || hash.serverKey.length !== bytes) return `keys are not ${bytes} bytes long`;
  return undefined;
}

export function reject(code: string, message: string, location: SourceLocation, excerpt?: string): Produced {
  const error = new RecordError(code, message, location);
  return excerpt === undefined ? { reject: error } : { reject: error, excerpt };
}

// ---------------------------------------------------------------------------------------------------------
// Inventory helpers.

export function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}
