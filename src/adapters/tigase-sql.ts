// Tigase's database (PostgreSQL or MySQL/MariaDB), tigase-server 8.x schema with tigase-message-archiving 3.x
// and tigase-muc 3.x: accounts and credentials, the user data tree (roster, vCard, private XML, privacy lists),
// last login, offline messages, MAM archives, MUC rooms and room history.
// Facts: shared/docs/storage-facts.md §5, checked against tigase/tigase-server src/main/database/*-server-8.*.sql,
// tigase-message-archiving src/main/database/*-message-archiving-*.sql, tigase-muc src/main/database/*-muc-*.sql.
import { SourceError, UsageError } from '../errors.js';
import { type Jid, formatJid, normaliseJid, parseJid } from '../jid.js';
import type { AccountRecord, ArchivedMessageRecord, BareJid, Credential, MigrationRecord, MucAffiliation, RecordKind, RosterItemRecord, ScramHash, SourceLocation } from '../records.js';
import { bareJidString } from '../records.js';
import { Element, childElements } from '../xml/element.js';
import { asRoomMessage, groupchatFromColumns } from './openfire-records.js';
import {
  type KeyColumn,
  type Produced,
  type SqlRow,
  type SqlSession,
  type UnitReader,
  bump,
  compareNullable,
  dialectOfUrl,
  excerptOf,
  excerptText,
  integer,
  openSqlSession,
  originIdOf,
  parsePageRows,
  parseStored,
  privacyItems,
  readUnits,
  redactedUrl,
  reject,
  tableColumns,
  text,
  utcTextToMicros,
  utcTimeText,
  withoutDelays,
} from './openfire-tigase-sql.js';
import type { NotProvided, SourceAdapter, SourceAdapterDefinition, SourceInventory, SourceItem, SourceOptions, StreamInfo } from './source-adapter.js';
import {
  MD5_MECHANISMS,
  TIGASE_AFFILIATIONS,
  formFields,
  isDataForm,
  parseTigaseScram,
  scramAlgorithmOf,
  tigaseGroups,
  tigaseRoomOptions,
  tigaseSubs,
  uuidFromOrderedHex,
} from './tigase-records.js';

const NS_VCARD = 'vcard-temp';

/** tig_users.account_status (tigase-server 8): what the values mean, for the inventory. */
const ACCOUNT_STATUS: Record<number, string> = { 1: 'active', 0: 'disabled', [-5]: 'banned', [-2]: 'pending', [-1]: 'system', 2: 'vip', 3: 'paid', [-50]: 'spam' };

export interface TigaseSettings {
  /** Rows per keyset query (default 500). */
  pageRows: number;
}

const SETTING_KEYS = ['page-rows'];

export function parseTigaseSettings(settings: Record<string, string>): TigaseSettings {
  for (const key of Object.keys(settings)) {
    if (!SETTING_KEYS.includes(key)) throw new UsageError(`unknown tigase source option ${JSON.stringify(key)}: expected one of ${SETTING_KEYS.join(', ')}`);
  }
  return { pageRows: parsePageRows(settings['page-rows'], 'tigase') };
}

interface TigaseSchema {
  versions: Map<string, string>;
  /** `last_used` (8.2+) or `last_login` (8.0, 8.1). */
  lastColumn: string | undefined;
  /** tig_ma_msgs: 'v3' (stable_id), 'v2' (msg_id, unsupported), or absent. */
  archive: 'v3' | 'v2' | undefined;
  muc: boolean;
  mucHistory: boolean;
  mucStableId: boolean;
  mucNickname: boolean;
  mysqlRoomSha1: boolean;
}

async function detectSchema(db: SqlSession, label: string): Promise<TigaseSchema> {
  const users = await tableColumns(db, 'tig_users');
  if (!users) throw new SourceError('not-tigase', `${label}: there is no tig_users table: not a Tigase database`);
  if (!(await tableColumns(db, 'tig_user_credentials')) || !(await tableColumns(db, 'tig_pairs'))?.has('pid')) {
    throw new SourceError(
      'unsupported-version',
      `${label}: no tig_user_credentials table (or tig_pairs.pid): a Tigase 7.x schema; upgrade the database with Tigase 8's upgrade-schema first, or export XEP-0227 from Tigase 8.4+`,
    );
  }
  const versions = new Map<string, string>();
  if (await tableColumns(db, 'tig_schema_versions')) {
    for (const row of await db.query('SELECT component, version FROM tig_schema_versions ORDER BY component')) versions.set(String(row.component), String(row.version));
  }
  const msgs = await tableColumns(db, 'tig_ma_msgs');
  const history = await tableColumns(db, 'tig_muc_room_history');
  const affiliations = await tableColumns(db, 'tig_muc_room_affiliations');
  return {
    versions,
    lastColumn: users.has('last_used') ? 'last_used' : users.has('last_login') ? 'last_login' : undefined,
    archive: msgs ? (msgs.has('stable_id') ? 'v3' : 'v2') : undefined,
    muc: (await tableColumns(db, 'tig_muc_rooms')) !== undefined && affiliations !== undefined,
    mucHistory: history !== undefined,
    mucStableId: history?.has('stable_id') ?? false,
    mucNickname: affiliations?.has('nickname') ?? false,
    mysqlRoomSha1: history?.has('room_jid_sha1') ?? false,
  };
}

export const TIGASE_STREAMS: StreamInfo[] = [
  { name: 'accounts', kinds: ['account'] },
  { name: 'last', kinds: ['last-activity'] },
  { name: 'rosters', kinds: ['roster-item'] },
  { name: 'vcards', kinds: ['vcard'] },
  { name: 'private', kinds: ['private-xml'] },
  { name: 'privacy', kinds: ['privacy-list'] },
  { name: 'offline', kinds: ['offline-message'] },
  { name: 'archives', kinds: ['archived-message'] },
  { name: 'muc-rooms', kinds: ['muc-room', 'muc-registration'] },
  { name: 'muc-archives', kinds: ['archived-message'] },
];
const KINDS: RecordKind[] = [...new Set(TIGASE_STREAMS.flatMap((s) => s.kinds))];

class TigaseSignals {
  credentials: Record<string, number> = {};
  readonly counters: Record<string, number> = {};
  count(what: string, by = 1): void {
    bump(this.counters, what, by);
  }
}

/** The node-tree join: a pair, its user, its node and the node's parent and grandparent. */
const PAIRS_FROM =
  'FROM tig_pairs p JOIN tig_users u ON u.uid = p.uid JOIN tig_nodes n ON n.nid = p.nid ' +
  'LEFT JOIN tig_nodes n1 ON n1.nid = n.parent_nid LEFT JOIN tig_nodes n2 ON n2.nid = n1.parent_nid';
const REAL_USERS = "u.user_id LIKE '%@%'";

class TigaseSource implements SourceAdapter {
  readonly displayName: string;
  readonly capabilities = { resume: 'seek' as const, delta: 'scan' as const, kinds: KINDS };

  constructor(
    private readonly db: SqlSession,
    private readonly schema: TigaseSchema,
    private readonly settings: TigaseSettings,
    displayName: string,
  ) {
    this.displayName = displayName;
  }

  streams(): StreamInfo[] {
    return TIGASE_STREAMS;
  }

  read(stream: string, after?: string): AsyncIterable<SourceItem> {
    if (!TIGASE_STREAMS.some((s) => s.name === stream)) {
      throw new UsageError(`the tigase source has no stream ${JSON.stringify(stream)}: expected one of ${TIGASE_STREAMS.map((s) => s.name).join(', ')}`);
    }
    return this.readWith(stream, after, new TigaseSignals());
  }

  private async *readWith(stream: string, after: string | undefined, signals: TigaseSignals): AsyncGenerator<SourceItem> {
    const reader = this.reader(stream, signals);
    if (!reader) return;
    yield* readUnits(this.db, reader, after, { source: this.displayName, stream }, this.settings.pageRows);
  }

  private reader(stream: string, signals: TigaseSignals): UnitReader<SqlRow> | undefined {
    switch (stream) {
      case 'accounts':
        return this.accounts(signals);
      case 'last':
        return this.last();
      case 'rosters':
        return this.rosters(signals);
      case 'vcards':
        return this.vcards();
      case 'private':
        return this.privateXml();
      case 'privacy':
        return this.privacy();
      case 'offline':
        return this.offline(signals);
      case 'archives':
        if (this.schema.archive === 'v2') {
          throw new SourceError('unsupported-version', `${this.displayName}: tig_ma_msgs has the tigase-message-archiving 2.x layout (no stable_id); upgrade its schema to 3.x first`);
        }
        return this.schema.archive ? this.archives() : undefined;
      case 'muc-rooms':
        return this.schema.muc ? this.mucRooms(signals) : undefined;
      case 'muc-archives':
        return this.schema.mucHistory ? this.mucArchives() : undefined;
      default:
        throw new UsageError(`the tigase source has no stream ${JSON.stringify(stream)}: expected one of ${TIGASE_STREAMS.map((s) => s.name).join(', ')}`);
    }
  }

  private location(table: string, key: string): SourceLocation {
    return { source: this.displayName, table, key };
  }

  /** A user's bare JID from tig_users.user_id (or any bare-JID column), or the reason it is not one. */
  private bare(value: unknown): BareJid | string {
    const raw = String(value);
    try {
      const jid = parseJid(raw);
      if (jid.local === '' || jid.resource !== '') return `${JSON.stringify(raw)} is not a user's bare JID`;
      return { local: jid.local, domain: jid.domain };
    } catch (err) {
      return (err as Error).message;
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // tig_users + tig_user_credentials

  private accounts(signals: TigaseSignals): UnitReader<SqlRow> {
    const db = this.db;
    const credentials = new Map<string, SqlRow[]>();
    return {
      query: {
        select: `SELECT u.uid, u.user_id, ${utcTimeText(db, 'u.acc_create_time')} AS created, u.account_status FROM tig_users u`,
        where: [REAL_USERS],
        key: [{ expr: 'u.uid', type: 'int' }],
        keyOf: (r) => [String(r.uid)],
        unique: true,
      },
      async enrich(rows) {
        credentials.clear();
        if (rows.length === 0) return;
        const ids = rows.map((r) => String(r.uid));
        const found = await db.query(
          `SELECT uid, mechanism, value FROM tig_user_credentials WHERE username = 'default' AND uid IN (${ids.map(() => '?').join(', ')})`,
          ids,
        );
        for (const c of found.sort((a, b) => compareNullable(a.mechanism, b.mechanism))) {
          const list = credentials.get(String(c.uid)) ?? [];
          list.push(c);
          credentials.set(String(c.uid), list);
        }
      },
      items: ([row]) => [this.account(row as SqlRow, credentials.get(String((row as SqlRow).uid)) ?? [], signals)],
    };
  }

  private account(row: SqlRow, credentialRows: SqlRow[], signals: TigaseSignals): Produced {
    const location = this.location('tig_users', `uid=${row.uid} (${row.user_id})`);
    const jid = this.bare(row.user_id);
    if (typeof jid === 'string') return reject('invalid-jid', `tig_users uid=${row.uid}: ${jid}`, location);
    const key = bareJidString(jid);
    const status = integer(row.account_status) ?? 1;
    if (status !== 1) signals.count(`accounts with account_status ${status} (${ACCOUNT_STATUS[status] ?? 'unknown'}) in Tigase, migrated as ordinary accounts`);
    let plain: string | undefined;
    const hashes: ScramHash[] = [];
    const problems: string[] = [];
    const md5: string[] = [];
    for (const c of credentialRows) {
      const mechanism = String(c.mechanism);
      const value = text(c.value) ?? '';
      const algorithm = scramAlgorithmOf(mechanism);
      if (mechanism === 'PLAIN') {
        if (value !== '') plain = value;
      } else if (algorithm) {
        const parsed = parseTigaseScram(algorithm, value);
        if ('problem' in parsed) problems.push(`${mechanism} ${parsed.problem}`);
        else {
          hashes.push(parsed.hash);
          if (parsed.derived) signals.count('SCRAM credentials in the older p= (SaltedPassword) form, keys derived');
        }
      } else if (MD5_MECHANISMS.has(mechanism)) md5.push(mechanism);
      else signals.count(`credentials of mechanism ${mechanism} not read`);
    }
    if (problems.length > 0 && plain === undefined && hashes.length === 0) {
      bump(signals.credentials, 'invalid');
      return reject('invalid-scram', `${key}: cannot read the credentials (${problems.join('; ')}) and there is no other password`, location);
    }
    if (problems.length > 0) signals.count('accounts with an unreadable SCRAM credential, migrated with their other credentials');
    const scramShape = hashes.length > 0 ? `scram-${hashes.map((h) => h.algorithm).join('+')}` : undefined;
    let credential: Credential;
    let shape: string;
    if (plain !== undefined && hashes.length > 0) {
      credential = { type: 'plain+scram', password: plain, hashes };
      shape = `plain+${scramShape}`;
    } else if (plain !== undefined) {
      credential = { type: 'plain', password: plain };
      shape = 'plain';
    } else if (hashes.length > 0) {
      credential = { type: 'scram', hashes };
      shape = scramShape as string;
    } else if (md5.length > 0) {
      credential = {
        type: 'none',
        reason: `only an MD5 hash of the password is stored (${md5.join(', ')}): it can become neither SCRAM nor plaintext; the user must set a new password`,
      };
      shape = 'md5-unusable';
    } else {
      credential = { type: 'none', reason: "tig_user_credentials has no credential for this account (username 'default')" };
      shape = 'none';
    }
    bump(signals.credentials, shape);
    const record: AccountRecord = { kind: 'account', jid, credential, location };
    const created = utcTextToMicros(row.created);
    if (created !== undefined) record.createdAt = created;
    return { record };
  }

  // -------------------------------------------------------------------------------------------------------
  // tig_users.last_used / last_login → last activity (the last login, the closest Tigase keeps)

  private last(): UnitReader<SqlRow> | undefined {
    const column = this.schema.lastColumn;
    if (!column) return undefined;
    return {
      query: {
        select: `SELECT u.uid, u.user_id, ${utcTimeText(this.db, `u.${column}`)} AS last_time FROM tig_users u`,
        where: [REAL_USERS, `u.${column} IS NOT NULL`],
        key: [{ expr: 'u.uid', type: 'int' }],
        keyOf: (r) => [String(r.uid)],
        unique: true,
      },
      items: ([row]) => {
        const r = row as SqlRow;
        const location = this.location('tig_users', `uid=${r.uid} (${r.user_id})`);
        const owner = this.bare(r.user_id);
        if (typeof owner === 'string') return [reject('invalid-jid', `tig_users uid=${r.uid}: ${owner}`, location)];
        const micros = utcTextToMicros(r.last_time);
        if (micros === undefined) return [];
        return [{ record: { kind: 'last-activity', owner, seconds: Number(micros / 1_000_000n), status: '', location } }];
      },
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // The node tree (tig_nodes / tig_pairs)

  private pairs(where: string[], items: (row: SqlRow, owner: BareJid, location: SourceLocation) => Produced[], what: string): UnitReader<SqlRow> {
    return {
      query: {
        select: `SELECT p.pid, p.uid, u.user_id, p.pkey, p.pval, n.node ${PAIRS_FROM}`,
        where: [REAL_USERS, ...where],
        key: [{ expr: 'p.pid', type: 'int' }],
        keyOf: (r) => [String(r.pid)],
        unique: true,
      },
      items: ([row]) => {
        const r = row as SqlRow;
        const location = this.location('tig_pairs', `pid=${r.pid} (${r.user_id} ${what})`);
        const owner = this.bare(r.user_id);
        if (typeof owner === 'string') return [reject('invalid-jid', `tig_pairs pid=${r.pid}: owner ${owner}`, location)];
        return items(r, owner, location);
      },
    };
  }

  private rosters(signals: TigaseSignals): UnitReader<SqlRow> {
    return this.pairs(["p.pkey = 'roster'", "n.node = 'root'", 'n.parent_nid IS NULL'], (row, owner, location) => this.roster(row, owner, location, signals), 'roster');
  }

  /** The roster value: `<contact …/>` elements one after the other, with no wrapper. */
  private roster(row: SqlRow, owner: BareJid, location: SourceLocation, signals: TigaseSignals): Produced[] {
    const who = `${bareJidString(owner)}'s roster`;
    const value = text(row.pval) ?? '';
    const parsed = parseStored(`<roster>${value}</roster>`);
    if ('problem' in parsed) return [reject('malformed-roster', `${who} (tig_pairs pid=${row.pid}) is not well-formed XML: ${parsed.problem}; no contact of it is migrated`, location, excerptText(value))];
    const out: Produced[] = [];
    const seen = new Set<string>();
    for (const contact of childElements(parsed.el)) {
      if (contact.name !== 'contact') {
        out.push(reject('malformed-roster', `${who}: a <${contact.name}> among the contacts`, location, excerptOf(contact)));
        continue;
      }
      const subs = tigaseSubs(contact.attrs.subs);
      if (subs === undefined) {
        out.push(reject('unknown-subscription', `${who}: contact ${contact.attrs.jid ?? '?'} has subs=${JSON.stringify(contact.attrs.subs)}, not a Tigase subscription state`, location, excerptOf(contact)));
        continue;
      }
      if (subs === 'remove') {
        signals.count("roster contacts with subs='remove' skipped");
        continue;
      }
      let jid: string;
      try {
        jid = normaliseJid(contact.attrs.jid ?? '');
      } catch (err) {
        out.push(reject('invalid-jid', `${who}: contact ${(err as Error).message}`, location, excerptOf(contact)));
        continue;
      }
      if (seen.has(jid)) {
        out.push(reject('duplicate-roster-item', `${who}: a second contact ${jid}; the first is migrated`, location, excerptOf(contact)));
        continue;
      }
      seen.add(jid);
      if (subs.preApproved) signals.count('roster contacts with a subscription pre-approval, which MongooseIM does not store');
      const record: RosterItemRecord = {
        kind: 'roster-item',
        owner,
        contact: jid,
        name: contact.attrs.name ?? '',
        subscription: subs.subscription,
        ask: subs.ask,
        askMessage: '',
        groups: tigaseGroups(contact.attrs.groups),
        location,
      };
      out.push({ record });
    }
    return out;
  }

  private vcards(): UnitReader<SqlRow> {
    return this.pairs(
      ["p.pkey = 'vCard'", "n.node = 'vcard-temp'", "n1.node = 'public'", "n2.node = 'root'", 'n2.parent_nid IS NULL'],
      (row, owner, location) => {
        const value = text(row.pval) ?? '';
        const parsed = parseStored(value);
        if ('problem' in parsed) return [reject('malformed-xml', `${bareJidString(owner)}'s vCard: ${parsed.problem}`, location, excerptText(value))];
        const el = parsed.el;
        if (el.name !== 'vCard' || (el.attrs.xmlns ?? NS_VCARD) !== NS_VCARD) {
          return [reject('invalid-vcard', `${bareJidString(owner)}'s vCard is a <${el.name} xmlns='${el.attrs.xmlns ?? ''}'>, not <vCard xmlns='vcard-temp'>`, location, excerptOf(el))];
        }
        el.attrs.xmlns = NS_VCARD;
        return [{ record: { kind: 'vcard', owner, vcard: el, location } }];
      },
      'vCard',
    );
  }

  /** jabber:iq:private: key = element name + namespace (e.g. `storagestorage:bookmarks`), value = the element. */
  private privateXml(): UnitReader<SqlRow> {
    return this.pairs(
      ["n.node = 'jabber:iq:private'", "n1.node = 'root'", 'n1.parent_nid IS NULL'],
      (row, owner, location) => {
        const value = text(row.pval) ?? '';
        const parsed = parseStored(value);
        if ('problem' in parsed) return [reject('malformed-xml', `${bareJidString(owner)}'s private XML ${row.pkey}: ${parsed.problem}`, location, excerptText(value))];
        const el = parsed.el;
        const ns = el.attrs.xmlns ?? '';
        if (ns === '' || `${el.name}${ns}` !== String(row.pkey)) {
          return [reject('private-xml-namespace', `${bareJidString(owner)}'s private XML <${el.name} xmlns='${ns}'> is stored under key ${JSON.stringify(row.pkey)}`, location, excerptOf(el))];
        }
        return [{ record: { kind: 'private-xml', owner, element: el, location } }];
      },
      'private',
    );
  }

  private privacy(): UnitReader<SqlRow> {
    const db = this.db;
    const defaults = new Map<string, string>();
    const reader = this.pairs(
      ["p.pkey = 'privacy-list'", "n1.node = 'privacy'", "n2.node = 'root'", 'n2.parent_nid IS NULL'],
      (row, owner, location) => {
        const value = text(row.pval) ?? '';
        const parsed = parseStored(value);
        const name = String(row.node);
        if ('problem' in parsed) return [reject('malformed-xml', `${bareJidString(owner)}'s privacy list ${JSON.stringify(name)}: ${parsed.problem}`, location, excerptText(value))];
        if (parsed.el.name !== 'list') return [reject('invalid-privacy-list', `${bareJidString(owner)}'s privacy list ${JSON.stringify(name)} is a <${parsed.el.name}>, not a <list>`, location, excerptOf(parsed.el))];
        const listName = parsed.el.attrs.name ?? name;
        const items = privacyItems(parsed.el);
        if ('problem' in items) return [reject('invalid-privacy-list', `${bareJidString(owner)}'s privacy list ${JSON.stringify(listName)}: ${items.problem}`, location, excerptOf(parsed.el))];
        return [{ record: { kind: 'privacy-list', owner, name: listName, isDefault: defaults.get(String(row.uid)) === listName, items: items.items, location } }];
      },
      'privacy list',
    );
    reader.enrich = async (rows) => {
      defaults.clear();
      if (rows.length === 0) return;
      const ids = [...new Set(rows.map((r) => String(r.uid)))];
      const found = await db.query(
        `SELECT p.uid, p.pval FROM tig_pairs p JOIN tig_nodes n ON n.nid = p.nid JOIN tig_nodes r ON r.nid = n.parent_nid WHERE p.pkey = 'default-list' AND n.node = 'privacy' AND r.parent_nid IS NULL AND p.uid IN (${ids.map(() => '?').join(', ')})`,
        ids,
      );
      for (const f of found) defaults.set(String(f.uid), text(f.pval) ?? '');
    };
    return reader;
  }

  // -------------------------------------------------------------------------------------------------------
  // tig_offline_messages

  private offline(signals: TigaseSignals): UnitReader<SqlRow> {
    const db = this.db;
    return {
      query: {
        select: `SELECT msg_id, ${utcTimeText(db, 'ts')} AS ts, ${utcTimeText(db, 'expired')} AS expired, sender, receiver, msg_type, message FROM tig_offline_messages`,
        key: [{ expr: 'msg_id', type: 'int' }],
        keyOf: (r) => [String(r.msg_id)],
        unique: true,
      },
      items: ([row]) => {
        const r = row as SqlRow;
        const location = this.location('tig_offline_messages', `msg_id=${r.msg_id}`);
        const owner = this.bare(r.receiver);
        if (typeof owner === 'string') return [reject('invalid-jid', `tig_offline_messages msg_id=${r.msg_id}: receiver ${owner}`, location)];
        const who = `${bareJidString(owner)}'s offline message ${r.msg_id}`;
        const value = text(r.message) ?? '';
        const parsed = parseStored(value);
        if ('problem' in parsed) return [reject('malformed-xml', `${who}: ${parsed.problem}`, location, excerptText(value))];
        const el = parsed.el;
        if (el.name === 'presence') {
          // Subscription requests: Tigase keeps the pending state in the roster (*_pending_in) too.
          signals.count('offline presences (subscription requests) not migrated: the roster keeps them as pending');
          return [];
        }
        if (el.name !== 'message') return [reject('unexpected-element', `${who} is a <${el.name}>, not a <message>`, location, excerptOf(el))];
        const timestamp = utcTextToMicros(r.ts);
        if (timestamp === undefined) return [reject('malformed-timestamp', `${who} has no storage time`, location)];
        let from: string;
        try {
          from = normaliseJid(el.attrs.from ?? text(r.sender) ?? '');
        } catch (err) {
          return [reject('invalid-jid', `${who}: from ${(err as Error).message}`, location, excerptOf(el))];
        }
        const record: MigrationRecord = { kind: 'offline-message', owner, timestamp, from, stanza: withoutDelays(el), location };
        const expire = utcTextToMicros(r.expired);
        if (expire !== undefined) record.expire = expire;
        return [{ record }];
      },
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // tig_ma_msgs → user archives, one owner at a time in time order.

  private stableIdColumn(column: string): { select: string; key: KeyColumn } {
    return this.db.dialect === 'pg'
      ? { select: `CAST(${column} AS VARCHAR(36))`, key: { expr: column, type: 'text' } }
      : { select: `lower(hex(${column}))`, key: { expr: column, type: 'hex' } };
  }

  private canonicalUuid(value: unknown): string | undefined {
    const t = text(value);
    if (t === undefined) return undefined;
    return this.db.dialect === 'pg' ? t.toLowerCase() : uuidFromOrderedHex(t);
  }

  private archives(): UnitReader<SqlRow> {
    const db = this.db;
    const stable = this.stableIdColumn('m.stable_id');
    return {
      query: {
        select:
          `SELECT m.owner_id, o.jid AS owner_jid, b.jid AS buddy_jid, ${utcTimeText(db, 'm.ts')} AS ts, ${stable.select} AS stable_id, m.is_ref, m.msg, m.body ` +
          'FROM tig_ma_msgs m JOIN tig_ma_jids o ON o.jid_id = m.owner_id JOIN tig_ma_jids b ON b.jid_id = m.buddy_id',
        key: [{ expr: 'm.owner_id', type: 'int' }, { expr: 'm.ts', type: 'time' }, stable.key],
        keyOf: (r) => [String(r.owner_id), String(r.ts), String(r.stable_id)],
        unique: true,
      },
      items: ([row]) => [this.archived(row as SqlRow)],
    };
  }

  private archived(row: SqlRow): Produced {
    const id = this.canonicalUuid(row.stable_id);
    const location = this.location('tig_ma_msgs', `owner=${row.owner_jid} stable_id=${id ?? row.stable_id}`);
    const owner = this.bare(row.owner_jid);
    if (typeof owner === 'string') return reject('invalid-jid', `tig_ma_msgs owner_id=${row.owner_id}: ${owner}`, location);
    const key = bareJidString(owner);
    const timestamp = utcTextToMicros(row.ts);
    if (timestamp === undefined) return reject('malformed-timestamp', `${key}'s archived message ${id}: no time`, location);
    const value = text(row.msg) ?? '';
    const parsed = parseStored(value);
    if ('problem' in parsed) return reject('malformed-xml', `${key}'s archived message ${id}: ${parsed.problem}`, location, excerptText(value));
    const stanza = parsed.el;
    if (stanza.name !== 'message') return reject('unexpected-element', `${key}'s archived message ${id} is a <${stanza.name}>`, location, excerptOf(stanza));
    let from: Jid | undefined;
    let to: Jid | undefined;
    try {
      if (stanza.attrs.from !== undefined) from = parseJid(stanza.attrs.from);
      if (stanza.attrs.to !== undefined) to = parseJid(stanza.attrs.to);
    } catch (err) {
      return reject('invalid-jid', `${key}'s archived message ${id}: ${(err as Error).message}`, location, excerptOf(stanza));
    }
    // Tigase derives the direction from `to`: addressed to the owner means received.
    const incoming = to !== undefined && to.local === owner.local && to.domain === owner.domain;
    const peer = incoming ? from : to;
    let remote: string;
    try {
      remote = peer ? formatJid(peer) : normaliseJid(String(row.buddy_jid));
    } catch (err) {
      return reject('invalid-jid', `${key}'s archived message ${id}: peer ${(err as Error).message}`, location, excerptOf(stanza));
    }
    const record: ArchivedMessageRecord = {
      kind: 'archived-message',
      archive: { type: 'user', jid: owner },
      timestamp,
      direction: incoming ? 'in' : 'out',
      remote,
      stanza,
      location,
    };
    const originId = originIdOf(stanza);
    if (originId !== undefined) record.originId = originId;
    if (id !== undefined) record.sourceId = id;
    return { record };
  }

  // -------------------------------------------------------------------------------------------------------
  // tigase-muc: tig_muc_rooms (+ tig_muc_room_affiliations), tig_muc_room_history

  private mucRooms(signals: TigaseSignals): UnitReader<SqlRow> {
    const db = this.db;
    const affiliations = new Map<string, SqlRow[]>();
    const nickname = this.schema.mucNickname;
    return {
      query: {
        select: 'SELECT room_id, jid, name, config, subject, subject_creator_nick FROM tig_muc_rooms',
        key: [{ expr: 'room_id', type: 'int' }],
        keyOf: (r) => [String(r.room_id)],
        unique: true,
      },
      async enrich(rows) {
        affiliations.clear();
        if (rows.length === 0) return;
        const ids = rows.map((r) => String(r.room_id));
        const found = await db.query(
          `SELECT room_id, jid, affiliation${nickname ? ', nickname' : ''} FROM tig_muc_room_affiliations WHERE room_id IN (${ids.map(() => '?').join(', ')})`,
          ids,
        );
        for (const a of found.sort((x, y) => compareNullable(x.jid, y.jid))) {
          const list = affiliations.get(String(a.room_id)) ?? [];
          list.push(a);
          affiliations.set(String(a.room_id), list);
        }
      },
      items: ([row]) => this.room(row as SqlRow, affiliations.get(String((row as SqlRow).room_id)) ?? [], signals),
    };
  }

  private room(row: SqlRow, affiliationRows: SqlRow[], signals: TigaseSignals): Produced[] {
    const location = this.location('tig_muc_rooms', `room_id=${row.room_id} (${row.jid})`);
    const room = this.bare(row.jid);
    if (typeof room === 'string') return [reject('invalid-jid', `tig_muc_rooms room_id=${row.room_id}: ${room}`, location)];
    const roomKey = bareJidString(room);
    let fields = new Map<string, string[]>();
    const config = text(row.config);
    if (config !== undefined && config !== '') {
      const parsed = parseStored(config);
      if ('problem' in parsed) return [reject('malformed-room-config', `${roomKey}: the room configuration is not well-formed XML: ${parsed.problem}`, location, excerptText(config))];
      if (!isDataForm(parsed.el)) return [reject('malformed-room-config', `${roomKey}: the room configuration is a <${parsed.el.name}>, not a jabber:x:data form`, location, excerptOf(parsed.el))];
      fields = formFields(parsed.el);
    }
    const options = tigaseRoomOptions(fields, { name: text(row.name), subject: text(row.subject), subjectNick: text(row.subject_creator_nick) });
    if (options.persistent !== true) {
      signals.count('rooms not configured persistent, skipped (MongooseIM keeps persistent rooms only)');
      return [];
    }
    const pm = fields.get('muc#roomconfig_allowpm')?.[0];
    if (pm === 'participants' || pm === 'moderators') signals.count('rooms allowing private messages to participants or moderators only: MongooseIM allows them to everyone');
    const out: Produced[] = [];
    const affiliations: Array<{ jid: string; affiliation: MucAffiliation }> = [];
    const registrations: Produced[] = [];
    for (const a of affiliationRows) {
      const raw = String(a.jid);
      const aLocation = this.location('tig_muc_room_affiliations', `room_id=${row.room_id} jid=${raw}`);
      const affiliation = String(a.affiliation) as MucAffiliation;
      if (!TIGASE_AFFILIATIONS.has(affiliation)) {
        out.push(reject('unknown-affiliation', `${roomKey}: ${raw} has affiliation ${JSON.stringify(a.affiliation)}`, aLocation));
        continue;
      }
      let jid: Jid;
      try {
        jid = parseJid(raw);
      } catch (err) {
        out.push(reject('invalid-jid', `${roomKey}: affiliation ${(err as Error).message}`, aLocation));
        continue;
      }
      if (affiliation !== 'none') affiliations.push({ jid: bareJidString(jid), affiliation });
      const nick = text(a.nickname) ?? '';
      if (nick !== '' && jid.local !== '' && jid.resource === '') {
        registrations.push({ record: { kind: 'muc-registration', mucHost: room.domain, user: { local: jid.local, domain: jid.domain }, nick, location: aLocation } });
      }
    }
    return [{ record: { kind: 'muc-room', room, options, affiliations, location } }, ...out, ...registrations];
  }

  private mucArchives(): UnitReader<SqlRow> {
    const db = this.db;
    const stable = this.schema.mucStableId ? `, ${this.stableIdColumn('h.stable_id').select} AS stable_id` : '';
    // The room's index: lower(room_jid) on PostgreSQL, room_jid_sha1 on MySQL.
    const roomKey = db.dialect === 'pg' || !this.schema.mysqlRoomSha1 ? 'lower(h.room_jid)' : 'h.room_jid_sha1';
    return {
      query: {
        select: `SELECT h.room_jid, ${roomKey} AS room_key, ${utcTimeText(db, 'h.ts')} AS ts, h.event_type, h.sender_jid, h.sender_nickname, h.body, h.msg${stable} FROM tig_muc_room_history h`,
        key: [
          { expr: roomKey, type: 'text' },
          { expr: 'h.ts', type: 'time' },
        ],
        keyOf: (r) => [String(r.room_key), String(r.ts)],
        unique: false,
        order: (a, b) =>
          compareNullable(a.stable_id, b.stable_id) ||
          compareNullable(a.sender_jid, b.sender_jid) ||
          compareNullable(a.sender_nickname, b.sender_nickname) ||
          compareNullable(a.body, b.body) ||
          compareNullable(a.msg, b.msg),
      },
      items: (rows) => rows.map((r) => this.historyEntry(r)),
    };
  }

  private historyEntry(row: SqlRow): Produced {
    const id = this.canonicalUuid(row.stable_id);
    const location = this.location('tig_muc_room_history', `room=${row.room_jid} ts=${row.ts}${id ? ` stable_id=${id}` : ''}`);
    const room = this.bare(row.room_jid);
    if (typeof room === 'string') return reject('invalid-jid', `tig_muc_room_history: room ${room}`, location);
    const roomKey = bareJidString(room);
    if (integer(row.event_type) !== 1) return reject('unsupported-event', `${roomKey}: history event_type ${row.event_type} (only 1, a message, is known)`, location);
    const timestamp = utcTextToMicros(row.ts);
    if (timestamp === undefined) return reject('malformed-timestamp', `${roomKey}: history row without a time`, location);
    const nick = text(row.sender_nickname) ?? '';
    const occupant = nick === '' ? roomKey : `${roomKey}/${nick}`;
    const stored = text(row.msg);
    let stanza: Element;
    if (stored !== undefined && stored !== '') {
      const parsed = parseStored(stored);
      if ('problem' in parsed) return reject('malformed-xml', `${roomKey} history message: ${parsed.problem}`, location, excerptText(stored));
      if (parsed.el.name !== 'message') return reject('unexpected-element', `${roomKey} history entry is a <${parsed.el.name}>`, location, excerptOf(parsed.el));
      stanza = asRoomMessage(parsed.el, occupant);
    } else {
      stanza = groupchatFromColumns(occupant, undefined, text(row.body) ?? '');
    }
    const record: ArchivedMessageRecord = { kind: 'archived-message', archive: { type: 'room', jid: room }, timestamp, remote: occupant, stanza, location };
    if (nick !== '') record.senderNick = nick;
    const sender = text(row.sender_jid);
    if (sender !== undefined && sender !== '') {
      try {
        const real = parseJid(sender);
        if (real.local !== '' && bareJidString(real) !== roomKey) record.senderRealJid = formatJid(real);
      } catch {
        // Kept without the real JID.
      }
    }
    const originId = originIdOf(stanza);
    if (originId !== undefined) record.originId = originId;
    if (id !== undefined) record.sourceId = id;
    return { record };
  }

  // -------------------------------------------------------------------------------------------------------
  // Inventory

  async inventory(): Promise<SourceInventory> {
    const signals = new TigaseSignals();
    const counts: SourceInventory['counts'] = {};
    const ownerSets = new Map<RecordKind, Set<string>>();
    const rejects: Record<string, number> = {};
    for (const stream of TIGASE_STREAMS) {
      if (stream.name === 'archives' || stream.name === 'muc-archives') continue;
      for await (const item of this.readWith(stream.name, undefined, signals)) {
        if ('reject' in item) {
          bump(rejects, item.reject.code);
          continue;
        }
        const r = item.record;
        bump(counts as Record<string, number>, r.kind);
        const owner = r.kind === 'account' ? r.jid : r.kind === 'muc-room' ? r.room : r.kind === 'muc-registration' ? r.user : 'owner' in r ? r.owner : undefined;
        if (owner) {
          const set = ownerSets.get(r.kind) ?? new Set<string>();
          set.add(bareJidString(owner));
          ownerSets.set(r.kind, set);
        }
      }
    }
    const owners: SourceInventory['owners'] = {};
    for (const [kind, set] of ownerSets) owners[kind] = set.size;
    const versions = [...this.schema.versions].map(([c, v]) => `${c} ${v}`).join(', ');
    const inventory: SourceInventory = {
      description: `Tigase database${versions ? ` (schema versions: ${versions})` : ''}, ${this.db.dialect === 'pg' ? 'PostgreSQL' : 'MySQL/MariaDB'}`,
      counts,
      owners,
      credentials: signals.credentials,
      rejects,
      cannotProvide: [],
      notes: [],
    };
    await this.archiveInventory(inventory);
    inventory.cannotProvide = await this.cannotProvide();
    inventory.notes = await this.notes(signals);
    return inventory;
  }

  private async archiveInventory(inventory: SourceInventory): Promise<void> {
    const parts: Array<{ n: number; owners: number; bytes: number; first?: bigint; last?: bigint }> = [];
    const aggregate = async (sql: string): Promise<void> => {
      const [row] = await this.db.query(sql);
      const n = integer(row?.n) ?? 0;
      if (n === 0) return;
      const part: (typeof parts)[number] = { n, owners: integer(row?.owners) ?? 0, bytes: Number(text(row?.bytes) ?? 0) };
      const first = utcTextToMicros(row?.first);
      const last = utcTextToMicros(row?.last);
      if (first !== undefined) part.first = first;
      if (last !== undefined) part.last = last;
      parts.push(part);
    };
    if (this.schema.archive === 'v3') {
      await aggregate(
        `SELECT count(*) AS n, count(DISTINCT owner_id) AS owners, sum(octet_length(coalesce(msg, ''))) AS bytes, ${utcTimeText(this.db, 'min(ts)')} AS first, ${utcTimeText(this.db, 'max(ts)')} AS last FROM tig_ma_msgs`,
      );
    }
    if (this.schema.mucHistory) {
      await aggregate(
        `SELECT count(*) AS n, count(DISTINCT lower(room_jid)) AS owners, sum(octet_length(coalesce(msg, body, ''))) AS bytes, ${utcTimeText(this.db, 'min(ts)')} AS first, ${utcTimeText(this.db, 'max(ts)')} AS last FROM tig_muc_room_history`,
      );
    }
    if (parts.length === 0) return;
    inventory.counts['archived-message'] = parts.reduce((s, p) => s + p.n, 0);
    inventory.owners['archived-message'] = parts.reduce((s, p) => s + p.owners, 0);
    inventory.archiveBytes = parts.reduce((s, p) => s + p.bytes, 0);
    const firsts = parts.flatMap((p) => (p.first === undefined ? [] : [p.first]));
    const lasts = parts.flatMap((p) => (p.last === undefined ? [] : [p.last]));
    if (firsts.length > 0 && lasts.length > 0) {
      inventory.archiveSpan = { first: firsts.reduce((a, b) => (a < b ? a : b)), last: lasts.reduce((a, b) => (a > b ? a : b)) };
    }
  }

  private async cannotProvide(): Promise<NotProvided[]> {
    const out: NotProvided[] = [];
    if (this.schema.archive === undefined) out.push({ kind: 'archived-message', reason: 'there are no tigase-message-archiving tables (tig_ma_msgs): personal archives were not kept in this database' });
    if (this.schema.archive === 'v2') {
      out.push({ kind: 'archived-message', reason: 'tig_ma_msgs has the tigase-message-archiving 2.x layout, which this adapter does not read', advice: 'upgrade the schema to 3.x with Tigase 8 first' });
    }
    if (!this.schema.muc) out.push({ kind: 'muc-room', reason: 'there are no tigase-muc tables (tig_muc_rooms)' });
    const [vcard4] = await this.db.query(`SELECT count(*) AS n ${PAIRS_FROM} WHERE ${REAL_USERS} AND n.node = 'vcard-xep-0292'`);
    const v4 = integer(vcard4?.n) ?? 0;
    if (v4 > 0) out.push({ kind: 'vcard', reason: `${v4} vCard4 (XEP-0292) value(s) are not read; only vcard-temp vCards are` });
    if (await tableColumns(this.db, 'tig_pubsub_items')) out.push({ kind: 'pep-item', reason: 'tigase-pubsub (PEP) tables are not read' });
    return out;
  }

  private async notes(signals: TigaseSignals): Promise<string[]> {
    const out: string[] = [];
    const [pseudo] = await this.db.query("SELECT count(*) AS n FROM tig_users WHERE user_id NOT LIKE '%@%'");
    const skipped = integer(pseudo?.n) ?? 0;
    if (skipped > 0) out.push(`${skipped} tig_users row(s) without @ (Tigase's own, e.g. db-properties) skipped`);
    const [other] = await this.db.query("SELECT count(*) AS n FROM tig_user_credentials WHERE username <> 'default'");
    const extra = integer(other?.n) ?? 0;
    if (extra > 0) out.push(`${extra} extra credential(s) (tig_user_credentials username other than 'default': app passwords) not migrated`);
    if ((signals.credentials['md5-unusable'] ?? 0) > 0) {
      out.push(`${signals.credentials['md5-unusable']} account(s) have only an MD5 password hash, which MongooseIM cannot use: they are migrated without a credential and must set a new password`);
    }
    for (const [what, n] of Object.entries(signals.counters)) out.push(`${n} ${what}`);
    if (this.schema.archive === 'v3') {
      const [refs] = await this.db.query('SELECT count(*) AS n FROM tig_ma_msgs WHERE is_ref = 1');
      const n = integer(refs?.n) ?? 0;
      if (n > 0) out.push(`${n} archived reference message(s) (corrections, fastenings) are migrated as ordinary messages`);
      out.push('Tigase stores a message once per local owner: both local parties keep their own copy');
      out.push('archived-message counts tig_ma_msgs and tig_muc_room_history rows; rows that cannot be migrated show up as rejects when read');
    }
    return out;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

export const tigaseSqlAdapter: SourceAdapterDefinition = {
  schemes: ['tigase+pg', 'tigase+mysql'],
  summary: 'Tigase 8.x database (tigase-server, message-archiving 3.x, muc 3.x), PostgreSQL or MySQL/MariaDB',
  example: 'tigase+pg:postgres://tigase@db.example.com/tigasedb',
  async open(location: string, options: SourceOptions): Promise<SourceAdapter> {
    const settings = parseTigaseSettings(options.settings);
    const dialect = dialectOfUrl(location, 'tigase');
    const displayName = `tigase+${dialect}:${redactedUrl(location)}`;
    const db = await openSqlSession(location, dialect, displayName);
    try {
      return new TigaseSource(db, await detectSchema(db, displayName), settings, displayName);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  },
};
