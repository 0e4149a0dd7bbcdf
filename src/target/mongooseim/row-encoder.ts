// Canonical records → MongooseIM 6.x rows, dialect-independent: exactly the values MongooseIM itself
// would have written (storage-facts §1). The SQL dialects only move these rows into tables.
import { createHash, createHmac, pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { RecordError } from '../../errors.js';
import { JidError, parseJid, type Jid } from '../../jid.js';
import type {
  AccountRecord,
  ArchivedMessageRecord,
  BareJid,
  BlocklistRecord,
  LastActivityRecord,
  MigrationRecord,
  MucRegistrationRecord,
  MucRoomRecord,
  OfflineMessageRecord,
  PepItemRecord,
  PrivacyListRecord,
  PrivateXmlRecord,
  RecordKind,
  RosterItemRecord,
  ScramAlgorithm,
  ScramHash,
  VCardRecord,
} from '../../records.js';
import { bareJidString } from '../../records.js';
import { serializeXml } from '../../xml/element.js';
import { encodeExml } from '../../encoding/etf.js';
import { encodeMamJid } from '../../encoding/mam-jid.js';
import { prepareArchivedStanza, withMucUserItem } from '../../encoding/archive-stanza.js';
import { searchBodyOf } from '../../encoding/search-body.js';
import { formatPassDetails } from '../../encoding/scram.js';
import { askCode, subscriptionCode } from '../../encoding/roster-codes.js';
import { vcardSearchFields } from '../../encoding/vcard-search.js';
import { offlinePacket } from '../../encoding/offline-packet.js';
import { BLOCKING_LIST, blocklistRows, PrivacyItemError, privacyListRows, RENAMED_BLOCKING_LIST, type PrivacyItemRow } from '../../encoding/privacy-list.js';
import { AFFILIATION_CODES, MucOptionError, mucRoomOptionsJson } from '../../encoding/muc-room-options.js';
import { messageFingerprints } from '../../encoding/archive-fingerprint.js';
import { pepNodeAccess, PUBSUB_KEY_WIDTH } from '../../encoding/pubsub-pep.js';
import type { EncodedRecord, TargetRow } from '../target.js';
import { MamIdAllocator } from './mam-id-allocator.js';
import type { TargetSettings } from './target-settings.js';

const pbkdf2Async = promisify(pbkdf2);

export const SUPPORTED_KINDS: ReadonlySet<RecordKind> = new Set<RecordKind>([
  'account',
  'roster-item',
  'archived-message',
  'vcard',
  'private-xml',
  'offline-message',
  'last-activity',
  'muc-registration',
  'privacy-list',
  'blocklist',
  'muc-room',
  'pep-item',
]);

/** Column widths MongooseIM's schema imposes; longer values would be refused or truncated. */
const MAX_KEY = 250;

/** `last.seconds` is a signed 32-bit integer on both databases. */
const MAX_SECONDS = 2 ** 31 - 1;

/** A parent row's key as child rows carry it (`TableSpec.parent.via`), in the parent table's key order. */
export type ParentKey = string[];

/** A mam_server_user key: `server\u0000user_name`. */
export function archiveKey(server: string, user: string): string {
  return `${server}\u0000${user}`;
}

const DIGESTS: Record<ScramAlgorithm, string> = { sha1: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };
const DIGEST_BYTES: Record<ScramAlgorithm, number> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

export class MongooseimRowEncoder {
  readonly allocator = new MamIdAllocator();

  /**
   * @param saltSeed secret per target: salts of passwords hashed here derive from it, so a re-run
   *   writes the same bytes (idempotent) while salts stay unpredictable.
   */
  /** `--merge-archives`: archived-message rows carry `fingerprints` (src/encoding/archive-fingerprint.ts). */
  fingerprints = false;
  /**
   * Leave zlib to the writer (a worker thread, src/encoding/deflate-pool.ts): compressed-eterm messages are
   * the plain term, marked `deferredDeflate`; the writer turns them into exactly the bytes encodeExml gives.
   */
  deferCompression = false;

  constructor(readonly settings: TargetSettings, private readonly saltSeed: Buffer) {}

  encode(record: MigrationRecord): EncodedRecord | Promise<EncodedRecord> {
    switch (record.kind) {
      case 'account':
        return this.account(record);
      case 'roster-item':
        return this.rosterItem(record);
      case 'archived-message':
        return record.archive.type === 'user' ? this.userMessage(record) : this.roomMessage(record);
      case 'vcard':
        return this.vcard(record);
      case 'private-xml':
        return this.privateXml(record);
      case 'offline-message':
        return this.offline(record);
      case 'last-activity':
        return this.lastActivity(record);
      case 'muc-registration':
        return this.mucRegistration(record);
      case 'privacy-list':
        return this.privacyList(record);
      case 'blocklist':
        return this.blocklist(record);
      case 'muc-room':
        return this.mucRoom(record);
      case 'pep-item':
        return this.pepItem(record);
      default:
        throw new RecordError('unsupported-kind', `no MongooseIM writer for ${record.kind} records yet`, record.location);
    }
  }

  private async account(record: AccountRecord): Promise<EncodedRecord> {
    const { local: username, domain: server } = record.jid;
    checkWidth(record, 'users.username', username);
    checkWidth(record, 'users.server', server);
    const credential = record.credential;
    const createdAt = record.createdAt === undefined ? null : microsToTimestamp(record.createdAt);
    let password = '';
    let passDetails: string | null;
    if (credential.type === 'none' && this.settings.accountsWithoutPassword === 'locked') {
      // MongooseIM reads a NULL pass_details as a plain row and never accepts an empty password: a locked
      // account until an operator sets one (mongooseimctl account changePassword).
      const row: TargetRow = { table: 'users', username, server, password: '', pass_details: null, created_at: createdAt };
      return { kind: 'account', rows: [row], bytes: username.length + server.length };
    }
    if (credential.type === 'none') {
      throw new RecordError('no-credential', `account ${bareJidString(record.jid)} has no usable password (${credential.reason}); it was not migrated (--accounts-without-password locked creates it without a working password instead)`, record.location);
    }
    if (credential.type === 'scram') {
      try {
        passDetails = formatPassDetails(credential.hashes).passDetails;
      } catch (err) {
        if (err instanceof RecordError) throw new RecordError(err.code, `account ${bareJidString(record.jid)}: ${err.message}`, record.location, { cause: err });
        throw err;
      }
    } else if (this.settings.passwordFormat === 'plain') {
      password = credential.password;
      passDetails = null;
    } else {
      // MongooseIM with password.format = scram hashes every plaintext password it is given: do the same,
      // for every configured hash, which also spares plaintext users the SHA-1-only login caveat.
      const hashes = await Promise.all(this.settings.passwordHashes.map((algorithm) => this.derive(credential.password, algorithm, `${username}@${server}`)));
      passDetails = formatPassDetails(hashes).passDetails;
    }
    const row: TargetRow = { table: 'users', username, server, password, pass_details: passDetails, created_at: createdAt };
    return { kind: 'account', rows: [row], bytes: username.length + server.length + (passDetails?.length ?? password.length) };
  }

  private async derive(password: string, algorithm: ScramAlgorithm, user: string): Promise<ScramHash> {
    const digest = DIGESTS[algorithm];
    const salt = createHmac('sha256', this.saltSeed).update(`${algorithm}\u0000${user}`).digest().subarray(0, 16);
    const iterations = this.settings.scramIterations;
    const salted = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, DIGEST_BYTES[algorithm], digest);
    const clientKey = createHmac(digest, salted).update('Client Key').digest();
    const storedKey = createHash(digest).update(clientKey).digest();
    const serverKey = createHmac(digest, salted).update('Server Key').digest();
    return { algorithm, iterations, salt, storedKey, serverKey };
  }

  private rosterItem(record: RosterItemRecord): EncodedRecord {
    const { local: username, domain: server } = record.owner;
    checkWidth(record, 'rosterusers.jid', record.contact);
    const rows: TargetRow[] = [
      {
        table: 'rosterusers',
        server,
        username,
        jid: record.contact,
        nick: record.name,
        subscription: subscriptionCode(record.subscription),
        ask: askCode(record.ask),
        askmessage: record.askMessage,
      },
    ];
    for (const group of new Set(record.groups)) {
      if (group === '') continue;
      rows.push({ table: 'rostergroups', server, username, jid: record.contact, grp: group });
    }
    return { kind: 'roster-item', rows, bytes: 64 + record.contact.length + record.name.length };
  }

  private userMessage(record: ArchivedMessageRecord): EncodedRecord {
    const owner = record.archive.jid;
    const type = record.stanza.attrs.type;
    if (type === 'groupchat' && !this.settings.archiveGroupchats) {
      return { kind: 'archived-message', rows: [], bytes: 0, skipReason: 'groupchat in a personal archive (pm.archive_groupchats = false)' };
    }
    const remote = this.jid(record, record.remote, 'remote JID');
    const outgoing = record.direction === 'out';
    const ownerFull = outgoing ? this.ownerFullJid(record) : undefined;
    const fromJid = outgoing ? ownerFull! : remote;
    const prepared = prepareArchivedStanza(record.stanza, bareJidString(owner), record.location);
    const message = this.encodeMessage(prepared.stanza);
    const archive = archiveKey(owner.domain, owner.local);
    const micros = this.allocator.next(archive, record.timestamp);
    const remoteBare: Jid = { local: remote.local, domain: remote.domain, resource: '' };
    const row: TargetRow = {
      table: 'mam_message',
      archive,
      micros,
      from_jid: this.encodeJid(owner, fromJid, record, 'from_jid'),
      remote_bare_jid: this.encodeJid(owner, remoteBare, record, 'remote_bare_jid'),
      remote_resource: remote.resource,
      direction: outgoing ? 'O' : 'I',
      message,
      search_body: this.settings.fullTextSearch ? searchBodyOf(prepared.stanza) : '',
      origin_id: prepared.originId ?? record.originId ?? null,
      is_groupchat: type === 'groupchat',
    };
    if (this.deferringDeflate) row.deferredDeflate = true;
    if (this.fingerprints) row.fingerprints = messageFingerprints({ peer: `${remote.local}@${remote.domain}`, direction: row.direction as string, stanza: prepared.stanza, originId: row.origin_id as string | null });
    checkWidth(record, 'mam_message.remote_resource', remote.resource);
    return { kind: 'archived-message', rows: [row], bytes: message.length + 64 };
  }

  private roomMessage(record: ArchivedMessageRecord): EncodedRecord {
    const room = record.archive.jid;
    const archive = archiveKey(room.domain, room.local);
    let sender = archive; // semi-anonymous rooms: the room stands in for an unknown sender (never a user)
    let stanza = record.stanza;
    const prepared = prepareArchivedStanza(stanza, bareJidString(room), record.location);
    stanza = prepared.stanza;
    if (record.senderRealJid) {
      const real = this.jid(record, record.senderRealJid, 'sender real JID');
      sender = archiveKey(real.domain, real.local);
      stanza = withMucUserItem(stanza, real);
    }
    // nick_name holds the nick after resourceprep, as the occupant JID's resource (parseJid's resource policy).
    const nick = this.jid(record, record.senderNick === undefined ? record.remote : `${bareJidString(room)}/${record.senderNick}`, 'occupant JID').resource;
    checkWidth(record, 'mam_muc_message.nick_name', nick);
    const message = this.encodeMessage(stanza);
    const row: TargetRow = {
      table: 'mam_muc_message',
      archive,
      sender,
      micros: this.allocator.next(archive, record.timestamp),
      nick_name: nick,
      message,
      search_body: this.settings.fullTextSearch ? searchBodyOf(stanza) : '',
      origin_id: prepared.originId ?? record.originId ?? null,
    };
    if (this.deferringDeflate) row.deferredDeflate = true;
    if (this.fingerprints) row.fingerprints = messageFingerprints({ peer: nick, direction: '', stanza, originId: row.origin_id as string | null });
    return { kind: 'archived-message', rows: [row], bytes: message.length + 64 };
  }

  private vcard(record: VCardRecord): EncodedRecord {
    const { local: username, domain: server } = record.owner;
    const xml = serializeXml(record.vcard);
    // A vCard the source server accepted is the user's data: keep it, even when today's MongooseIM would
    // refuse to index a value (emoji in FN, mixed-direction text); only the search copy loses those characters.
    const fields = vcardSearchFields(record.vcard, { invalid: 'index-what-nameprep-accepts' });
    return {
      kind: 'vcard',
      rows: [
        { table: 'vcard', username, server, vcard: xml },
        { table: 'vcard_search', username, lusername: username, server, ...fields },
      ],
      bytes: xml.length,
    };
  }

  private privateXml(record: PrivateXmlRecord): EncodedRecord {
    const namespace = record.element.attrs.xmlns;
    if (!namespace) throw new RecordError('private-xml-without-namespace', `private XML <${record.element.name}> of ${bareJidString(record.owner)} has no xmlns: MongooseIM keys private storage by namespace`, record.location);
    checkWidth(record, 'private_storage.namespace', namespace);
    const data = serializeXml(record.element);
    return {
      kind: 'private-xml',
      rows: [{ table: 'private_storage', server: record.owner.domain, username: record.owner.local, namespace, data }],
      bytes: data.length,
    };
  }

  private offline(record: OfflineMessageRecord): EncodedRecord {
    const from = formatFull(this.jid(record, record.from, 'sender JID'));
    const packet = offlinePacket(record.stanza);
    return {
      kind: 'offline-message',
      rows: [{
        table: 'offline_message',
        timestamp: record.timestamp,
        expire: record.expire ?? null,
        server: record.owner.domain,
        username: record.owner.local,
        from_jid: from,
        packet,
        permanent_fields: null,
      }],
      bytes: packet.length,
    };
  }

  /** XEP-0012: mod_last_rdbms keeps one row per user, the Unix seconds of the last logout and its status text. */
  private lastActivity(record: LastActivityRecord): EncodedRecord {
    const { local: username, domain: server } = record.owner;
    if (!Number.isInteger(record.seconds) || record.seconds < 0 || record.seconds > MAX_SECONDS) {
      throw new RecordError('invalid-last-activity', `last activity of ${bareJidString(record.owner)}: ${record.seconds} is not Unix seconds MongooseIM's last.seconds (a 32-bit integer) can hold`, record.location);
    }
    return {
      kind: 'last-activity',
      rows: [{ table: 'last', server, username, seconds: record.seconds, state: record.status }],
      bytes: 32 + record.status.length,
    };
  }

  /** mod_muc_rdbms's registered nicks: one per (MUC host, user); set_nick refuses an empty nick. */
  private mucRegistration(record: MucRegistrationRecord): EncodedRecord {
    const mucHost = this.domain(record, record.mucHost, 'MUC host');
    if (record.nick === '') throw new RecordError('invalid-muc-registration', `registration of ${bareJidString(record.user)} on ${mucHost} has an empty nick, which MongooseIM refuses`, record.location);
    checkWidth(record, 'muc_registered.nick', record.nick);
    checkWidth(record, 'muc_registered.muc_host', mucHost);
    return {
      kind: 'muc-registration',
      rows: [{ table: 'muc_registered', muc_host: mucHost, luser: record.user.local, lserver: record.user.domain, nick: record.nick }],
      bytes: 32 + record.nick.length,
    };
  }

  /**
   * A XEP-0016 list: its privacy_list row (the serial id the items refer to), its items, and the default-list
   * row when it is the default. A source list named `blocking` is renamed (RENAMED_BLOCKING_LIST): that name is
   * MongooseIM's XEP-0191 blocklist.
   */
  private privacyList(record: PrivacyListRecord): EncodedRecord {
    if (record.name === '') throw new RecordError('invalid-privacy-list', `a privacy list of ${bareJidString(record.owner)} has an empty name`, record.location);
    const name = record.name === BLOCKING_LIST ? RENAMED_BLOCKING_LIST : record.name;
    checkWidth(record, 'privacy_list.name', name);
    const items = this.privacyRows(record, () => privacyListRows(record.items));
    return this.listRows(record, record.owner, name, items, record.isDefault);
  }

  /**
   * XEP-0191, as mod_blocking keeps it: the list `blocking`, made the default list. When the user also has a
   * default privacy list, the blocklist stays the default (BLOCKLIST_DEFAULT_RULE): the default-list row is
   * `TableSpec.prefer`red over any other, in the batch and in the target, whichever record comes first.
   */
  private blocklist(record: BlocklistRecord): EncodedRecord {
    const items = this.privacyRows(record, () => blocklistRows(record.blocked));
    return this.listRows(record, record.owner, BLOCKING_LIST, items, true);
  }

  private privacyRows(record: PrivacyListRecord | BlocklistRecord, rows: () => PrivacyItemRow[]): PrivacyItemRow[] {
    try {
      return rows();
    } catch (err) {
      if (err instanceof PrivacyItemError) {
        const what = record.kind === 'blocklist' ? 'the blocklist' : `privacy list ${JSON.stringify(record.name)}`;
        throw new RecordError('invalid-privacy-item', `${what} of ${bareJidString(record.owner)}: ${err.message}`, record.location, { cause: err });
      }
      throw err;
    }
  }

  private listRows(record: PrivacyListRecord | BlocklistRecord, owner: BareJid, name: string, items: PrivacyItemRow[], isDefault: boolean): EncodedRecord {
    const { local: username, domain: server } = owner;
    const list: ParentKey = [server, username, name];
    const rows: TargetRow[] = [{ table: 'privacy_list', server, username, name, mainKind: record.kind }];
    let bytes = 64 + name.length;
    for (const item of items) {
      rows.push({ table: 'privacy_list_data', list, ...item });
      bytes += 32 + item.value.length;
    }
    if (isDefault) rows.push({ table: 'privacy_default_list', server, username, name });
    return { kind: record.kind, rows, bytes };
  }

  /** A persistent room: its muc_rooms row (options as JSON, without affiliations) and one muc_room_aff row per affiliated JID. */
  private mucRoom(record: MucRoomRecord): EncodedRecord {
    const { local: roomName, domain: mucHost } = record.room;
    if (roomName === '') throw new RecordError('invalid-jid', `room ${mucHost} has no room name`, record.location);
    checkWidth(record, 'muc_rooms.room_name', roomName);
    checkWidth(record, 'muc_rooms.muc_host', mucHost);
    let options: string;
    try {
      options = mucRoomOptionsJson(record.options);
    } catch (err) {
      if (err instanceof MucOptionError) throw new RecordError('invalid-muc-room', `room ${bareJidString(record.room)}: ${err.message}`, record.location, { cause: err });
      throw err;
    }
    const room: ParentKey = [mucHost, roomName];
    const rows: TargetRow[] = [{ table: 'muc_rooms', muc_host: mucHost, room_name: roomName, options, mainKind: 'muc-room' }];
    for (const { jid, affiliation } of record.affiliations) {
      // `none` is no affiliation: mod_muc_room drops it from the room's map, so it is never stored.
      if (affiliation === 'none') continue;
      const aff = AFFILIATION_CODES[affiliation];
      if (aff === undefined) throw new RecordError('invalid-muc-room', `room ${bareJidString(record.room)}: affiliation ${JSON.stringify(affiliation)} of ${jid} is not owner, admin, member, outcast or none`, record.location);
      const who = this.jid(record, jid, 'affiliated JID');
      checkWidth(record, 'muc_room_aff.resource', who.resource);
      rows.push({ table: 'muc_room_aff', room, luser: who.local, lserver: who.domain, resource: who.resource, aff });
    }
    return { kind: 'muc-room', rows, bytes: options.length + 64 * rows.length };
  }

  /**
   * A PEP item as mod_pubsub_backend_rdbms keeps it: its node (created with the access model the node's XEP
   * asks for, src/encoding/pubsub-pep.ts; max_items NULL, unlimited, as mod_pubsub's default) and the item, the
   * owner as publisher, the payload as XML text, published_at in µs (0 when the source kept no time).
   * Private-data nodes (bookmarks) are not written: mod_pubsub cannot keep them from the owner's contacts.
   */
  private pepItem(record: PepItemRecord): EncodedRecord {
    const { local: user, domain } = record.owner;
    const access = pepNodeAccess(record.node);
    if ('privateData' in access) {
      return { kind: 'pep-item', rows: [], bytes: 0, skipReason: `${access.privateData} (PEP node ${record.node}): MongooseIM's mod_pubsub has no whitelist access model, so it would show them to every contact; bookmarks belong in private XML storage:bookmarks (mod_private)` };
    }
    for (const [column, value] of [['pubsub_item.node_id', record.node], ['pubsub_item.item_id', record.itemId], ['pubsub_item.service_user', user], ['pubsub_item.service_domain', domain]] as const) {
      if (value.length > PUBSUB_KEY_WIDTH) throw new RecordError('value-too-long', `${column} would be ${value.length} characters; MongooseIM's column holds ${PUBSUB_KEY_WIDTH}`, record.location);
    }
    if (record.itemId === '') throw new RecordError('invalid-pep-item', `PEP item of ${bareJidString(record.owner)} on ${record.node} has no item id`, record.location);
    const payload = serializeXml(record.payload);
    const node: TargetRow = { table: 'pubsub_node', service_domain: domain, service_user: user, node_id: record.node, access_model: access.access, max_items: null };
    const item: TargetRow = {
      table: 'pubsub_item',
      service_domain: domain,
      service_user: user,
      node_id: record.node,
      item_id: record.itemId,
      publisher_domain: domain,
      publisher_user: user,
      publisher_resource: '',
      payload,
      published_at: record.publishedAt ?? 0n,
    };
    return { kind: 'pep-item', rows: [node, item], bytes: payload.length + 128 };
  }

  private domain(record: MigrationRecord, raw: string, what: string): string {
    const jid = this.jid(record, raw, what);
    if (jid.local !== '' || jid.resource !== '') throw new RecordError('invalid-jid', `${what} ${JSON.stringify(raw)} is not a bare domain`, record.location);
    return jid.domain;
  }

  private encodeMessage(stanza: ArchivedMessageRecord['stanza']): Buffer {
    const { messageFormat, exmlShape } = this.settings;
    if (messageFormat === 'xml') return Buffer.from(serializeXml(stanza), 'utf8');
    return encodeExml(stanza, { shape: exmlShape, compressed: messageFormat === 'compressed-eterm' && !this.deferCompression });
  }

  private get deferringDeflate(): boolean {
    return this.deferCompression && this.settings.messageFormat === 'compressed-eterm';
  }

  private encodeJid(owner: { local: string; domain: string }, jid: Jid, record: ArchivedMessageRecord, column: string): string {
    const encoded = encodeMamJid(this.settings.pmJidFormat, owner, jid);
    checkWidth(record, `mam_message.${column}`, encoded);
    return encoded;
  }

  /** The owner's full JID as sender of an outgoing message: the stanza's `from` when it is the owner. */
  private ownerFullJid(record: ArchivedMessageRecord): Jid {
    const owner = record.archive.jid;
    const from = record.stanza.attrs.from;
    if (from) {
      const parsed = this.jid(record, from, 'stanza from');
      if (parsed.local === owner.local && parsed.domain === owner.domain) return parsed;
    }
    return { local: owner.local, domain: owner.domain, resource: '' };
  }

  private jid(record: MigrationRecord, raw: string, what: string): Jid {
    try {
      return parseJid(raw);
    } catch (err) {
      if (err instanceof JidError) throw new RecordError('invalid-jid', `${what}: ${err.message}`, record.location, { cause: err });
      throw err;
    }
  }
}

function formatFull(jid: Jid): string {
  const bare = jid.local === '' ? jid.domain : `${jid.local}@${jid.domain}`;
  return jid.resource === '' ? bare : `${bare}/${jid.resource}`;
}

function checkWidth(record: MigrationRecord, column: string, value: string): void {
  if (value.length > MAX_KEY) {
    throw new RecordError('value-too-long', `${column} would be ${value.length} characters; MongooseIM's column holds ${MAX_KEY}`, record.location);
  }
}

/**
 * µs → `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, the literal PostgreSQL's `timestamp` and MySQL's TIMESTAMP both
 * accept (MariaDB refuses ISO's `T…Z`); our MySQL session's time zone is UTC. MySQL keeps whole seconds.
 */
export function microsToTimestamp(micros: bigint): string {
  const ms = Number(micros / 1000n);
  const rest = Number(micros % 1000000n);
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}.${String(rest).padStart(6, '0')}`;
}
