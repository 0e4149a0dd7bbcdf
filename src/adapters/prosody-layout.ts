// What a Prosody source reads, in which order, shared by the file and the SQL adapters: the streams, the
// groups of stores that make one unit of records per user (or room), and the stores known not to migrate.
// Facts: shared/docs/storage-facts.md §3.
import type { RecordKind } from '../records.js';
import type { BareJid } from '../records.js';
import type { StreamInfo } from './source-adapter.js';
import { NS_BOOKMARKS, NS_BOOKMARKS2 } from '../xml/namespaces.js';
import type { LuaValue } from './prosody-lua-literal.js';
import {
  NODE_AVATAR_DATA,
  NODE_AVATAR_METADATA,
  NODE_VCARD4,
  type ArchiveItem,
  type Produced,
  type ProsodyRecords,
  type Where,
} from './prosody-records.js';

export const PROSODY_STREAMS: StreamInfo[] = [
  { name: 'accounts', kinds: ['account'] },
  { name: 'users', kinds: ['roster-item', 'vcard', 'private-xml', 'pep-item', 'blocklist', 'privacy-list', 'last-activity'] },
  { name: 'offline', kinds: ['offline-message'] },
  { name: 'archives', kinds: ['archived-message', 'legacy-collection'] },
  { name: 'muc', kinds: ['muc-room', 'muc-registration'] },
  { name: 'muc-archives', kinds: ['archived-message'] },
];

export const PROSODY_KINDS: RecordKind[] = [...new Set(PROSODY_STREAMS.flatMap((s) => s.kinds))];

export const PEP_PREFIX = 'pep_';
export const STORE_BOOKMARKS_LEGACY = `${PEP_PREFIX}${NS_BOOKMARKS}`;
export const STORE_BOOKMARKS2 = `${PEP_PREFIX}${NS_BOOKMARKS2}`;
export const STORE_VCARD4 = `${PEP_PREFIX}${NODE_VCARD4}`;
export const STORE_AVATAR_METADATA = `${PEP_PREFIX}${NODE_AVATAR_METADATA}`;
export const STORE_AVATAR_DATA = `${PEP_PREFIX}${NODE_AVATAR_DATA}`;

/**
 * A group: the stores whose union of users makes the units of one step of a stream. `key` sorts the groups
 * of a host (and is part of cursors: never change one). `list` groups stream their items one by one.
 */
export interface GroupDef {
  stream: string;
  key: string;
  stores: string[];
  list: boolean;
}

export const FIXED_GROUPS: GroupDef[] = [
  { stream: 'accounts', key: '1accounts', stores: ['accounts'], list: false },
  { stream: 'users', key: '1roster', stores: ['roster'], list: false },
  { stream: 'users', key: '2vcard', stores: ['vcard', STORE_VCARD4], list: false },
  { stream: 'users', key: '3private', stores: ['private', STORE_BOOKMARKS_LEGACY, STORE_BOOKMARKS2], list: false },
  { stream: 'users', key: '4blocklist', stores: ['blocklist'], list: false },
  { stream: 'users', key: '5privacy', stores: ['privacy'], list: false },
  { stream: 'users', key: '6last', stores: ['account_activity', 'lastlog', 'lastlog2'], list: false },
  { stream: 'offline', key: '1offline', stores: ['offline'], list: true },
  // Legacy archive2 (prosody-modules mod_mam before 0.10) first: it is the older store of the same archive.
  { stream: 'archives', key: '1archive', stores: ['archive2', 'archive'], list: true },
  { stream: 'muc', key: '1config', stores: ['config'], list: false },
  { stream: 'muc-archives', key: '1muc_log', stores: ['muc_log'], list: true },
];

/** The PEP node stores that are not part of a fixed group: one list group each, after the fixed ones. */
export function pepGroup(store: string, encoded: string): GroupDef {
  return { stream: 'users', key: `7${encoded}`, stores: [store], list: true };
}

const HANDLED_ELSEWHERE = new Set([STORE_BOOKMARKS_LEGACY, STORE_BOOKMARKS2]);

export function isPepNodeStore(store: string): boolean {
  return store.startsWith(PEP_PREFIX) && store.length > PEP_PREFIX.length && !HANDLED_ELSEWHERE.has(store);
}

/** Stores read on purpose without emitting records, each with the reason (for inventory notes). */
export const NOT_MIGRATED: Record<string, string> = {
  pep: 'PEP node configurations and subscriptions (access model, max items) are not migrated; PEP items are',
  persistent: 'the list of persistent rooms (each room config says it too)',
  state: 'live MUC occupant state, transient',
  archive_prefs: 'XEP-0313 archiving preferences are not migrated (MongooseIM applies its own default)',
  archive2_prefs: 'legacy mod_mam archiving preferences are not migrated',
  archive_cleanup: 'mod_mam expiry bookkeeping (dates to clean up)',
  muc_log_cleanup: 'mod_muc_mam expiry bookkeeping (dates to clean up)',
  vcard_muc: 'room vCards (avatars) are not migrated: MongooseIM has no room vCards',
  account_roles: 'Prosody 13 roles are not migrated (MongooseIM has ACLs in its config)',
  cron: 'Prosody 13 task bookkeeping',
  smacks_h: 'stream management counters, transient',
  tombstones: 'Prosody 13 deleted-account tombstones are not migrated',
  invite_token: 'invitations are not migrated',
  uploads: 'HTTP upload metadata is not migrated (the files are not either)',
  auth_tokens: 'tokens are not migrated (users log in again)',
};

/** Every store an adapter reads records from. */
export function isKnownStore(store: string): boolean {
  return FIXED_GROUPS.some((g) => g.stores.includes(store)) || store.startsWith(PEP_PREFIX) || store in NOT_MIGRATED ||
    [STORE_AVATAR_DATA, STORE_AVATAR_METADATA].includes(store);
}

/** How an adapter hands one user's stores to `buildUnit`. */
export interface UnitReader {
  /** The key-value data of `store` for this user, or undefined when there is none. Throws on unreadable data. */
  keyval(store: string): Promise<{ value: LuaValue; where: Where } | undefined>;
  /** All items of the archive store `store` for this user (small stores: PEP nodes), with item rejects. */
  list(store: string): Promise<{ items: ArchiveItem[]; rejects: Produced[] }>;
}

/**
 * The records of one key-value unit (a user of a non-list group). A store that cannot be parsed becomes a
 * reject for that store; the others are still read.
 */
export async function buildUnit(records: ProsodyRecords, group: GroupDef, owner: BareJid, reader: UnitReader, unreadable: (store: string, err: unknown) => Produced): Promise<Produced[]> {
  const out: Produced[] = [];
  const keyval = async (store: string): Promise<{ value: LuaValue; where: Where } | undefined> => {
    try {
      return await reader.keyval(store);
    } catch (err) {
      out.push(unreadable(store, err));
      return undefined;
    }
  };
  const list = async (store: string): Promise<ArchiveItem[]> => {
    try {
      const { items, rejects } = await reader.list(store);
      out.push(...rejects);
      return items;
    } catch (err) {
      out.push(unreadable(store, err));
      return [];
    }
  };
  const last = (items: ArchiveItem[]): ArchiveItem | undefined => items[items.length - 1];
  switch (group.key) {
    case '1accounts': {
      const data = await keyval('accounts');
      if (data) out.push(records.account(owner, data.value, data.where));
      break;
    }
    case '1roster': {
      const data = await keyval('roster');
      if (data) out.push(...records.roster(owner, data.value, data.where));
      break;
    }
    case '2vcard': {
      const stored = await keyval('vcard');
      const pep = stored ? undefined : {
        vcard4: last(await list(STORE_VCARD4)),
        nick: undefined,
        avatarMetadata: last(await list(STORE_AVATAR_METADATA)),
        avatarData: await list(STORE_AVATAR_DATA),
      };
      out.push(...records.vcard(owner, stored, pep ?? { vcard4: undefined, nick: undefined, avatarMetadata: undefined, avatarData: [] }));
      break;
    }
    case '3private': {
      const data = await keyval('private');
      const { produced, bookmarks } = data ? records.privateXml(owner, data.value, data.where) : { produced: [], bookmarks: undefined };
      out.push(...produced);
      const legacyPep = await list(STORE_BOOKMARKS_LEGACY);
      const pep1 = await list(STORE_BOOKMARKS2);
      out.push(...records.bookmarks(owner, { private: bookmarks, legacyPep, pep1 }));
      break;
    }
    case '4blocklist': {
      const data = await keyval('blocklist');
      if (data) out.push(...records.blocklist(owner, data.value, data.where));
      break;
    }
    case '5privacy': {
      const data = await keyval('privacy');
      if (data) out.push(...records.privacy(owner, data.value, data.where));
      break;
    }
    case '6last': {
      const sources: Array<{ store: string; value: LuaValue; where: Where }> = [];
      for (const store of group.stores) {
        const data = await keyval(store);
        if (data) sources.push({ store, ...data });
      }
      out.push(...records.lastActivity(owner, sources));
      break;
    }
    default:
      throw new Error(`no unit builder for group ${group.key}`);
  }
  return out;
}

/** Prosody's datamanager path encoding: every byte outside [A-Za-z0-9] as %xx (lower-case hex). */
export function encodePathPart(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out += (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Store names keep `_` (0.11+ store_encode). */
export function encodeStoreName(store: string): string {
  return encodePathPart(store).replace(/%5f/g, '_');
}

/** %xx (either case) → bytes → UTF-8; undefined when the bytes are not UTF-8. */
export function decodePathPart(text: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 37 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else bytes.push(...Buffer.from(text[i]!, 'utf8'));
  }
  const buf = Buffer.from(bytes);
  const decoded = buf.toString('utf8');
  return Buffer.from(decoded, 'utf8').equals(buf) ? decoded : undefined;
}
