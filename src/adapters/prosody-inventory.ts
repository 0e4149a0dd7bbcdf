// `plan` for a Prosody source (files or SQL): counts per kind and owner, password kinds, rejects, archive span,
// what Prosody never kept (last activity without a module, expired history) and what is not migrated.
import type { RecordKind } from '../records.js';
import { credentialShape, ownerKeyOf } from '../records.js';
import { serializeXml } from '../xml/element.js';
import type { LuaValue } from './prosody-lua-literal.js';
import { LuaTable } from './prosody-lua-literal.js';
import { MAPPED_ROOM_KEYS, type Produced, type RoomResult } from './prosody-records.js';
import { NOT_MIGRATED } from './prosody-layout.js';
import type { NotProvided, SourceInventory, SourceItem } from './source-adapter.js';

/** mod_storage_internal's default storage_archive_item_limit (0.12+): archives at it were probably cut. */
const ARCHIVE_ITEM_LIMIT = 10000;

/** Facts a read notices on the way. */
export class ProsodySignals {
  readonly notes = new Set<string>();
  readonly stores = new Map<string, Set<string>>();
  lidx = 0;
  mucPresence = 0;
  roomsDestroyed = 0;
  roomsNotPersistent = 0;
  readonly unmappedRoomKeys = new Set<string>();
  archivesAtLimit = 0;
  legacyCollections = 0;

  note(text: string): void {
    this.notes.add(text);
  }

  store(host: string, store: string): void {
    let set = this.stores.get(store);
    if (!set) this.stores.set(store, (set = new Set()));
    set.add(host);
  }

  hostStore(host: string, store: string): void {
    this.store(host, store);
  }

  has(store: string): boolean {
    return this.stores.has(store);
  }

  produced(p: Produced): void {
    if ('record' in p && p.record.kind === 'legacy-collection') this.legacyCollections++;
  }

  listSize(stream: string, store: string, count: number): void {
    if ((stream === 'archives' || stream === 'muc-archives') && count >= ARCHIVE_ITEM_LIMIT) this.archivesAtLimit++;
    void store;
  }

  room(result: RoomResult, value: LuaValue): void {
    if (result.skipped === 'destroyed') this.roomsDestroyed++;
    if (result.skipped === 'not-persistent') this.roomsNotPersistent++;
    const data = value instanceof LuaTable ? value.get('_data') : undefined;
    if (data instanceof LuaTable && result.skipped === undefined) {
      for (const k of data.map.keys()) if (typeof k === 'string' && !MAPPED_ROOM_KEYS.has(k)) this.unmappedRoomKeys.add(k);
    }
  }
}


export async function inventoryFrom(description: string, streams: Array<{ name: string; items: AsyncIterable<SourceItem> }>, signals: ProsodySignals): Promise<SourceInventory> {
  const counts: SourceInventory['counts'] = {};
  const owners: SourceInventory['owners'] = {};
  const ownerSets = new Map<RecordKind, Set<string>>();
  const credentials: Record<string, number> = { plain: 0, 'scram-sha1': 0, 'scram-sha256': 0, none: 0 };
  const rejects: Record<string, number> = {};
  let archiveBytes = 0;
  let first: bigint | undefined;
  let last: bigint | undefined;
  for (const stream of streams) {
    for await (const item of stream.items) {
      if ('reject' in item) {
        rejects[item.reject.code] = (rejects[item.reject.code] ?? 0) + 1;
        continue;
      }
      const record = item.record;
      counts[record.kind] = (counts[record.kind] ?? 0) + 1;
      const owner = ownerKeyOf(record);
      if (owner !== undefined) {
        let set = ownerSets.get(record.kind);
        if (!set) ownerSets.set(record.kind, (set = new Set()));
        set.add(owner);
      }
      const shape = record.kind === 'account' ? credentialShape(record.credential) : undefined;
      if (shape !== undefined) credentials[shape] = (credentials[shape] ?? 0) + 1;
      if (record.kind === 'archived-message') {
        archiveBytes += Buffer.byteLength(serializeXml(record.stanza));
        if (first === undefined || record.timestamp < first) first = record.timestamp;
        if (last === undefined || record.timestamp > last) last = record.timestamp;
      }
    }
  }
  for (const [kind, set] of ownerSets) owners[kind] = set.size;

  const cannotProvide: NotProvided[] = [];
  if ((counts['last-activity'] ?? 0) === 0) {
    cannotProvide.push({
      kind: 'last-activity',
      reason: 'Prosody keeps last activity (XEP-0012) in memory only; no mod_account_activity (13.0), mod_lastlog or mod_lastlog2 data was found',
      advice: 'MongooseIM starts without last-activity times: users show as never seen until they log in and out once',
    });
  }
  cannotProvide.push({
    kind: 'archived-message',
    reason: 'history Prosody already expired: archive_expires_after and muc_log_expires_after default to one week ("1w"), and the internal storage caps each archive at 10000 items (0.12+)',
    advice: 'what is missing from an archive was most likely removed by Prosody itself, not lost by the migration; check the old server config',
  });
  const notes: string[] = [];
  if (signals.has('archive_cleanup')) notes.push('archive_cleanup exists: mod_mam expiry was on (archive_expires_after not "never"), so only the last retention period of personal history is there');
  else if (signals.has('archive') || signals.has('archive2')) notes.push('no archive_cleanup store: mod_mam expiry looks off (archive_expires_after = "never"), or no expiry ever ran');
  if (signals.has('muc_log_cleanup')) notes.push('muc_log_cleanup exists: mod_muc_mam expiry was on (muc_log_expires_after, default one week)');
  if (signals.archivesAtLimit > 0) notes.push(`${signals.archivesAtLimit} archive(s) hold ${ARCHIVE_ITEM_LIMIT} items or more: Prosody's storage_archive_item_limit (default ${ARCHIVE_ITEM_LIMIT}) probably truncated them`);
  if (signals.has('archive2')) notes.push('legacy archive2 store (prosody-modules mod_mam) found: read before archive, into the same archives');
  if (signals.legacyCollections > 0) notes.push(`${signals.legacyCollections} community mod_archive (XEP-0136) collection(s) in the archive store are emitted as legacy-collection records for the XEP-0136 converter`);
  if (signals.mucPresence > 0) notes.push(`${signals.mucPresence} presence item(s) in muc_log (muc_log_presences) are not messages: not migrated`);
  if (signals.roomsDestroyed > 0) notes.push(`${signals.roomsDestroyed} destroyed room(s) (tombstones) are not migrated`);
  if (signals.roomsNotPersistent > 0) notes.push(`${signals.roomsNotPersistent} non-persistent room(s) saved by Prosody's room cache are not migrated (MongooseIM keeps persistent rooms only)`);
  if (signals.unmappedRoomKeys.size > 0) notes.push(`room options with no MongooseIM equivalent are not migrated: ${[...signals.unmappedRoomKeys].sort().join(', ')}`);
  if (signals.lidx > 0) notes.push(`${signals.lidx} .lidx index file(s) (Prosody 13) ignored: the .list files are read directly`);
  for (const [store, reason] of Object.entries(NOT_MIGRATED)) if (signals.has(store)) notes.push(`store ${store}: ${reason}`);
  notes.push(...signals.notes);
  const inventory: SourceInventory = { description, counts, owners, credentials, rejects, archiveBytes, cannotProvide, notes };
  if (first !== undefined && last !== undefined) inventory.archiveSpan = { first, last };
  return inventory;
}
