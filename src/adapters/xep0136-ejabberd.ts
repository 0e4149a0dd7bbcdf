// ejabberd's legacy XEP-0136 archives (contrib modules of the ejabberd 2.x era) on PostgreSQL and MySQL:
// mod_archive_odbc, mod_archive_sql (ejabberd-contrib mod_archive) and ndl/mod_archive2.
// Facts: shared/docs/storage-facts.md §2.7, checked against processone/ejabberd-contrib 4372c8fd
// (mod_archive/src/mod_archive_odbc.erl, mod_archive_sql.erl and their .sql files) and ndl/mod_archive2 70cc85d.
//
// Each owner's archive is read in time order (keyset pagination per owner), because the writer derives MAM
// ids from the time and breaks ties in delivery order. Consecutive rows of one collection become one
// legacy-collection record (a slice) whose entries carry their absolute time; the XEP-0136 converter turns
// it into archived messages. Every store here knows each message's absolute time:
//
// | layout           | message time                                   | direction                    | body          |
// |------------------|------------------------------------------------|------------------------------|---------------|
// | mod_archive_odbc | archive_messages.utc, DATETIME, whole seconds  | dir 0 from, 1 to, 2 note     | text          |
// | mod_archive2     | archive_message.utc, DATETIME(6)/timestamp µs  | direction 0 from, 1 to, 2 note | `T:` text, `X:` XML children |
// | mod_archive_sql  | start + Σ secs (Gregorian seconds; each secs counts from the previous message) | direction_to true = to | text |
import { RecordError, UsageError } from '../errors.js';
import { JidError, normaliseDomain, normaliseLocal, parseBareJid } from '../jid.js';
import type {
  BareJid,
  LegacyCollectionEntry,
  LegacyCollectionRecord,
  Micros,
  NotePolicy,
  RecordKind,
  SourceLocation,
} from '../records.js';
import { type Element, XmlParseError, childElements, cloneElement, parseXml } from '../xml/element.js';
import { MAX_SLICE_ENTRIES } from '../xep0136/time-order.js';
import { NS_ARCHIVE } from '../xml/namespaces.js';
import type {
  SourceAdapter,
  SourceAdapterDefinition,
  SourceInventory,
  SourceItem,
  SourceOptions,
  StreamInfo,
} from './source-adapter.js';
import {
  type SourceDatabase,
  type SqlDialectName,
  type SqlExpressions,
  SQL_EXPRESSIONS,
  decodeUtf8,
  describeTables,
  openSourceDatabase,
  parsePageRows,
  parseSqlTime,
} from './xep0136-sql.js';
import { parseNotePolicy } from './xep0136-chat.js';

export type EjabberdXep0136Layout = 'mod_archive_odbc' | 'mod_archive_sql' | 'mod_archive2';

/** The one stream: every owner's collections, owner by owner, each in time order. */
export const EJABBERD_XEP0136_STREAM = 'xep0136-collections';
const KINDS: RecordKind[] = ['legacy-collection'];
/** calendar:datetime_to_gregorian_seconds({{1970,1,1},{0,0,0}}): mod_archive_sql keeps Gregorian seconds. */
export const GREGORIAN_UNIX_EPOCH = 62_167_219_200n;

// ---------------------------------------------------------------------------------------------------------
// Settings (`--source-option key=value`)

export interface EjabberdXep0136Settings {
  /** The vhost of every user: required for mod_archive_sql, whose `username` column has no domain. */
  domain: string | undefined;
  /** Which layout to read when the database holds more than one (detected otherwise). */
  layout: EjabberdXep0136Layout | undefined;
  /** XEP-0136 notes (mod_archive_odbc and mod_archive2 direction 2): skip (default) or self-message. */
  notes: NotePolicy;
  /** Rows per keyset query (default 1000): smaller pages hold fewer rows in memory, larger ones mean fewer queries. */
  pageRows: number;
}

const SETTING_KEYS = ['domain', 'layout', 'notes', 'page-rows'];
const LAYOUT_NAMES: Record<string, EjabberdXep0136Layout> = {
  mod_archive_odbc: 'mod_archive_odbc',
  odbc: 'mod_archive_odbc',
  mod_archive_sql: 'mod_archive_sql',
  sql: 'mod_archive_sql',
  mod_archive2: 'mod_archive2',
  archive2: 'mod_archive2',
};

export function parseEjabberdXep0136Settings(settings: Record<string, string>): EjabberdXep0136Settings {
  for (const key of Object.keys(settings)) {
    if (!SETTING_KEYS.includes(key)) throw new UsageError(`unknown ejabberd-xep0136 source option ${JSON.stringify(key)}: expected one of ${SETTING_KEYS.join(', ')}`);
  }
  let domain = settings.domain;
  if (domain !== undefined) {
    try {
      domain = normaliseDomain(domain);
    } catch (err) {
      throw new UsageError(`ejabberd-xep0136 option domain=${domain}: ${(err as Error).message}`);
    }
  }
  const layoutName = settings.layout;
  const layout = layoutName === undefined ? undefined : LAYOUT_NAMES[layoutName];
  if (layoutName !== undefined && layout === undefined) throw new UsageError(`ejabberd-xep0136 option layout=${layoutName}: expected mod_archive_odbc, mod_archive_sql or mod_archive2`);
  return { domain, layout, notes: parseNotePolicy(settings.notes, 'ejabberd-xep0136'), pageRows: parsePageRows(settings['page-rows'], 'ejabberd-xep0136') };
}


// ---------------------------------------------------------------------------------------------------------
// The three layouts: where the columns are, as rows of one shape.

/** One message row, aliased the same way for every layout. */
interface MessageRow extends Record<string, unknown> {
  /** Message key: archive_messages.id, archive_message.id, or archive_message.ser. */
  mid: string | number;
  /** Collection key. */
  cid: string | number;
  /** mod_archive_odbc / mod_archive2: the utc column as text; mod_archive_sql: Gregorian seconds. */
  t: string | number | null;
  dir: string | number | boolean | null;
  secs?: string | number | null;
  body: Buffer | null;
  name: string | null;
  jid?: string | null;
  wu: string | null;
  ws: string | null;
  wr: string | null;
  subject: string | null;
  thread: string | null;
  cstart: string | number | null;
  /** 1 when this is the collection's first message. */
  first: string | number | boolean;
}

interface Layout {
  name: EjabberdXep0136Layout;
  collections: string;
  messages: string;
  /** Keyset columns of a row, in ORDER BY order, as the cursor stores them. */
  key(row: MessageRow): string[];
  ownersSql: string;
  pageSql(x: SqlExpressions, after: boolean, limit: number): string;
  /** µs of the row's time; undefined when it is not a time (reject). */
  time(row: MessageRow): Micros | undefined;
  start(row: MessageRow): Micros | undefined;
  direction(row: MessageRow): LegacyCollectionEntry['direction'] | undefined;
  messageKey(row: MessageRow): string;
}

const DIRECTION_CODES: Record<string, LegacyCollectionEntry['direction']> = { '0': 'from', '1': 'to', '2': 'note' };

/** The first-message flag: no earlier non-note message in the same collection (index on coll_id). */
function firstFlag(messages: string, dirColumn: string): string {
  return `CASE WHEN EXISTS (SELECT 1 FROM ${messages} p WHERE p.coll_id = m.coll_id AND p.${dirColumn} <> 2 AND (p.utc < m.utc OR (p.utc = m.utc AND p.id < m.id))) THEN 0 ELSE 1 END`;
}

function datetimeLayout(name: 'mod_archive_odbc' | 'mod_archive2'): Layout {
  const odbc = name === 'mod_archive_odbc';
  const collections = odbc ? 'archive_collections' : 'archive_collection';
  const messages = odbc ? 'archive_messages' : 'archive_message';
  const dir = odbc ? 'dir' : 'direction';
  return {
    name,
    collections,
    messages,
    key: (row) => [String(row.t), String(row.mid)],
    ownersSql: `SELECT DISTINCT us AS owner FROM ${collections} WHERE COALESCE(deleted, 0) = 0`,
    pageSql: (x, after, limit) =>
      `SELECT m.id AS mid, m.coll_id AS cid, ${x.timeText('m.utc')} AS t, m.${dir} AS dir, ${x.bytes('m.body')} AS body, m.name AS name, ${odbc ? 'NULL' : 'm.jid'} AS jid,
              c.with_user AS wu, c.with_server AS ws, c.with_resource AS wr, c.subject AS subject, c.thread AS thread, ${x.timeText('c.utc')} AS cstart,
              ${firstFlag(messages, dir)} AS first
         FROM ${messages} m JOIN ${collections} c ON c.id = m.coll_id
        WHERE c.us = $1 AND COALESCE(c.deleted, 0) = 0${after ? ' AND (m.utc > $2 OR (m.utc = $2 AND m.id > $3))' : ''}
        ORDER BY m.utc, m.id
        LIMIT ${limit}`,
    time: (row) => parseSqlTime(row.t === null ? null : String(row.t)),
    start: (row) => parseSqlTime(row.cstart === null ? null : String(row.cstart)),
    direction: (row) => (row.dir === null ? undefined : DIRECTION_CODES[String(row.dir)]),
    messageKey: (row) => `id=${row.mid}`,
  };
}

function gregorianToMicros(value: string | number | null): Micros | undefined {
  if (value === null || !/^-?\d+$/.test(String(value))) return undefined;
  const micros = (BigInt(String(value)) - GREGORIAN_UNIX_EPOCH) * 1_000_000n;
  return micros < 0n ? undefined : micros;
}

/**
 * mod_archive_sql (PostgreSQL only upstream): automatic archiving stores secs = now − the previous message of
 * the session (mod_archive_sql.erl find_storage: `TS - Last`), 0 for the first; manual uploads store the
 * client's secs (previous-relative per the XEP). So a message's time is start + the running sum of secs,
 * computed here by the database per collection in `ser` order. A negative secs counts as 0 (and is rejected).
 */
const SQL_LAYOUT: Layout = {
  name: 'mod_archive_sql',
  collections: 'archive_collection',
  messages: 'archive_message',
  key: (row) => [String(row.t), String(row.cid), String(row.mid)],
  ownersSql: `SELECT DISTINCT username AS owner FROM archive_collection`,
  pageSql: (x, after, limit) =>
    `SELECT mid, cid, t, dir, secs, body, name, jid, wu, ws, wr, subject, thread, cstart, first FROM (
       SELECT m.ser AS mid, m.sid AS cid,
              c.start + SUM(CASE WHEN m.secs > 0 THEN m.secs ELSE 0 END) OVER (PARTITION BY m.sid ORDER BY m.ser) AS t,
              m.direction_to AS dir, m.secs AS secs, ${x.bytes('m.body')} AS body, m.name AS name, m.jid AS jid,
              c.jid_u AS wu, c.jid_s AS ws, c.jid_r AS wr, c.subject AS subject, NULL AS thread, c.start AS cstart,
              CASE WHEN ROW_NUMBER() OVER (PARTITION BY m.sid ORDER BY m.ser) = 1 THEN 1 ELSE 0 END AS first
         FROM archive_message m JOIN archive_collection c ON c.sid = m.sid
        WHERE c.username = $1) x
      ${after ? 'WHERE (t, cid, mid) > (CAST($2 AS BIGINT), CAST($3 AS BIGINT), CAST($4 AS BIGINT))' : ''}
      ORDER BY t, cid, mid
      LIMIT ${limit}`,
  time: (row) => gregorianToMicros(row.t),
  start: (row) => gregorianToMicros(row.cstart),
  direction: (row) => (row.dir === true || row.dir === 't' || row.dir === 1 || row.dir === '1' ? 'to' : row.dir === false || row.dir === 'f' || row.dir === 0 || row.dir === '0' ? 'from' : undefined),
  messageKey: (row) => `sid=${row.cid},ser=${row.mid}`,
};

const LAYOUTS: Record<EjabberdXep0136Layout, Layout> = {
  mod_archive_odbc: datetimeLayout('mod_archive_odbc'),
  mod_archive_sql: SQL_LAYOUT,
  mod_archive2: datetimeLayout('mod_archive2'),
};

/** Which layouts the tables match (read-only detection from information_schema). */
export function detectLayouts(tables: Map<string, Set<string>>): EjabberdXep0136Layout[] {
  const has = (table: string, ...columns: string[]): boolean => columns.every((c) => tables.get(table)?.has(c) ?? false);
  const found: EjabberdXep0136Layout[] = [];
  if (has('archive_collections', 'us', 'with_server', 'utc', 'deleted') && has('archive_messages', 'coll_id', 'utc', 'dir', 'body')) found.push('mod_archive_odbc');
  if (has('archive_collection', 'sid', 'username', 'start') && has('archive_message', 'sid', 'ser', 'direction_to', 'secs')) found.push('mod_archive_sql');
  if (has('archive_collection', 'us', 'with_server', 'utc', 'deleted') && has('archive_message', 'coll_id', 'utc', 'direction', 'body')) found.push('mod_archive2');
  return found;
}

// ---------------------------------------------------------------------------------------------------------
// Rows → items

type Produced = { entry: LegacyCollectionEntry } | { reject: RecordError };

function withJid(row: MessageRow): string {
  const server = (row.ws ?? '').trim();
  if (server === '') return '';
  const user = row.wu ?? '';
  const resource = row.wr ?? '';
  return `${user === '' ? '' : `${user}@`}${server}${resource === '' ? '' : `/${resource}`}`;
}

/** mod_archive2 `X:` bodies: message children serialised with urn:xmpp:archive as the default namespace. */
function archive2Children(payload: string): Element[] {
  const wrapper = parseXml(`<x xmlns='${NS_ARCHIVE}'>${payload}</x>`);
  return childElements(wrapper).map((child) => {
    const copy = cloneElement(child);
    // In the wrapper's default namespace = the message's own children (body, subject, thread …).
    if (copy.attrs.xmlns === NS_ARCHIVE) delete copy.attrs.xmlns;
    return copy;
  });
}

class EjabberdXep0136Source implements SourceAdapter {
  readonly displayName: string;
  readonly capabilities = { resume: 'seek' as const, delta: 'scan' as const, kinds: KINDS };
  private readonly layout: Layout;

  constructor(
    private readonly db: SourceDatabase,
    layout: EjabberdXep0136Layout,
    private readonly settings: EjabberdXep0136Settings,
    scheme: string,
  ) {
    this.layout = LAYOUTS[layout];
    this.displayName = `${scheme}:${db.displayName}`;
  }

  streams(): StreamInfo[] {
    return [{ name: EJABBERD_XEP0136_STREAM, kinds: KINDS }];
  }

  private location(table: string, key: string): SourceLocation {
    return { source: this.displayName, table, key };
  }

  private owner(raw: string): BareJid {
    if (this.layout.name === 'mod_archive_sql') return { local: normaliseLocal(raw), domain: this.settings.domain! };
    const jid = parseBareJid(raw);
    if (jid.local === '') throw new JidError(`invalid JID ${JSON.stringify(raw)}: no user part`);
    return jid;
  }

  private async owners(): Promise<string[]> {
    const rows = await this.db.query<{ owner: string }>(this.layout.ownersSql);
    // Code-unit order, the same on every run and in both dialects (collations differ).
    return rows.map((r) => String(r.owner)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async *read(stream: string, after?: string): AsyncIterable<SourceItem> {
    if (stream !== EJABBERD_XEP0136_STREAM) throw new UsageError(`the ejabberd-xep0136 source has one stream, ${JSON.stringify(EJABBERD_XEP0136_STREAM)}, not ${JSON.stringify(stream)}`);
    const resume = after === undefined ? undefined : decodeCursor(after);
    const layout = this.layout;
    for (const rawOwner of await this.owners()) {
      if (resume && rawOwner < resume.owner) continue;
      let key = resume && rawOwner === resume.owner ? resume.key : undefined;
      let owner: BareJid;
      try {
        owner = this.owner(rawOwner);
      } catch (err) {
        if (!(err instanceof JidError)) throw err;
        if (key !== undefined) continue; // already reported before the resume point
        const reject = new RecordError('invalid-jid', `the archive owner ${JSON.stringify(rawOwner)} is not a user JID (${err.message}); its collections were not migrated`, this.location(layout.collections, `${layout.name === 'mod_archive_sql' ? 'username' : 'us'}=${rawOwner}`));
        yield { reject, cursor: encodeCursor(rawOwner, ['\uffff']) };
        continue;
      }
      for (;;) {
        const params: unknown[] = [rawOwner, ...(key ?? [])];
        const rows = await this.db.query<MessageRow>(layout.pageSql(SQL_EXPRESSIONS[this.db.dialect], key !== undefined, this.settings.pageRows), params);
        yield* this.pageItems(owner, rawOwner, rows);
        if (rows.length < this.settings.pageRows) break;
        key = layout.key(rows[rows.length - 1]!);
      }
    }
  }

  /** One page of one owner: runs of rows of one collection become slices; bad rows become rejects. */
  private *pageItems(owner: BareJid, rawOwner: string, rows: MessageRow[]): Generator<SourceItem> {
    const layout = this.layout;
    let slice: { record: LegacyCollectionRecord; cid: string; cursor: string } | undefined;
    for (const row of rows) {
      const cursor = encodeCursor(rawOwner, layout.key(row));
      const produced = this.entry(row);
      if ('reject' in produced) {
        if (slice) yield { record: slice.record, cursor: slice.cursor };
        slice = undefined;
        yield { reject: produced.reject, cursor };
        continue;
      }
      const cid = String(row.cid);
      const full = slice !== undefined && slice.cid === cid && slice.record.entries.length >= MAX_SLICE_ENTRIES;
      if (!slice || slice.cid !== cid || full) {
        if (slice) yield { record: slice.record, cursor: slice.cursor };
        const record: LegacyCollectionRecord = {
          kind: 'legacy-collection',
          owner,
          with: withJid(row),
          start: layout.start(row) ?? produced.entry.utc!,
          groupchat: false,
          entries: [],
          notes: this.settings.notes,
          startsCollection: !full && (row.first === 1 || row.first === '1' || row.first === true),
          location: this.location(layout.collections, `${layout.name === 'mod_archive_sql' ? 'sid' : 'id'}=${cid}`),
        };
        if (row.subject) record.subject = row.subject;
        if (row.thread) record.thread = row.thread;
        slice = { record, cid, cursor };
      }
      slice.record.entries.push(produced.entry);
      slice.cursor = cursor;
    }
    if (slice) yield { record: slice.record, cursor: slice.cursor };
  }

  private entry(row: MessageRow): Produced {
    const layout = this.layout;
    const location = this.location(layout.messages, layout.messageKey(row));
    const reject = (code: string, message: string): Produced => ({ reject: new RecordError(code, `${layout.name} message ${layout.messageKey(row)}: ${message}`, location) });
    const direction = layout.direction(row);
    if (direction === undefined) return reject('unknown-direction', `direction code ${JSON.stringify(row.dir)} is none of 0 (from), 1 (to), 2 (note)`);
    if (row.secs !== undefined && row.secs !== null && Number(row.secs) < 0) return reject('invalid-secs', `secs=${row.secs} is negative; the messages after it keep their time as if it were 0`);
    const utc = layout.time(row);
    if (utc === undefined) return reject('invalid-time', `its time ${JSON.stringify(row.t)} is not a date-time from 1970 on`);
    const entry: LegacyCollectionEntry = { direction, utc, location, sourceId: String(row.mid) };
    const body = decodeUtf8(row.body);
    if (body === undefined) return reject('invalid-utf8', 'the body is not valid UTF-8');
    if (body !== null) {
      if (layout.name !== 'mod_archive2') entry.body = body;
      else if (body.startsWith('T:')) entry.body = body.slice(2);
      else if (body.startsWith('X:') && direction !== 'note') {
        try {
          entry.children = archive2Children(body.slice(2));
        } catch (err) {
          if (!(err instanceof XmlParseError)) throw err;
          return reject('malformed-xml', `the X: body is not XML (${err.message})`);
        }
      } else return reject('unknown-body-encoding', `the body starts with ${JSON.stringify(body.slice(0, 2))}, neither T: (text) nor X: (XML)`);
    }
    if (row.name) entry.name = row.name;
    if (row.jid) entry.jid = row.jid;
    return { entry };
  }

  async inventory(): Promise<SourceInventory> {
    const layout = this.layout;
    const x = SQL_EXPRESSIONS[this.db.dialect];
    const sqlLayout = layout.name === 'mod_archive_sql';
    const live = sqlLayout ? 'TRUE' : 'COALESCE(c.deleted, 0) = 0';
    const [collections] = await this.db.query<{ total: string | number; live: string | number | null; owners: string | number }>(
      `SELECT COUNT(*) AS total, SUM(CASE WHEN ${live} THEN 1 ELSE 0 END) AS live, COUNT(DISTINCT ${sqlLayout ? 'c.username' : `CASE WHEN ${live} THEN c.us END`}) AS owners FROM ${layout.collections} c`,
    );
    const dirColumn = sqlLayout ? 'CASE WHEN m.direction_to THEN 1 ELSE 0 END' : `m.${layout.name === 'mod_archive_odbc' ? 'dir' : 'direction'}`;
    const join = sqlLayout ? 'archive_message m JOIN archive_collection c ON c.sid = m.sid' : `${layout.messages} m JOIN ${layout.collections} c ON c.id = m.coll_id`;
    const span = sqlLayout ? 'MIN(c.start) AS first, MAX(c.start) AS last' : `MIN(${x.timeText('m.utc')}) AS first, MAX(${x.timeText('m.utc')}) AS last`;
    const byDirection = await this.db.query<{ d: string | number | null; n: string | number; first: string | null; last: string | null }>(
      `SELECT ${dirColumn} AS d, COUNT(*) AS n, ${span} FROM ${join} WHERE ${live} GROUP BY ${dirColumn}`,
    );
    const counts: Record<string, number> = {};
    const rejects: Record<string, number> = {};
    let first: bigint | undefined;
    let last: bigint | undefined;
    for (const row of byDirection) {
      const direction = row.d === null ? undefined : DIRECTION_CODES[String(row.d)];
      const n = Number(row.n);
      if (direction === undefined) rejects['unknown-direction'] = (rejects['unknown-direction'] ?? 0) + n;
      else counts[direction] = (counts[direction] ?? 0) + n;
      for (const value of [row.first, row.last]) {
        const micros = sqlLayout ? gregorianToMicros(value) : parseSqlTime(value);
        if (micros === undefined) continue;
        if (first === undefined || micros < first) first = micros;
        if (last === undefined || micros > last) last = micros;
      }
    }
    const messages = (counts.from ?? 0) + (counts.to ?? 0);
    const totalCollections = Number(collections?.total ?? 0);
    const liveCollections = Number(collections?.live ?? 0);
    const notes = [
      `${liveCollections} collection(s) of ${Number(collections?.owners ?? 0)} owner(s): ${counts.to ?? 0} sent, ${counts.from ?? 0} received message(s)${counts.note ? `, ${counts.note} note(s)` : ''}`,
      'each archive is read in time order and handed on as slices of collections; the XEP-0136 converter turns them into MAM messages (groupchat ones need pm.archive_groupchats = true in MongooseIM)',
    ];
    if (totalCollections > liveCollections) notes.push(`${totalCollections - liveCollections} deleted collection(s) (deleted = 1 tombstones) are skipped`);
    if (counts.note) notes.push(this.settings.notes === 'skip' ? `${counts.note} note(s) are not migrated (notes=skip, the default); notes=self-message keeps each as a message to self` : `${counts.note} note(s) become messages to self (notes=self-message)`);
    if (sqlLayout) notes.push(`mod_archive_sql keeps no domain: every owner is taken to be on ${this.settings.domain}; message times are start + the running sum of secs`);
    if (layout.name === 'mod_archive_odbc') notes.push('mod_archive_odbc keeps whole seconds: messages of one second get MAM ids 1 µs apart, in row order');
    const inventory: SourceInventory = {
      description: `ejabberd ${layout.name} (XEP-0136) tables on ${this.db.dialect === 'pg' ? 'PostgreSQL' : 'MySQL'}`,
      counts: { 'archived-message': messages + (this.settings.notes === 'self-message' ? (counts.note ?? 0) : 0) },
      owners: { 'archived-message': Number(collections?.owners ?? 0) },
      credentials: { none: 0 },
      rejects,
      cannotProvide: [
        {
          kind: 'account',
          reason: 'this source reads only the legacy XEP-0136 archive tables: accounts, rosters, vCards, offline messages, MUC rooms and MAM (`archive`) are not read here',
          advice: "migrate them from the same database with the ejabberd SQL adapter, before or after this source",
        },
      ],
      notes,
    };
    if (first !== undefined && last !== undefined) inventory.archiveSpan = { first, last };
    return inventory;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function encodeCursor(owner: string, key: string[]): string {
  return JSON.stringify([owner, ...key]);
}

function decodeCursor(cursor: string): { owner: string; key: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length < 2 || !parsed.every((p) => typeof p === 'string')) {
    throw new UsageError(`cursor ${JSON.stringify(cursor)} was not produced by the ejabberd-xep0136 source`);
  }
  const [owner, ...key] = parsed as string[];
  return { owner: owner!, key };
}

/** Opens the database, detects (or takes) the layout and checks the options it needs. */
export async function openEjabberdXep0136(scheme: string, url: string, dialect: SqlDialectName, options: SourceOptions): Promise<SourceAdapter> {
  const settings = parseEjabberdXep0136Settings(options.settings);
  const db = await openSourceDatabase(url, dialect);
  try {
    const found = detectLayouts(await describeTables(db));
    let layout = settings.layout;
    if (layout !== undefined && !found.includes(layout)) {
      throw new UsageError(`${db.displayName} has no ${layout} tables (found: ${found.join(', ') || 'none'})`);
    }
    if (layout === undefined) {
      if (found.length === 0) {
        throw new UsageError(`${db.displayName} has none of the XEP-0136 tables of mod_archive_odbc (archive_collections, archive_messages), mod_archive_sql or mod_archive2 (archive_collection, archive_message)`);
      }
      if (found.length > 1) throw new UsageError(`${db.displayName} holds the tables of ${found.join(' and ')}: choose one with --source-option layout=…`);
      layout = found[0]!;
    }
    if (layout === 'mod_archive_sql' && settings.domain === undefined) {
      throw new UsageError(`mod_archive_sql keeps user names without a domain: pass the vhost with --source-option domain=example.com`);
    }
    if (layout !== 'mod_archive_sql' && settings.domain !== undefined) {
      throw new UsageError(`${layout} keeps each owner's full JID (column us): the domain option does not apply`);
    }
    if (layout === 'mod_archive_sql' && dialect !== 'pg') throw new UsageError('mod_archive_sql exists only for PostgreSQL (pg_mod_archive.sql); read it with ejabberd-xep0136+pg');
    return new EjabberdXep0136Source(db, layout, settings, scheme);
  } catch (err) {
    await db.close();
    throw err;
  }
}

export const ejabberdXep0136PgAdapter: SourceAdapterDefinition = {
  schemes: ['ejabberd-xep0136+pg'],
  summary: 'ejabberd XEP-0136 archives (mod_archive_odbc, mod_archive_sql, mod_archive2) in PostgreSQL',
  example: 'ejabberd-xep0136+pg:postgres://user:password@host:5432/ejabberd',
  open: (location, options) => openEjabberdXep0136('ejabberd-xep0136+pg', location, 'pg', options),
};

export const ejabberdXep0136MysqlAdapter: SourceAdapterDefinition = {
  schemes: ['ejabberd-xep0136+mysql'],
  summary: 'ejabberd XEP-0136 archives (mod_archive_odbc, mod_archive2) in MySQL or MariaDB',
  example: 'ejabberd-xep0136+mysql:mysql://user:password@host:3306/ejabberd',
  open: (location, options) => openEjabberdXep0136('ejabberd-xep0136+mysql', location, 'mysql', options),
};
