// XEP-0136 (Message Archiving, deprecated) collections → XEP-0313 MAM archived messages. Pure: no I/O, no
// clock, no randomness. https://xmpp.org/extensions/xep-0136.html#collections
// Facts: shared/docs/storage-facts.md §6.2 (collections, time, deviations), §1.5.3 and §1.5.6 (what MAM stores).
//
//   In:  <chat with='bob@example.com/pc' start='2009-05-01T10:00:00Z'>            owner alice@example.com
//          <to secs='0'><body>hi</body></to>
//          <from secs='7'><body>hello</body></from>
//   Out: 10:00:00 out remote bob@example.com/pc
//          <message from='alice@example.com' to='bob@example.com/pc' type='chat'><body>hi</body></message>
//        10:00:07 in  remote bob@example.com/pc
//          <message from='bob@example.com/pc' to='alice@example.com' type='chat'><body>hello</body></message>
import { RecordError } from '../errors.js';
import { type Jid, JidError, formatJid, parseJid } from '../jid.js';
import { MAM_MICROS_MAX } from '../encoding/mam-id.js';
import type {
  ArchivedMessageRecord,
  CollectionTiming,
  LegacyCollectionEntry,
  LegacyCollectionRecord,
  Micros,
  NotePolicy,
  SourceLocation,
} from '../records.js';
import { bareJidString } from '../records.js';
import { Element, cloneElement } from '../xml/element.js';
import { NS_MUC_USER } from '../xml/namespaces.js';
import { resolveEntryTimes } from '../xep0136/collection-time.js';
import { isEmptyMessage, legacyMessage } from '../xep0136/legacy-message.js';

export interface Xep0136Options {
  /** How `secs` counts; default: the record's `timing`, else 'previous' (the XEP). */
  timing?: CollectionTiming;
  /**
   * `<note>` entries: 'skip' (default: not migrated, counted in `notes` for the run summary) or
   * 'self-message' (each note becomes a `<message type='normal'>` from the owner to the owner, outgoing, at
   * the note's time: MAM has no notes, and this keeps the text without pretending the peer received it).
   */
  notes?: NotePolicy;
}

export interface Xep0136Result {
  /** In time order (equal times in entry order): the writer derives MAM ids from it. */
  messages: ArchivedMessageRecord[];
  /** Notes counted and not migrated (policy 'skip'). */
  notes: number;
  /** Entries (or the whole collection) that cannot be migrated, each with its store location. */
  rejects: RecordError[];
}

/**
 * Converts one collection (or a slice of one, see LegacyCollectionRecord.startsCollection):
 *
 * - time: resolveEntryTimes (utc wins; 'previous' or 'start' relative secs), then µs in 1970..3111;
 * - `<to>` is outgoing, `<from>` incoming; the peer is `with` (full when it has a resource);
 * - groupchat (a collection marked so, or an entry with a `name`): `from` = room/name, type groupchat;
 * - the stanza: the entry's own when the store kept one, else a `<message>` built as a client sends it, from the
 *   owner's and the peer's JIDs, with the body (or the kept children), the collection's thread on every message
 *   and its subject on the first message of the collection;
 * - rejects: a collection without a usable `with` (one reject, nothing migrates), and per entry a bad `secs`, a
 *   time outside what a MAM id holds, a groupchat nick that is not a resource, an entry with nothing in it.
 */
export function xep0136ToMam(collection: LegacyCollectionRecord, options: Xep0136Options = {}): Xep0136Result {
  const timing = options.timing ?? collection.timing ?? 'previous';
  const notePolicy = options.notes ?? collection.notes ?? 'skip';
  const owner = bareJidString(collection.owner);
  const result: Xep0136Result = { messages: [], notes: 0, rejects: [] };

  let peer: Jid;
  try {
    if (collection.owner.local === '') throw new JidError(`the owner ${JSON.stringify(owner)} is not a user`);
    if (collection.with.trim() === '') {
      result.rejects.push(new RecordError('collection-without-with', `${owner}: a XEP-0136 collection without a 'with' JID: nothing tells whom its ${collection.entries.length} entries were exchanged with; not migrated`, collection.location));
      return result;
    }
    peer = parseJid(collection.with);
  } catch (err) {
    if (!(err instanceof JidError)) throw err;
    result.rejects.push(new RecordError('invalid-jid', `${owner}: collection with ${JSON.stringify(collection.with)}: ${err.message}; its ${collection.entries.length} entries were not migrated`, collection.location));
    return result;
  }
  const peerText = formatJid(peer);
  const room = formatJid({ ...peer, resource: '' });

  const times = resolveEntryTimes(collection, timing);
  const timed: Array<{ micros: Micros; index: number; record: ArchivedMessageRecord; isMessage: boolean }> = [];
  collection.entries.forEach((entry, index) => {
    const location = entryLocation(collection, entry, index);
    const where = `${owner}: collection with ${peerText}, entry ${index + 1} (<${entry.direction}>)`;
    const time = times[index]!;
    if (!time.ok) {
      result.rejects.push(new RecordError(time.code, `${where}: ${time.message}; the rest of the collection is timed as if it were 0`, location));
      return;
    }
    if (entry.direction === 'note' && notePolicy === 'skip') {
      result.notes++;
      return;
    }
    if (time.micros < 0n || time.micros > MAM_MICROS_MAX) {
      result.rejects.push(new RecordError('time-out-of-range', `${where}: its time (${describeMicros(time.micros)}) is outside what a MAM id can hold (1970-01-01 to 3111-09-16)`, location));
      return;
    }
    const built = entry.direction === 'note' ? selfNote(entry, owner, collection) : message(entry, collection, owner, peerText, room);
    if ('problem' in built) {
      result.rejects.push(new RecordError(built.code, `${where}: ${built.problem}`, location));
      return;
    }
    const record: ArchivedMessageRecord = {
      kind: 'archived-message',
      archive: { type: 'user', jid: collection.owner },
      timestamp: time.micros,
      direction: built.direction,
      remote: built.remote,
      stanza: built.stanza,
      location,
    };
    if (entry.originId !== undefined) record.originId = entry.originId;
    if (entry.sourceId !== undefined) record.sourceId = entry.sourceId;
    timed.push({ micros: time.micros, index, record, isMessage: entry.direction !== 'note' });
  });

  // Time order (stable: equal times keep entry order); utc overrides may reach back before earlier entries.
  timed.sort((a, b) => (a.micros < b.micros ? -1 : a.micros > b.micros ? 1 : a.index - b.index));
  if (collection.subject !== undefined && collection.subject !== '' && collection.startsCollection !== false) {
    const first = timed.find((t) => t.isMessage && collection.entries[t.index]!.stanza === undefined);
    if (first && first === timed.find((t) => t.isMessage)) addSubject(first.record.stanza, collection.subject);
  }
  result.messages = timed.map((t) => t.record);
  return result;
}

type Built = { direction: 'in' | 'out'; remote: string; stanza: Element } | { code: string; problem: string };

function message(entry: LegacyCollectionEntry, collection: LegacyCollectionRecord, owner: string, peerText: string, room: string): Built {
  const outgoing = entry.direction === 'to';
  const nick = entry.name !== undefined && entry.name !== '' ? entry.name : undefined;
  const groupchat = collection.groupchat || nick !== undefined;
  let remote = peerText;
  if (groupchat && !outgoing && nick !== undefined) {
    try {
      remote = formatJid(parseJid(`${room}/${nick}`));
    } catch (err) {
      if (!(err instanceof JidError)) throw err;
      return { code: 'invalid-jid', problem: `the groupchat nick ${JSON.stringify(nick)} is not a valid resource: ${err.message}` };
    }
  } else if (groupchat) {
    remote = room;
  }
  if (entry.stanza !== undefined) return { direction: outgoing ? 'out' : 'in', remote, stanza: cloneElement(entry.stanza) };

  const content = entry.children !== undefined ? { children: entry.children } : entry.body !== undefined ? { body: entry.body } : {};
  // Judged on the entry's own content: the collection's thread alone is no message (it would archive a
  // thread-only <message> for an empty entry of a threaded collection, and reject the same entry elsewhere).
  if (isEmptyMessage(legacyMessage({ type: 'chat', ...content }))) {
    return { code: 'empty-entry', problem: 'it has no body and nothing else (XEP-0136 forbids empty <from>/<to>); nothing to archive' };
  }
  const stanza = legacyMessage({
    type: groupchat ? 'groupchat' : 'chat',
    from: outgoing ? owner : remote,
    to: outgoing ? remote : owner,
    ...content,
    ...(collection.thread !== undefined && collection.thread !== '' ? { thread: collection.thread } : {}),
  });
  // XEP-0136 §6.3: `jid` is the groupchat sender's real JID; MAM readers find it in a muc#user item.
  if (groupchat && !outgoing && entry.jid !== undefined && entry.jid !== '') {
    try {
      const x = new Element('x', { xmlns: NS_MUC_USER });
      x.c('item', { jid: formatJid(parseJid(entry.jid)) });
      x.parent = stanza;
      stanza.children.push(x);
    } catch (err) {
      if (!(err instanceof JidError)) throw err;
      // An unusable real JID is dropped: the message itself is intact.
    }
  }
  return { direction: outgoing ? 'out' : 'in', remote, stanza };
}

/** Notes under the 'self-message' policy: a normal message from the owner to the owner. */
function selfNote(entry: LegacyCollectionEntry, owner: string, collection: LegacyCollectionRecord): Built {
  if (entry.body === undefined || entry.body === '') return { code: 'empty-entry', problem: 'a <note> without text; nothing to archive' };
  const stanza = legacyMessage({
    type: 'normal',
    from: owner,
    to: owner,
    body: entry.body,
    ...(collection.thread !== undefined && collection.thread !== '' ? { thread: collection.thread } : {}),
  });
  return { direction: 'out', remote: owner, stanza };
}

function addSubject(stanza: Element, subject: string): void {
  if (stanza.getChild('subject')) return;
  const el = new Element('subject');
  el.children.push(subject);
  el.parent = stanza;
  stanza.children.unshift(el);
}

function entryLocation(collection: LegacyCollectionRecord, entry: LegacyCollectionEntry, index: number): SourceLocation {
  if (entry.location) return entry.location;
  const key = collection.location.key;
  return { ...collection.location, key: key === undefined ? `entry ${index + 1}` : `${key} entry ${index + 1}` };
}

function describeMicros(micros: Micros): string {
  const ms = micros / 1000n;
  if (ms >= -8_640_000_000_000_000n && ms <= 8_640_000_000_000_000n) return new Date(Number(ms)).toISOString();
  return `${micros} µs`;
}
