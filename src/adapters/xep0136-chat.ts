// XEP-0136 `<chat>` collections (urn:xmpp:archive) as elements → legacy-collection records, shared by the
// file source (collections retrieved over the protocol) and Prosody's community mod_archive store.
// https://xmpp.org/extensions/xep-0136.html#collections · storage-facts.md §6.2
import { RecordError, UsageError } from '../errors.js';
import type { BareJid, CollectionTiming, LegacyCollectionEntry, LegacyCollectionRecord, Micros, NotePolicy, SourceLocation } from '../records.js';
import { type Element, childElements, cloneElement } from '../xml/element.js';
import { NS_ARCHIVE, NS_CLIENT } from '../xml/namespaces.js';
import { parseSecs, resolveEntryTimes } from '../xep0136/collection-time.js';
import { parseXmppTimestamp } from './xep0227.js';

export function parseNotePolicy(value: string | undefined, adapter: string): NotePolicy {
  const notes = value ?? 'skip';
  if (notes !== 'skip' && notes !== 'self-message') throw new UsageError(`${adapter} option notes=${notes}: expected skip or self-message`);
  return notes;
}

export function parseTiming(value: string | undefined, adapter: string): CollectionTiming {
  const timing = value ?? 'previous';
  if (timing !== 'previous' && timing !== 'start') throw new UsageError(`${adapter} option timing=${timing}: expected previous (the XEP) or start (Tigase, ejabberd mod_archive_odbc / mod_archive2)`);
  return timing;
}

export interface ChatContext {
  /** Where the `<chat>` is (file and line, or table and key). */
  location: SourceLocation;
  /** Where one of its children is; default: the collection's location with `entry N` added to the key. */
  entryLocation?: (index: number, child: Element) => SourceLocation;
  timing: CollectionTiming;
  notes: NotePolicy;
  /** True when a text holds bytes that were not UTF-8 (the reader marks them); such entries are rejected. */
  hasInvalidText?: (text: string) => boolean;
  /** The namespace the `<chat>` is in when its own xmlns attribute is absent (inherited from a wrapper). */
  inheritedNamespace?: string;
}

export interface ParsedChat {
  /** Undefined when the whole collection is rejected. Entries whose time is known carry it in `utc`. */
  record?: LegacyCollectionRecord;
  /** `times[i]`: the absolute time of `record.entries[i]`, undefined when that entry was rejected. */
  times: Array<Micros | undefined>;
  rejects: RecordError[];
  /** `<previous>`, `<next>`, x:data forms and unknown children, counted by name. */
  ignored: Map<string, number>;
}

const ENTRY_NAMES = new Set(['from', 'to', 'note']);
const IGNORED_NAMES = new Set(['previous', 'next', 'x']);

/**
 * One `<chat with start [thread] [subject]>` of `owner`:
 * - `with` missing or empty, or `start` not an XEP-0082 date-time from 1970 on: the collection is rejected whole;
 * - `<from>`/`<to>`: `secs`, `utc` (XEP-0082), `name`, `jid`; their element children are the message's children
 *   (in urn:xmpp:archive = the message's own body, subject, thread; other namespaces kept as they are);
 * - `<note utc>`: its text;
 * - times are resolved with the context's timing; an entry with a bad `secs` or `utc`, or with bytes that were not
 *   UTF-8, is rejected alone (the chain goes on, see resolveEntryTimes).
 */
export function collectionFromChat(chat: Element, owner: BareJid, ctx: ChatContext): ParsedChat {
  const ownerText = owner.local === '' ? owner.domain : `${owner.local}@${owner.domain}`;
  const parsed: ParsedChat = { times: [], rejects: [], ignored: new Map() };
  const withJid = (chat.attrs.with ?? '').trim();
  const startText = chat.attrs.start ?? '';
  const what = `${ownerText}: <chat with=${JSON.stringify(chat.attrs.with ?? null)} start=${JSON.stringify(chat.attrs.start ?? null)}>`;
  if (withJid === '') {
    parsed.rejects.push(new RecordError('collection-without-with', `${what} has no 'with' JID: nothing tells whom its messages were exchanged with; not migrated`, ctx.location));
    return parsed;
  }
  const start = parseXmppTimestamp(startText);
  if (start === undefined) {
    parsed.rejects.push(new RecordError('invalid-start', `${what}: start is not an XEP-0082 date-time from 1970 on, so its secs mean nothing; not migrated`, ctx.location));
    return parsed;
  }
  const chatNs = chat.attrs.xmlns ?? ctx.inheritedNamespace ?? NS_ARCHIVE;
  const entries: LegacyCollectionEntry[] = [];
  const entryRejects = new Map<number, RecordError>();
  for (const child of childElements(chat)) {
    const ns = child.attrs.xmlns ?? chatNs;
    if (!ENTRY_NAMES.has(child.name) || (ns !== NS_ARCHIVE && ns !== '')) {
      const name = IGNORED_NAMES.has(child.name) ? `<${child.name}>` : `<${child.name} xmlns='${ns}'>`;
      parsed.ignored.set(name, (parsed.ignored.get(name) ?? 0) + 1);
      continue;
    }
    const index = entries.length;
    const location = ctx.entryLocation?.(index, child) ?? { ...ctx.location, key: `${ctx.location.key ?? ''} entry ${index + 1}`.trim() };
    const entry: LegacyCollectionEntry = { direction: child.name as LegacyCollectionEntry['direction'], location };
    entries.push(entry);
    const reject = (code: string, message: string): void => {
      entryRejects.set(index, new RecordError(code, `${what}, entry ${index + 1} (<${child.name}>): ${message}`, location));
    };
    if (child.attrs.secs !== undefined) entry.secs = parseSecs(child.attrs.secs);
    if (child.attrs.utc !== undefined) {
      const utc = parseXmppTimestamp(child.attrs.utc);
      if (utc === undefined) reject('invalid-time', `utc=${JSON.stringify(child.attrs.utc)} is not an XEP-0082 date-time from 1970 on`);
      else entry.utc = utc;
    }
    if (child.attrs.name !== undefined && child.attrs.name !== '') entry.name = child.attrs.name;
    if (child.attrs.jid !== undefined && child.attrs.jid !== '') entry.jid = child.attrs.jid;
    if (entry.direction === 'note') {
      entry.body = child.getText();
    } else {
      const kids = childElements(child).map((k) => messageChild(k, ns));
      const bodies = kids.filter((k) => k.name === 'body' && k.attrs.xmlns === undefined);
      if (bodies.length > 0) entry.body = bodies[0]!.getText();
      if (kids.length > bodies.length || bodies.length > 1 || bodies.some((b) => Object.keys(b.attrs).length > 0)) entry.children = kids;
      else if (kids.length === 0 && child.getText().trim() !== '') entry.body = child.getText();
    }
    if (ctx.hasInvalidText && textsOf(child).some(ctx.hasInvalidText)) reject('invalid-utf8', 'it holds bytes that are not UTF-8');
  }

  const record: LegacyCollectionRecord = {
    kind: 'legacy-collection',
    owner,
    with: withJid,
    start,
    groupchat: entries.some((e) => e.name !== undefined),
    entries,
    timing: ctx.timing,
    notes: ctx.notes,
    location: ctx.location,
  };
  if (chat.attrs.thread) record.thread = chat.attrs.thread;
  if (chat.attrs.subject) record.subject = chat.attrs.subject;
  const times = resolveEntryTimes(record, ctx.timing);
  times.forEach((time, index) => {
    const entry = entries[index]!;
    if (!entryRejects.has(index) && !time.ok) {
      entryRejects.set(index, new RecordError(time.code, `${what}, entry ${index + 1} (<${entry.direction}>): ${time.message}; the rest of the collection is timed as if it were 0`, entry.location));
    }
    parsed.times.push(entryRejects.has(index) || !time.ok ? undefined : time.micros);
  });
  parsed.rejects.push(...[...entryRejects.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r));
  parsed.record = record;
  return parsed;
}

/** A child of `<from>`/`<to>` as a message child: the archive namespace is the message's own (no xmlns). */
function messageChild(el: Element, inherited: string): Element {
  const copy = cloneElement(el);
  const ns = copy.attrs.xmlns ?? inherited;
  if (ns === NS_ARCHIVE || ns === NS_CLIENT || ns === '') delete copy.attrs.xmlns;
  return copy;
}

function textsOf(el: Element): string[] {
  const out: string[] = [];
  const walk = (e: Element): void => {
    for (const [, v] of Object.entries(e.attrs)) if (typeof v === 'string') out.push(v);
    for (const c of e.children) {
      if (typeof c === 'string') out.push(c);
      else walk(c);
    }
  };
  walk(el);
  return out;
}
