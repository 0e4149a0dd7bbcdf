// Prosody's community mod_archive (XEP-0136): `<chat>` collections kept in the same `archive` store as mod_mam.
// Facts: shared/docs/storage-facts.md §3.6, checked against prosody-modules mod_archive/mod_archive.lua (the
// 2010 module, Dai Zhiwei): store_msg / list_insert / save_handler.
//
// Pure functions for the Prosody adapters to call (this file reads nothing):
// - isModArchiveCollection(item): tells a collection (`<chat with start>`) from a mod_mam `<message>` item;
// - modArchiveCollection(owner, chat, location): one collection → a legacy-collection record plus its rejects;
// - timeOrderedArchive(collections, messages): one user's whole archive in time order, as slices of
//   collections and the user's mod_mam messages, ready to emit one after another.
//
// What the module stored: `<chat with start thread version access>` (start = first message, seconds), children
// `<from|to secs utc_secs><body/></…>` where secs = utc_secs − utc_secs of the collection's previous message (0
// for the first: previous-relative, as the XEP), manual uploads (`<save>`) kept as the client sent them, and
// `<note>`, `<previous>`, `<next>`, `<x>`. The list is kept newest collection first. utc_secs (os.time of a UTC
// table, i.e. epoch minus the server's standard UTC offset) only duplicates secs and is not used; `start` is
// formatted with os.date in the server's local time, so it is the true UTC only on servers running in UTC or
// outside daylight saving time (a server in UTC+1 with DST wrote summer starts one hour late: not detectable).
import type { RecordError } from '../errors.js';
import type { ArchivedMessageRecord, BareJid, MigrationRecord, NotePolicy, SourceLocation } from '../records.js';
import type { Element } from '../xml/element.js';
import { NS_ARCHIVE } from '../xml/namespaces.js';
import { TimeOrderedSlicer } from '../xep0136/time-order.js';
import { collectionFromChat, type ParsedChat } from './xep0136-chat.js';

export type { ParsedChat };

export interface ModArchiveOptions {
  /** XEP-0136 notes: 'skip' (default: counted, not migrated) or 'self-message'. */
  notes?: NotePolicy;
  /** True for a text that holds bytes that were not UTF-8, as the caller's reader marks them; entries holding one are rejected. */
  hasInvalidText?: (text: string) => boolean;
}

/** storage-facts §3.6: `name == "chat"` with `with`/`start` is mod_archive; `name == "message"` is mod_mam. */
export function isModArchiveCollection(item: Element): boolean {
  return item.name === 'chat' && (item.attrs.with !== undefined || item.attrs.start !== undefined) && (item.attrs.xmlns === undefined || item.attrs.xmlns === NS_ARCHIVE);
}

/**
 * One stored collection of `owner` (the `archive` store item, as an element). `location` is where the item is
 * (file and line, or table and key); each entry's location adds `entry N` to its key. Previous-relative secs.
 * A collection without `with` or with a start that is not a date-time is rejected whole (no record); an entry
 * with a bad secs or utc, or bytes that were not UTF-8, is rejected alone.
 */
export function modArchiveCollection(owner: BareJid, chat: Element, location: SourceLocation, options: ModArchiveOptions = {}): ParsedChat {
  return collectionFromChat(chat, owner, {
    location,
    timing: 'previous',
    notes: options.notes ?? 'skip',
    ...(options.hasInvalidText ? { hasInvalidText: options.hasInvalidText } : {}),
    inheritedNamespace: NS_ARCHIVE,
  });
}

export type ArchiveItemOut = { record: MigrationRecord } | { reject: RecordError };

/**
 * One user's archive in the order the writer needs (MAM ids come from times, ties broken in delivery order):
 * every collection's entries merged by time (slices of collections, entries with absolute `utc`) and the
 * user's mod_mam messages in between. Equal times: the mod_mam message first, then collection entries in list
 * order. Rejects come first. `messages` must be in the order the store keeps them (time, then store order).
 * Holds the user's collections in memory, as Prosody itself loads the whole list.
 */
export function timeOrderedArchive(collections: readonly ParsedChat[], messages: readonly ArchivedMessageRecord[] = []): ArchiveItemOut[] {
  const out: ArchiveItemOut[] = [];
  const slicer = new TimeOrderedSlicer();
  for (const parsed of collections) {
    for (const reject of parsed.rejects) out.push({ reject });
    if (parsed.record) slicer.add(parsed.record, parsed.times);
  }
  const sorted = messages
    .map((record, index) => ({ record, index }))
    .sort((a, b) => (a.record.timestamp < b.record.timestamp ? -1 : a.record.timestamp > b.record.timestamp ? 1 : a.index - b.index));
  for (const { record } of sorted) {
    for (const slice of slicer.drain(record.timestamp)) out.push({ record: slice });
    out.push({ record });
  }
  for (const slice of slicer.drain()) out.push({ record: slice });
  return out;
}
