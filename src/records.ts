// Canonical records: the only contract between source adapters, transforms and the target writer.
// Adapters emit them, transforms rewrite them, the writer encodes them. Nothing here knows a server.
import type { Element } from './xml/element.js';

/** Microseconds since the Unix epoch. MongooseIM derives MAM ids from µs; Date would lose precision. */
export type Micros = bigint;

/** Where a record came from, so rejects and errors can point an operator at the exact input. */
export interface SourceLocation {
  /** The source's display name (e.g. `xep0227:./export.xml`), never a DSN with a password. */
  source: string;
  file?: string;
  line?: number;
  column?: number;
  table?: string;
  /** A key inside the file or table: a user, a primary key, an archive item id. */
  key?: string;
}

/** A bare JID split into its already-normalised parts (nodeprep/nameprep lower-case). */
export interface BareJid {
  local: string;
  domain: string;
}

export type ScramAlgorithm = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
export const SCRAM_ALGORITHMS: readonly ScramAlgorithm[] = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'];

/** One SCRAM hash variant (RFC 5802), as raw bytes: every source format is normalised to this. */
export interface ScramHash {
  algorithm: ScramAlgorithm;
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

export type Credential =
  | { type: 'plain'; password: string }
  | { type: 'scram'; hashes: ScramHash[] }
  /** Both plaintext and SCRAM are known; the target chooses what to write. */
  | { type: 'plain+scram'; password: string; hashes: ScramHash[] }
  | { type: 'none'; reason: string };

export interface AccountRecord {
  kind: 'account';
  jid: BareJid;
  credential: Credential;
  createdAt?: Micros;
  location: SourceLocation;
}

export type Subscription = 'none' | 'to' | 'from' | 'both';
export type Ask = 'none' | 'out' | 'in' | 'both';

export interface RosterItemRecord {
  kind: 'roster-item';
  owner: BareJid;
  /** Contact JID, prepped and lower-cased, normally bare. */
  contact: string;
  name: string;
  subscription: Subscription;
  ask: Ask;
  /** Status text of a pending inbound request, '' if none. */
  askMessage: string;
  groups: string[];
  location: SourceLocation;
}

/** Identifies one MAM archive: a user's personal archive or a room's archive. */
export type ArchiveOwner =
  | { type: 'user'; jid: BareJid }
  | { type: 'room'; jid: BareJid };

export interface ArchivedMessageRecord {
  kind: 'archived-message';
  archive: ArchiveOwner;
  /** Receive time at the archiving server, µs. The MAM id is derived from it. */
  timestamp: Micros;
  /** Personal archives only: 'out' when the owner sent it. */
  direction?: 'in' | 'out';
  /**
   * Personal archives: the peer's JID (full when the resource is known).
   * Room archives: the occupant JID `room@host/nick`.
   */
  remote: string;
  /** Room archives: the sender's nick and, when the source knows it, real full JID. */
  senderNick?: string;
  senderRealJid?: string;
  /** The stanza as the archive should hold it (source-only wrappers and delays already removed). */
  stanza: Element;
  /** XEP-0359 origin-id, when present. */
  originId?: string;
  /** The id the source archive used (Prosody key, ejabberd timestamp, …), kept for id maps. */
  sourceId?: string;
  location: SourceLocation;
}

export interface LegacyCollectionEntry {
  /** 'from' = the owner received it, 'to' = the owner sent it. */
  direction: 'from' | 'to' | 'note';
  /** Seconds since the previous entry (or since `start` for the first); see LegacyCollectionRecord.timing. */
  secs?: number;
  /** Absolute time, overrides secs. */
  utc?: Micros;
  /** Groupchat sender nick. */
  name?: string;
  jid?: string;
  body?: string;
  /** The full stanza, when the store kept one. */
  stanza?: Element;
  /**
   * The message's child elements as the store kept them (a XEP-0136 `<from>`/`<to>` saved in "message" mode,
   * mod_archive2's `X:` bodies): used instead of `body`, inside a `<message>` built around them.
   */
  children?: Element[];
  /** XEP-0359 origin-id, when the store kept it. */
  originId?: string;
  /** The id the store gave this entry (a row id), kept for id maps. */
  sourceId?: string;
  /** Where this entry is in the store (table and row key, or file and line); defaults to the collection's. */
  location?: SourceLocation;
}

/**
 * How `secs` counts (XEP-0136 §5.4): 'previous' (the XEP) = since the previous message, or since `start`
 * for the first; 'start' = since the collection's start (Tigase, and what ejabberd's mod_archive_odbc and
 * mod_archive2 send over the protocol).
 */
export type CollectionTiming = 'previous' | 'start';

/** What becomes of XEP-0136 `<note>` entries: 'skip' (default: counted, not migrated) or 'self-message'. */
export type NotePolicy = 'skip' | 'self-message';

/** A XEP-0136 collection; transforms fan it out into ArchivedMessageRecords. */
export interface LegacyCollectionRecord {
  kind: 'legacy-collection';
  owner: BareJid;
  /** The peer (or room) JID; '' when the store has none (the collection is then rejected). */
  with: string;
  start: Micros;
  thread?: string;
  subject?: string;
  groupchat: boolean;
  entries: LegacyCollectionEntry[];
  /** How `secs` counts; default 'previous'. Adapters set it for stores that deviate from the XEP. */
  timing?: CollectionTiming;
  /** The operator's note policy (a source option); default 'skip'. */
  notes?: NotePolicy;
  /**
   * Present when the record holds only part of a collection. Each archive must reach the writer in time
   * order, so adapters cut collections that overlap in time into slices whose entries carry absolute `utc`.
   * true: the slice begins with the collection's first message, which carries the subject.
   */
  startsCollection?: boolean;
  location: SourceLocation;
}

export interface VCardRecord {
  kind: 'vcard';
  owner: BareJid;
  vcard: Element;
  location: SourceLocation;
}

export interface PrivateXmlRecord {
  kind: 'private-xml';
  owner: BareJid;
  /** The stored element; its xmlns is the storage key. */
  element: Element;
  location: SourceLocation;
}

export interface OfflineMessageRecord {
  kind: 'offline-message';
  owner: BareJid;
  /** When the server stored it, µs. */
  timestamp: Micros;
  expire?: Micros;
  from: string;
  /** The message without any <delay>. */
  stanza: Element;
  location: SourceLocation;
}

export interface LastActivityRecord {
  kind: 'last-activity';
  owner: BareJid;
  /** Unix seconds of the last logout. */
  seconds: number;
  status: string;
  location: SourceLocation;
}

export interface PrivacyItem {
  type: 'none' | 'jid' | 'group' | 'subscription';
  value: string;
  action: 'allow' | 'deny' | 'block';
  order: number;
  /** Empty means every stanza kind. */
  matches: Array<'iq' | 'message' | 'presence-in' | 'presence-out'>;
}

export interface PrivacyListRecord {
  kind: 'privacy-list';
  owner: BareJid;
  name: string;
  isDefault: boolean;
  items: PrivacyItem[];
  location: SourceLocation;
}

export interface BlocklistRecord {
  kind: 'blocklist';
  owner: BareJid;
  blocked: string[];
  location: SourceLocation;
}

export type MucAffiliation = 'owner' | 'admin' | 'member' | 'outcast' | 'none';

export interface MucRoomRecord {
  kind: 'muc-room';
  room: BareJid;
  /** Options in MongooseIM's vocabulary (title, description, persistent, …). */
  options: Record<string, string | number | boolean>;
  affiliations: Array<{ jid: string; affiliation: MucAffiliation }>;
  location: SourceLocation;
}

export interface MucRegistrationRecord {
  kind: 'muc-registration';
  mucHost: string;
  user: BareJid;
  nick: string;
  location: SourceLocation;
}

export interface PepItemRecord {
  kind: 'pep-item';
  owner: BareJid;
  node: string;
  itemId: string;
  payload: Element;
  publishedAt?: Micros;
  location: SourceLocation;
}

export type MigrationRecord =
  | AccountRecord
  | RosterItemRecord
  | ArchivedMessageRecord
  | LegacyCollectionRecord
  | VCardRecord
  | PrivateXmlRecord
  | OfflineMessageRecord
  | LastActivityRecord
  | PrivacyListRecord
  | BlocklistRecord
  | MucRoomRecord
  | MucRegistrationRecord
  | PepItemRecord;

export type RecordKind = MigrationRecord['kind'];

export const RECORD_KINDS: readonly RecordKind[] = [
  'account',
  'roster-item',
  'vcard',
  'private-xml',
  'offline-message',
  'last-activity',
  'privacy-list',
  'blocklist',
  'muc-room',
  'muc-registration',
  'pep-item',
  'legacy-collection',
  'archived-message',
];

/** Names operators type in `--only`, mapped to record kinds. */
export const KIND_ALIASES: Record<string, RecordKind[]> = {
  users: ['account'],
  accounts: ['account'],
  rosters: ['roster-item'],
  roster: ['roster-item'],
  archives: ['archived-message', 'legacy-collection'],
  mam: ['archived-message', 'legacy-collection'],
  vcards: ['vcard'],
  private: ['private-xml'],
  offline: ['offline-message'],
  last: ['last-activity'],
  privacy: ['privacy-list', 'blocklist'],
  muc: ['muc-room', 'muc-registration'],
  pep: ['pep-item'],
};

export function bareJidString(jid: BareJid): string {
  return jid.local === '' ? jid.domain : `${jid.local}@${jid.domain}`;
}

/** The bare JID a record belongs to (user, archive owner, room): what `--shard k/n` splits by. */
export function ownerKeyOf(record: MigrationRecord): string {
  switch (record.kind) {
    case 'account':
      return bareJidString(record.jid);
    case 'archived-message':
      return bareJidString(record.archive.jid);
    case 'muc-room':
      return bareJidString(record.room);
    case 'muc-registration':
      return bareJidString(record.user);
    default:
      return bareJidString(record.owner);
  }
}

/** A stable shard (0-based) for an owner: FNV-1a of its UTF-16 code units, so every run splits alike. */
export function shardOf(ownerKey: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < ownerKey.length; i++) {
    hash ^= ownerKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % count;
}

/** A credential's shape for inventories: `plain`, `scram-sha1+sha256`, `plain+scram-sha1`, `none`. */
export function credentialShape(credential: Credential): string {
  if (credential.type === 'none') return 'none';
  if (credential.type === 'plain') return 'plain';
  const hashes = `scram-${credential.hashes.map((h) => h.algorithm).join('+')}`;
  return credential.type === 'plain+scram' ? `plain+${hashes}` : hashes;
}
