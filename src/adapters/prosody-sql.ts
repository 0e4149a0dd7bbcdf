// Prosody SQL storage (storage = "sql", mod_storage_sql): the `prosody` key-value table and the
// `prosodyarchive` archive table, on PostgreSQL, MySQL/MariaDB and SQLite. https://prosody.im/doc/modules/mod_storage_sql
// · shared/docs/storage-facts.md §3.4. Records are the file adapter's: both hand the same model to
// prosody-records.ts (JSON with __array/__hash becomes the LuaTable the file would hold).
//
// Reads seek with keysets, never OFFSET: users page by `"user" > ?` within a host and group (the database's
// own order and index), archive items by `"sort_id" > ?` within an owner and store (index prosodyarchive_sort).
// Cursors are `<seq> <position>`: seq counts the stream's items (continued on resume), so cursors increase
// as strings whatever the database collation; the position is what the seek uses.
import { createRequire } from 'node:module';
import { SourceError, UsageError, redactSecrets } from '../errors.js';
import type { BareJid } from '../records.js';
import { bareJidString } from '../records.js';
import { Element, XmlParseError, parseXml } from '../xml/element.js';
import { LuaBytes, LuaTable, type LuaValue } from './prosody-lua-literal.js';
import {
  FIXED_GROUPS,
  PROSODY_KINDS,
  PROSODY_STREAMS,
  buildUnit,
  encodePathPart,
  encodeStoreName,
  isKnownStore,
  isPepNodeStore,
  pepGroup,
  type GroupDef,
  type UnitReader,
} from './prosody-layout.js';
import { ProsodySignals, inventoryFrom } from './prosody-inventory.js';
import { ModArchiveBuffer, ProsodyRecords, STORAGE_ONLY_ATTRS, type ArchiveItem, type Produced, type Where } from './prosody-records.js';
import { ProsodyDataError, elementFromTable, luaFromJson, sortAttributesDeep } from './prosody-stanza.js';
import type { SourceAdapter, SourceAdapterDefinition, SourceInventory, SourceItem, SourceOptions, StreamInfo } from './source-adapter.js';

type Dialect = 'postgres' | 'mysql' | 'sqlite';
type Row = Record<string, unknown>;

/** The slice of a database driver this adapter calls. Placeholders are `?`; identifiers are "quoted". */
export interface ProsodySqlConnection {
  readonly dialect: Dialect;
  query(sql: string, params: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

const USER_PAGE = 500;
const ITEM_PAGE = 1000;

// ---------------------------------------------------------------------------------------------------------
// Connections: only the wiring imports the drivers.

function toPostgres(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function toMysql(sql: string): string {
  return sql.replace(/"/g, '`');
}

async function connect(url: string): Promise<ProsodySqlConnection> {
  const scheme = url.slice(0, url.indexOf(':'));
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return {
      dialect: 'postgres',
      query: async (sql, params) => (await client.query(toPostgres(sql), params)).rows as Row[],
      close: () => client.end(),
    };
  }
  if (scheme === 'mysql' || scheme === 'mariadb') {
    const mysql = (await import('mysql2/promise')).default;
    const conn = await mysql.createConnection({ uri: url.replace(/^mariadb:/, 'mysql:'), supportBigNumbers: true, bigNumberStrings: false, charset: 'utf8mb4' });
    return {
      dialect: 'mysql',
      query: async (sql, params) => (await conn.query(toMysql(sql), params))[0] as Row[],
      close: () => conn.end(),
    };
  }
  if (scheme === 'sqlite') {
    const path = url.replace(/^sqlite:(\/\/)?/, '');
    if (path === '') throw new UsageError('prosody+sql:sqlite: needs a file: prosody+sql:sqlite:/var/lib/prosody/prosody.sqlite');
    interface Statement { all(...params: unknown[]): Row[] }
    interface Database { prepare(sql: string): Statement; close(): void }
    const BetterSqlite = createRequire(import.meta.url)('better-sqlite3') as new (file: string, options: { readonly: boolean; fileMustExist: boolean }) => Database;
    const db = new BetterSqlite(path, { readonly: true, fileMustExist: true });
    const statements = new Map<string, Statement>();
    return {
      dialect: 'sqlite',
      query: async (sql, params) => {
        let st = statements.get(sql);
        if (!st) statements.set(sql, (st = db.prepare(sql)));
        return st.all(...params);
      },
      close: async () => db.close(),
    };
  }
  throw new UsageError(`prosody+sql: unknown database URL scheme ${JSON.stringify(scheme)}: expected postgres://, mysql:// or sqlite:/path`);
}

// ---------------------------------------------------------------------------------------------------------
// Values: mod_storage_sql's serialize(): string, number (tostring), boolean, json (util.json), xml (a stanza).

function number(text: string): number {
  switch (text) {
    case 'inf':
      return Infinity;
    case '-inf':
      return -Infinity;
    case 'nan':
    case '-nan':
      return Number.NaN;
    default: {
      const n = Number(text);
      if (text.trim() === '' || Number.isNaN(n)) throw new ProsodyDataError('malformed-value', `type number with value ${JSON.stringify(text)}`);
      return n;
    }
  }
}

/** An element as util.stanza.preserialize would have written it: the model the record builders take. */
function tableFromElement(el: Element): LuaTable {
  const t = new LuaTable(0);
  t.map.set('name', el.name);
  const attr = new LuaTable(0);
  for (const [k, v] of Object.entries(el.attrs)) attr.map.set(k, v);
  t.map.set('attr', attr);
  let i = 1;
  for (const c of el.children) t.map.set(i++, typeof c === 'string' ? c : tableFromElement(c));
  return t;
}

function textOf(value: unknown): string | LuaBytes {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) {
    const text = value.toString('utf8');
    return Buffer.from(text, 'utf8').equals(value) ? text : new LuaBytes(Buffer.from(value), 0);
  }
  return String(value);
}

function deserialize(type: string, raw: unknown): LuaValue | undefined {
  const value = textOf(raw);
  if (value instanceof LuaBytes) {
    if (type === 'string') return value;
    throw new ProsodyDataError('invalid-utf8', `a ${type} value is not valid UTF-8`);
  }
  switch (type) {
    case 'string':
      return value;
    case 'number':
      return number(value);
    case 'boolean':
      if (value === 'true') return true;
      if (value === 'false') return false;
      throw new ProsodyDataError('malformed-value', `type boolean with value ${JSON.stringify(value)}`);
    case 'json': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch (err) {
        throw new ProsodyDataError('malformed-value', `invalid JSON (${(err as Error).message}); Prosody writes inf/nan as bare words, which it cannot read back either`);
      }
      return luaFromJson(parsed);
    }
    case 'xml':
      try {
        return tableFromElement(parseXml(value));
      } catch (err) {
        throw new ProsodyDataError('malformed-value', `invalid XML: ${(err as Error).message}`);
      }
    default:
      throw new ProsodyDataError('malformed-value', `unknown value type ${JSON.stringify(type)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Cursors.

interface Position {
  h: string;
  g: string;
  u: string;
  p: number;
  /** Keyval units: the item number; archive units: the sort_id. */
  i: number;
}

function encodeCursor(seq: number, p: Position): string {
  return `${String(seq).padStart(12, '0')} ${JSON.stringify([p.h, p.g, p.u, p.p, p.i])}`;
}

function decodeCursor(cursor: string): { seq: number; pos: Position } {
  const m = /^(\d{12}) (\[.*\])$/.exec(cursor);
  let parts: unknown;
  try {
    parts = m ? JSON.parse(m[2]!) : undefined;
  } catch {
    parts = undefined;
  }
  if (!m || !Array.isArray(parts) || parts.length !== 5 || typeof parts[0] !== 'string' || typeof parts[1] !== 'string' || typeof parts[2] !== 'string' ||
    typeof parts[3] !== 'number' || typeof parts[4] !== 'number') {
    throw new UsageError(`cursor ${JSON.stringify(cursor)} was not produced by the prosody+sql source`);
  }
  return { seq: Number(m[1]), pos: { h: parts[0], g: parts[1], u: parts[2], p: parts[3], i: parts[4] } };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------------------------------------

interface HostInfo {
  host: string;
  stores: Set<string>;
  archiveStores: Set<string>;
}

/** Streams whose stores only grow (MAM archives): delta passes read them past a sort_id mark. */
const APPEND_ONLY_STREAMS = new Set(['archives', 'muc-archives']);

/** sort_ids drawn before a mark but committed after it: a delta pass re-reads this many below the mark. */
const DELTA_SORT_ID_LAG = 10_000;

class ProsodySqlSource implements SourceAdapter {
  readonly capabilities = { resume: 'seek' as const, delta: 'exact' as const, kinds: PROSODY_KINDS };
  private readonly records: ProsodyRecords;
  private hasArchiveTable = true;

  constructor(
    readonly displayName: string,
    private readonly db: ProsodySqlConnection,
  ) {
    this.records = new ProsodyRecords(displayName);
  }

  streams(): StreamInfo[] {
    return PROSODY_STREAMS;
  }

  async checkSchema(): Promise<void> {
    const columns = async (table: string): Promise<Set<string> | undefined> => {
      try {
        const rows = await this.db.query(`SELECT * FROM "${table}" WHERE 1 = 0`, []);
        void rows;
      } catch {
        return undefined;
      }
      const sql = this.db.dialect === 'sqlite'
        ? `SELECT name AS column_name FROM pragma_table_info(?)`
        : `SELECT column_name AS "column_name" FROM information_schema.columns WHERE table_name = ?${this.db.dialect === 'mysql' ? ' AND table_schema = DATABASE()' : ''}`;
      return new Set((await this.db.query(sql, [table])).map((r) => String(r.column_name ?? r.COLUMN_NAME).toLowerCase()));
    };
    const keyval = await columns('prosody');
    if (!keyval) throw new SourceError('not-prosody', `${this.displayName}: there is no "prosody" table: this is not a Prosody SQL database (or the user cannot read it)`);
    const archive = await columns('prosodyarchive');
    if (!archive) {
      this.hasArchiveTable = false;
      return;
    }
    if (archive.has('stanza') && !archive.has('value')) {
      throw new SourceError('unsupported-schema', `${this.displayName}: prosodyarchive has the columns of the old community mod_mam_sql (id, when, with, resource, stanza), which this adapter does not read; let a current Prosody (mod_storage_sql) migrate it first`);
    }
  }

  read(stream: string, after?: string, since?: string): AsyncIterable<SourceItem> {
    if (!PROSODY_STREAMS.some((s) => s.name === stream)) {
      throw new UsageError(`the prosody+sql source has no stream ${JSON.stringify(stream)}: ${PROSODY_STREAMS.map((s) => s.name).join(', ')}`);
    }
    const resume = after === undefined ? undefined : decodeCursor(after);
    if (since !== undefined && !/^\d+$/.test(since)) throw new UsageError(`the prosody+sql source cannot read ${stream} since ${JSON.stringify(since)}: not a sort_id`);
    // Append-only archive stores are read past the mark, less a lag for sort_ids drawn before it but committed after.
    const fromSortId = since !== undefined && APPEND_ONLY_STREAMS.has(stream) ? Math.max(-1, Number(since) - DELTA_SORT_ID_LAG) : undefined;
    return this.readStream(stream, resume, new ProsodySignals(), fromSortId);
  }

  /** The largest sort_id of prosodyarchive: the high-water mark of the archive streams. */
  async highWater(stream: string): Promise<string | undefined> {
    if (!APPEND_ONLY_STREAMS.has(stream) || !this.hasArchiveTable) return undefined;
    const row = (await this.db.query(`SELECT max("sort_id") AS "m" FROM "prosodyarchive"`, []))[0];
    return row?.m === null || row?.m === undefined ? undefined : String(row.m);
  }

  async inventory(): Promise<SourceInventory> {
    const signals = new ProsodySignals();
    for (const h of await this.hosts()) {
      for (const store of [...h.stores, ...h.archiveStores]) {
        signals.store(h.host, store);
        if (!isKnownStore(store)) signals.note(`${h.host}: store ${store} is not read (unknown to this adapter)`);
      }
    }
    const streams = PROSODY_STREAMS.map((s) => ({ name: s.name, items: this.readStream(s.name, undefined, signals) }));
    return inventoryFrom(`Prosody SQL storage (${this.db.dialect}) at ${this.displayName}`, streams, signals);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private async hosts(): Promise<HostInfo[]> {
    const map = new Map<string, HostInfo>();
    const get = (host: string): HostInfo => {
      let h = map.get(host);
      if (!h) map.set(host, (h = { host, stores: new Set(), archiveStores: new Set() }));
      return h;
    };
    for (const r of await this.db.query(`SELECT DISTINCT "host", "store" FROM "prosody"`, [])) get(String(r.host)).stores.add(String(r.store));
    if (this.hasArchiveTable) {
      for (const r of await this.db.query(`SELECT DISTINCT "host", "store" FROM "prosodyarchive"`, [])) get(String(r.host)).archiveStores.add(String(r.store));
    }
    // The file adapter's order: hosts by their encoded directory names.
    return [...map.values()].sort((a, b) => cmp(encodePathPart(a.host), encodePathPart(b.host)));
  }

  private groups(stream: string, h: HostInfo): GroupDef[] {
    const groups = FIXED_GROUPS.filter((g) => g.stream === stream);
    if (stream === 'users') {
      for (const store of h.archiveStores) if (isPepNodeStore(store)) groups.push(pepGroup(store, encodeStoreName(store)));
    }
    return groups.sort((a, b) => cmp(a.key, b.key));
  }

  private isListStore(group: GroupDef, store: string): boolean {
    return group.list || store.startsWith('pep_');
  }

  private placeholders(n: number): string {
    return Array.from({ length: n }, () => '?').join(', ');
  }

  /** One page of users of a group: the union over both tables, in the database's order, strictly after `after`. */
  private async userPage(host: string, group: GroupDef, after: string, inclusive: boolean): Promise<string[]> {
    const kv = group.stores.filter((s) => !this.isListStore(group, s));
    const list = this.hasArchiveTable ? group.stores.filter((s) => this.isListStore(group, s)) : [];
    const parts: string[] = [];
    const params: unknown[] = [];
    if (kv.length > 0) {
      parts.push(`SELECT "user" FROM "prosody" WHERE "host" = ? AND "store" IN (${this.placeholders(kv.length)}) AND "user" <> ''`);
      params.push(host, ...kv);
    }
    if (list.length > 0) {
      parts.push(`SELECT "user" FROM "prosodyarchive" WHERE "host" = ? AND "store" IN (${this.placeholders(list.length)}) AND "user" <> ''`);
      params.push(host, ...list);
    }
    if (parts.length === 0) return [];
    const sql = `SELECT DISTINCT "user" FROM (${parts.join(' UNION ')}) u WHERE "user" ${inclusive ? '>=' : '>'} ? ORDER BY "user" LIMIT ${USER_PAGE}`;
    params.push(after);
    return (await this.db.query(sql, params)).map((r) => String(r.user));
  }

  private async *users(host: string, group: GroupDef, from: string | undefined): AsyncGenerator<string> {
    let after = from ?? '';
    let inclusive = from !== undefined;
    for (;;) {
      const page = await this.userPage(host, group, after, inclusive);
      for (const u of page) yield u;
      if (page.length < USER_PAGE) return;
      after = page[page.length - 1]!;
      inclusive = false;
    }
  }

  private async keyvalRows(host: string, user: string, store: string): Promise<{ value: LuaValue; where: Where } | undefined> {
    const rows = await this.db.query(
      `SELECT "key", "type", ${this.db.dialect === 'sqlite' ? 'CAST("value" AS BLOB) AS "value"' : '"value"'} FROM "prosody" WHERE "host" = ? AND "user" = ? AND "store" = ?`,
      [host, user, store],
    );
    if (rows.length === 0) return undefined;
    const where: Where = { table: 'prosody', key: `${host} ${user} ${store}` };
    // keyval_store_get: each row's key; the '' row holds the non-string keys, merged in.
    const table = new LuaTable(0);
    for (const row of rows) {
      const key = String(row.key);
      let value: LuaValue | undefined;
      try {
        value = deserialize(String(row.type), row.value);
      } catch (err) {
        if (err instanceof ProsodyDataError) throw new ProsodyDataError(err.code, `row key ${JSON.stringify(key)}: ${err.message}`);
        throw err;
      }
      if (value === undefined) continue;
      if (key !== '') table.map.set(key, value);
      else if (value instanceof LuaTable) for (const [k, v] of value.map) table.map.set(k, v);
    }
    return { value: table, where };
  }

  private itemFromRow(row: Row, where: Where): ArchiveItem {
    const type = String(row.type);
    const value = textOf(row.value);
    if (value instanceof LuaBytes) throw new ProsodyDataError('invalid-utf8', 'the stored stanza is not valid UTF-8');
    let stanza: Element;
    if (type === 'xml') {
      try {
        stanza = sortAttributesDeep(parseXml(value));
      } catch (err) {
        if (err instanceof XmlParseError) throw new ProsodyDataError('malformed-xml', `the stored stanza is not well-formed XML: ${err.message}`);
        throw err;
      }
      for (const a of STORAGE_ONLY_ATTRS) delete stanza.attrs[a];
    } else {
      const t = deserialize(type, value);
      if (!(t instanceof LuaTable)) throw new ProsodyDataError('malformed-archive-item', `an archive value of type ${type} is not a stanza`);
      stanza = elementFromTable(t, STORAGE_ONLY_ATTRS);
    }
    const when = row.when === null || row.when === undefined ? undefined : typeof row.when === 'number' ? row.when : number(String(row.when));
    const withValue = row.with === null || row.with === undefined ? '' : String(row.with);
    return { key: row.key === null || row.key === undefined ? undefined : String(row.key), when, with: withValue === '' ? undefined : withValue, stanza, stamp: undefined, where };
  }

  /**
   * Whether a user's archive store may hold a community mod_archive collection: an XML value that is a <chat>
   * (or a value of another type, which is read whole to be sure). One indexed probe per user and store.
   */
  private async mayHoldModArchive(host: string, user: string, store: string): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT 1 AS "hit" FROM "prosodyarchive" WHERE "host" = ? AND "user" = ? AND "store" = ? AND ("type" <> 'xml' OR "value" LIKE '<chat %' OR "value" LIKE '<chat>%') LIMIT 1`,
      [host, user, store],
    );
    return rows.length > 0;
  }

  private async *archiveRows(host: string, user: string, store: string, afterSortId: number): AsyncGenerator<Row> {
    let after = afterSortId;
    for (;;) {
      const rows = await this.db.query(
        `SELECT "sort_id", "key", "when", "with", "type", ${this.db.dialect === 'sqlite' ? 'CAST("value" AS BLOB) AS "value"' : '"value"'} FROM "prosodyarchive" ` +
          `WHERE "host" = ? AND "user" = ? AND "store" = ? AND "sort_id" > ? ORDER BY "sort_id" LIMIT ${ITEM_PAGE}`,
        [host, user, store, after],
      );
      for (const r of rows) yield r;
      if (rows.length < ITEM_PAGE) return;
      after = Number(rows[rows.length - 1]!.sort_id);
    }
  }

  private reader(host: string, user: string, key: string): UnitReader {
    return {
      keyval: (store) => this.keyvalRows(host, user, store),
      list: async (store) => {
        const items: ArchiveItem[] = [];
        const rejects: Produced[] = [];
        if (!this.hasArchiveTable) return { items, rejects };
        for await (const row of this.archiveRows(host, user, store, -1)) {
          const where: Where = { table: 'prosodyarchive', key: `sort_id=${String(row.sort_id)}` };
          try {
            items.push(this.itemFromRow(row, where));
          } catch (err) {
            rejects.push(this.records.fromError(err, where));
          }
        }
        return { items, rejects };
      },
    };
  }

  private unreadable(host: string, user: string, store: string, err: unknown, key: string): Produced {
    if (err instanceof ProsodyDataError) {
      return this.records.reject(err.code, `${store} of ${key}: ${err.message}; nothing of this store is migrated for it`, { table: 'prosody', key: `${host} ${user} ${store}` });
    }
    throw err;
  }

  private async *readStream(stream: string, resume: { seq: number; pos: Position } | undefined, signals: ProsodySignals, fromSortId?: number): AsyncGenerator<SourceItem> {
    let seq = resume?.seq ?? 0;
    const from = resume?.pos;
    const emit = (p: Produced, pos: Position): SourceItem => {
      signals.produced(p);
      const cursor = encodeCursor(++seq, pos);
      if ('record' in p) return { record: p.record, cursor };
      return p.excerpt === undefined ? { reject: p.reject, cursor } : { reject: p.reject, cursor, excerpt: p.excerpt };
    };
    for (const h of await this.hosts()) {
      const hostOrder = from ? cmp(encodePathPart(h.host), encodePathPart(from.h)) : 1;
      if (hostOrder < 0) continue;
      for (const group of this.groups(stream, h)) {
        if (hostOrder === 0 && cmp(group.key, from!.g) < 0) continue;
        const resumeHere = hostOrder === 0 && group.key === from!.g;
        for await (const user of this.users(h.host, group, resumeHere ? from!.u : undefined)) {
          const inUnit = resumeHere && user === from!.u ? from! : undefined;
          const owner = this.records.owner(h.host, user, { table: group.list ? 'prosodyarchive' : 'prosody', key: `${h.host} ${user}` });
          const pos = (p: number, i: number): Position => ({ h: h.host, g: group.key, u: user, p, i });
          if (!('local' in owner)) {
            if (!inUnit) yield emit(owner, pos(0, 1));
            continue;
          }
          const key = bareJidString(owner);
          if (!group.list) {
            const produced = await this.keyvalUnit(group, h.host, user, owner, key, signals);
            for (let i = 0; i < produced.length; i++) {
              if (inUnit && i + 1 <= inUnit.i) continue;
              yield emit(produced[i]!, pos(0, i + 1));
            }
            continue;
          }
          if (!this.hasArchiveTable) continue;
          const nonAnonymous = stream === 'muc-archives' ? await this.roomIsNonAnonymous(h.host, user) : false;
          for (let part = 0; part < group.stores.length; part++) {
            if (inUnit && part < inUnit.p) continue;
            const store = group.stores[part]!;
            let count = 0;
            if (stream === 'archives' && store === 'archive' && (await this.mayHoldModArchive(h.host, user, store))) {
              // Community mod_archive collections share this store: the whole archive, in time order. Positions
              // then count the items emitted (the detection gives the same answer on resume).
              const buffer = new ModArchiveBuffer(this.records, owner);
              for await (const row of this.archiveRows(h.host, user, store, -1)) {
                count++;
                const where: Where = { table: 'prosodyarchive', key: `sort_id=${String(row.sort_id)}` };
                let item: ArchiveItem | Produced;
                try {
                  item = this.itemFromRow(row, where);
                } catch (err) {
                  item = this.records.fromError(err, where);
                }
                if (!buffer.add(item, where)) break;
              }
              const produced = buffer.finish();
              for (let i = 0; i < produced.length; i++) {
                if (inUnit && part === inUnit.p && i + 1 <= inUnit.i) continue;
                yield emit(produced[i]!, pos(part, i + 1));
              }
              signals.listSize(stream, store, count);
              continue;
            }
            for await (const row of this.archiveRows(h.host, user, store, Math.max(inUnit && part === inUnit.p ? inUnit.i : -1, fromSortId ?? -1))) {
              count++;
              const sortId = Number(row.sort_id);
              const where: Where = { table: 'prosodyarchive', key: `sort_id=${sortId}` };
              let produced: Produced | undefined;
              try {
                const item = this.itemFromRow(row, where);
                produced = this.records.listItem(stream, store, owner, item, nonAnonymous, signals);
              } catch (err) {
                produced = this.records.fromError(err, where);
              }
              if (produced !== undefined) yield emit(produced, pos(part, sortId));
            }
            signals.listSize(stream, store, count);
          }
        }
      }
    }
  }


  private async keyvalUnit(group: GroupDef, host: string, user: string, owner: BareJid, key: string, signals: ProsodySignals): Promise<Produced[]> {
    if (group.key === '1config') {
      let data: { value: LuaValue; where: Where } | undefined;
      try {
        data = await this.keyvalRows(host, user, 'config');
      } catch (err) {
        return [this.unreadable(host, user, 'config', err, key)];
      }
      if (!data) return [];
      const result = this.records.room(owner, data.value, data.where);
      signals.room(result, data.value);
      return result.produced;
    }
    return buildUnit(this.records, group, owner, this.reader(host, user, key), (store, err) => this.unreadable(host, user, store, err, key));
  }

  private async roomIsNonAnonymous(host: string, room: string): Promise<boolean> {
    const rows = await this.db.query(`SELECT "type", "value" FROM "prosody" WHERE "host" = ? AND "user" = ? AND "store" = 'config' AND "key" = '_data'`, [host, room]);
    const row = rows[rows.length - 1];
    if (!row) return false;
    try {
      const data = deserialize(String(row.type), row.value);
      return data instanceof LuaTable && data.get('whois') === 'anyone';
    } catch {
      return false;
    }
  }
}

export const prosodySqlAdapter: SourceAdapterDefinition = {
  schemes: ['prosody+sql'],
  summary: 'Prosody SQL storage (mod_storage_sql): PostgreSQL, MySQL/MariaDB or SQLite',
  example: 'prosody+sql:postgres://prosody:PASSWORD@db.example.com/prosody',
  async open(location: string, options: SourceOptions): Promise<SourceAdapter> {
    const unknown = Object.keys(options.settings);
    if (unknown.length > 0) throw new UsageError(`unknown prosody+sql source option ${JSON.stringify(unknown[0])}: the SQL source has no options`);
    if (location === '') throw new UsageError('prosody+sql needs a database URL: prosody+sql:postgres://…, prosody+sql:mysql://… or prosody+sql:sqlite:/path');
    const displayName = redactSecrets(`prosody+sql:${location}`);
    let db: ProsodySqlConnection;
    try {
      db = await connect(location);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new SourceError('connect-failed', `cannot open ${displayName}: ${redactSecrets((err as Error).message)}`, { cause: err });
    }
    const source = new ProsodySqlSource(displayName, db);
    try {
      await source.checkSchema();
    } catch (err) {
      await db.close();
      throw err;
    }
    return source;
  },
};
