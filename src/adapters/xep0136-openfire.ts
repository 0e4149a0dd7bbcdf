// Openfire's Monitoring plugin archive (ofConversation, ofConParticipant, ofMessageArchive), which served
// XEP-0136 and XEP-0313, on PostgreSQL and MySQL. Facts: shared/docs/storage-facts.md §4.4, checked against
// igniterealtime/openfire-monitoring-plugin a29b46850 (ConversationManager, GroupConversationInterceptor,
// PaginatedMessageDatabaseQuery, src/database/monitoring_*.sql).
//
// The plugin stores one row per message, with absolute times (sentDate, epoch ms), so this adapter emits
// archived-message records directly rather than XEP-0136 collections (its conversations are only grouping):
//
// | row                                   | archives it goes to                                             |
// |---------------------------------------|-----------------------------------------------------------------|
// | 1:1 (conversation without room)       | each LOCAL party's personal archive: out for the sender, in for the recipient |
// | MUC private message (isPMforJID set)  | the sender's (out, to room/recipient-nick) and the recipient's (in, from room/sender-nick) |
// | room message                          | the room's archive, nick = toJIDResource, real sender = fromJID |
//
// Each archive must reach the writer in time order and in one piece, so the personal stream makes one pass
// per local user (keyset on sentDate within the user) and the room stream one pass per room.
import { RecordError, UsageError } from '../errors.js';
import { type Jid, JidError, formatJid, normaliseDomain, parseJid } from '../jid.js';
import type { ArchivedMessageRecord, BareJid, Micros, RecordKind, SourceLocation } from '../records.js';
import { bareJidString } from '../records.js';
import { Element, XmlParseError, parseXml } from '../xml/element.js';
import { NS_MUC_USER, NS_SID } from '../xml/namespaces.js';
import { legacyMessage } from '../xep0136/legacy-message.js';
import type { SourceAdapter, SourceAdapterDefinition, SourceInventory, SourceItem, SourceOptions, StreamInfo } from './source-adapter.js';
import { type SourceDatabase, type SqlDialectName, SQL_EXPRESSIONS, decodeUtf8, describeTables, openSourceDatabase, parsePageRows } from './xep0136-sql.js';

export const OPENFIRE_PERSONAL_STREAM = 'personal-archives';
export const OPENFIRE_ROOM_STREAM = 'room-archives';
const KINDS: RecordKind[] = ['archived-message'];

export interface OpenfireMonitoringSettings {
  /** The server's own XMPP domains: only their users get personal archives (a remote party has none here). */
  domains: Set<string>;
  /**
   * 'include' (default): room messages go to room archives. 'skip': leave them out, e.g. when the rooms'
   * history is migrated from ofMucConversationLog by the openfire adapter (the same messages would come twice).
   */
  rooms: 'include' | 'skip';
  pageRows: number;
}

const SETTING_KEYS = ['domain', 'rooms', 'page-rows'];

export function parseOpenfireMonitoringSettings(settings: Record<string, string>): OpenfireMonitoringSettings {
  for (const key of Object.keys(settings)) {
    if (!SETTING_KEYS.includes(key)) throw new UsageError(`unknown openfire-monitoring source option ${JSON.stringify(key)}: expected one of ${SETTING_KEYS.join(', ')}`);
  }
  const raw = settings.domain;
  if (raw === undefined || raw.trim() === '') {
    throw new UsageError('openfire-monitoring needs the local XMPP domain(s), whose users get personal archives: --source-option domain=example.com[,example.org]');
  }
  const domains = new Set<string>();
  for (const d of raw.split(',')) {
    try {
      domains.add(normaliseDomain(d.trim()));
    } catch (err) {
      throw new UsageError(`openfire-monitoring option domain=${raw}: ${(err as Error).message}`);
    }
  }
  const rooms = settings.rooms ?? 'include';
  if (rooms !== 'include' && rooms !== 'skip') throw new UsageError(`openfire-monitoring option rooms=${rooms}: expected include or skip`);
  return { domains, rooms, pageRows: parsePageRows(settings['page-rows'], 'openfire-monitoring') };
}

// ---------------------------------------------------------------------------------------------------------
// Rows

interface ArchiveRow extends Record<string, unknown> {
  mid: string | number | null;
  cid: string | number;
  fj: string;
  fr: string | null;
  tj: string;
  tr: string | null;
  sent: string | number;
  stanza: Buffer | null;
  body: Buffer | null;
  pm: string | null;
  room: string | null;
  /** The PM recipient's nick in the conversation (ofConParticipant), personal stream only. */
  pmnick?: string | null;
}

/** `fromJID` + `fromJIDResource`; legacy rows hold an unsplit full JID (`/` in the bare column). */
function fullJid(bare: string, resource: string | null): string {
  if (bare.includes('/')) return bare;
  return resource === null || resource === '' ? bare : `${bare}/${resource}`;
}

/** A deterministic order for rows of one millisecond (the table has no key): messageID, then every column. */
function compareRows(a: ArchiveRow, b: ArchiveRow): number {
  const id = (r: ArchiveRow): bigint => (r.mid === null ? -1n : BigInt(String(r.mid)));
  const ia = id(a);
  const ib = id(b);
  if (ia !== ib) return ia < ib ? -1 : 1;
  const text = (r: ArchiveRow): string[] => [String(r.cid), r.fj, r.fr ?? '', r.tj, r.tr ?? '', r.pm ?? '', r.body?.toString('hex') ?? '', r.stanza?.toString('hex') ?? ''];
  const ta = text(a);
  const tb = text(b);
  for (let i = 0; i < ta.length; i++) if (ta[i] !== tb[i]) return ta[i]! < tb[i]! ? -1 : 1;
  return 0;
}

function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}

interface Pass {
  /** Cursor prefix and order: the archive's key as the cursor stores it. */
  key: string;
  archive: BareJid;
  /** Raw column values that name this archive (several spellings may normalise to one JID). */
  raw: string[];
}

type Built = { record: ArchivedMessageRecord } | { reject: RecordError } | undefined;

class OpenfireMonitoringSource implements SourceAdapter {
  readonly displayName: string;
  readonly capabilities = { resume: 'seek' as const, delta: 'scan' as const, kinds: KINDS };

  constructor(
    private readonly db: SourceDatabase,
    private readonly settings: OpenfireMonitoringSettings,
    scheme: string,
  ) {
    this.displayName = `${scheme}:${db.displayName}`;
  }

  streams(): StreamInfo[] {
    const streams = [{ name: OPENFIRE_PERSONAL_STREAM, kinds: KINDS }];
    if (this.settings.rooms === 'include') streams.push({ name: OPENFIRE_ROOM_STREAM, kinds: KINDS });
    return streams;
  }

  private location(row: ArchiveRow): SourceLocation {
    const key = row.mid === null ? `conversationID=${row.cid},sentDate=${row.sent} (legacy row, no messageID)` : `messageID=${row.mid}`;
    return { source: this.displayName, table: 'ofMessageArchive', key };
  }

  /** Local users with a personal archive here, each with the spellings the rows use. */
  private async personalPasses(): Promise<Pass[]> {
    const x = SQL_EXPRESSIONS[this.db.dialect];
    const rows = await this.db.query<{ j: string | null }>(
      `SELECT DISTINCT j FROM (
         SELECT ${x.beforeSlash('fromJID')} AS j FROM ofMessageArchive
         UNION SELECT ${x.beforeSlash('toJID')} AS j FROM ofMessageArchive
         UNION SELECT isPMforJID AS j FROM ofMessageArchive WHERE isPMforJID IS NOT NULL) x`,
    );
    return this.passes(rows.map((r) => r.j), (jid) => jid.local !== '' && this.settings.domains.has(jid.domain));
  }

  private async roomPasses(): Promise<Pass[]> {
    const rows = await this.db.query<{ j: string | null }>(`SELECT DISTINCT room AS j FROM ofConversation WHERE room IS NOT NULL AND room <> ''`);
    return this.passes(rows.map((r) => r.j), (jid) => jid.local !== '');
  }

  private passes(values: Array<string | null>, keep: (jid: BareJid) => boolean): Pass[] {
    const byKey = new Map<string, Pass>();
    for (const value of values) {
      if (value === null || value === '') continue;
      let jid: BareJid;
      try {
        const parsed = parseJid(value);
        jid = { local: parsed.local, domain: parsed.domain };
      } catch {
        continue; // not a JID: the rows that use it are rejected where they are read
      }
      if (!keep(jid)) continue;
      const key = bareJidString(jid);
      const pass = byKey.get(key) ?? { key, archive: jid, raw: [] };
      pass.raw.push(value);
      byKey.set(key, pass);
    }
    return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private pageSql(stream: string, pass: Pass, from: string | undefined, limit: number | undefined): { sql: string; params: unknown[] } {
    const x = SQL_EXPRESSIONS[this.db.dialect];
    const columns = `m.messageID AS mid, m.conversationID AS cid, m.fromJID AS fj, m.fromJIDResource AS fr, m.toJID AS tj, m.toJIDResource AS tr,
                     m.sentDate AS sent, ${x.bytes('m.stanza')} AS stanza, ${x.bytes('m.body')} AS body, m.isPMforJID AS pm, c.room AS room`;
    const params: unknown[] = [];
    const list = (values: string[]): string => values.map((v) => `$${params.push(v)}`).join(', ');
    let where: string;
    let select: string;
    if (stream === OPENFIRE_PERSONAL_STREAM) {
      const names = list(pass.raw);
      const likes = pass.raw.map((v) => `m.fromJID LIKE $${params.push(`${escapeLike(v)}/%`)} ESCAPE '!' OR m.toJID LIKE $${params.push(`${escapeLike(v)}/%`)} ESCAPE '!'`).join(' OR ');
      const pmNick = `(SELECT MIN(p.nickname) FROM ofConParticipant p WHERE p.conversationID = m.conversationID AND p.bareJID = m.isPMforJID)`;
      select = `${columns}, ${pmNick} AS pmnick FROM ofMessageArchive m LEFT JOIN ofConversation c ON c.conversationID = m.conversationID`;
      where = `(m.fromJID IN (${names}) OR m.toJID IN (${names}) OR m.isPMforJID IN (${names}) OR ${likes})
               AND (c.room IS NULL OR c.room = '' OR m.isPMforJID IS NOT NULL)`;
    } else {
      select = `${columns} FROM ofMessageArchive m JOIN ofConversation c ON c.conversationID = m.conversationID`;
      where = `c.room IN (${list(pass.raw)}) AND m.isPMforJID IS NULL`;
    }
    if (from !== undefined) where += ` AND m.sentDate ${limit === undefined ? '=' : '>='} $${params.push(from)}`;
    return { sql: `SELECT ${select} WHERE ${where} ORDER BY m.sentDate${limit === undefined ? '' : ` LIMIT ${limit}`}`, params };
  }

  /**
   * The archive's rows in time order, one millisecond at a time (rows of one sentDate sorted by compareRows),
   * with the index of each row within its millisecond. Pages end on a millisecond boundary.
   */
  private async *rowsOf(stream: string, pass: Pass, resume: { sent: string; done: number } | undefined): AsyncGenerator<{ row: ArchiveRow; index: number }> {
    const limit = this.settings.pageRows;
    let from = resume?.sent;
    for (;;) {
      const page = this.pageSql(stream, pass, from, limit);
      let rows = await this.db.query<ArchiveRow>(page.sql, page.params);
      const full = rows.length === limit;
      if (full) {
        const last = String(rows[rows.length - 1]!.sent);
        if (String(rows[0]!.sent) === last) {
          // One millisecond fills the page: read that millisecond whole.
          const group = this.pageSql(stream, pass, last, undefined);
          rows = await this.db.query<ArchiveRow>(group.sql, group.params);
        } else {
          rows = rows.filter((r) => String(r.sent) !== last);
        }
      }
      let i = 0;
      while (i < rows.length) {
        const sent = String(rows[i]!.sent);
        let j = i;
        while (j < rows.length && String(rows[j]!.sent) === sent) j++;
        const group = rows.slice(i, j).sort(compareRows);
        const skip = resume && resume.sent === sent ? resume.done : 0;
        for (let k = skip; k < group.length; k++) yield { row: group[k]!, index: k };
        i = j;
      }
      if (!full) return;
      const lastRead = String(rows[rows.length - 1]!.sent);
      // The next page starts after the last millisecond read whole.
      from = String(BigInt(lastRead) + 1n);
      resume = undefined;
    }
  }

  async *read(stream: string, after?: string): AsyncIterable<SourceItem> {
    if (!this.streams().some((s) => s.name === stream)) throw new UsageError(`the openfire-monitoring source has no stream ${JSON.stringify(stream)} (${this.streams().map((s) => s.name).join(', ')})`);
    const cursor = after === undefined ? undefined : decodeCursor(after);
    const passes = stream === OPENFIRE_PERSONAL_STREAM ? await this.personalPasses() : await this.roomPasses();
    for (const pass of passes) {
      if (cursor && pass.key < cursor.archive) continue;
      const resume = cursor && pass.key === cursor.archive ? { sent: cursor.sent, done: cursor.done } : undefined;
      for await (const { row, index } of this.rowsOf(stream, pass, resume)) {
        const out = encodeCursor(pass.key, String(row.sent), index + 1);
        const built = stream === OPENFIRE_PERSONAL_STREAM ? this.personal(pass.archive, row) : this.roomMessage(pass.archive, row);
        if (built === undefined) continue;
        if ('reject' in built) yield { reject: built.reject, cursor: out };
        else yield { record: built.record, cursor: out };
      }
    }
  }

  private time(row: ArchiveRow): Micros | undefined {
    const text = String(row.sent);
    if (!/^\d{1,15}$/.test(text)) return undefined;
    return BigInt(text) * 1000n;
  }

  /** The kept stanza, or undefined (none, or unusable: then the body is used). */
  private stanza(row: ArchiveRow): Element | undefined | 'invalid-utf8' {
    const text = decodeUtf8(row.stanza);
    if (text === undefined) return 'invalid-utf8';
    if (text === null || text.trim() === '') return undefined;
    try {
      const el = parseXml(text);
      return el.name === 'message' ? el : undefined;
    } catch (err) {
      if (err instanceof XmlParseError) return undefined;
      throw err;
    }
  }

  private common(row: ArchiveRow): { micros: Micros; kept: Element | undefined; body: string | undefined } | { reject: RecordError } {
    const location = this.location(row);
    const reject = (code: string, message: string): { reject: RecordError } => ({ reject: new RecordError(code, `ofMessageArchive ${location.key}: ${message}`, location) });
    const micros = this.time(row);
    if (micros === undefined) return reject('invalid-time', `sentDate ${JSON.stringify(row.sent)} is not epoch milliseconds from 1970 on`);
    const kept = this.stanza(row);
    const body = decodeUtf8(row.body);
    if (kept === 'invalid-utf8' || body === undefined) return reject('invalid-utf8', `the ${kept === 'invalid-utf8' ? 'stanza' : 'body'} is not valid UTF-8`);
    if (kept === undefined && (body === null || body === '')) return reject('empty-row', 'neither a stanza nor a body: nothing to archive');
    return { micros, kept, body: body ?? undefined };
  }

  /** One row as it lands in `owner`'s personal archive (undefined: the row is not this owner's). */
  private personal(owner: BareJid, row: ArchiveRow): Built {
    const location = this.location(row);
    const ownerText = bareJidString(owner);
    let from: Jid;
    let to: Jid;
    try {
      from = parseJid(fullJid(row.fj, row.fr));
      to = parseJid(fullJid(row.tj, row.tr));
    } catch (err) {
      if (!(err instanceof JidError)) throw err;
      return { reject: new RecordError('invalid-jid', `ofMessageArchive ${location.key}: ${err.message}`, location) };
    }
    const isOwner = (j: { local: string; domain: string }): boolean => j.local === owner.local && j.domain === owner.domain;
    const outgoing = isOwner(from);
    const common = this.common(row);
    if ('reject' in common) {
      // A bad row is read once per local party: report it once, in the sender's pass (the recipient's when the
      // sender is not local).
      const senderLocal = from.local !== '' && this.settings.domains.has(from.domain);
      return outgoing || !senderLocal ? common : undefined;
    }
    let remote: string;
    let stanza: Element;
    if (row.pm !== null && row.room !== null && row.room !== '') {
      // MUC private message: toJID is the room, toJIDResource the SENDER's nick, isPMforJID the recipient.
      const room = formatJid({ ...to, resource: '' });
      let recipient: Jid;
      try {
        recipient = parseJid(row.pm);
      } catch (err) {
        if (!(err instanceof JidError)) throw err;
        return { reject: new RecordError('invalid-jid', `ofMessageArchive ${location.key}: isPMforJID: ${err.message}`, location) };
      }
      const receiving = isOwner(recipient);
      if (!outgoing && !receiving) return undefined;
      if (outgoing) {
        const nick = row.pmnick ?? '';
        remote = nick === '' ? room : `${room}/${nick}`;
        stanza = common.kept ?? pmMessage(formatJid(from), remote, common.body!);
      } else {
        remote = to.resource === '' ? room : `${room}/${to.resource}`;
        stanza = common.kept ? withFrom(common.kept, remote) : pmMessage(remote, ownerText, common.body!);
      }
      const record = archived(owner, common.micros, outgoing ? 'out' : 'in', remote, stanza, location, row);
      return parsedRemote(record, location);
    }
    if (!outgoing && !isOwner(to)) return undefined;
    remote = formatJid(outgoing ? to : from);
    stanza = common.kept ?? legacyMessage({ type: 'chat', from: formatJid(from), to: formatJid(to), body: common.body! });
    return { record: archived(owner, common.micros, outgoing ? 'out' : 'in', remote, stanza, location, row) };
  }

  private roomMessage(room: BareJid, row: ArchiveRow): Built {
    const location = this.location(row);
    const roomText = bareJidString(room);
    const common = this.common(row);
    if ('reject' in common) return common;
    const to = fullJid(row.tj, row.tr);
    const slash = to.indexOf('/');
    const nick = slash === -1 ? '' : to.slice(slash + 1);
    if (nick === '') return { reject: new RecordError('room-message-without-nick', `ofMessageArchive ${location.key}: a room message without the sender's nick (toJIDResource)`, location) };
    let occupant: string;
    let real: string;
    try {
      occupant = formatJid(parseJid(`${roomText}/${nick}`));
      real = formatJid(parseJid(fullJid(row.fj, row.fr)));
    } catch (err) {
      if (!(err instanceof JidError)) throw err;
      return { reject: new RecordError('invalid-jid', `ofMessageArchive ${location.key}: ${err.message}`, location) };
    }
    // Stored `from` is the sender's real JID: the occupant JID replaces it (MongooseIM keeps the real one in
    // the muc#user item the writer adds), so a semi-anonymous room does not leak it.
    const stanza = common.kept ? withFrom(common.kept, occupant) : legacyMessage({ type: 'groupchat', from: occupant, to: roomText, body: common.body! });
    const record: ArchivedMessageRecord = {
      kind: 'archived-message',
      archive: { type: 'room', jid: room },
      timestamp: common.micros,
      remote: occupant,
      senderNick: nick,
      senderRealJid: real,
      stanza,
      location,
    };
    if (row.mid !== null) record.sourceId = String(row.mid);
    const originId = stanza.getChild('origin-id', NS_SID)?.attrs.id;
    if (originId !== undefined) record.originId = originId;
    return { record };
  }

  async inventory(): Promise<SourceInventory> {
    const [rows] = await this.db.query<Record<string, string | number | null>>(
      `SELECT COUNT(*) AS total,
              SUM(CASE WHEN m.messageID IS NULL THEN 1 ELSE 0 END) AS legacy,
              SUM(CASE WHEN c.room IS NOT NULL AND c.room <> '' AND m.isPMforJID IS NULL THEN 1 ELSE 0 END) AS room,
              SUM(CASE WHEN m.isPMforJID IS NOT NULL THEN 1 ELSE 0 END) AS pm,
              SUM(CASE WHEN m.stanza IS NULL OR m.stanza = '' THEN 1 ELSE 0 END) AS bodyonly,
              MIN(m.sentDate) AS first, MAX(m.sentDate) AS last
         FROM ofMessageArchive m LEFT JOIN ofConversation c ON c.conversationID = m.conversationID`,
    );
    const [conversations] = await this.db.query<{ n: string | number }>(`SELECT COUNT(*) AS n FROM ofConversation`);
    const n = (v: unknown): number => Number(v ?? 0);
    const total = n(rows?.total);
    const room = n(rows?.room);
    const personalRows = total - room;
    const users = (await this.personalPasses()).length;
    const rooms = this.settings.rooms === 'include' ? (await this.roomPasses()).length : 0;
    const notes = [
      `${total} row(s): ${personalRows} 1:1 or private message(s), each copied into the archive of every local party (${[...this.settings.domains].join(', ')}), and ${room} room message(s)`,
      'rows with a stanza keep it; rows without one (room messages unless roomArchivingStanzas, legacy rows) get a message built from the body',
    ];
    if (n(rows?.legacy) > 0) notes.push(`${n(rows?.legacy)} legacy row(s) without messageID (older plugin versions; some hold a full JID in fromJID/toJID)`);
    if (n(rows?.pm) > 0) notes.push(`${n(rows?.pm)} MUC private message(s): the sender's copy goes to room/recipient-nick (nick from ofConParticipant), the recipient's comes from room/sender-nick`);
    if (room > 0 && this.settings.rooms === 'include') notes.push('room messages are also in ofMucConversationLog when room logging was on: migrate room history from one of the two (rooms=skip here, or leave the openfire adapter\'s room archives out)');
    if (total === 0 && n(conversations?.n) > 0) notes.push(`${n(conversations?.n)} conversation(s) but no messages: message archiving is off by default (conversation.messageArchiving / roomArchiving = false); there is nothing to migrate, not an empty archive`);
    const inventory: SourceInventory = {
      description: `Openfire Monitoring plugin archive on ${this.db.dialect === 'pg' ? 'PostgreSQL' : 'MySQL'}`,
      counts: { 'archived-message': total },
      owners: { 'archived-message': users + rooms },
      credentials: { none: 0 },
      rejects: {},
      cannotProvide: [
        {
          kind: 'account',
          reason: 'this source reads only the Monitoring plugin archive: accounts, rosters, vCards, rooms and the rest are in the core Openfire tables',
          advice: 'migrate them with the openfire adapter from the same database',
        },
      ],
      notes,
    };
    if (rows?.first !== null && rows?.first !== undefined && rows.last !== null) {
      inventory.archiveSpan = { first: BigInt(String(rows.first)) * 1000n, last: BigInt(String(rows.last)) * 1000n };
    }
    return inventory;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function archived(owner: BareJid, micros: Micros, direction: 'in' | 'out', remote: string, stanza: Element, location: SourceLocation, row: ArchiveRow): ArchivedMessageRecord {
  const record: ArchivedMessageRecord = { kind: 'archived-message', archive: { type: 'user', jid: owner }, timestamp: micros, direction, remote, stanza, location };
  if (row.mid !== null) record.sourceId = String(row.mid);
  const originId = stanza.getChild('origin-id', NS_SID)?.attrs.id;
  if (originId !== undefined) record.originId = originId;
  return record;
}

function parsedRemote(record: ArchivedMessageRecord, location: SourceLocation): Built {
  try {
    record.remote = formatJid(parseJid(record.remote));
    return { record };
  } catch (err) {
    if (!(err instanceof JidError)) throw err;
    return { reject: new RecordError('invalid-jid', `ofMessageArchive ${location.key}: ${err.message}`, location) };
  }
}

/** A MUC private message as the room routes it: type chat, with the empty muc#user `x` (XEP-0045 §7.5). */
function pmMessage(from: string, to: string, body: string): Element {
  const message = legacyMessage({ type: 'chat', from, to, body });
  const x = new Element('x', { xmlns: NS_MUC_USER });
  x.parent = message;
  message.children.push(x);
  return message;
}

function withFrom(stanza: Element, from: string): Element {
  stanza.attrs.from = from;
  return stanza;
}

function encodeCursor(archive: string, sent: string, done: number): string {
  return JSON.stringify([archive, sent, done]);
}

function decodeCursor(cursor: string): { archive: string; sent: string; done: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string' || typeof parsed[2] !== 'number') {
    throw new UsageError(`cursor ${JSON.stringify(cursor)} was not produced by the openfire-monitoring source`);
  }
  return { archive: parsed[0], sent: parsed[1], done: parsed[2] };
}

export async function openOpenfireMonitoring(scheme: string, url: string, dialect: SqlDialectName, options: SourceOptions): Promise<SourceAdapter> {
  const settings = parseOpenfireMonitoringSettings(options.settings);
  const db = await openSourceDatabase(url, dialect);
  try {
    const tables = await describeTables(db);
    const missing = ['ofconversation', 'ofconparticipant', 'ofmessagearchive'].filter((t) => !tables.has(t));
    if (missing.length > 0) throw new UsageError(`${db.displayName} has no Openfire Monitoring plugin tables (${missing.join(', ')} missing)`);
    if (!tables.get('ofmessagearchive')!.has('ispmforjid') || !tables.get('ofmessagearchive')!.has('stanza')) {
      throw new UsageError(`${db.displayName}: ofMessageArchive lacks stanza/isPMforJID: a Monitoring plugin schema older than this adapter reads (upgrade the plugin first)`);
    }
    return new OpenfireMonitoringSource(db, settings, scheme);
  } catch (err) {
    await db.close();
    throw err;
  }
}

export const openfireMonitoringPgAdapter: SourceAdapterDefinition = {
  schemes: ['openfire-monitoring+pg'],
  summary: 'Openfire Monitoring plugin archive (XEP-0136/0313: ofConversation, ofMessageArchive) in PostgreSQL',
  example: 'openfire-monitoring+pg:postgres://user:password@host:5432/openfire',
  open: (location, options) => openOpenfireMonitoring('openfire-monitoring+pg', location, 'pg', options),
};

export const openfireMonitoringMysqlAdapter: SourceAdapterDefinition = {
  schemes: ['openfire-monitoring+mysql'],
  summary: 'Openfire Monitoring plugin archive (XEP-0136/0313: ofConversation, ofMessageArchive) in MySQL or MariaDB',
  example: 'openfire-monitoring+mysql:mysql://user:password@host:3306/openfire',
  open: (location, options) => openOpenfireMonitoring('openfire-monitoring+mysql', location, 'mysql', options),
};
