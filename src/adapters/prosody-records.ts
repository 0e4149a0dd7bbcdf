// Prosody's stores → canonical records, shared by the file and the SQL adapters. Both storages hand over
// the same model (LuaTables for key-value stores, ArchiveItems for archive stores), so both emit the same
// records. Facts: shared/docs/storage-facts.md §3; Prosody 0.9.13–13.0.1 (plugins/mod_*, core/rostermanager.lua).
import { RecordError } from '../errors.js';
import { JidError, normaliseDomain, normaliseJid, normaliseLocal, parseJid } from '../jid.js';
import type {
  ArchivedMessageRecord,
  Ask,
  BareJid,
  Credential,
  LegacyCollectionEntry,
  Micros,
  MigrationRecord,
  MucAffiliation,
  PrivacyItem,
  ScramAlgorithm,
  SourceLocation,
  Subscription,
} from '../records.js';
import { bareJidString } from '../records.js';
import { Element, childElements, cloneElement, serializeXml } from '../xml/element.js';
import { NS_BOOKMARKS, NS_BOOKMARKS2, NS_CLIENT, NS_MUC_USER, NS_SID, NS_VCARD } from '../xml/namespaces.js';
import { LuaBytes, LuaTable, type LuaKey, type LuaValue } from './prosody-lua-literal.js';
import { ProsodyDataError, elementFromTable } from './prosody-stanza.js';
import { isModArchiveCollection, modArchiveCollection, timeOrderedArchive, type ParsedChat } from './prosody-mod-archive.js';
import type { ProsodySignals } from './prosody-inventory.js';
import { parseXmppTimestamp } from './xep0227.js';

export const NS_VCARD4 = 'urn:ietf:params:xml:ns:vcard-4.0';
export const NODE_VCARD4 = 'urn:xmpp:vcard4';
export const NODE_AVATAR_METADATA = 'urn:xmpp:avatar:metadata';
export const NODE_AVATAR_DATA = 'urn:xmpp:avatar:data';
const NS_NICK = 'http://jabber.org/protocol/nick';

/** Attributes mod_storage_internal adds to every archived stanza; never part of the stanza. */
export const STORAGE_ONLY_ATTRS: ReadonlySet<string> = new Set(['stamp', 'stamp_legacy']);

/** Where a value was read: a file and line, or a table and key. */
export interface Where {
  file?: string;
  line?: number;
  table?: string;
  key?: string;
}

export type Produced = { record: MigrationRecord } | { reject: RecordError; excerpt?: string };

/** One item of an archive store, from a .list file or a prosodyarchive row. */
export interface ArchiveItem {
  key: string | undefined;
  /** Seconds since the epoch as stored (integer ≤ 0.12, float in 13.0); undefined in ≤ 0.9 items. */
  when: number | undefined;
  /** '' and missing are the same: none. */
  with: string | undefined;
  /** The stored stanza, `stamp`/`stamp_legacy` already removed. */
  stanza: Element;
  /** `attr.stamp` of a file item: the time of ≤ 0.9 items, which have no `when`. */
  stamp: string | undefined;
  where: Where;
}

export function toMicros(seconds: number): Micros | undefined {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 1e11) return undefined;
  // toFixed rounds the exact binary value to 6 places: a float `when` of 13.0 keeps its microseconds.
  const [whole, fraction] = seconds.toFixed(6).split('.') as [string, string];
  return BigInt(whole) * 1_000_000n + BigInt(fraction);
}

const EXCERPT_CHARS = 300;

export function excerptOf(value: Element | LuaValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  let text: string;
  if (value instanceof Element) text = serializeXml(value);
  else if (value instanceof LuaTable) text = describeTable(value);
  else if (value instanceof LuaBytes) text = `<${value.bytes.length} bytes, not UTF-8: ${value.bytes.subarray(0, 60).toString('hex')}>`;
  else text = JSON.stringify(value);
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}

function describeTable(t: LuaTable, depth = 0): string {
  if (depth > 3) return '{…}';
  const parts: string[] = [];
  for (const [k, v] of t.map) {
    const key = k instanceof LuaBytes ? '<bytes>' : JSON.stringify(k);
    const value = v instanceof LuaTable ? describeTable(v, depth + 1) : v instanceof LuaBytes ? '<bytes>' : JSON.stringify(v);
    parts.push(`[${key}]=${value}`);
    if (parts.length > 20) {
      parts.push('…');
      break;
    }
  }
  return `{${parts.join('; ')}}`;
}

function str(value: LuaValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function bool(value: LuaValue | undefined): boolean {
  return value === true;
}

/**
 * The most items of one user's `archive` store that are held in memory when it holds community mod_archive
 * (XEP-0136) collections. Such an archive is read whole (every item, collections and mod_mam messages, as
 * parsed records: roughly 1–2 KB each, so about 200–400 MB at the bound) to be emitted in time order, since the
 * writer gives MAM ids from times (+1 µs per tie, in delivery order). Above the bound the user's `archive`
 * store is rejected whole (code `mod-archive-too-large`) rather than exhausting memory. Archives without any
 * collection are streamed item by item and are not bounded.
 */
export const MOD_ARCHIVE_MAX_ITEMS = 200_000;

/**
 * One user's `archive` store holding mod_archive collections, collected whole and emitted in time order by
 * timeOrderedArchive: unreadable items and other rejects first (store order), then the collections' rejects,
 * then the collections' slices and the mod_mam messages merged by time.
 */
export class ModArchiveBuffer {
  private readonly others: Produced[] = [];
  private readonly collections: ParsedChat[] = [];
  private readonly messages: ArchivedMessageRecord[] = [];
  private count = 0;
  private overflow: Where | undefined;

  constructor(private readonly records: ProsodyRecords, private readonly owner: BareJid, readonly limit = MOD_ARCHIVE_MAX_ITEMS) {}

  /** Adds one item (or the reject of one that could not be read). False once over the limit: stop reading. */
  add(item: ArchiveItem | Produced, where: Where): boolean {
    if (++this.count > this.limit) {
      this.overflow = where;
      return false;
    }
    if ('record' in item || 'reject' in item) {
      this.others.push(item);
      return true;
    }
    if (isModArchiveCollection(item.stanza)) {
      this.collections.push(modArchiveCollection(this.owner, item.stanza, this.records.location(item.where, bareJidString(this.owner))));
      return true;
    }
    const p = this.records.userArchive(this.owner, item);
    if ('record' in p && p.record.kind === 'archived-message') this.messages.push(p.record);
    else this.others.push(p);
    return true;
  }

  /** The archive in the order to emit, or one reject when it was over the limit. */
  finish(): Produced[] {
    if (this.overflow !== undefined) {
      const key = bareJidString(this.owner);
      return [this.records.reject('mod-archive-too-large', `${key}: the archive store holds community mod_archive (XEP-0136) collections and more than ${this.limit} items; such an archive must be held in memory to be put into time order, so none of this user's archive store is migrated (split it, or raise MOD_ARCHIVE_MAX_ITEMS)`, this.overflow, key)];
    }
    const out: Produced[] = [...this.others];
    for (const o of timeOrderedArchive(this.collections, this.messages)) out.push(o);
    return out;
  }
}

/** Builds records; `source` is the adapter's display name. Holds no state between units. */
export class ProsodyRecords {
  constructor(readonly source: string) {}

  location(where: Where, key?: string): SourceLocation {
    const loc: SourceLocation = { source: this.source };
    if (where.file !== undefined) loc.file = where.file;
    if (where.line !== undefined) loc.line = where.line;
    if (where.table !== undefined) loc.table = where.table;
    const k = key ?? where.key;
    if (k !== undefined) loc.key = k;
    return loc;
  }

  reject(code: string, message: string, where: Where, key?: string, excerptFrom?: Element | LuaValue): Produced {
    const loc = this.location(where, key);
    const at = loc.file !== undefined ? `${loc.file}${loc.line !== undefined ? `:${loc.line}` : ''}` : loc.table !== undefined ? `table ${loc.table}${loc.key !== undefined ? ` key ${JSON.stringify(loc.key)}` : ''}` : '';
    const reject = new RecordError(code, at ? `${at}: ${message}` : message, loc);
    const excerpt = excerptOf(excerptFrom);
    return excerpt === undefined ? { reject } : { reject, excerpt };
  }

  /** A data error thrown while building: a reject at its line. */
  fromError(err: unknown, where: Where, key?: string, excerptFrom?: Element | LuaValue): Produced {
    if (err instanceof ProsodyDataError) {
      return this.reject(err.code, err.message, err.line !== undefined && where.file !== undefined ? { ...where, line: err.line } : where, key, excerptFrom);
    }
    if (err instanceof JidError) return this.reject('invalid-jid', err.message, where, key, excerptFrom);
    throw err;
  }

  // -------------------------------------------------------------------------------------------------------
  // Owners: the host directory / column and the user file name / column.

  /** The owner of a unit, or a reject when the stored names are not a JID. */
  owner(host: string, user: string, where: Where): BareJid | Produced {
    try {
      const domain = normaliseDomain(host);
      const local = normaliseLocal(user);
      if (local.includes('@')) throw new JidError(`invalid user name ${JSON.stringify(user)}`);
      return { local, domain };
    } catch (err) {
      return this.reject('invalid-jid', `${user}@${host}: ${(err as Error).message}; everything stored for it is skipped`, where, `${user}@${host}`);
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // accounts: { password } (plain) or { stored_key, server_key, salt, iteration_count } (internal_hashed);
  // 13.0 adds created, updated, disabled.

  account(owner: BareJid, data: LuaValue | undefined, where: Where): Produced {
    const key = bareJidString(owner);
    if (!(data instanceof LuaTable)) return this.reject('malformed-account', `${key}: the accounts entry is not a table`, where, key, data);
    if (data.get('disabled') === true) {
      return this.reject('account-disabled', `${key}: the account is disabled in Prosody (13.0 "disabled"); it is not migrated, so it cannot log in on MongooseIM either. Re-enable it in Prosody first to migrate it`, where, key);
    }
    const password = data.get('password');
    const stored = data.get('stored_key');
    const server = data.get('server_key');
    const salt = data.get('salt');
    const iterations = data.get('iteration_count');
    let credential: Credential;
    if (password instanceof LuaBytes) return this.reject('invalid-utf8', `${key}: the plaintext password is not valid UTF-8`, { ...where, line: password.line }, key);
    if (typeof password === 'string' && password !== '') {
      // Prosody uses a stored plaintext password first (and re-hashes it at the next login): it is the truth.
      credential = { type: 'plain', password };
    } else if (stored !== undefined || server !== undefined) {
      const storedKey = hexBytes(stored);
      const serverKey = hexBytes(server);
      if (!storedKey || !serverKey) return this.reject('invalid-scram', `${key}: stored_key/server_key are not lower-case hex`, where, key, data);
      const algorithm: ScramAlgorithm | undefined = storedKey.length === 20 ? 'sha1' : storedKey.length === 32 ? 'sha256' : undefined;
      if (!algorithm || serverKey.length !== storedKey.length) {
        return this.reject('invalid-scram', `${key}: stored_key is ${storedKey.length} bytes and server_key ${serverKey.length}; Prosody writes 20 (SHA-1) or 32 (SHA-256) for both`, where, key, data);
      }
      if (typeof iterations !== 'number' || !Number.isInteger(iterations) || iterations < 1) {
        return this.reject('invalid-scram', `${key}: iteration_count ${JSON.stringify(iterations ?? null)} is not a positive integer`, where, key, data);
      }
      // The salt is used as raw bytes: Prosody's is a UUID string, imported ones may be binary.
      const saltBytes = typeof salt === 'string' ? Buffer.from(salt, 'utf8') : salt instanceof LuaBytes ? salt.bytes : undefined;
      if (!saltBytes || saltBytes.length === 0) return this.reject('invalid-scram', `${key}: no salt`, where, key, data);
      credential = { type: 'scram', hashes: [{ algorithm, iterations, salt: saltBytes, storedKey, serverKey }] };
    } else {
      credential = { type: 'none', reason: 'the Prosody account has neither a password nor SCRAM keys (created without a password)' };
    }
    const record: MigrationRecord = { kind: 'account', jid: owner, credential, location: this.location(where, key) };
    const created = data.get('created');
    if (typeof created === 'number') {
      const micros = toMicros(created);
      if (micros !== undefined) record.createdAt = micros;
    }
    return { record };
  }

  // -------------------------------------------------------------------------------------------------------
  // roster: contact → { subscription, ask, name, groups = { [g] = true }, persist }; [false] = { version,
  // pending = { [jid] = true | <presence table> } }; ≤ 0.9 and importers: a top-level `pending` set.

  roster(owner: BareJid, data: LuaValue | undefined, where: Where): Produced[] {
    const ownerKey = bareJidString(owner);
    if (!(data instanceof LuaTable)) return [this.reject('malformed-roster', `${ownerKey}: the roster is not a table`, where, ownerKey, data)];
    const out: Produced[] = [];
    interface Draft {
      contact: string;
      name: string;
      subscription: Subscription;
      ask: Ask;
      askMessage: string;
      groups: string[];
      where: Where;
    }
    const drafts = new Map<string, Draft>();
    const legacyPending = data.get('pending');
    const isLegacyPending = legacyPending instanceof LuaTable && typeof legacyPending.get('subscription') !== 'string';
    for (const [key, value] of data.map) {
      if (key === false) continue;
      if (key === 'pending' && isLegacyPending) continue;
      const at: Where = value instanceof LuaTable && where.file !== undefined ? { ...where, line: value.line } : where;
      if (typeof key !== 'string') {
        out.push(key instanceof LuaBytes
          ? this.reject('invalid-utf8', `${ownerKey}: a roster contact JID is not valid UTF-8`, { ...at, line: key.line }, ownerKey, value)
          : this.reject('malformed-roster', `${ownerKey}: roster key ${JSON.stringify(key)} is not a JID`, at, ownerKey, value));
        continue;
      }
      if (!(value instanceof LuaTable)) {
        out.push(this.reject('malformed-roster', `${ownerKey}: roster item ${key} is not a table`, at, ownerKey, value));
        continue;
      }
      if (value.get('persist') === false) continue; // mod_groups' shared contacts: rebuilt by the server, never stored
      let contact: string;
      try {
        contact = normaliseJid(key);
      } catch (err) {
        out.push(this.reject('invalid-jid', `${ownerKey}: roster item: ${(err as Error).message}`, at, ownerKey, value));
        continue;
      }
      if (contact === ownerKey) continue; // Prosody removes a self-contact when it loads the roster
      const sub = value.get('subscription') ?? 'none';
      if (sub !== 'none' && sub !== 'to' && sub !== 'from' && sub !== 'both') {
        out.push(this.reject('unknown-subscription', `${ownerKey}: roster item ${contact} has subscription ${excerptOf(sub)}; expected none, to, from or both`, at, ownerKey, value));
        continue;
      }
      const askValue = value.get('ask');
      if (askValue !== undefined && askValue !== 'subscribe') {
        out.push(this.reject('unknown-ask', `${ownerKey}: roster item ${contact} has ask ${excerptOf(askValue)}; Prosody writes only "subscribe"`, at, ownerKey, value));
        continue;
      }
      const name = value.get('name');
      if (name instanceof LuaBytes) {
        out.push(this.reject('invalid-utf8', `${ownerKey}: the name of roster item ${contact} is not valid UTF-8`, { ...at, line: name.line }, ownerKey, value));
        continue;
      }
      const groups: string[] = [];
      const groupTable = value.get('groups');
      let badGroup = false;
      if (groupTable instanceof LuaTable) {
        for (const [g, member] of groupTable.map) {
          if (member !== true) continue;
          if (g instanceof LuaBytes) badGroup = true;
          else if (typeof g === 'string' && g !== '' && !groups.includes(g)) groups.push(g);
        }
      }
      if (badGroup) {
        out.push(this.reject('invalid-utf8', `${ownerKey}: a group name of roster item ${contact} is not valid UTF-8`, at, ownerKey, value));
        continue;
      }
      if (drafts.has(contact)) {
        out.push(this.reject('duplicate-roster-item', `${ownerKey}: two roster items normalise to ${contact}; the first is kept`, at, ownerKey, value));
        continue;
      }
      groups.sort(); // a set in Prosody (hash order)
      drafts.set(contact, {
        contact,
        name: typeof name === 'string' ? name : '',
        subscription: sub,
        ask: askValue === 'subscribe' ? 'out' : 'none',
        askMessage: '',
        groups,
        where: at,
      });
    }
    // Pending inbound requests: [false].pending (0.10+) and the legacy top-level set.
    const meta = data.get(false);
    const pendingSets: LuaTable[] = [];
    if (meta instanceof LuaTable && meta.get('pending') instanceof LuaTable) pendingSets.push(meta.get('pending') as LuaTable);
    if (isLegacyPending) pendingSets.push(legacyPending as LuaTable);
    for (const pending of pendingSets) {
      const at: Where = where.file !== undefined ? { ...where, line: pending.line } : where;
      for (const [key, value] of pending.map) {
        if (typeof key !== 'string') {
          out.push(this.reject(key instanceof LuaBytes ? 'invalid-utf8' : 'malformed-roster', `${ownerKey}: a pending subscription request's JID is not a valid string`, at, ownerKey, value));
          continue;
        }
        let contact: string;
        try {
          contact = bareJidString(parseJid(key));
        } catch (err) {
          out.push(this.reject('invalid-jid', `${ownerKey}: pending subscription request: ${(err as Error).message}`, at, ownerKey, value));
          continue;
        }
        if (contact === ownerKey) continue;
        // 0.12+ keeps the <presence type='subscribe'> itself: its <status> is the request's message.
        let askMessage = '';
        if (value instanceof LuaTable) {
          for (const child of value.array()) {
            if (child instanceof LuaTable && child.get('name') === 'status') {
              const text = child.array().filter((c): c is string => typeof c === 'string').join('');
              askMessage = text;
              break;
            }
          }
        }
        const draft = drafts.get(contact);
        if (draft) {
          if (draft.ask === 'none') draft.ask = 'in';
          else if (draft.ask === 'out') draft.ask = 'both';
          draft.askMessage = askMessage;
        } else {
          drafts.set(contact, { contact, name: '', subscription: 'none', ask: 'in', askMessage, groups: [], where: at });
        }
      }
    }
    for (const d of drafts.values()) {
      out.push({
        record: {
          kind: 'roster-item',
          owner,
          contact: d.contact,
          name: d.name,
          subscription: d.subscription,
          ask: d.ask,
          askMessage: d.askMessage,
          groups: d.groups,
          location: this.location(d.where, ownerKey),
        },
      });
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------------------
  // vCards: the `vcard` store (a preserialized <vCard xmlns='vcard-temp'>) or, with mod_vcard4 +
  // mod_vcard_legacy, only the PEP node urn:xmpp:vcard4 (and avatar nodes), converted as vcard_legacy does.

  vcard(owner: BareJid, stored: { value: LuaValue; where: Where } | undefined, pep: VCardPep): Produced[] {
    const ownerKey = bareJidString(owner);
    if (stored) {
      const { value, where } = stored;
      if (!(value instanceof LuaTable)) return [this.reject('malformed-vcard', `${ownerKey}: the vcard entry is not a table`, where, ownerKey, value)];
      try {
        const vcard = elementFromTable(value);
        if (vcard.name !== 'vCard' || (vcard.attrs.xmlns ?? NS_VCARD) !== NS_VCARD) {
          return [this.reject('malformed-vcard', `${ownerKey}: the stored vCard is <${vcard.name} xmlns='${vcard.attrs.xmlns ?? ''}'>`, where, ownerKey, vcard)];
        }
        vcard.attrs.xmlns = NS_VCARD;
        return [{ record: { kind: 'vcard', owner, vcard, location: this.location(where, ownerKey) } }];
      } catch (err) {
        return [this.fromError(err, where, ownerKey, value)];
      }
    }
    const vcard4 = pep.vcard4;
    if (!vcard4 && !pep.nick) return [];
    const where = (vcard4 ?? pep.nick)!.where;
    const vcard = vcardTempFromPep(pep);
    if (!vcard) return [];
    return [{ record: { kind: 'vcard', owner, vcard, location: this.location(where, ownerKey) } }];
  }

  // -------------------------------------------------------------------------------------------------------
  // private: "<name>:<xmlns>" → preserialized element. Bookmarks also live in PEP (storage:bookmarks and
  // urn:xmpp:bookmarks:1): merged here, see `bookmarks`.

  privateXml(owner: BareJid, data: LuaValue | undefined, where: Where): { produced: Produced[]; bookmarks: { el: Element; where: Where } | undefined } {
    const ownerKey = bareJidString(owner);
    if (data === undefined) return { produced: [], bookmarks: undefined };
    if (!(data instanceof LuaTable)) return { produced: [this.reject('malformed-private', `${ownerKey}: the private storage entry is not a table`, where, ownerKey, data)], bookmarks: undefined };
    const produced: Produced[] = [];
    let bookmarks: { el: Element; where: Where } | undefined;
    for (const [key, value] of data.map) {
      const at: Where = value instanceof LuaTable && where.file !== undefined ? { ...where, line: value.line } : where;
      if (typeof key !== 'string') {
        produced.push(this.reject(key instanceof LuaBytes ? 'invalid-utf8' : 'malformed-private', `${ownerKey}: a private storage key is not a valid string`, at, ownerKey, value));
        continue;
      }
      if (!(value instanceof LuaTable)) {
        produced.push(this.reject('malformed-private', `${ownerKey}: private storage ${key} is not an element`, at, ownerKey, value));
        continue;
      }
      let el: Element;
      try {
        el = elementFromTable(value);
      } catch (err) {
        produced.push(this.fromError(err, at, ownerKey, value));
        continue;
      }
      const ns = el.attrs.xmlns;
      if (!ns || key !== `${el.name}:${ns}`) {
        produced.push(this.reject('malformed-private', `${ownerKey}: private storage key ${JSON.stringify(key)} does not match its element <${el.name} xmlns='${ns ?? ''}'>`, at, ownerKey, el));
        continue;
      }
      if (el.name === 'storage' && ns === NS_BOOKMARKS) {
        bookmarks = { el, where: at };
        continue;
      }
      produced.push({ record: { kind: 'private-xml', owner, element: el, location: this.location(at, ownerKey) } });
    }
    return { produced, bookmarks };
  }

  /**
   * XEP-0048 and XEP-0402 bookmarks from the three places Prosody may hold them, merged and de-duplicated by
   * room JID. Precedence: PEP urn:xmpp:bookmarks:1 (what 0.12+ treats as the truth and converts the others
   * into at login), then PEP storage:bookmarks, then private XML. Emits one private-xml <storage
   * xmlns='storage:bookmarks'> (MongooseIM serves XEP-0048 from private storage) and one urn:xmpp:bookmarks:1
   * PEP item per room, so old and new clients see the same set. The legacy PEP node is not emitted.
   */
  bookmarks(owner: BareJid, sources: BookmarkSources): Produced[] {
    const ownerKey = bareJidString(owner);
    const out: Produced[] = [];
    interface Mark {
      jid: string;
      legacy: Element; // <conference> in storage:bookmarks
      modern: Element; // <conference xmlns='urn:xmpp:bookmarks:1'>
      item?: ArchiveItem; // the original bookmarks:1 item, when there is one
      where: Where;
    }
    const marks = new Map<string, Mark>();
    const urls: Element[] = [];
    const add = (jidText: string | undefined, legacy: Element | undefined, modern: Element | undefined, where: Where, item?: ArchiveItem): void => {
      let jid: string;
      try {
        jid = bareJidString(parseJid(jidText ?? ''));
      } catch (err) {
        out.push(this.reject('invalid-jid', `${ownerKey}: bookmark: ${(err as Error).message}`, where, ownerKey, legacy ?? modern));
        return;
      }
      if (marks.has(jid)) return;
      const l = legacy ?? legacyFromModern(jid, modern!);
      const m = modern ?? modernFromLegacy(legacy!);
      const mark: Mark = { jid, legacy: l, modern: m, where };
      if (item) mark.item = item;
      marks.set(jid, mark);
    };
    for (const item of sources.pep1) {
      const payload = item.stanza;
      if (payload.name !== 'conference' || payload.attrs.xmlns !== NS_BOOKMARKS2) {
        out.push(this.reject('malformed-bookmark', `${ownerKey}: a ${NS_BOOKMARKS2} item holds <${payload.name} xmlns='${payload.attrs.xmlns ?? ''}'>`, item.where, ownerKey, payload));
        continue;
      }
      add(item.key, undefined, payload, item.where, item);
    }
    const legacyStorages: Array<{ el: Element; where: Where }> = [];
    for (const item of sources.legacyPep) {
      if (item.stanza.name === 'storage' && item.stanza.attrs.xmlns === NS_BOOKMARKS) legacyStorages.push({ el: item.stanza, where: item.where });
      else out.push(this.reject('malformed-bookmark', `${ownerKey}: a ${NS_BOOKMARKS} PEP item holds <${item.stanza.name}>`, item.where, ownerKey, item.stanza));
    }
    if (sources.private) legacyStorages.push(sources.private);
    for (const storage of legacyStorages) {
      for (const c of childElements(storage.el)) {
        if (c.name === 'conference') add(c.attrs.jid, stripNs(c), undefined, storage.where);
        else if (c.name === 'url' && !urls.some((u) => u.attrs.url === c.attrs.url)) urls.push(stripNs(c));
      }
    }
    if (marks.size === 0 && urls.length === 0) return out;
    const storage = new Element('storage', { xmlns: NS_BOOKMARKS });
    for (const m of marks.values()) append(storage, cloneElement(m.legacy));
    for (const u of urls) append(storage, u);
    const first = [...marks.values()][0]?.where ?? sources.private?.where ?? sources.legacyPep[0]?.where ?? {};
    out.push({ record: { kind: 'private-xml', owner, element: storage, location: this.location(first, ownerKey) } });
    for (const m of marks.values()) {
      const record: MigrationRecord = {
        kind: 'pep-item',
        owner,
        node: NS_BOOKMARKS2,
        itemId: m.jid,
        payload: m.item ? m.item.stanza : m.modern,
        location: this.location(m.where, ownerKey),
      };
      const when = m.item?.when;
      if (when !== undefined) {
        const micros = toMicros(when);
        if (micros !== undefined) record.publishedAt = micros;
      }
      out.push({ record });
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------------------
  // blocklist: { [false] = { created, modified }, ["jid"] = <time blocked> (0.12+) or true (before) }

  blocklist(owner: BareJid, data: LuaValue | undefined, where: Where): Produced[] {
    const ownerKey = bareJidString(owner);
    if (!(data instanceof LuaTable)) return [this.reject('malformed-blocklist', `${ownerKey}: the blocklist is not a table`, where, ownerKey, data)];
    const out: Produced[] = [];
    const blocked: string[] = [];
    for (const [key, value] of data.map) {
      // 0.12+ stores the time of blocking as the value, older versions true.
      if (key === false || value === false || value instanceof LuaTable) continue;
      if (typeof key !== 'string') {
        out.push(this.reject(key instanceof LuaBytes ? 'invalid-utf8' : 'malformed-blocklist', `${ownerKey}: a blocked JID is not a valid string`, where, ownerKey));
        continue;
      }
      try {
        const jid = normaliseJid(key);
        if (!blocked.includes(jid)) blocked.push(jid);
      } catch (err) {
        out.push(this.reject('invalid-jid', `${ownerKey}: blocklist: ${(err as Error).message}`, where, ownerKey));
      }
    }
    // A set in Prosody (hash order): sorted, so both storages give the same record.
    blocked.sort();
    if (blocked.length > 0) out.push({ record: { kind: 'blocklist', owner, blocked, location: this.location(where, ownerKey) } });
    return out;
  }

  // -------------------------------------------------------------------------------------------------------
  // privacy (mod_privacy, ≤ 0.9 core): { default, lists = { [name] = { name, items = { {type, value, action,
  // order, message, iq, ["presence-in"], ["presence-out"]} } } } }

  privacy(owner: BareJid, data: LuaValue | undefined, where: Where): Produced[] {
    const ownerKey = bareJidString(owner);
    if (!(data instanceof LuaTable)) return [this.reject('malformed-privacy', `${ownerKey}: the privacy entry is not a table`, where, ownerKey, data)];
    const lists = data.get('lists');
    if (lists === undefined) return [];
    if (!(lists instanceof LuaTable)) return [this.reject('malformed-privacy', `${ownerKey}: privacy lists is not a table`, where, ownerKey, data)];
    const defaultName = str(data.get('default'));
    const out: Produced[] = [];
    for (const [name, list] of lists.map) {
      const at: Where = list instanceof LuaTable && where.file !== undefined ? { ...where, line: list.line } : where;
      if (typeof name !== 'string' || name === '' || !(list instanceof LuaTable)) {
        out.push(this.reject('invalid-privacy-list', `${ownerKey}: a privacy list has no valid name or is not a table`, at, ownerKey, list));
        continue;
      }
      const items: PrivacyItem[] = [];
      let problem: string | undefined;
      const rawItems = list.get('items');
      for (const item of rawItems instanceof LuaTable ? rawItems.array() : []) {
        if (!(item instanceof LuaTable)) {
          problem = 'an item is not a table';
          break;
        }
        const type = item.get('type') ?? 'none';
        let value = item.get('value') ?? '';
        const action = item.get('action');
        const order = item.get('order');
        if (type !== 'none' && type !== 'jid' && type !== 'group' && type !== 'subscription') problem = `item type ${excerptOf(type)}`;
        else if (action !== 'allow' && action !== 'deny') problem = `item action ${excerptOf(action)}`;
        else if (typeof order !== 'number' || !Number.isInteger(order) || order < 0) problem = `item order ${excerptOf(order)}`;
        else if (typeof value !== 'string') problem = `item value ${excerptOf(value)}`;
        else if (type === 'subscription' && !['none', 'to', 'from', 'both'].includes(value)) problem = `subscription value ${JSON.stringify(value)}`;
        else if (type === 'jid') {
          try {
            value = normaliseJid(value);
          } catch (err) {
            problem = (err as Error).message;
          }
        }
        if (problem) break;
        const matches = (['message', 'iq', 'presence-in', 'presence-out'] as const).filter((m) => bool(item.get(m)));
        items.push({ type: type as PrivacyItem['type'], value: value as string, action: action as PrivacyItem['action'], order: order as number, matches });
      }
      if (problem) {
        out.push(this.reject('invalid-privacy-list', `${ownerKey}: privacy list ${JSON.stringify(name)}: ${problem}`, at, ownerKey, list));
        continue;
      }
      items.sort((a, b) => a.order - b.order);
      out.push({ record: { kind: 'privacy-list', owner, name, isDefault: name === defaultName, items, location: this.location(at, ownerKey) } });
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------------------
  // Last activity, where a module persisted it: account_activity (13.0, { timestamp }), mod_lastlog
  // ({ event, timestamp, ip }), mod_lastlog2 ({ login = {timestamp}, logout = {timestamp}, … }). The latest
  // login or logout, as their get_last_active does; no module stores a status text.

  lastActivity(owner: BareJid, sources: Array<{ store: string; value: LuaValue; where: Where }>): Produced[] {
    const ownerKey = bareJidString(owner);
    let latest: number | undefined;
    let where: Where | undefined;
    const consider = (t: LuaValue | undefined, at: Where): void => {
      if (typeof t === 'number' && Number.isFinite(t) && t > 0 && (latest === undefined || t > latest)) {
        latest = t;
        where = at;
      }
    };
    for (const { store, value, where: at } of sources) {
      if (!(value instanceof LuaTable)) continue;
      if (store === 'account_activity') consider(value.get('timestamp'), at);
      else if (store === 'lastlog') {
        const event = value.get('event') ?? 'login';
        if (event === 'login' || event === 'logout') consider(value.get('timestamp'), at);
      } else if (store === 'lastlog2') {
        for (const event of ['login', 'logout']) {
          const e = value.get(event);
          if (e instanceof LuaTable) consider(e.get('timestamp'), at);
        }
      }
    }
    if (latest === undefined || where === undefined) return [];
    return [{ record: { kind: 'last-activity', owner, seconds: Math.floor(latest), status: '', location: this.location(where, ownerKey) } }];
  }

  // -------------------------------------------------------------------------------------------------------
  // Archive stores.

  /** A table item of a .list file → an ArchiveItem (the stanza without stamp attributes). */
  itemFromTable(table: LuaTable, where: Where): ArchiveItem {
    const key = table.get('key');
    const when = table.get('when');
    const withValue = table.get('with');
    for (const [field, v] of [['key', key], ['with', withValue]] as const) {
      if (v instanceof LuaBytes) throw new ProsodyDataError('invalid-utf8', `the item's ${field} is not valid UTF-8`, v.line);
      if (v !== undefined && typeof v !== 'string') throw new ProsodyDataError('malformed-archive-item', `the item's ${field} is a ${v instanceof LuaTable ? 'table' : typeof v}`, table.line);
    }
    if (when !== undefined && typeof when !== 'number') throw new ProsodyDataError('malformed-archive-item', `the item's when is not a number`, table.line);
    const attr = table.get('attr');
    const stamp = attr instanceof LuaTable ? str(attr.get('stamp')) : undefined;
    const stanza = elementFromTable(table, STORAGE_ONLY_ATTRS);
    return { key: key as string | undefined, when: when as number | undefined, with: (withValue as string | undefined) || undefined, stanza, stamp, where };
  }

  private timestampOf(item: ArchiveItem): Micros | undefined {
    if (item.when !== undefined) return toMicros(item.when);
    return item.stamp !== undefined ? parseXmppTimestamp(item.stamp) : undefined;
  }

  /** mod_offline (archive store since 0.10, `with` = ''; ≤ 0.9: a list with the time in attr.stamp). */
  /** The record of one item of a list store (offline, archive, muc_log, pep_*), as the stream reading it names. */
  listItem(stream: string, store: string, owner: BareJid, item: ArchiveItem, nonAnonymous: boolean, signals: ProsodySignals): Produced | undefined {
    switch (stream) {
      case 'offline':
        return this.offline(owner, item);
      case 'archives':
        return this.userArchive(owner, item);
      case 'muc-archives': {
        const produced = this.roomArchive(owner, item, nonAnonymous);
        if (produced === undefined) signals.mucPresence++;
        return produced;
      }
      default:
        return this.pepItem(owner, store.slice('pep_'.length), item);
    }
  }

  offline(owner: BareJid, item: ArchiveItem): Produced {
    const ownerKey = bareJidString(owner);
    const el = item.stanza;
    if (el.name !== 'message') return this.reject('unexpected-element', `${ownerKey}: an offline item is a <${el.name}>, not a <message>`, item.where, ownerKey, el);
    const timestamp = this.timestampOf(item);
    if (timestamp === undefined) return this.reject('missing-timestamp', `${ownerKey}: an offline message has no when and no stamp`, item.where, ownerKey, el);
    let from: string;
    try {
      from = normaliseJid(el.attrs.from ?? '');
    } catch (err) {
      return this.reject('invalid-jid', `${ownerKey}: offline message from: ${(err as Error).message}`, item.where, ownerKey, el);
    }
    withClientNamespace(el);
    return { record: { kind: 'offline-message', owner, timestamp, from, stanza: el, location: this.location(item.where, ownerKey) } };
  }

  /**
   * mod_mam (`archive`, legacy `archive2`): one copy per local party, direction outgoing when bare(from) is
   * the owner (or there is no from), the peer being `to` then, else `from`. Community mod_archive shares the
   * store with XEP-0136 <chat> collections: those become legacy-collection records.
   */
  userArchive(owner: BareJid, item: ArchiveItem): Produced {
    const ownerKey = bareJidString(owner);
    const el = item.stanza;
    if (el.name === 'chat') return this.collection(owner, item);
    if (el.name !== 'message') return this.reject('unexpected-element', `${ownerKey}: an archive item is a <${el.name}>, not a <message>`, item.where, ownerKey, el);
    const timestamp = this.timestampOf(item);
    if (timestamp === undefined) return this.reject('missing-timestamp', `${ownerKey}: an archive item has no valid when (${item.when === undefined ? 'none' : String(item.when)}) and no stamp`, item.where, ownerKey, el);
    let outgoing: boolean;
    let remote: string;
    try {
      const from = el.attrs.from === undefined ? undefined : parseJid(el.attrs.from);
      outgoing = from === undefined || (from.local === owner.local && from.domain === owner.domain);
      const peerText = outgoing ? (el.attrs.to ?? item.with ?? ownerKey) : el.attrs.from!;
      remote = normaliseJid(peerText);
    } catch (err) {
      return this.reject('invalid-jid', `${ownerKey}: archived message: ${(err as Error).message}`, item.where, ownerKey, el);
    }
    withClientNamespace(el);
    const record: MigrationRecord = {
      kind: 'archived-message',
      archive: { type: 'user', jid: owner },
      timestamp,
      direction: outgoing ? 'out' : 'in',
      remote,
      stanza: el,
      location: this.location(item.where, ownerKey),
    };
    const originId = originIdOf(el);
    if (originId !== undefined) record.originId = originId;
    if (item.key !== undefined) record.sourceId = item.key;
    return { record };
  }

  /**
   * mod_muc_mam (`muc_log`): `with` is "message<groupchat" (presences, with muc_log_presences, are not
   * messages and are skipped). The occupant JID is `from`. Prosody adds <x xmlns='…muc#user'><item jid/></x>
   * only while the room is non-anonymous: the real JID is taken only when the room is non-anonymous now
   * (as Prosody shows it) and the item is there; the element is removed either way (the writer adds its own).
   */
  roomArchive(room: BareJid, item: ArchiveItem, nonAnonymous: boolean): Produced | undefined {
    const roomKey = bareJidString(room);
    const el = item.stanza;
    if (el.name !== 'message') return undefined;
    const timestamp = this.timestampOf(item);
    if (timestamp === undefined) return this.reject('missing-timestamp', `${roomKey}: a room archive item has no valid when`, item.where, roomKey, el);
    let remote: string;
    let nick: string;
    try {
      const from = parseJid(el.attrs.from ?? '');
      if (from.local !== room.local || from.domain !== room.domain || from.resource === '') {
        return this.reject('invalid-jid', `${roomKey}: a room archive item is from ${JSON.stringify(el.attrs.from ?? '')}, not an occupant of the room`, item.where, roomKey, el);
      }
      remote = `${roomKey}/${from.resource}`;
      nick = from.resource;
    } catch (err) {
      return this.reject('invalid-jid', `${roomKey}: room message: ${(err as Error).message}`, item.where, roomKey, el);
    }
    let realJid: string | undefined;
    for (const x of el.getChildren('x', NS_MUC_USER)) {
      const jid = x.getChild('item')?.attrs.jid;
      if (jid !== undefined && realJid === undefined && nonAnonymous) {
        try {
          realJid = normaliseJid(jid);
        } catch {
          realJid = undefined;
        }
      }
    }
    el.children = el.children.filter((c) => typeof c === 'string' || !(c.name === 'x' && c.attrs.xmlns === NS_MUC_USER));
    withClientNamespace(el);
    const record: MigrationRecord = {
      kind: 'archived-message',
      archive: { type: 'room', jid: room },
      timestamp,
      remote,
      senderNick: nick,
      stanza: el,
      location: this.location(item.where, roomKey),
    };
    if (realJid !== undefined) record.senderRealJid = realJid;
    const originId = originIdOf(el);
    if (originId !== undefined) record.originId = originId;
    if (item.key !== undefined) record.sourceId = item.key;
    return { record };
  }

  /** A pep_<node> item: key = item id, value = the payload, with = publisher, when = publish time. */
  pepItem(owner: BareJid, node: string, item: ArchiveItem): Produced {
    const ownerKey = bareJidString(owner);
    if (item.key === undefined) return this.reject('malformed-pep-item', `${ownerKey}: an item of PEP node ${node} has no id`, item.where, ownerKey, item.stanza);
    const record: MigrationRecord = { kind: 'pep-item', owner, node, itemId: item.key, payload: item.stanza, location: this.location(item.where, ownerKey) };
    if (item.when !== undefined) {
      const micros = toMicros(item.when);
      if (micros !== undefined) record.publishedAt = micros;
    }
    return { record };
  }

  /**
   * A community mod_archive (XEP-0136) collection: <chat with start thread version subject> with <from>/<to>
   * (secs, utc) and <note>. Emitted as a legacy-collection for the XEP-0136 converter (issue #5) when it is
   * unambiguous; anything else is rejected with the reason.
   */
  private collection(owner: BareJid, item: ArchiveItem): Produced {
    const ownerKey = bareJidString(owner);
    const el = item.stanza;
    const why = (reason: string): Produced =>
      this.reject('xep0136-collection', `${ownerKey}: a community mod_archive (XEP-0136) collection in the archive store ${reason}; XEP-0136 collections are converted by the XEP-0136 converter (issue #5), not by this adapter`, item.where, ownerKey, el);
    let withJid: string;
    try {
      withJid = normaliseJid(el.attrs.with ?? '');
    } catch (err) {
      return why(`has no usable with (${(err as Error).message})`);
    }
    const start = parseXmppTimestamp(el.attrs.start ?? '');
    if (start === undefined) return why(`has no XEP-0082 start (${JSON.stringify(el.attrs.start ?? null)})`);
    const entries: LegacyCollectionEntry[] = [];
    for (const c of childElements(el)) {
      if (c.name !== 'from' && c.name !== 'to' && c.name !== 'note') continue;
      const entry: LegacyCollectionEntry = { direction: c.name };
      const secs = c.attrs.secs;
      if (secs !== undefined) {
        if (!/^\d{1,10}$/.test(secs)) return why(`has an entry with secs=${JSON.stringify(secs)}`);
        entry.secs = Number(secs);
      }
      const utc = c.attrs.utc;
      if (utc !== undefined) {
        const t = parseXmppTimestamp(utc);
        if (t === undefined) return why(`has an entry with utc=${JSON.stringify(utc)} (not XEP-0082)`);
        entry.utc = t;
      }
      if (c.attrs.name !== undefined) entry.name = c.attrs.name;
      if (c.attrs.jid !== undefined) entry.jid = c.attrs.jid;
      const body = c.name === 'note' ? c.getText() : c.getChildText('body');
      if (body !== null && body !== undefined) entry.body = body;
      entries.push(entry);
    }
    const record: MigrationRecord = { kind: 'legacy-collection', owner, with: withJid, start, groupchat: false, entries, location: this.location(item.where, ownerKey) };
    if (el.attrs.thread) record.thread = el.attrs.thread;
    if (el.attrs.subject) record.subject = el.attrs.subject;
    return { record };
  }

  // -------------------------------------------------------------------------------------------------------
  // MUC rooms (`config` on the MUC host): new format (0.12+: affiliations as top-level keys, _jid, _data,
  // _affiliation_data) and old ({ jid, _data, _affiliations [, _affiliation_data] }).

  room(room: BareJid, data: LuaValue | undefined, where: Where): RoomResult {
    const roomKey = bareJidString(room);
    if (!(data instanceof LuaTable)) return { produced: [this.reject('malformed-room', `${roomKey}: the room config is not a table`, where, roomKey, data)], nonAnonymous: false, skipped: undefined };
    const options = data.get('_data');
    if (!(options instanceof LuaTable)) return { produced: [this.reject('malformed-room', `${roomKey}: the room config has no _data table`, where, roomKey, data)], nonAnonymous: false, skipped: undefined };
    const nonAnonymous = options.get('whois') === 'anyone';
    if (options.get('destroyed') === true) return { produced: [], nonAnonymous, skipped: 'destroyed' };
    if (options.get('persistent') !== true) return { produced: [], nonAnonymous, skipped: 'not-persistent' };
    const produced: Produced[] = [];
    const old = data.get('_affiliations');
    const affiliationSource: Array<[LuaKey, LuaValue]> = [];
    if (data.get('jid') !== undefined && old instanceof LuaTable) affiliationSource.push(...old.map);
    else {
      for (const [k, v] of data.map) {
        if (typeof k === 'string' && k.startsWith('_')) continue;
        if (typeof v === 'string') affiliationSource.push([k, v]);
      }
    }
    const affiliations: Array<{ jid: string; affiliation: MucAffiliation }> = [];
    for (const [k, v] of affiliationSource) {
      if (typeof k !== 'string') {
        produced.push(this.reject(k instanceof LuaBytes ? 'invalid-utf8' : 'malformed-room', `${roomKey}: an affiliated JID is not a valid string`, where, roomKey));
        continue;
      }
      if (v !== 'owner' && v !== 'admin' && v !== 'member' && v !== 'outcast') {
        if (v !== 'none') produced.push(this.reject('unknown-affiliation', `${roomKey}: ${k} has affiliation ${excerptOf(v)}`, where, roomKey));
        continue;
      }
      try {
        affiliations.push({ jid: normaliseJid(k), affiliation: v });
      } catch (err) {
        produced.push(this.reject('invalid-jid', `${roomKey}: affiliation: ${(err as Error).message}`, where, roomKey));
      }
    }
    affiliations.sort((a, b) => (a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0)); // hash order in Prosody
    const roomRecord: MigrationRecord = { kind: 'muc-room', room, options: mucOptions(options), affiliations, location: this.location(where, roomKey) };
    produced.unshift({ record: roomRecord });
    const affData = data.get('_affiliation_data');
    if (affData instanceof LuaTable) {
      for (const [k, v] of affData.map) {
        if (!(v instanceof LuaTable)) continue;
        const nick = v.get('reserved_nickname');
        if (nick === undefined) continue;
        if (typeof k !== 'string' || typeof nick !== 'string') {
          produced.push(this.reject('invalid-utf8', `${roomKey}: a registered nick or its JID is not a valid string`, where, roomKey, v));
          continue;
        }
        try {
          const user = parseJid(k);
          if (user.resource !== '' || user.local === '') throw new JidError(`${k} is not a user's bare JID`);
          produced.push({ record: { kind: 'muc-registration', mucHost: room.domain, user: { local: user.local, domain: user.domain }, nick, location: this.location(where, roomKey) } });
        } catch (err) {
          produced.push(this.reject('invalid-jid', `${roomKey}: nick registration: ${(err as Error).message}`, where, roomKey, v));
        }
      }
    }
    return { produced, nonAnonymous, skipped: undefined };
  }
}

export interface RoomResult {
  produced: Produced[];
  /** whois = anyone: real JIDs are visible, and stored with each message. */
  nonAnonymous: boolean;
  /** Why the room is not migrated: a destroyed room's tombstone, or a room that is not persistent. */
  skipped: 'destroyed' | 'not-persistent' | undefined;
}

export interface BookmarkSources {
  private: { el: Element; where: Where } | undefined;
  legacyPep: ArchiveItem[];
  pep1: ArchiveItem[];
}

export interface VCardPep {
  vcard4: ArchiveItem | undefined;
  nick: ArchiveItem | undefined;
  avatarMetadata: ArchiveItem | undefined;
  avatarData: ArchiveItem[];
}

/** Prosody's room options → MongooseIM's (mod_muc_rdbms option keys; storage-facts §1.9). */
export function mucOptions(data: LuaTable): Record<string, string | number | boolean> {
  const o: Record<string, string | number | boolean> = {};
  const s = (k: string): string | undefined => str(data.get(k));
  const title = s('name');
  if (title !== undefined) o.title = title;
  const description = s('description');
  if (description !== undefined) o.description = description;
  const password = s('password');
  o.password_protected = password !== undefined && password !== '';
  if (password !== undefined && password !== '') o.password = password;
  const subject = s('subject');
  if (subject !== undefined) o.subject = subject;
  const subjectFrom = s('subject_from');
  if (subjectFrom !== undefined) {
    // Prosody keeps the occupant JID (room@host/nick); MongooseIM the nick.
    const slash = subjectFrom.indexOf('/');
    o.subject_author = slash === -1 ? '' : subjectFrom.slice(slash + 1);
  }
  o.persistent = bool(data.get('persistent'));
  o.members_only = bool(data.get('members_only'));
  o.moderated = bool(data.get('moderated'));
  const hidden = bool(data.get('hidden'));
  o.public = !hidden;
  o.public_list = !hidden;
  // whois: "moderators" (the default) is semi-anonymous.
  o.anonymous = data.get('whois') !== 'anyone';
  o.allow_change_subj = bool(data.get('changesubject'));
  o.allow_user_invites = bool(data.get('allow_member_invites'));
  const allowPm = data.get('allow_pm');
  if (typeof allowPm === 'string') o.allow_private_messages = allowPm !== 'none';
  return o;
}

/** Prosody keys of `_data` that mucOptions maps (the rest are reported as not migrated). */
export const MAPPED_ROOM_KEYS = new Set([
  'name', 'description', 'password', 'subject', 'subject_from', 'persistent', 'members_only', 'moderated', 'hidden', 'whois',
  'changesubject', 'allow_member_invites', 'allow_pm',
]);

function hexBytes(value: LuaValue | undefined): Buffer | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(value)) return undefined;
  return Buffer.from(value, 'hex');
}

/** The stored stanza's top element lacks xmlns when it came from a stream: it is jabber:client. */
function withClientNamespace(el: Element): void {
  if (el.attrs.xmlns === undefined) el.attrs = { xmlns: NS_CLIENT, ...el.attrs };
}

function originIdOf(el: Element): string | undefined {
  for (const c of el.children) {
    if (typeof c !== 'string' && c.name === 'origin-id' && c.attrs.xmlns === NS_SID) return c.attrs.id ?? '';
  }
  return undefined;
}

function append(parent: Element, child: Element): void {
  child.parent = parent;
  parent.children.push(child);
}

/** A child taken out of its storage element: it inherits the namespace, so it needs no xmlns of its own. */
function stripNs(el: Element): Element {
  const copy = cloneElement(el);
  if (copy.attrs.xmlns === NS_BOOKMARKS) delete copy.attrs.xmlns;
  return copy;
}

function textChild(el: Element, name: string): string | undefined {
  const c = el.getChild(name);
  return c ? c.getText() : undefined;
}

/** XEP-0402 → XEP-0048 <conference>, as Prosody's mod_bookmarks generates legacy storage. */
function legacyFromModern(jid: string, modern: Element): Element {
  const attrs: Record<string, string> = { jid };
  if (modern.attrs.name !== undefined) attrs.name = modern.attrs.name;
  if (modern.attrs.autojoin !== undefined) attrs.autojoin = modern.attrs.autojoin;
  const conference = new Element('conference', attrs);
  const nick = textChild(modern, 'nick');
  if (nick !== undefined) append(conference, new Element('nick').t(nick) as Element);
  const password = textChild(modern, 'password');
  if (password !== undefined) append(conference, new Element('password').t(password) as Element);
  return conference;
}

/** XEP-0048 → XEP-0402 <conference xmlns='urn:xmpp:bookmarks:1'>, as Prosody's mod_bookmarks publishes it. */
function modernFromLegacy(legacy: Element): Element {
  const attrs: Record<string, string> = { xmlns: NS_BOOKMARKS2 };
  if (legacy.attrs.name !== undefined) attrs.name = legacy.attrs.name;
  const autojoin = legacy.attrs.autojoin;
  if (autojoin === 'true' || autojoin === '1') attrs.autojoin = 'true';
  const conference = new Element('conference', attrs);
  const nick = textChild(legacy, 'nick');
  if (nick !== undefined) append(conference, new Element('nick').t(nick) as Element);
  const password = textChild(legacy, 'password');
  if (password !== undefined) append(conference, new Element('password').t(password) as Element);
  return conference;
}

// vcard4 (RFC 6351 XML, XEP-0292) → vcard-temp (XEP-0054), the fields mod_vcard_legacy translates.
const SIMPLE_VCARD4: Record<string, string> = { nickname: 'text', title: 'text', role: 'text', categories: 'text', note: 'text', url: 'uri', bday: 'date' };

function vcardTempFromPep(pep: VCardPep): Element | undefined {
  const vcard = new Element('vCard', { xmlns: NS_VCARD });
  const textTag = (parent: Element, name: string, text: string | undefined): void => {
    if (text !== undefined && text !== '') append(parent, new Element(name).t(text) as Element);
  };
  const v4 = pep.vcard4?.stanza;
  if (v4 && v4.name === 'vcard') {
    textTag(vcard, 'FN', v4.getChild('fn') ? textChild(v4.getChild('fn')!, 'text') : undefined);
    const n = v4.getChild('n');
    if (n) {
      const nEl = new Element('N');
      textTag(nEl, 'FAMILY', textChild(n, 'surname'));
      textTag(nEl, 'GIVEN', textChild(n, 'given'));
      textTag(nEl, 'MIDDLE', textChild(n, 'additional'));
      textTag(nEl, 'PREFIX', textChild(n, 'prefix'));
      textTag(nEl, 'SUFFIX', textChild(n, 'suffix'));
      if (nEl.children.length > 0) append(vcard, nEl);
    }
    for (const tag of childElements(v4)) {
      const typ = SIMPLE_VCARD4[tag.name];
      const kind = tag.getChild('parameters')?.getChild('type')?.getChildText('text');
      const place = (el: Element): void => {
        if (kind === 'home') append(el, new Element('HOME'));
        else if (kind === 'work') append(el, new Element('WORK'));
      };
      if (typ) textTag(vcard, tag.name.toUpperCase(), textChild(tag, typ));
      else if (tag.name === 'email') {
        const text = textChild(tag, 'text');
        if (text) {
          const e = new Element('EMAIL');
          textTag(e, 'USERID', text);
          append(e, new Element('INTERNET'));
          place(e);
          append(vcard, e);
        }
      } else if (tag.name === 'tel') {
        let text = textChild(tag, 'uri');
        if (text) {
          if (text.startsWith('tel:')) text = text.slice(4);
          const e = new Element('TEL');
          textTag(e, 'NUMBER', text);
          place(e);
          append(vcard, e);
        }
      } else if (tag.name === 'adr') {
        const e = new Element('ADR');
        for (const [from, to] of [['pobox', 'POBOX'], ['ext', 'EXTADD'], ['street', 'STREET'], ['locality', 'LOCALITY'], ['region', 'REGION'], ['code', 'PCODE'], ['country', 'CTRY']] as const) {
          textTag(e, to, textChild(tag, from));
        }
        place(e);
        append(vcard, e);
      } else if (tag.name === 'impp') {
        const uri = textChild(tag, 'uri');
        if (uri?.startsWith('xmpp:')) textTag(vcard, 'JABBERID', uri.slice(5));
      } else if (tag.name === 'org') {
        const e = new Element('ORG');
        textTag(e, 'ORGNAME', textChild(tag, 'text'));
        append(vcard, e);
      }
    }
  } else if (pep.nick) {
    const nick = pep.nick.stanza;
    if (nick.name === 'nick' && nick.attrs.xmlns === NS_NICK) textTag(vcard, 'NICKNAME', nick.getText());
  }
  const meta = pep.avatarMetadata;
  const info = meta?.stanza.getChild('info');
  if (meta && info) {
    const photo = new Element('PHOTO');
    textTag(photo, 'TYPE', info.attrs.type);
    if (info.attrs.url !== undefined) textTag(photo, 'EXTVAL', info.attrs.url);
    else {
      const data = pep.avatarData.find((d) => d.key === meta.key);
      if (data) textTag(photo, 'BINVAL', data.stanza.getText().replace(/\s+/g, ''));
    }
    if (photo.children.length > 0) append(vcard, photo);
  }
  return vcard.children.length > 0 ? vcard : undefined;
}

