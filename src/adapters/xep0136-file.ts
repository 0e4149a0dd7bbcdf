// A file of XEP-0136 `<chat>` collections as retrieved over the protocol (`<retrieve>` results), for servers
// whose storage cannot be read directly. https://xmpp.org/extensions/xep-0136.html#manage-retrieve
//
// Accepted format (UTF-8, streamed with saxes, never held whole):
// - `<chat xmlns='urn:xmpp:archive' with start [thread] [subject]>` elements, in any order and at any depth: a bare
//   sequence of them (no single root needed), or wrapped, e.g. `<archive owner='alice@example.com'>…</archive>`,
//   or the `<iq type='result' to='alice@example.com/res'>` responses themselves, concatenated;
// - the owner of a `<chat>` is the nearest enclosing `owner` attribute, else the bare `to` of an enclosing
//   `<iq type='result'>`, else the `owner` source option;
// - `secs` counts as the XEP says (from the previous message) unless `timing=start`: files retrieved from Tigase,
//   ejabberd mod_archive_odbc or mod_archive2 count from the collection's start (storage-facts §6.2);
// - `<previous>`, `<next>` and x:data forms are ignored (counted in the inventory).
//
// Each owner's messages must reach the writer in time order, and collections overlap in time. A first pass
// notes each collection's owner and earliest time; the second merges each owner's collections in time order
// (TimeOrderedSlicer), emitting entries as soon as no later collection of that owner can be earlier. A file in
// start order holds only the collections that overlap in memory; a newest-first file holds one owner's archive.
// When an owner's collections are not contiguous in the file, the second pass runs once per owner.
import { createReadStream } from 'node:fs';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { RecordError, SourceError, UsageError } from '../errors.js';
import { JidError, parseBareJid } from '../jid.js';
import type { BareJid, CollectionTiming, LegacyCollectionRecord, Micros, NotePolicy, RecordKind, SourceLocation } from '../records.js';
import { bareJidString } from '../records.js';
import { Element } from '../xml/element.js';
import { NS_ARCHIVE } from '../xml/namespaces.js';
import { TimeOrderedSlicer } from '../xep0136/time-order.js';
import type { SourceAdapter, SourceAdapterDefinition, SourceInventory, SourceItem, SourceOptions, StreamInfo } from './source-adapter.js';
import { assertSourceFile } from './source-file.js';
import { collectionFromChat, parseNotePolicy, parseTiming, type ParsedChat } from './xep0136-chat.js';

export const XEP0136_FILE_STREAM = 'xep0136-collections';
const KINDS: RecordKind[] = ['legacy-collection'];
const CHUNK_BYTES = 256 * 1024;
/** Stands in for each byte that is not UTF-8; a text holding it (once such bytes were seen) is rejected. */
const INVALID_BYTE = '\uFDD0';

export interface Xep0136FileSettings {
  owner: BareJid | undefined;
  timing: CollectionTiming;
  notes: NotePolicy;
}

const SETTING_KEYS = ['owner', 'timing', 'notes'];

export function parseXep0136FileSettings(settings: Record<string, string>): Xep0136FileSettings {
  for (const key of Object.keys(settings)) {
    if (!SETTING_KEYS.includes(key)) throw new UsageError(`unknown xep0136 source option ${JSON.stringify(key)}: expected one of ${SETTING_KEYS.join(', ')}`);
  }
  let owner: BareJid | undefined;
  if (settings.owner !== undefined) {
    try {
      owner = parseBareJid(settings.owner);
    } catch (err) {
      throw new UsageError(`xep0136 option owner=${settings.owner}: ${(err as Error).message}`);
    }
    if (owner.local === '') throw new UsageError(`xep0136 option owner=${settings.owner}: expected a user's bare JID`);
  }
  return { owner, timing: parseTiming(settings.timing, 'xep0136'), notes: parseNotePolicy(settings.notes, 'xep0136') };
}

// ---------------------------------------------------------------------------------------------------------
// Reading: bytes → text (invalid bytes marked) → saxes → one `<chat>` element at a time.

class MarkingUtf8Decoder {
  private readonly fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private carry: Buffer | undefined;
  private started = false;
  sawInvalid = false;

  push(chunk: Buffer, last = false): string {
    let bytes = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    if (!this.started && bytes.length >= 3) {
      this.started = true;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    }
    const end = last ? bytes.length : completeEnd(bytes);
    this.carry = end < bytes.length ? Buffer.from(bytes.subarray(end)) : undefined;
    const part = bytes.subarray(0, end);
    try {
      return this.fatal.decode(part);
    } catch {
      return this.slow(part);
    }
  }

  private slow(bytes: Buffer): string {
    let text = '';
    let start = 0;
    let i = 0;
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    while (i < bytes.length) {
      const n = sequenceLength(bytes, i);
      if (n > 0) {
        i += n;
        continue;
      }
      text += decoder.decode(bytes.subarray(start, i)) + INVALID_BYTE;
      this.sawInvalid = true;
      i += 1;
      start = i;
    }
    return text + decoder.decode(bytes.subarray(start));
  }
}

/** Length of the valid UTF-8 sequence at `i` (RFC 3629), 0 when there is none. */
function sequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const x = b[i + k];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** Where the last complete sequence ends, so a character split across chunks is decoded whole. */
function completeEnd(bytes: Buffer): number {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 4); i--) {
    const c = bytes[i]!;
    if ((c & 0xc0) === 0x80) continue;
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return i + need > bytes.length ? i : bytes.length;
  }
  return bytes.length;
}

/** One `<chat>` of the file, with where it and its children are. */
interface ChatUnit {
  index: number;
  chat: Element;
  line: number;
  /** Line of each child element of the `<chat>`, in order. */
  childLines: number[];
  owner: BareJid | undefined;
  /** Why the owner could not be determined. */
  ownerProblem: string | undefined;
  namespace: string;
}

interface Frame {
  owner: string | undefined;
}

async function* chatsOf(file: string, settings: Xep0136FileSettings, decoder: MarkingUtf8Decoder): AsyncGenerator<ChatUnit> {
  const parser = new SaxesParser({ xmlns: true, position: true, fragment: true, fileName: file });
  const queue: ChatUnit[] = [];
  const frames: Frame[] = [];
  let building: { stack: Element[]; unit: ChatUnit } | undefined;
  let failure: { message: string; line: number } | undefined;
  let index = 0;

  const ownerOf = (): { owner: BareJid | undefined; problem: string | undefined } => {
    for (let i = frames.length - 1; i >= 0; i--) {
      const text = frames[i]!.owner;
      if (text === undefined) continue;
      try {
        const jid = parseBareJid(text);
        if (jid.local === '') return { owner: undefined, problem: `the enclosing owner ${JSON.stringify(text)} is not a user's JID` };
        return { owner: jid, problem: undefined };
      } catch (err) {
        if (!(err instanceof JidError)) throw err;
        return { owner: undefined, problem: `the enclosing owner ${JSON.stringify(text)} is not a JID (${err.message})` };
      }
    }
    if (settings.owner) return { owner: settings.owner, problem: undefined };
    return { owner: undefined, problem: "no owner: wrap the collections in an element with owner='user@host', or pass --source-option owner=user@host" };
  };

  // Prefixed names become default-namespace form (exml's model): `xmlns` set wherever the namespace changes.
  const element = (tag: SaxesTagNS, parentNs: string | undefined): Element => {
    const attrs: Record<string, string> = {};
    for (const attr of Object.values(tag.attributes)) {
      if (attr.prefix === 'xmlns' || attr.name === 'xmlns') continue;
      attrs[attr.prefix === '' ? attr.local : attr.name] = attr.value;
    }
    if (tag.uri !== parentNs) attrs.xmlns = tag.uri;
    return new Element(tag.local, attrs);
  };

  parser.on('opentag', (tag) => {
    if (building) {
      const parent = building.stack[building.stack.length - 1]!;
      const el = element(tag, nsOf(parent));
      el.parent = parent;
      parent.children.push(el);
      if (building.stack.length === 1) building.unit.childLines.push(parser.line);
      building.stack.push(el);
      return;
    }
    if (tag.local === 'chat' && (tag.uri === NS_ARCHIVE || tag.uri === '')) {
      const { owner, problem } = ownerOf();
      const chat = element(tag, undefined);
      chat.attrs.xmlns = tag.uri;
      building = { stack: [chat], unit: { index: index++, chat, line: parser.line, childLines: [], owner, ownerProblem: problem, namespace: tag.uri } };
      return;
    }
    const ownerAttr = tag.attributes.owner;
    const frame: Frame = { owner: undefined };
    if (ownerAttr && typeof ownerAttr !== 'string' && ownerAttr.uri === '') frame.owner = ownerAttr.value;
    else if (tag.local === 'iq' && attrValue(tag, 'type') === 'result' && attrValue(tag, 'to') !== undefined) frame.owner = attrValue(tag, 'to');
    frames.push(frame);
  });
  parser.on('closetag', () => {
    if (building) {
      building.stack.pop();
      if (building.stack.length === 0) {
        queue.push(building.unit);
        building = undefined;
      }
      return;
    }
    frames.pop();
  });
  parser.on('text', (text) => {
    if (building) appendText(building.stack[building.stack.length - 1]!, text);
  });
  parser.on('cdata', (text) => {
    if (building) appendText(building.stack[building.stack.length - 1]!, text);
  });
  parser.on('error', (err) => {
    failure ??= { message: err.message.replace(/^.*?:\d+:\d+: /, ''), line: parser.line };
  });

  const stream = createReadStream(file, { highWaterMark: CHUNK_BYTES });
  try {
    let first = true;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let text = decoder.push(chunk);
      if (first) {
        first = false;
        // Fragment mode (a bare sequence of <chat>s has no single root) refuses an XML declaration: check its
        // encoding, then blank it out, keeping the line count.
        const declaration = /^\s*<\?xml\s[^?]*\?>/.exec(text)?.[0];
        if (declaration !== undefined) {
          const encoding = /encoding\s*=\s*["']([^"']*)["']/.exec(declaration)?.[1];
          if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) {
            throw new SourceError('unsupported-encoding', `${file}: the XML declaration says encoding="${encoding}"; only UTF-8 files can be read (convert it with iconv first)`);
          }
          text = declaration.replace(/[^\n]/g, ' ') + text.slice(declaration.length);
        }
      }
      parser.write(text);
      if (failure) break;
      yield* queue.splice(0);
    }
    if (!failure) {
      const rest = decoder.push(Buffer.alloc(0), true);
      if (rest) parser.write(rest);
      parser.close();
    }
  } catch (err) {
    if (err instanceof SourceError) throw err;
    failure ??= { message: (err as Error).message, line: parser.line };
  } finally {
    stream.destroy();
  }
  yield* queue.splice(0);
  if (failure) throw new SourceError('malformed-xml', `${file}:${failure.line}: not well-formed XML: ${failure.message}. Fix the file there and run again`);
}

function attrValue(tag: SaxesTagNS, name: string): string | undefined {
  const a = tag.attributes[name];
  return a === undefined ? undefined : typeof a === 'string' ? a : a.value;
}

/** The namespace an element under construction is in (the `<chat>` always carries its own). */
function nsOf(el: Element): string | undefined {
  for (let e: Element | undefined = el; e; e = e.parent as Element | undefined) {
    if (e.attrs.xmlns !== undefined) return e.attrs.xmlns;
  }
  return undefined;
}

function appendText(parent: Element, text: string): void {
  const last = parent.children[parent.children.length - 1];
  if (typeof last === 'string') parent.children[parent.children.length - 1] = last + text;
  else parent.children.push(text);
}

// ---------------------------------------------------------------------------------------------------------
// The adapter

interface Plan {
  /** Owner key of each `<chat>` (undefined: rejected before parsing). */
  owners: Array<string | undefined>;
  /** Earliest entry time of each `<chat>` still worth waiting for: the minimum over it and the owner's later ones. */
  waitFor: Array<Micros | undefined>;
  /** Next `<chat>` index of the same owner, or -1. */
  next: number[];
  /** Owner keys in order of first appearance, grouped into passes. */
  passes: string[][];
}

class Xep0136FileSource implements SourceAdapter {
  readonly displayName: string;
  readonly capabilities = { resume: 'skip' as const, delta: 'none' as const, kinds: KINDS };

  constructor(
    private readonly file: string,
    private readonly settings: Xep0136FileSettings,
  ) {
    this.displayName = `xep0136:${file}`;
  }

  streams(): StreamInfo[] {
    return [{ name: XEP0136_FILE_STREAM, kinds: KINDS }];
  }

  private parse(unit: ChatUnit, decoder: MarkingUtf8Decoder): ParsedChat {
    const location: SourceLocation = { source: this.displayName, file: this.file, line: unit.line, key: bareJidString(unit.owner!) };
    return collectionFromChat(unit.chat, unit.owner!, {
      location,
      entryLocation: (_, child) => {
        const position = unit.chat.children.filter((c) => typeof c !== 'string').indexOf(child);
        return { source: this.displayName, file: this.file, line: unit.childLines[position] ?? unit.line, key: location.key! };
      },
      timing: this.settings.timing,
      notes: this.settings.notes,
      hasInvalidText: (text) => decoder.sawInvalid && text.includes(INVALID_BYTE),
      inheritedNamespace: unit.namespace,
    });
  }

  private ownerReject(unit: ChatUnit): RecordError {
    return new RecordError('no-owner', `the <chat with=${JSON.stringify(unit.chat.attrs.with ?? null)}> at ${this.file}:${unit.line}: ${unit.ownerProblem}; not migrated`, {
      source: this.displayName,
      file: this.file,
      line: unit.line,
    });
  }

  /** First pass: each collection's owner and earliest time, and how the owners fall into passes. */
  private async plan(): Promise<Plan> {
    const owners: Array<string | undefined> = [];
    const earliest: Array<Micros | undefined> = [];
    const decoder = new MarkingUtf8Decoder();
    for await (const unit of chatsOf(this.file, this.settings, decoder)) {
      if (!unit.owner) {
        owners.push(undefined);
        earliest.push(undefined);
        continue;
      }
      owners.push(bareJidString(unit.owner));
      let min: Micros | undefined;
      for (const t of this.parse(unit, decoder).times) if (t !== undefined && (min === undefined || t < min)) min = t;
      earliest.push(min);
    }
    const next = owners.map(() => -1);
    const waitFor: Array<Micros | undefined> = owners.map(() => undefined);
    const lastSeen = new Map<string, number>();
    for (let i = owners.length - 1; i >= 0; i--) {
      const owner = owners[i];
      if (owner === undefined) continue;
      const after = lastSeen.get(owner);
      next[i] = after ?? -1;
      const later = after === undefined ? undefined : waitFor[after];
      const own = earliest[i];
      waitFor[i] = own === undefined ? later : later === undefined || own < later ? own : later;
      lastSeen.set(owner, i);
    }
    const order: string[] = [];
    let contiguous = true;
    let previous: string | undefined;
    for (const owner of owners) {
      if (owner === undefined) continue;
      if (owner !== previous && order.includes(owner)) contiguous = false;
      if (!order.includes(owner)) order.push(owner);
      previous = owner;
    }
    return { owners, waitFor, next, passes: contiguous ? [order] : order.map((o) => [o]) };
  }

  async *read(stream: string, after?: string): AsyncIterable<SourceItem> {
    if (stream !== XEP0136_FILE_STREAM) throw new UsageError(`the xep0136 source has one stream, ${JSON.stringify(XEP0136_FILE_STREAM)}, not ${JSON.stringify(stream)}`);
    const skip = after === undefined ? -1 : decodeCursor(after);
    const plan = await this.plan();
    // Items are numbered in the order they are produced, which the file fixes: the cursor is that number.
    let seq = 0;
    const emit = function* (items: Array<{ record: LegacyCollectionRecord } | { reject: RecordError }>): Generator<SourceItem> {
      for (const item of items) {
        const n = seq++;
        if (n <= skip) continue;
        yield 'record' in item ? { record: item.record, cursor: encodeCursor(n) } : { reject: item.reject, cursor: encodeCursor(n) };
      }
    };
    for (const [p, pass] of plan.passes.entries()) {
      const members = new Set(pass);
      const slicers = new Map<string, TimeOrderedSlicer>();
      const decoder = new MarkingUtf8Decoder();
      for await (const unit of chatsOf(this.file, this.settings, decoder)) {
        if (!unit.owner) {
          if (p === 0) yield* emit([{ reject: this.ownerReject(unit) }]);
          continue;
        }
        const owner = bareJidString(unit.owner);
        if (!members.has(owner)) continue;
        const parsed = this.parse(unit, decoder);
        yield* emit(parsed.rejects.map((reject) => ({ reject })));
        let slicer = slicers.get(owner);
        if (!slicer) slicers.set(owner, (slicer = new TimeOrderedSlicer()));
        if (parsed.record) slicer.add(parsed.record, parsed.times);
        const next = plan.next[unit.index]!;
        const ready = next === -1 ? slicer.drain() : slicer.drain(plan.waitFor[next]);
        if (next === -1) slicers.delete(owner);
        yield* emit(ready.map((record) => ({ record })));
      }
    }
  }

  async inventory(): Promise<SourceInventory> {
    const decoder = new MarkingUtf8Decoder();
    const owners = new Set<string>();
    const rejects: Record<string, number> = {};
    const ignored = new Map<string, number>();
    let chats = 0;
    let messages = 0;
    let notes = 0;
    let first: Micros | undefined;
    let last: Micros | undefined;
    for await (const unit of chatsOf(this.file, this.settings, decoder)) {
      chats++;
      if (!unit.owner) {
        rejects['no-owner'] = (rejects['no-owner'] ?? 0) + 1;
        continue;
      }
      const parsed = this.parse(unit, decoder);
      for (const r of parsed.rejects) rejects[r.code] = (rejects[r.code] ?? 0) + 1;
      for (const [name, n] of parsed.ignored) ignored.set(name, (ignored.get(name) ?? 0) + n);
      if (!parsed.record) continue;
      owners.add(bareJidString(unit.owner));
      parsed.record.entries.forEach((entry, i) => {
        const t = parsed.times[i];
        if (t === undefined) return;
        if (entry.direction === 'note') notes++;
        else messages++;
        if (first === undefined || t < first) first = t;
        if (last === undefined || t > last) last = t;
      });
    }
    const noteLines = [
      `${chats} <chat> collection(s) of ${owners.size} owner(s): ${messages} message(s)${notes ? `, ${notes} note(s)` : ''}; secs read as ${this.settings.timing === 'start' ? 'counting from the collection start (timing=start)' : 'counting from the previous message (the XEP; pass timing=start for files from Tigase, ejabberd mod_archive_odbc or mod_archive2)'}`,
    ];
    if (notes) noteLines.push(this.settings.notes === 'skip' ? `${notes} note(s) are not migrated (notes=skip, the default)` : `${notes} note(s) become messages to self (notes=self-message)`);
    for (const [name, n] of ignored) noteLines.push(`ignored ${n} × ${name}: not messages`);
    if (decoder.sawInvalid) noteLines.push('the file holds bytes that are not UTF-8: the entries holding them are rejected');
    const inventory: SourceInventory = {
      description: `XEP-0136 collections file (${this.file})`,
      counts: { 'archived-message': messages + (this.settings.notes === 'self-message' ? notes : 0) },
      owners: { 'archived-message': owners.size },
      credentials: { none: 0 },
      rejects,
      cannotProvide: [{ kind: 'account', reason: 'a file of XEP-0136 collections holds message archives only', advice: "migrate the rest from the server's own storage or a XEP-0227 export" }],
      notes: noteLines,
    };
    if (first !== undefined && last !== undefined) inventory.archiveSpan = { first, last };
    return inventory;
  }

  async close(): Promise<void> {
    // Every read opens and closes its own file handle.
  }
}

function encodeCursor(seq: number): string {
  return String(seq).padStart(12, '0');
}

function decodeCursor(cursor: string): number {
  if (!/^\d{12}$/.test(cursor)) throw new UsageError(`cursor ${JSON.stringify(cursor)} was not produced by the xep0136 source`);
  return Number(cursor);
}

export const xep0136FileAdapter: SourceAdapterDefinition = {
  schemes: ['xep0136'],
  summary: 'a file of XEP-0136 <chat> collections retrieved over the protocol (owner from the file or --source-option owner=)',
  example: 'xep0136:./alice-collections.xml',
  async open(location: string, options: SourceOptions): Promise<SourceAdapter> {
    const settings = parseXep0136FileSettings(options.settings);
    await assertSourceFile('xep0136', location, './collections.xml');
    return new Xep0136FileSource(location, settings);
  },
};
