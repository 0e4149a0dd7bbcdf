// Openfire's own database (PostgreSQL or MySQL/MariaDB), schema versions 22 (Openfire 4.0) to 40 (main):
// accounts, rosters, vCards, private XML, privacy lists, offline messages, last activity, MUC rooms and the
// room conversation log. Facts: shared/docs/storage-facts.md §4, checked against igniterealtime/Openfire
// distribution/src/database/openfire_{postgresql,mysql}.sql and upgrade/22…40 at v5.1.1 and main 3709dd49c.
// The Monitoring plugin's archive (ofMessageArchive, XEP-0136/0313) is another adapter's.
import { pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { SourceError, UsageError } from '../errors.js';
import { JidError, type Jid, formatJid, normaliseDomain, normaliseJid, normaliseLocal, parseJid } from '../jid.js';
import type {
  AccountRecord,
  ArchivedMessageRecord,
  BareJid,
  Credential,
  MigrationRecord,
  MucAffiliation,
  RecordKind,
  RosterItemRecord,
  ScramAlgorithm,
  ScramHash,
  SourceLocation,
} from '../records.js';
import { bareJidString, ownerKeyOf } from '../records.js';
import { Element } from '../xml/element.js';
import {
  Blowfish,
  OPENFIRE_MIN_SALT_BYTES,
  type OpenfireKdf,
  decryptOpenfirePassword,
  openfireBlowfishKey,
} from './openfire-blowfish.js';
import {
  AFFILIATION_CODES,
  asRoomMessage,
  groupchatFromColumns,
  openfireGroupName,
  presenceStatus,
  roomOptions,
  roomSubject,
  rosterCodes,
} from './openfire-records.js';
import {
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
  millisTextToMicros,
  openSqlSession,
  parsePageRows,
  originIdOf,
  parseStored,
  privacyItems,
  quoteIdent,
  readUnits,
  redactedUrl,
  reject,
  scramKeysFromSalted,
  scramProblem,
  strictBase64,
  tableColumns,
  text,
  withoutDelays,
} from './openfire-tigase-sql.js';
import type {
  NotProvided,
  SourceAdapter,
  SourceAdapterDefinition,
  SourceInventory,
  SourceItem,
  SourceOptions,
  StreamInfo,
} from './source-adapter.js';

const NS_VCARD = 'vcard-temp';

/** The oldest schema read: 22 added SCRAM to ofUser (Openfire 4.0.0). */
export const OPENFIRE_MIN_SCHEMA = 22;
/** Schema 28 (4.3.0) copied ofPrivate into PEP nodes; from then on private XML lives there. */
const PRIVATE_IN_PEP_SCHEMA = 28;

const RELEASES: Array<[number, string]> = [
  [22, '4.0'], [25, '4.1'], [26, '4.2'], [29, '4.3'], [30, '4.4–4.5'], [32, '4.6'], [33, '4.7'], [34, '4.8–4.9'],
  [37, '5.0'], [38, '5.1'], [39, 'main (unreleased)'],
];

function releaseOf(version: number): string {
  let release = 'newer than 5.1';
  for (const [from, name] of RELEASES) if (version >= from) release = name;
  return version > 40 ? `newer than the schemas known here (40)` : release;
}

// ---------------------------------------------------------------------------------------------------------
// Settings (`--source-option key=value`)

export interface OpenfireSettings {
  /** The XMPP domain; default: ofProperty `xmpp.domain`. */
  domain: string | undefined;
  /** `encrypt.blowfish.kdf` in conf/security.xml: sha1 (before 5.1.0, default) or pbkdf2. */
  kdf: OpenfireKdf;
  /** `encrypt.blowfish.salt` in conf/security.xml (base64), for the pbkdf2 KDF. */
  salt: Buffer | undefined;
  /** The passwordKey itself, when ofProperty holds it encrypted (or not at all). Never printed. */
  passwordKey: string | undefined;
  /** What to do with an account whose password cannot be recovered: migrate it without one (skip) or reject it. */
  unrecoverable: 'skip' | 'reject';
  /** Rows per keyset query (default 500). */
  pageRows: number;
}

const SETTING_KEYS = ['domain', 'blowfish-kdf', 'blowfish-salt', 'password-key', 'unrecoverable', 'page-rows'];

export function parseOpenfireSettings(settings: Record<string, string>): OpenfireSettings {
  for (const key of Object.keys(settings)) {
    if (!SETTING_KEYS.includes(key)) throw new UsageError(`unknown openfire source option ${JSON.stringify(key)}: expected one of ${SETTING_KEYS.join(', ')}`);
  }
  let domain = settings.domain;
  if (domain !== undefined) {
    try {
      domain = normaliseDomain(domain);
    } catch (err) {
      throw new UsageError(`openfire option domain=${domain}: ${(err as Error).message}`);
    }
  }
  const saltText = settings['blowfish-salt'];
  let salt: Buffer | undefined;
  if (saltText !== undefined) {
    salt = strictBase64(saltText);
    if (!salt) throw new UsageError('openfire option blowfish-salt: not base64 (copy encrypt.blowfish.salt from conf/security.xml as it is)');
    if (salt.length < OPENFIRE_MIN_SALT_BYTES) {
      throw new UsageError(
        `openfire option blowfish-salt: ${salt.length} bytes; Openfire refuses salts under ${OPENFIRE_MIN_SALT_BYTES} bytes and then uses the sha1 KDF: pass blowfish-kdf=sha1 instead`,
      );
    }
  }
  const kdfText = settings['blowfish-kdf'] ?? (salt ? 'pbkdf2' : 'sha1');
  if (kdfText !== 'sha1' && kdfText !== 'pbkdf2') throw new UsageError(`openfire option blowfish-kdf=${kdfText}: expected sha1 or pbkdf2`);
  if (kdfText === 'pbkdf2' && !salt) throw new UsageError('openfire option blowfish-kdf=pbkdf2 needs blowfish-salt=<encrypt.blowfish.salt from conf/security.xml>');
  const unrecoverable = settings.unrecoverable ?? 'skip';
  if (unrecoverable !== 'skip' && unrecoverable !== 'reject') throw new UsageError(`openfire option unrecoverable=${unrecoverable}: expected skip or reject`);
  const passwordKey = settings['password-key'];
  if (passwordKey === '') throw new UsageError('openfire option password-key is empty');
  return { domain, kdf: kdfText, salt, passwordKey, unrecoverable, pageRows: parsePageRows(settings['page-rows'], 'openfire') };
}

// ---------------------------------------------------------------------------------------------------------
// The schema as found.

interface OpenfireSchema {
  version: number;
  domain: string;
  /** ofUser.storedKey/serverKey/salt/iterations (22–39). */
  userScramColumns: boolean;
  /** ofUserScram (39+). */
  userScramTable: boolean;
  /** ofPrivate exists (dropped by 29). */
  privateTable: boolean;
  /** ofPubsubNode / ofPubsubItem exist. */
  pubsub: boolean;
  rosterStanza: boolean;
  logStanza: boolean;
  logMessageId: boolean;
  roomAllowpm: boolean;
  /** ofMessageArchive (Monitoring plugin) exists. */
  monitoring: boolean;
  mucServices: Map<string, string>;
}

async function detectSchema(db: SqlSession, settings: OpenfireSettings, label: string): Promise<OpenfireSchema> {
  const versionColumns = await tableColumns(db, 'ofVersion');
  if (!versionColumns) {
    throw new SourceError('not-openfire', `${label}: there is no ofVersion table: not an Openfire database (or one older than 3.x with jive* tables)`);
  }
  const rows = await db.query("SELECT version FROM ofVersion WHERE name = 'openfire'");
  const version = integer(rows[0]?.version);
  if (version === undefined) throw new SourceError('not-openfire', `${label}: ofVersion has no row name='openfire'`);
  if (version < OPENFIRE_MIN_SCHEMA) {
    throw new SourceError(
      'unsupported-version',
      `${label}: Openfire schema version ${version} is older than 4.0 (schema ${OPENFIRE_MIN_SCHEMA}); upgrade Openfire to 4.0 or later first, or export with the User Import/Export plugin (xep0227 source)`,
    );
  }
  let domain = settings.domain;
  if (domain === undefined) {
    const prop = await db.query("SELECT propValue AS value FROM ofProperty WHERE name = 'xmpp.domain'");
    const value = text(prop[0]?.value);
    if (value === undefined || value.trim() === '') {
      throw new UsageError(`${label}: ofProperty has no xmpp.domain; pass --source-option domain=<the XMPP domain>`);
    }
    try {
      domain = normaliseDomain(value.trim());
    } catch (err) {
      throw new UsageError(`${label}: ofProperty xmpp.domain ${JSON.stringify(value)}: ${(err as Error).message}; pass --source-option domain=<the XMPP domain>`);
    }
  }
  const user = (await tableColumns(db, 'ofUser')) ?? new Set<string>();
  const roster = (await tableColumns(db, 'ofRoster')) ?? new Set<string>();
  const log = (await tableColumns(db, 'ofMucConversationLog')) ?? new Set<string>();
  const room = (await tableColumns(db, 'ofMucRoom')) ?? new Set<string>();
  const mucServices = new Map<string, string>();
  for (const row of await db.query('SELECT serviceID AS service_id, subdomain FROM ofMucService')) {
    mucServices.set(String(row.service_id), String(row.subdomain));
  }
  return {
    version,
    domain,
    userScramColumns: user.has('storedkey'),
    userScramTable: (await tableColumns(db, 'ofUserScram')) !== undefined,
    privateTable: (await tableColumns(db, 'ofPrivate')) !== undefined,
    pubsub: (await tableColumns(db, 'ofPubsubItem')) !== undefined && (await tableColumns(db, 'ofPubsubNode')) !== undefined,
    rosterStanza: roster.has('stanza'),
    logStanza: log.has('stanza'),
    logMessageId: log.has('messageid'),
    roomAllowpm: room.has('allowpm'),
    monitoring: (await tableColumns(db, 'ofMessageArchive')) !== undefined,
    mucServices,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Streams.

export const OPENFIRE_STREAMS: StreamInfo[] = [
  { name: 'accounts', kinds: ['account'] },
  { name: 'rosters', kinds: ['roster-item'] },
  { name: 'vcards', kinds: ['vcard'] },
  { name: 'private', kinds: ['private-xml'] },
  { name: 'privacy', kinds: ['privacy-list'] },
  { name: 'offline', kinds: ['offline-message'] },
  { name: 'last', kinds: ['last-activity'] },
  { name: 'muc-rooms', kinds: ['muc-room', 'muc-registration'] },
  { name: 'muc-archives', kinds: ['archived-message'] },
];
const KINDS: RecordKind[] = [...new Set(OPENFIRE_STREAMS.flatMap((s) => s.kinds))];

/** What the reads notice on the way, for `inventory()` (never a password or a key). */
class OpenfireSignals {
  credentials: Record<string, number> = {};
  readonly counters: Record<string, number> = {};
  /** Decrypted passwords checked against the account's SCRAM-SHA-1 keys: matched / did not. */
  verified = 0;
  mismatched = 0;
  decryptFailures = 0;
  decrypted = 0;

  count(what: string, by = 1): void {
    bump(this.counters, what, by);
  }
}

/** How the accounts stream checks decrypted passwords against SCRAM: every account, or the first N (inventory). */
type VerifyMode = { all: true } | { all: false; limit: number };

const SCRAM_MECHANISMS: Record<string, ScramAlgorithm> = { 'SCRAM-SHA-1': 'sha1', 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-512': 'sha512' };

/** The Blowfish cipher, or why there is none. The passwordKey never leaves this object. */
type CipherState = { cipher: Blowfish } | { missing: string };

class OpenfireSource implements SourceAdapter {
  readonly displayName: string;
  readonly capabilities = { resume: 'seek' as const, delta: 'scan' as const, kinds: KINDS };
  private cipherState: CipherState | undefined;
  private rooms: Map<string, BareJid> | undefined;

  constructor(
    private readonly db: SqlSession,
    private readonly schema: OpenfireSchema,
    private readonly settings: OpenfireSettings,
    displayName: string,
  ) {
    this.displayName = displayName;
  }

  streams(): StreamInfo[] {
    return OPENFIRE_STREAMS;
  }

  read(stream: string, after?: string): AsyncIterable<SourceItem> {
    if (!OPENFIRE_STREAMS.some((s) => s.name === stream)) {
      throw new UsageError(`the openfire source has no stream ${JSON.stringify(stream)}: expected one of ${OPENFIRE_STREAMS.map((s) => s.name).join(', ')}`);
    }
    return this.readWith(stream, after, new OpenfireSignals(), { all: true });
  }

  private async *readWith(stream: string, after: string | undefined, signals: OpenfireSignals, verify: VerifyMode): AsyncGenerator<SourceItem> {
    const reader = await this.reader(stream, signals, verify);
    yield* readUnits(this.db, reader, after, { source: this.displayName, stream }, this.settings.pageRows);
  }

  private reader(stream: string, signals: OpenfireSignals, verify: VerifyMode): Promise<UnitReader<SqlRow>> | UnitReader<SqlRow> {
    switch (stream) {
      case 'accounts':
        return this.accounts(signals, verify);
      case 'rosters':
        return this.rosters(signals);
      case 'vcards':
        return this.vcards();
      case 'private':
        return this.privateXml(signals);
      case 'privacy':
        return this.privacy();
      case 'offline':
        return this.offline();
      case 'last':
        return this.last();
      case 'muc-rooms':
        return this.mucRooms(signals);
      case 'muc-archives':
        return this.mucArchives(signals);
      default:
        throw new UsageError(`the openfire source has no stream ${JSON.stringify(stream)}: expected one of ${OPENFIRE_STREAMS.map((s) => s.name).join(', ')}`);
    }
  }

  private location(table: string, key: string): SourceLocation {
    return { source: this.displayName, table, key };
  }

  private user(username: unknown): BareJid {
    return { local: normaliseLocal(String(username)), domain: this.schema.domain };
  }

  // -------------------------------------------------------------------------------------------------------
  // ofUser (+ ofUserScram)

  private async cipher(): Promise<CipherState> {
    if (this.cipherState) return this.cipherState;
    let key = this.settings.passwordKey;
    if (key === undefined) {
      const hasEncryptedColumn = (await tableColumns(this.db, 'ofProperty'))?.has('encrypted') ?? false;
      const rows = await this.db.query(`SELECT propValue AS value${hasEncryptedColumn ? ', encrypted' : ''} FROM ofProperty WHERE name = 'passwordKey'`);
      const row = rows[0];
      if (!row) this.cipherState = { missing: 'ofProperty has no passwordKey; pass --source-option password-key=<key> if you have it' };
      else if (integer(row.encrypted) === 1) {
        this.cipherState = {
          missing:
            "ofProperty.passwordKey is itself encrypted (encrypted=1, with the key in Openfire's conf/security.xml); pass --source-option password-key=<the value the admin console shows>",
        };
      } else key = text(row.value);
    }
    if (!this.cipherState) {
      if (key === undefined || key === '') this.cipherState = { missing: 'the passwordKey is empty' };
      else this.cipherState = { cipher: new Blowfish(openfireBlowfishKey(key, this.settings.kdf, this.settings.salt)) };
    }
    return this.cipherState;
  }

  private async accounts(signals: OpenfireSignals, verify: VerifyMode): Promise<UnitReader<SqlRow>> {
    const cipher = await this.cipher();
    const scramColumns = this.schema.userScramColumns ? ', storedKey AS stored_key, serverKey AS server_key, salt, iterations' : '';
    const scramRows = new Map<string, SqlRow[]>();
    const db = this.db;
    const useTable = this.schema.userScramTable;
    return {
      query: {
        select: `SELECT username, plainPassword AS plain_password, encryptedPassword AS encrypted_password, creationDate AS creation_date${scramColumns} FROM ofUser`,
        key: [{ expr: 'username', type: 'text' }],
        keyOf: (r) => [String(r.username)],
        unique: true,
      },
      async enrich(rows) {
        scramRows.clear();
        if (!useTable || rows.length === 0) return;
        const names = rows.map((r) => String(r.username));
        const found = await db.query(
          `SELECT username, mechanism, storedKey AS stored_key, serverKey AS server_key, salt, iterations FROM ofUserScram WHERE username IN (${names.map(() => '?').join(', ')})`,
          names,
        );
        for (const row of found) {
          const list = scramRows.get(String(row.username)) ?? [];
          list.push(row);
          scramRows.set(String(row.username), list);
        }
      },
      items: ([row]) => [this.account(row as SqlRow, scramRows.get(String((row as SqlRow).username)) ?? [], cipher, signals, verify)],
    };
  }

  private account(row: SqlRow, scramTableRows: SqlRow[], cipherState: CipherState, signals: OpenfireSignals, verify: VerifyMode): Produced {
    const username = String(row.username);
    const location = this.location('ofUser', username);
    let jid: BareJid;
    try {
      jid = this.user(username);
    } catch (err) {
      return reject('invalid-jid', `ofUser ${JSON.stringify(username)}: ${(err as Error).message}`, location);
    }
    const key = bareJidString(jid);
    // SCRAM: ofUserScram rows (39+), else the ofUser columns (22–39). Always SCRAM-SHA-1 in released versions.
    const scramSources: Array<{ mechanism: string; row: SqlRow }> = scramTableRows.map((r) => ({ mechanism: String(r.mechanism), row: r }));
    if (scramSources.length === 0 && row.stored_key !== undefined && row.stored_key !== null) scramSources.push({ mechanism: 'SCRAM-SHA-1', row });
    const hashes: ScramHash[] = [];
    const scramErrors: string[] = [];
    for (const { mechanism, row: r } of scramSources) {
      const algorithm = SCRAM_MECHANISMS[mechanism];
      if (!algorithm) {
        signals.count(`ofUserScram mechanism ${mechanism} not read`);
        continue;
      }
      const salt = strictBase64(text(r.salt));
      const storedKey = strictBase64(text(r.stored_key));
      const serverKey = strictBase64(text(r.server_key));
      const iterations = integer(r.iterations) ?? 0;
      if (!salt || !storedKey || !serverKey) {
        scramErrors.push(`${mechanism}: salt, storedKey or serverKey is missing or not base64`);
        continue;
      }
      const hash: ScramHash = { algorithm, iterations, salt, storedKey, serverKey };
      const problem = scramProblem(hash);
      if (problem) scramErrors.push(`${mechanism}: ${problem}`);
      else hashes.push(hash);
    }
    const scramShape = hashes.length > 0 ? `scram-${hashes.map((h) => h.algorithm).join('+')}` : undefined;
    const plainText = text(row.plain_password);
    const encrypted = text(row.encrypted_password);
    let password: string | undefined;
    let source: 'plain' | 'encrypted-recoverable' | undefined;
    let lost: string | undefined;
    if (plainText !== undefined && plainText !== '') {
      password = plainText;
      source = 'plain';
    } else if (encrypted !== undefined && encrypted !== '') {
      if ('missing' in cipherState) lost = `encryptedPassword cannot be decrypted: ${cipherState.missing}`;
      else {
        const result = decryptOpenfirePassword(encrypted, cipherState.cipher);
        if (!result.ok) {
          signals.decryptFailures++;
          lost = `encryptedPassword ${result.reason}`;
        } else {
          signals.decrypted++;
          const sha1 = hashes.find((h) => h.algorithm === 'sha1');
          const check = verify.all || signals.verified + signals.mismatched < verify.limit;
          if (sha1 && check) {
            if (scramMatches(result.password, sha1)) signals.verified++;
            else {
              signals.mismatched++;
              lost = 'the decrypted encryptedPassword does not match the account\'s SCRAM-SHA-1 keys (wrong passwordKey or KDF?)';
            }
          }
          if (lost === undefined) {
            password = result.password;
            source = 'encrypted-recoverable';
          }
        }
      }
    }
    if (scramErrors.length > 0 && hashes.length === 0 && password === undefined) {
      bump(signals.credentials, 'invalid');
      return reject('invalid-scram', `${key}: cannot read the SCRAM credentials (${scramErrors.join('; ')}) and there is no other password`, location);
    }
    if (scramErrors.length > 0) signals.count('accounts with unreadable SCRAM values, migrated with their other credentials');
    let credential: Credential;
    let shape: string;
    if (password !== undefined && hashes.length > 0) {
      credential = { type: 'plain+scram', password, hashes };
      shape = `${source}+${scramShape}`;
    } else if (password !== undefined) {
      credential = { type: 'plain', password };
      shape = source as string;
    } else if (hashes.length > 0) {
      credential = { type: 'scram', hashes };
      shape = scramShape as string;
      if (lost !== undefined) signals.count('accounts whose encryptedPassword could not be used: migrated with SCRAM-SHA-1 only');
    } else if (lost !== undefined) {
      shape = 'unrecoverable';
      bump(signals.credentials, shape);
      const reason = `${lost}; the account has no SCRAM keys either, so its password cannot be recovered: set a new one after the migration`;
      if (this.settings.unrecoverable === 'reject') return reject('unrecoverable-password', `${key}: ${reason}`, location);
      credential = { type: 'none', reason };
      return { record: this.accountRecord(jid, credential, row, location) };
    } else {
      credential = { type: 'none', reason: 'ofUser has no password for this account (no plainPassword, encryptedPassword or SCRAM keys)' };
      shape = 'none';
    }
    bump(signals.credentials, shape);
    return { record: this.accountRecord(jid, credential, row, location) };
  }

  private accountRecord(jid: BareJid, credential: Credential, row: SqlRow, location: SourceLocation): AccountRecord {
    const record: AccountRecord = { kind: 'account', jid, credential, location };
    const created = millisTextToMicros(row.creation_date);
    if (created !== undefined && created > 0n) record.createdAt = created;
    return record;
  }

  // -------------------------------------------------------------------------------------------------------
  // ofRoster + ofRosterGroups

  private rosters(signals: OpenfireSignals): UnitReader<SqlRow> {
    const groups = new Map<string, string[]>();
    const db = this.db;
    const rank = quoteIdent(db, 'rank');
    return {
      query: {
        select: `SELECT rosterID AS roster_id, username, jid, sub, ask, recv, nick${this.schema.rosterStanza ? ', stanza' : ''} FROM ofRoster`,
        key: [{ expr: 'rosterID', type: 'int' }],
        keyOf: (r) => [String(r.roster_id)],
        unique: true,
      },
      async enrich(rows) {
        groups.clear();
        if (rows.length === 0) return;
        const ids = rows.map((r) => String(r.roster_id));
        const found = await db.query(
          `SELECT rosterID AS roster_id, ${rank} AS group_rank, groupName AS group_name FROM ofRosterGroups WHERE rosterID IN (${ids.map(() => '?').join(', ')}) ORDER BY rosterID, ${rank}`,
          ids,
        );
        for (const g of found) {
          const list = groups.get(String(g.roster_id)) ?? [];
          list.push(String(g.group_name));
          groups.set(String(g.roster_id), list);
        }
      },
      items: ([row]) => this.rosterItem(row as SqlRow, groups.get(String((row as SqlRow).roster_id)) ?? [], signals),
    };
  }

  private rosterItem(row: SqlRow, groupNames: string[], signals: OpenfireSignals): Produced[] {
    const id = String(row.roster_id);
    const location = this.location('ofRoster', `rosterID=${id}`);
    let owner: BareJid;
    try {
      owner = this.user(row.username);
    } catch (err) {
      return [reject('invalid-jid', `ofRoster rosterID=${id}: owner ${JSON.stringify(row.username)}: ${(err as Error).message}`, location)];
    }
    const who = `${bareJidString(owner)}'s roster item rosterID=${id}`;
    const codes = rosterCodes(integer(row.sub), integer(row.ask), integer(row.recv));
    if (!codes.ok) return [reject('unknown-roster-code', `${who}: ${codes.problem}`, location)];
    if (codes.remove) {
      signals.count('roster items with sub=-1 (being removed) skipped');
      return [];
    }
    if (codes.askUnsubscribe) signals.count('roster items with ask=1 (unsubscribe pending) migrated without a pending request');
    if (codes.recvUnsubscribe) signals.count('roster items with recv=2 (unsubscribe received) migrated without a pending request');
    let contact: string;
    try {
      contact = normaliseJid(String(row.jid));
    } catch (err) {
      return [reject('invalid-jid', `${who}: contact ${(err as Error).message}`, location)];
    }
    let askMessage = '';
    const stanza = text(row.stanza);
    if ((codes.ask === 'in' || codes.ask === 'both') && stanza !== undefined && stanza !== '') {
      const parsed = parseStored(stanza);
      if ('el' in parsed) askMessage = presenceStatus(parsed.el);
      else signals.count('ofRoster.stanza values (pending request text) unreadable, dropped');
    }
    const groups: string[] = [];
    for (const g of groupNames) if (g !== '' && !groups.includes(g)) groups.push(g);
    const record: RosterItemRecord = {
      kind: 'roster-item',
      owner,
      contact,
      name: text(row.nick) ?? '',
      subscription: codes.subscription,
      ask: codes.ask,
      askMessage,
      groups,
      location,
    };
    return [{ record }];
  }

  // -------------------------------------------------------------------------------------------------------
  // ofVCard

  private vcards(): UnitReader<SqlRow> {
    return {
      query: {
        select: 'SELECT username, vcard FROM ofVCard',
        key: [{ expr: 'username', type: 'text' }],
        keyOf: (r) => [String(r.username)],
        unique: true,
      },
      items: ([row]) => {
        const r = row as SqlRow;
        const location = this.location('ofVCard', String(r.username));
        let owner: BareJid;
        try {
          owner = this.user(r.username);
        } catch (err) {
          return [reject('invalid-jid', `ofVCard ${JSON.stringify(r.username)}: ${(err as Error).message}`, location)];
        }
        const value = text(r.vcard) ?? '';
        const parsed = parseStored(value);
        if ('problem' in parsed) return [reject('malformed-xml', `${bareJidString(owner)}'s vCard: ${parsed.problem}`, location, excerptText(value))];
        const el = parsed.el;
        if (el.name !== 'vCard' || (el.attrs.xmlns ?? NS_VCARD) !== NS_VCARD) {
          return [reject('invalid-vcard', `${bareJidString(owner)}'s vCard is a <${el.name} xmlns='${el.attrs.xmlns ?? ''}'>, not <vCard xmlns='vcard-temp'>`, location, excerptOf(el))];
        }
        el.attrs.xmlns = NS_VCARD;
        return [{ record: { kind: 'vcard', owner, vcard: el, location } }];
      },
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // Private XML: ofPrivate before schema 28; from 28 one PEP node per namespace (whitelist, item 'current').

  private privateXml(signals: OpenfireSignals): UnitReader<SqlRow> {
    if (this.schema.version < PRIVATE_IN_PEP_SCHEMA && this.schema.privateTable) {
      return {
        query: {
          select: 'SELECT username, name, namespace, privateData AS private_data FROM ofPrivate',
          key: [
            { expr: 'username', type: 'text' },
            { expr: 'name', type: 'text' },
            { expr: 'namespace', type: 'text' },
          ],
          keyOf: (r) => [String(r.username), String(r.name), String(r.namespace)],
          unique: true,
        },
        items: ([row]) => {
          const r = row as SqlRow;
          const keyText = `${r.username} ${r.name} ${r.namespace}`;
          return this.privateElement(r.username, String(r.namespace), text(r.private_data) ?? '', this.location('ofPrivate', keyText), signals);
        },
      };
    }
    if (!this.schema.pubsub) return emptyReader();
    const like = `%@${this.schema.domain.replace(/[\\%_]/g, (c) => `\\${c}`)}`;
    return {
      query: {
        select:
          'SELECT i.serviceID AS service_id, i.nodeID AS node_id, i.id AS item_id, i.payload FROM ofPubsubItem i JOIN ofPubsubNode n ON n.serviceID = i.serviceID AND n.nodeID = i.nodeID',
        where: ["n.accessModel = 'whitelist'", "i.id = 'current'", 'i.serviceID LIKE ?'],
        params: [like],
        key: [
          { expr: 'i.serviceID', type: 'text' },
          { expr: 'i.nodeID', type: 'text' },
          { expr: 'i.id', type: 'text' },
        ],
        keyOf: (r) => [String(r.service_id), String(r.node_id), String(r.item_id)],
        unique: true,
      },
      items: ([row]) => {
        const r = row as SqlRow;
        const location = this.location('ofPubsubItem', `${r.service_id} ${r.node_id} ${r.item_id}`);
        const service = String(r.service_id);
        let owner: Jid;
        try {
          owner = parseJid(service);
        } catch (err) {
          return [reject('invalid-jid', `PEP service ${JSON.stringify(service)}: ${(err as Error).message}`, location)];
        }
        if (owner.domain !== this.schema.domain || owner.resource !== '') return [];
        return this.privateElement(owner.local, String(r.node_id), text(r.payload) ?? '', location, signals);
      },
    };
  }

  private privateElement(username: unknown, namespace: string, value: string, location: SourceLocation, signals: OpenfireSignals): Produced[] {
    let owner: BareJid;
    try {
      owner = this.user(username);
    } catch (err) {
      return [reject('invalid-jid', `private XML of ${JSON.stringify(username)}: ${(err as Error).message}`, location)];
    }
    const parsed = parseStored(value);
    if ('problem' in parsed) return [reject('malformed-xml', `${bareJidString(owner)}'s private XML in ${namespace}: ${parsed.problem}`, location, excerptText(value))];
    const el = parsed.el;
    const ns = el.attrs.xmlns ?? namespace;
    if (ns !== namespace) {
      if (location.table === 'ofPubsubItem') {
        // A whitelist PEP node whose item is not in the node's namespace is some other PEP data, not private storage.
        signals.count('whitelist PEP items outside their node namespace (not private storage) skipped');
        return [];
      }
      return [reject('private-xml-namespace', `${bareJidString(owner)}'s private XML <${el.name} xmlns='${ns}'> is stored under namespace ${namespace}`, location, excerptOf(el))];
    }
    el.attrs.xmlns = ns;
    return [{ record: { kind: 'private-xml', owner, element: el, location } }];
  }

  // -------------------------------------------------------------------------------------------------------
  // ofPrivacyList

  private privacy(): UnitReader<SqlRow> {
    return {
      query: {
        select: 'SELECT username, name, isDefault AS is_default, list FROM ofPrivacyList',
        key: [
          { expr: 'username', type: 'text' },
          { expr: 'name', type: 'text' },
        ],
        keyOf: (r) => [String(r.username), String(r.name)],
        unique: true,
      },
      items: ([row]) => {
        const r = row as SqlRow;
        const name = String(r.name);
        const location = this.location('ofPrivacyList', `${r.username} ${name}`);
        let owner: BareJid;
        try {
          owner = this.user(r.username);
        } catch (err) {
          return [reject('invalid-jid', `ofPrivacyList ${JSON.stringify(r.username)}: ${(err as Error).message}`, location)];
        }
        const value = text(r.list) ?? '';
        const parsed = parseStored(value);
        if ('problem' in parsed) return [reject('malformed-xml', `${bareJidString(owner)}'s privacy list ${JSON.stringify(name)}: ${parsed.problem}`, location, excerptText(value))];
        if (parsed.el.name !== 'list') return [reject('invalid-privacy-list', `${bareJidString(owner)}'s privacy list ${JSON.stringify(name)} is a <${parsed.el.name}>, not a <list>`, location, excerptOf(parsed.el))];
        const items = privacyItems(parsed.el);
        if ('problem' in items) return [reject('invalid-privacy-list', `${bareJidString(owner)}'s privacy list ${JSON.stringify(name)}: ${items.problem}`, location, excerptOf(parsed.el))];
        return [{ record: { kind: 'privacy-list', owner, name, isDefault: integer(r.is_default) === 1, items: items.items, location } }];
      },
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // ofOffline

  private offline(): UnitReader<SqlRow> {
    return {
      query: {
        select: 'SELECT username, messageID AS message_id, creationDate AS creation_date, stanza FROM ofOffline',
        key: [
          { expr: 'username', type: 'text' },
          { expr: 'messageID', type: 'int' },
        ],
        keyOf: (r) => [String(r.username), String(r.message_id)],
        unique: true,
      },
      items: ([row]) => {
        const r = row as SqlRow;
        const location = this.location('ofOffline', `${r.username} messageID=${r.message_id}`);
        let owner: BareJid;
        try {
          owner = this.user(r.username);
        } catch (err) {
          return [reject('invalid-jid', `ofOffline ${JSON.stringify(r.username)}: ${(err as Error).message}`, location)];
        }
        const who = `${bareJidString(owner)}'s offline message ${r.message_id}`;
        const timestamp = millisTextToMicros(r.creation_date);
        if (timestamp === undefined) return [reject('malformed-timestamp', `${who}: creationDate ${JSON.stringify(r.creation_date)} is not epoch milliseconds`, location)];
        const value = text(r.stanza) ?? '';
        const parsed = parseStored(value);
        if ('problem' in parsed) return [reject('malformed-xml', `${who}: ${parsed.problem}`, location, excerptText(value))];
        const el = parsed.el;
        if (el.name !== 'message') return [reject('unexpected-element', `${who} is a <${el.name}>, not a <message>`, location, excerptOf(el))];
        let from: string;
        try {
          from = normaliseJid(el.attrs.from ?? '');
        } catch (err) {
          return [reject('invalid-jid', `${who}: from ${(err as Error).message}`, location, excerptOf(el))];
        }
        return [{ record: { kind: 'offline-message', owner, timestamp, from, stanza: withoutDelays(el), location } }];
      },
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // ofPresence → last activity

  private last(): UnitReader<SqlRow> {
    return {
      query: {
        select: 'SELECT username, offlinePresence AS offline_presence, offlineDate AS offline_date FROM ofPresence',
        key: [{ expr: 'username', type: 'text' }],
        keyOf: (r) => [String(r.username)],
        unique: true,
      },
      items: ([row]) => {
        const r = row as SqlRow;
        const location = this.location('ofPresence', String(r.username));
        let owner: BareJid;
        try {
          owner = this.user(r.username);
        } catch (err) {
          return [reject('invalid-jid', `ofPresence ${JSON.stringify(r.username)}: ${(err as Error).message}`, location)];
        }
        const micros = millisTextToMicros(r.offline_date);
        if (micros === undefined) return [reject('malformed-timestamp', `${bareJidString(owner)}: offlineDate ${JSON.stringify(r.offline_date)} is not epoch milliseconds`, location)];
        let status = '';
        const presence = text(r.offline_presence);
        if (presence !== undefined && presence !== '') {
          const parsed = parseStored(presence);
          if ('problem' in parsed) return [reject('malformed-xml', `${bareJidString(owner)}'s last presence: ${parsed.problem}`, location, excerptText(presence))];
          status = presenceStatus(parsed.el);
        }
        return [{ record: { kind: 'last-activity', owner, seconds: Number(micros / 1_000_000n), status, location } }];
      },
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // MUC: ofMucRoom (+ ofMucAffiliation, ofMucMember)

  private roomJid(serviceId: string, name: string): BareJid {
    const subdomain = this.schema.mucServices.get(serviceId);
    if (subdomain === undefined) throw new JidError(`serviceID ${serviceId} is not in ofMucService`);
    return { local: normaliseLocal(name), domain: normaliseDomain(`${subdomain}.${this.schema.domain}`) };
  }

  private mucRooms(signals: OpenfireSignals): UnitReader<SqlRow> {
    const db = this.db;
    const affiliations = new Map<string, SqlRow[]>();
    const members = new Map<string, SqlRow[]>();
    const columns = [
      'serviceID AS service_id', 'roomID AS room_id', 'name', 'naturalName AS natural_name', 'description', 'lockedDate AS locked_date',
      'canChangeSubject AS can_change_subject', 'maxUsers AS max_users', 'publicRoom AS public_room', 'moderated',
      'membersOnly AS members_only', 'canInvite AS can_invite', 'roomPassword AS room_password', 'canDiscoverJID AS can_discover_jid',
      'logEnabled AS log_enabled', 'subject', ...(this.schema.roomAllowpm ? ['allowpm'] : []),
    ];
    const byRoom = (rows: SqlRow[], into: Map<string, SqlRow[]>): void => {
      for (const row of rows) {
        const list = into.get(String(row.room_id)) ?? [];
        list.push(row);
        into.set(String(row.room_id), list);
      }
    };
    return {
      query: {
        select: `SELECT ${columns.join(', ')} FROM ofMucRoom`,
        key: [
          { expr: 'serviceID', type: 'int' },
          { expr: 'name', type: 'text' },
        ],
        keyOf: (r) => [String(r.service_id), String(r.name)],
        unique: true,
      },
      async enrich(rows) {
        affiliations.clear();
        members.clear();
        if (rows.length === 0) return;
        const ids = rows.map((r) => String(r.room_id));
        const list = ids.map(() => '?').join(', ');
        byRoom(await db.query(`SELECT roomID AS room_id, jid, affiliation FROM ofMucAffiliation WHERE roomID IN (${list})`, ids), affiliations);
        byRoom(await db.query(`SELECT roomID AS room_id, jid, nickname FROM ofMucMember WHERE roomID IN (${list})`, ids), members);
      },
      items: ([row]) => {
        const r = row as SqlRow;
        const id = String(r.room_id);
        return this.room(r, affiliations.get(id) ?? [], members.get(id) ?? [], signals);
      },
    };
  }

  private room(row: SqlRow, affiliationRows: SqlRow[], memberRows: SqlRow[], signals: OpenfireSignals): Produced[] {
    const keyText = `serviceID=${row.service_id} name=${row.name} (roomID=${row.room_id})`;
    const location = this.location('ofMucRoom', keyText);
    let room: BareJid;
    try {
      room = this.roomJid(String(row.service_id), String(row.name));
    } catch (err) {
      return [reject('invalid-jid', `ofMucRoom ${keyText}: ${(err as Error).message}`, location)];
    }
    const roomKey = bareJidString(room);
    const subject = roomSubject(text(row.subject), (xml) => {
      const parsed = parseStored(xml);
      return 'el' in parsed ? parsed.el : undefined;
    });
    if (subject === 'malformed') signals.count('room subjects whose stanza cannot be read, left out');
    const lockedDate = text(row.locked_date)?.trim() ?? '';
    if (/[1-9]/.test(lockedDate)) signals.count('rooms still locked (never configured) in Openfire, migrated as they are');
    const allowpm = integer(row.allowpm);
    if (allowpm === 1 || allowpm === 2) signals.count('rooms allowing private messages to participants or moderators only: MongooseIM allows them to everyone');
    if (integer(row.log_enabled) !== 1) signals.count('rooms with conversation logging off (their history is not in ofMucConversationLog)');
    const options = roomOptions({
      naturalName: text(row.natural_name) ?? '',
      description: text(row.description),
      canChangeSubject: integer(row.can_change_subject) ?? 0,
      maxUsers: integer(row.max_users) ?? 0,
      publicRoom: integer(row.public_room) ?? 0,
      moderated: integer(row.moderated) ?? 0,
      membersOnly: integer(row.members_only) ?? 0,
      canInvite: integer(row.can_invite) ?? 0,
      roomPassword: text(row.room_password),
      canDiscoverJID: integer(row.can_discover_jid) ?? 0,
      allowpm,
      subject: subject === 'malformed' ? undefined : subject,
    });
    const rejects: Array<{ jid: string; produced: Produced }> = [];
    const affiliated = new Map<string, MucAffiliation>();
    const registrations: Array<{ jid: string; user: BareJid; nick: string }> = [];
    const affiliationLocation = (table: string, jid: string): SourceLocation => this.location(table, `roomID=${row.room_id} jid=${jid}`);
    const userJid = (raw: string, table: string): Jid | undefined => {
      let jid: Jid;
      try {
        jid = parseJid(raw);
      } catch (err) {
        rejects.push({ jid: raw, produced: reject('invalid-jid', `${roomKey}: ${table} ${(err as Error).message}`, affiliationLocation(table, raw)) });
        return undefined;
      }
      const group = openfireGroupName(jid.local, jid.resource);
      if (group !== undefined) {
        rejects.push({
          jid: raw,
          produced: reject(
            'group-affiliation',
            `${roomKey}: the Openfire user group ${JSON.stringify(group)} is affiliated as a whole (${table}); MongooseIM affiliates single JIDs: add its members by hand`,
            affiliationLocation(table, raw),
          ),
        });
        return undefined;
      }
      return jid;
    };
    for (const a of [...affiliationRows].sort((x, y) => compareNullable(x.jid, y.jid))) {
      const raw = String(a.jid);
      const code = integer(a.affiliation);
      const affiliation = code === undefined ? undefined : AFFILIATION_CODES[code];
      if (affiliation === undefined) {
        rejects.push({ jid: raw, produced: reject('unknown-affiliation', `${roomKey}: ${raw} has affiliation code ${a.affiliation} (expected 10, 20, 30, 40 or 50)`, affiliationLocation('ofMucAffiliation', raw)) });
        continue;
      }
      const jid = userJid(raw, 'ofMucAffiliation');
      if (!jid || affiliation === 'none') continue;
      affiliated.set(bareJidString(jid), affiliation);
    }
    // Members come second: Openfire loads them after ofMucAffiliation, so a JID in both ends up a member.
    for (const m of [...memberRows].sort((x, y) => compareNullable(x.jid, y.jid))) {
      const raw = String(m.jid);
      const jid = userJid(raw, 'ofMucMember');
      if (!jid) continue;
      const bare = bareJidString(jid);
      affiliated.set(bare, 'member');
      const nick = text(m.nickname) ?? '';
      if (nick !== '' && jid.local !== '') registrations.push({ jid: bare, user: { local: jid.local, domain: jid.domain }, nick });
    }
    const record: MigrationRecord = {
      kind: 'muc-room',
      room,
      options,
      affiliations: [...affiliated.entries()].sort(([a], [b]) => compareNullable(a, b)).map(([jid, affiliation]) => ({ jid, affiliation })),
      location,
    };
    return [
      { record },
      ...rejects.map((r) => r.produced),
      ...registrations.map(({ jid, user, nick }) => ({
        record: { kind: 'muc-registration', mucHost: room.domain, user, nick, location: affiliationLocation('ofMucMember', jid) } satisfies MigrationRecord,
      })),
    ];
  }

  // -------------------------------------------------------------------------------------------------------
  // ofMucConversationLog → room archives. No primary key: rows are read by (roomID, logTime) and ordered
  // within one millisecond by messageID, then by their content.

  private async roomsById(): Promise<Map<string, BareJid>> {
    if (this.rooms) return this.rooms;
    const rooms = new Map<string, BareJid>();
    for (const row of await this.db.query('SELECT roomID AS room_id, serviceID AS service_id, name FROM ofMucRoom')) {
      try {
        rooms.set(String(row.room_id), this.roomJid(String(row.service_id), String(row.name)));
      } catch {
        // The muc-rooms stream rejects it; its log rows are rejected as room-not-found.
      }
    }
    this.rooms = rooms;
    return rooms;
  }

  private async mucArchives(signals: OpenfireSignals): Promise<UnitReader<SqlRow>> {
    const rooms = await this.roomsById();
    const columns = ['roomID AS room_id', 'sender', 'nickname', 'logTime AS log_time', 'subject', 'body'];
    if (this.schema.logMessageId) columns.push('messageID AS message_id');
    if (this.schema.logStanza) columns.push('stanza');
    return {
      query: {
        select: `SELECT ${columns.join(', ')} FROM ofMucConversationLog`,
        key: [
          { expr: 'roomID', type: 'int' },
          { expr: 'logTime', type: 'text' },
        ],
        keyOf: (r) => [String(r.room_id), String(r.log_time)],
        unique: false,
        order: (a, b) =>
          compareNullable(a.message_id === null || a.message_id === undefined ? null : String(a.message_id).padStart(20, '0'), b.message_id === null || b.message_id === undefined ? null : String(b.message_id).padStart(20, '0')) ||
          compareNullable(a.sender, b.sender) ||
          compareNullable(a.nickname, b.nickname) ||
          compareNullable(a.subject, b.subject) ||
          compareNullable(a.body, b.body) ||
          compareNullable(a.stanza, b.stanza),
      },
      items: (rows) => rows.map((r) => this.logEntry(r, rooms, signals)),
    };
  }

  private logEntry(row: SqlRow, rooms: Map<string, BareJid>, signals: OpenfireSignals): Produced {
    const id = text(row.message_id);
    const keyText = `roomID=${row.room_id} logTime=${text(row.log_time)?.trim()}${id !== undefined ? ` messageID=${id}` : ''}`;
    const location = this.location('ofMucConversationLog', keyText);
    const room = rooms.get(String(row.room_id));
    if (!room) return reject('room-not-found', `ofMucConversationLog ${keyText}: roomID ${row.room_id} is not in ofMucRoom (a deleted room's history); its JID is unknown`, location);
    const roomKey = bareJidString(room);
    const timestamp = millisTextToMicros(row.log_time);
    if (timestamp === undefined) return reject('malformed-timestamp', `${roomKey}: logTime ${JSON.stringify(row.log_time)} is not epoch milliseconds`, location);
    const stored = text(row.stanza);
    let stanza: Element;
    if (stored !== undefined && stored !== '') {
      const parsed = parseStored(stored);
      if ('problem' in parsed) return reject('malformed-xml', `${roomKey} message at ${keyText}: ${parsed.problem}`, location, excerptText(stored));
      if (parsed.el.name !== 'message') return reject('unexpected-element', `${roomKey} log entry is a <${parsed.el.name}>, not a <message>`, location, excerptOf(parsed.el));
      stanza = parsed.el;
    } else {
      stanza = new Element('message');
    }
    let nick = text(row.nickname) ?? '';
    if (nick === '') {
      const from = stanza.attrs.from ?? '';
      const slash = from.indexOf('/');
      if (slash !== -1) nick = from.slice(slash + 1);
    }
    const occupant = nick === '' ? roomKey : `${roomKey}/${nick}`;
    if (stored === undefined || stored === '') {
      stanza = groupchatFromColumns(occupant, text(row.subject), text(row.body));
      signals.count('conversation log rows without a stanza, rebuilt from body/subject');
    } else stanza = asRoomMessage(stanza, occupant);
    const record: ArchivedMessageRecord = {
      kind: 'archived-message',
      archive: { type: 'room', jid: room },
      timestamp,
      remote: occupant,
      stanza,
      location,
    };
    if (nick !== '') record.senderNick = nick;
    const sender = text(row.sender);
    if (sender !== undefined && sender !== '') {
      try {
        const real = parseJid(sender);
        if (real.local !== '' && bareJidString(real) !== roomKey) record.senderRealJid = formatJid(real);
      } catch {
        signals.count('conversation log senders that are not valid JIDs, migrated without the real JID');
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
    const signals = new OpenfireSignals();
    const counts: SourceInventory['counts'] = {};
    const owners: SourceInventory['owners'] = {};
    const ownerSets = new Map<RecordKind, Set<string>>();
    const rejects: Record<string, number> = {};
    for (const stream of OPENFIRE_STREAMS) {
      if (stream.name === 'muc-archives') continue;
      for await (const item of this.readWith(stream.name, undefined, signals, { all: false, limit: 20 })) {
        if ('reject' in item) {
          bump(rejects, item.reject.code);
          continue;
        }
        const record = item.record;
        bump(counts as Record<string, number>, record.kind);
        const owner = ownerKeyOf(record);
        if (owner !== undefined) {
          const set = ownerSets.get(record.kind) ?? new Set<string>();
          set.add(owner);
          ownerSets.set(record.kind, set);
        }
      }
    }
    for (const [kind, set] of ownerSets) owners[kind] = set.size;
    const inventory: SourceInventory = {
      description: `Openfire database, schema version ${this.schema.version} (Openfire ${releaseOf(this.schema.version)}), ${this.db.dialect === 'pg' ? 'PostgreSQL' : 'MySQL/MariaDB'}, domain ${this.schema.domain}`,
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
    const stanza = this.schema.logStanza ? 'coalesce(stanza, body)' : 'body';
    const [row] = await this.db.query(
      `SELECT count(*) AS n, count(DISTINCT roomID) AS rooms, min(logTime) AS first, max(logTime) AS last, sum(octet_length(coalesce(${stanza}, ''))) AS bytes FROM ofMucConversationLog`,
    );
    const n = integer(row?.n) ?? 0;
    if (n === 0) return;
    inventory.counts['archived-message'] = n;
    inventory.owners['archived-message'] = integer(row?.rooms) ?? 0;
    inventory.archiveBytes = Number(text(row?.bytes) ?? 0);
    const first = millisTextToMicros(row?.first);
    const last = millisTextToMicros(row?.last);
    if (first !== undefined && last !== undefined) inventory.archiveSpan = { first, last };
  }

  private async cannotProvide(): Promise<NotProvided[]> {
    const out: NotProvided[] = [];
    const [shared] = await this.db.query("SELECT count(*) AS n FROM ofGroupProp WHERE name = 'sharedRoster.showInRoster' AND propValue <> 'nobody'");
    const sharedGroups = integer(shared?.n) ?? 0;
    if (sharedGroups > 0) {
      out.push({
        kind: 'roster-item',
        reason: `${sharedGroups} shared group(s) (ofGroupProp sharedRoster.showInRoster) put their members in rosters virtually: those contacts are not in ofRoster and are not migrated`,
        advice: 'recreate the groups as roster items (or with MongooseIM mod_shared_roster_ldap) after the migration',
      });
    }
    out.push({
      kind: 'archived-message',
      reason: this.schema.monitoring
        ? 'personal (1:1) archives are in the Monitoring plugin tables (ofMessageArchive), which this adapter does not read'
        : 'Openfire keeps no personal (1:1) message archive without the Monitoring plugin',
      ...(this.schema.monitoring ? { advice: 'read them with the Openfire Monitoring source (openfire-monitoring+pg: or openfire-monitoring+mysql:)' } : {}),
    });
    if (this.schema.pubsub) {
      const [pep] = await this.db.query(
        "SELECT count(*) AS n FROM ofPubsubItem i JOIN ofPubsubNode n ON n.serviceID = i.serviceID AND n.nodeID = i.nodeID WHERE i.serviceID LIKE '%@%' AND NOT (n.accessModel = 'whitelist' AND i.id = 'current')",
      );
      const items = integer(pep?.n) ?? 0;
      if (items > 0) out.push({ kind: 'pep-item', reason: `${items} PEP item(s) (ofPubsubItem: avatars, XEP-0402 bookmarks, …) are not read; only private storage kept in PEP is` });
    }
    return out;
  }

  private async notes(signals: OpenfireSignals): Promise<string[]> {
    const out: string[] = [];
    if (signals.decrypted + signals.decryptFailures > 0) {
      const kdf = this.settings.kdf === 'sha1' ? 'the SHA-1 KDF' : 'the PBKDF2 KDF';
      out.push(
        `${signals.decrypted} encryptedPassword value(s) decrypted with ${kdf}, ${signals.decryptFailures} could not be; ` +
          `${signals.verified + signals.mismatched} decrypted password(s) checked against their SCRAM-SHA-1 keys: ${signals.verified} matched, ${signals.mismatched} did not`,
      );
      if (signals.decrypted === 0 || signals.mismatched > 0) {
        out.push('decryption fails or disagrees with SCRAM: check the passwordKey and the KDF (blowfish-kdf / blowfish-salt from conf/security.xml) before running');
      }
    }
    const state = await this.cipher();
    if ('missing' in state && (signals.credentials.unrecoverable ?? 0) > 0) out.push(`encrypted passwords cannot be decrypted: ${state.missing}`);
    if ((signals.credentials.unrecoverable ?? 0) > 0) {
      out.push(
        `${signals.credentials.unrecoverable} account(s) have no recoverable password (unrecoverable=${this.settings.unrecoverable}: ${this.settings.unrecoverable === 'skip' ? 'migrated without a credential, which the target reports' : 'rejected'}); their users must set a new password`,
      );
    }
    if ((signals.credentials['scram-sha1'] ?? 0) > 0 || Object.keys(signals.credentials).some((k) => k.endsWith('+scram-sha1'))) {
      out.push('Openfire keeps SCRAM-SHA-1 only: accounts migrated with SCRAM alone log in with SCRAM-SHA-1 or PLAIN (set auth.password.hash to include sha)');
    }
    for (const [what, n] of Object.entries(signals.counters)) out.push(`${n} ${what}`);
    if (this.schema.version >= PRIVATE_IN_PEP_SCHEMA && this.schema.privateTable) {
      out.push('ofPrivate still exists but schema 28 copied it into PEP: private XML is read from PEP only');
    }
    const [members] = await this.db.query(
      "SELECT count(*) AS n FROM (SELECT jid FROM ofMucMember WHERE nickname IS NOT NULL AND nickname <> '' GROUP BY jid HAVING count(DISTINCT nickname) > 1) t",
    );
    const conflicting = integer(members?.n) ?? 0;
    if (conflicting > 0) out.push(`${conflicting} user(s) registered different nicks in different rooms; MongooseIM keeps one nick per user and MUC service`);
    if ((integer((await this.db.query('SELECT count(*) AS n FROM ofMucConversationLog'))[0]?.n) ?? 0) > 0) {
      out.push('archived-message counts ofMucConversationLog rows; rows that cannot be migrated (deleted rooms, bad XML) show up as rejects when read');
    }
    if (this.schema.version > 40) out.push(`schema version ${this.schema.version} is newer than the ones this adapter knows (up to 40): check the result`);
    return out;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function scramMatches(password: string, hash: ScramHash): boolean {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), hash.salt, hash.iterations, 20, 'sha1');
  return timingSafeEqual(scramKeysFromSalted('sha1', salted).storedKey, hash.storedKey);
}

function emptyReader(): UnitReader<SqlRow> {
  return {
    query: { select: 'SELECT 1 AS one', where: ['1 = 0'], key: [{ expr: '1', type: 'int' }], keyOf: () => [1], unique: true },
    items: () => [],
  };
}


export const openfireSqlAdapter: SourceAdapterDefinition = {
  schemes: ['openfire+pg', 'openfire+mysql'],
  summary: 'Openfire database (schema 22–40: Openfire 4.0 to 5.1 and main), PostgreSQL or MySQL/MariaDB',
  example: 'openfire+pg:postgres://openfire@db.example.com/openfire',
  async open(location: string, options: SourceOptions): Promise<SourceAdapter> {
    const settings = parseOpenfireSettings(options.settings);
    const dialect = dialectOfUrl(location, 'openfire');
    const displayName = `openfire+${dialect === 'pg' ? 'pg' : 'mysql'}:${redactedUrl(location)}`;
    const db = await openSqlSession(location, dialect, displayName);
    try {
      const schema = await detectSchema(db, settings, displayName);
      return new OpenfireSource(db, schema, settings, displayName);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  },
};
