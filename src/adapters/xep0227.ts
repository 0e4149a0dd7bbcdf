// XEP-0227 Portable Import/Export Format, v1.1 (`urn:xmpp:pie:0`) and the pre-1.0 namespace, streamed.
// https://xmpp.org/extensions/xep-0227.html · producer quirks: shared/docs/storage-facts.md §6.1, §2.6
//
// The reader never holds more than one <user> subtree, and not even that for the bulky parts: each archive
// <result> and each offline <message> is built, turned into a record and released as it closes. Files
// split with <xi:include href> are followed in document order, wherever the include sits (server-data,
// host), relative to the including file.
//
// A break in the XML (not well-formed, a </user> missing, the file cut off) costs what it breaks and no
// more: one reject says what of that user was emitted already and what is skipped, and reading goes on at
// the next <user>, <host>, </host>, </server-data> or <xi:include> (see PieFileParser). Only a file that
// does not start as XML, is not UTF-8 or is not XEP-0227 ends the read with a SourceError.
import { quickScanXep0227 } from './xep0227-quick-scan.js';
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SaxesAttributeNS, SaxesParser, type SaxesTagNS } from 'saxes';
import { RecordError, SourceError, UsageError } from '../errors.js';
import { type Jid, JidError, normaliseDomain, normaliseJid, normaliseLocal, parseJid } from '../jid.js';
import type {
  AccountRecord,
  Ask,
  BareJid,
  Credential,
  Micros,
  MigrationRecord,
  PrivacyItem,
  RecordKind,
  RosterItemRecord,
  ScramAlgorithm,
  ScramHash,
  SourceLocation,
  Subscription,
} from '../records.js';
import { SCRAM_ALGORITHMS, bareJidString, credentialShape } from '../records.js';
import { Element, childElements, serializeXml } from '../xml/element.js';
import {
  NS_CLIENT,
  NS_DELAY,
  NS_DELAY_LEGACY,
  NS_FORWARD,
  NS_MAM_TMP,
  NS_PIE,
  NS_PIE_LEGACY,
  NS_PIE_MAM,
  NS_PIE_SCRAM,
  NS_PRIVACY,
  NS_PRIVATE,
  NS_PUBSUB,
  NS_PUBSUB_OWNER,
  NS_ROSTER,
  NS_SID,
  NS_VCARD,
  NS_XINCLUDE,
} from '../xml/namespaces.js';
import type {
  NotProvided,
  SourceAdapter,
  SourceAdapterDefinition,
  SourceInventory,
  SourceItem,
  SourceOptions,
  StreamInfo,
} from './source-adapter.js';
import { assertSourceFile } from './source-file.js';

/** Prosody's mod_storage_xep0227 writes extra account fields as attributes in this namespace. */
const NS_PROSODY_EXTENDED = 'http://prosody.im/protocol/extended-xep0227';
const NS_SERVER = 'jabber:server';

/** The one stream: every kind, one user at a time, so a file is read once. */
export const XEP0227_STREAM = 'users';
const KINDS: RecordKind[] = [
  'account',
  'roster-item',
  'vcard',
  'private-xml',
  'privacy-list',
  'pep-item',
  'offline-message',
  'archived-message',
];
/** Read size; a few of these are all the file data in memory at once. */
const CHUNK_BYTES = 256 * 1024;
const EXCERPT_CHARS = 300;

// ---------------------------------------------------------------------------------------------------------
// Settings (`--source-option key=value`)

export interface Xep0227Settings {
  /**
   * ejabberd's export_piefxis writes SCRAM values as base64 of its own base64 strings. 'auto' (default)
   * decodes twice when the first decoding is itself base64 of a key of the right length for the hash.
   */
  scramDoubleBase64: 'auto' | 'yes' | 'no';
  /**
   * The Openfire User Import/Export plugin writes the user name as the password when it cannot decrypt it.
   * 'none' (default): such a password is not migrated (the account gets no credential unless it has SCRAM);
   * 'keep': migrate it as a plain password.
   */
  passwordEqualsUsername: 'none' | 'keep';
  /** Split each <group> text at this separator (for exports that join several groups into one). */
  splitGroups: string | undefined;
  /** The domain for <user> elements outside any <host jid> (a file per user opened on its own). */
  domain: string | undefined;
}

const SETTING_KEYS = ['scram-double-base64', 'password-equals-username', 'split-groups', 'domain'];

export function parseXep0227Settings(settings: Record<string, string>): Xep0227Settings {
  for (const key of Object.keys(settings)) {
    if (!SETTING_KEYS.includes(key)) {
      throw new UsageError(`unknown xep0227 source option ${JSON.stringify(key)}: expected one of ${SETTING_KEYS.join(', ')}`);
    }
  }
  const double = settings['scram-double-base64'] ?? 'auto';
  if (double !== 'auto' && double !== 'yes' && double !== 'no') {
    throw new UsageError(`xep0227 option scram-double-base64=${double}: expected auto, yes or no`);
  }
  const same = settings['password-equals-username'] ?? 'none';
  if (same !== 'none' && same !== 'keep') {
    throw new UsageError(`xep0227 option password-equals-username=${same}: expected none or keep`);
  }
  const split = settings['split-groups'];
  if (split === '') throw new UsageError('xep0227 option split-groups needs a separator, e.g. split-groups=,');
  let domain = settings.domain;
  if (domain !== undefined) {
    try {
      domain = normaliseDomain(domain);
    } catch (err) {
      throw new UsageError(`xep0227 option domain=${domain}: ${(err as Error).message}`);
    }
  }
  return { scramDoubleBase64: double, passwordEqualsUsername: same, splitGroups: split, domain };
}

// ---------------------------------------------------------------------------------------------------------
// Cursors: `E[/E…].UUUUUUUUUU.SSSSSS`. E is the entry path: each <user>, <xi:include> or stray reject is an entry
// of its file, numbered in document order, and an included file's entries extend the path of its include.
// U is the unit within a user (its start, each direct child, each archive or offline item, its end) and S
// the item within the unit. Every number is zero-padded, so string order is read order.

/** An entry's place: entry numbers from the top file down through the includes. */
type EntryPath = readonly number[];

interface Position {
  entry: EntryPath;
  unit: number;
  sub: number;
}

const BEFORE_ALL: Position = { entry: [-1], unit: 0, sub: 0 };
const LAST_UNIT = 0x7fffffff;

function encodeCursor(p: Position): string {
  const entry = p.entry.map((e) => String(e).padStart(10, '0')).join('/');
  return `${entry}.${String(p.unit).padStart(10, '0')}.${String(p.sub).padStart(6, '0')}`;
}

function decodeCursor(cursor: string): Position {
  const m = /^(\d{10}(?:\/\d{10})*)\.(\d{10})\.(\d{6})$/.exec(cursor);
  if (!m) throw new UsageError(`cursor ${JSON.stringify(cursor)} was not produced by the xep0227 source`);
  return { entry: (m[1] as string).split('/').map(Number), unit: Number(m[2]), sub: Number(m[3]) };
}

/** Document order of entries: a path sorts before the paths it is a prefix of. */
function compareEntries(a: EntryPath, b: EntryPath): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function isPrefix(prefix: EntryPath, path: EntryPath): boolean {
  return prefix.length <= path.length && prefix.every((e, i) => path[i] === e);
}

function comparePositions(a: Position, b: Position): number {
  return compareEntries(a.entry, b.entry) || a.unit - b.unit || a.sub - b.sub;
}

// ---------------------------------------------------------------------------------------------------------
// XEP-0082 date-times (and the XEP-0091 legacy form) to µs, without Date's millisecond limit.
// https://xmpp.org/extensions/xep-0082.html

const XEP0082_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;
const XEP0091_STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;
/** Java's Date.toString(), which old Openfire export plugins wrote as a delay stamp. */
const JAVA_DATE = /^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{1,2} \d{2}:\d{2}:\d{2} [A-Z]{2,5} \d{4}$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Parses an XMPP date-time into µs since the epoch; undefined when it is not one (or before 1970). */
export function parseXmppTimestamp(text: string): Micros | undefined {
  // Per archived message: no intermediate arrays, and BigInt only once (or for dates past 2255, beyond 2^53 µs).
  const m = XEP0082_DATETIME.exec(text) ?? XEP0091_STAMP.exec(text);
  if (!m) return undefined;
  const year = +m[1]!;
  const month = +m[2]!;
  const day = +m[3]!;
  const hour = +m[4]!;
  const minute = +m[5]!;
  const second = +m[6]!;
  if (year < 1970 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day < 1 || day > (month === 2 ? (leap ? 29 : 28) : DAYS_IN_MONTH[month - 1]!)) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const digits = m[7];
  // Digits past the µs are cut, as before: '.1234567' is .123456.
  const fraction = digits === undefined ? 0 : +(digits.length >= 6 ? digits.slice(0, 6) : digits.padEnd(6, '0'));
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z') {
    const zh = +zone.slice(1, 3);
    const zm = +zone.slice(4, 6);
    if (zh > 23 || zm > 59) return undefined;
    offsetMinutes = (zone.charCodeAt(0) === 45 /* - */ ? -1 : 1) * (zh * 60 + zm);
  }
  const micros = ms * 1000 + fraction - offsetMinutes * 60_000_000;
  if (Number.isSafeInteger(micros)) return micros < 0 ? undefined : BigInt(micros);
  const exact = BigInt(ms) * 1000n + BigInt(fraction) - BigInt(offsetMinutes) * 60_000_000n;
  return exact < 0n ? undefined : exact;
}

// ---------------------------------------------------------------------------------------------------------
// UTF-8: each chunk is decoded strictly (native, fast). Invalid bytes are never replaced silently: the
// decoder reports where they were, and the parser turns whatever they fall in into a reject.

interface DecodedChunk {
  text: string;
  /** Offsets in `text` of U+FFFD characters standing for invalid bytes, ascending. */
  invalidAt: number[];
}

class StrictUtf8Decoder {
  private readonly fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private readonly lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  private carry: Buffer | undefined;

  push(chunk: Buffer): DecodedChunk {
    const bytes = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const end = completeSequencesEnd(bytes);
    this.carry = end < bytes.length ? Buffer.from(bytes.subarray(end)) : undefined;
    return this.decode(bytes.subarray(0, end));
  }

  /** Bytes left at the end of the file: an incomplete sequence is invalid. */
  finish(): DecodedChunk {
    const rest = this.carry;
    this.carry = undefined;
    if (!rest || rest.length === 0) return { text: '', invalidAt: [] };
    return this.decode(rest);
  }

  private decode(bytes: Buffer): DecodedChunk {
    try {
      return { text: this.fatal.decode(bytes), invalidAt: [] };
    } catch {
      return this.decodeSlowly(bytes);
    }
  }

  private decodeSlowly(bytes: Buffer): DecodedChunk {
    let text = '';
    const invalidAt: number[] = [];
    let start = 0;
    let i = 0;
    while (i < bytes.length) {
      const length = validSequenceLength(bytes, i);
      if (length > 0) {
        i += length;
        continue;
      }
      text += this.lenient.decode(bytes.subarray(start, i));
      invalidAt.push(text.length);
      text += '\uFFFD';
      i += 1;
      start = i;
    }
    text += this.lenient.decode(bytes.subarray(start));
    return { text, invalidAt };
  }
}

/** The length of the valid UTF-8 sequence at `i`, or 0 when the bytes there are not one (RFC 3629). */
function validSequenceLength(b: Buffer, i: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const x = b[i + k];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** Where the last complete UTF-8 sequence ends, so a character split across chunks is decoded whole. */
function completeSequencesEnd(bytes: Buffer): number {
  const len = bytes.length;
  for (let i = len - 1; i >= Math.max(0, len - 4); i--) {
    const c = bytes[i] as number;
    if ((c & 0xc0) === 0x80) continue;
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return i + need > len ? i : len;
  }
  return len;
}

// ---------------------------------------------------------------------------------------------------------
// What the streaming parser hands on: small "units", each complete in itself.

interface Where {
  file: string;
  line: number;
  /** Only where a break in the XML is reported: the column saxes counts (characters, 1-based). */
  column?: number;
}

type Unit =
  /** A <user> whose records are read: its owner and start-tag attributes. */
  | { t: 'user-start'; entry: EntryPath; owner: BareJid; name: string; attrs: Record<string, string>; at: Where }
  /** A <user> that cannot be read at all (no name, bad JID, no host); its subtree was skipped. */
  | { t: 'user-reject'; entry: EntryPath; code: string; message: string; key: string | undefined; at: Where }
  /** A direct child of <user>, built whole (credentials, roster, vCard, private XML, …). */
  | { t: 'child'; entry: EntryPath; unit: number; el: Element; at: Where; invalidUtf8?: number }
  /** The first <archive> of a user starts: everything deferred so far is emitted before its items. */
  | { t: 'archive-start'; entry: EntryPath; unit: number; at: Where }
  /** One child of <archive> or <offline-messages>, built and released on its own. */
  | { t: 'leaf'; entry: EntryPath; unit: number; container: 'archive' | 'offline'; el: Element; at: Where; invalidUtf8?: number }
  /** Something in a user that is none of the above and still must be reported. */
  | { t: 'user-stray'; entry: EntryPath; unit: number; code: string; message: string; at: Where }
  | { t: 'user-end'; entry: EntryPath; unit: number; at: Where }
  | { t: 'include'; entry: EntryPath; href: string; parse: string | undefined; domain: DomainContext; at: Where }
  /** A reject outside any user (bad bytes or broken XML between users, …). */
  | { t: 'stray'; entry: EntryPath; code: string; message: string; at: Where; key?: string | undefined }
  /** The XML breaks inside a user (see `Break`): what of the user was read stays emitted, the rest is lost. */
  | UserBreak
  /** The file cannot be read at all: it does not start as XML, is not UTF-8 or is not XEP-0227. */
  | { t: 'fatal'; message: string; at: Where & { column: number } };

interface UserBreak {
  t: 'user-break';
  entry: EntryPath;
  key: string | undefined;
  label: string;
  state: UserRef['state'];
  kind: Break['kind'];
  problem: string;
  part: Part | undefined;
  /** Where reading goes on: "the next <user> at line 57". */
  until: string;
  at: Where;
}

/** The host a <user> belongs to, inherited through <host> and across includes. */
interface DomainContext {
  domain: string | undefined;
  /** Why the enclosing <host jid> is unusable, when it is. */
  error: string | undefined;
}

/** Facts the walk notices on the way, for `inventory()` (producer detection, what was skipped). */
interface Signals {
  files: string[];
  namespaces: Set<string>;
  archives: number;
  doubleBase64: number;
  singleBase64: number;
  emptyGroups: number;
  /** Roster items, and those with exactly one <group>: Openfire's plugin writes one for every item. */
  rosterItems: number;
  oneGroupItems: number;
  passwordIsUsername: number;
  javaDateStamps: number;
  prosodyExtended: number;
  pepConfig: number;
  lateProfileData: number;
  skipped: Map<string, number>;
}

function newSignals(): Signals {
  return {
    files: [],
    namespaces: new Set(),
    archives: 0,
    doubleBase64: 0,
    singleBase64: 0,
    emptyGroups: 0,
    rosterItems: 0,
    oneGroupItems: 0,
    passwordIsUsername: 0,
    javaDateStamps: 0,
    prosodyExtended: 0,
    pepConfig: 0,
    lateProfileData: 0,
    skipped: new Map(),
  };
}

function countSkipped(signals: Signals, what: string): void {
  signals.skipped.set(what, (signals.skipped.get(what) ?? 0) + 1);
}

/** Shared by every file of one read. */
interface WalkContext {
  source: string;
  settings: Xep0227Settings;
  resume: Position;
  signals: Signals;
}

const PIE_NAMESPACES = new Set([NS_PIE, NS_PIE_LEGACY, '']);

function isPie(tag: SaxesTagNS, local: string): boolean {
  return tag.local === local && PIE_NAMESPACES.has(tag.uri);
}

/** The direct children of <user> that become records (see UserAssembler.child). */
function isKnownUserChild(tag: SaxesTagNS): boolean {
  switch (tag.local) {
    case 'scram-credentials':
      return tag.uri === NS_PIE_SCRAM;
    case 'query':
      return tag.uri === NS_ROSTER || tag.uri === NS_PRIVATE || tag.uri === NS_PRIVACY;
    case 'presence':
      return tag.uri === NS_CLIENT || tag.uri === NS_SERVER || PIE_NAMESPACES.has(tag.uri);
    case 'vCard':
      return tag.uri === NS_VCARD;
    case 'pubsub':
      return tag.uri === NS_PUBSUB || tag.uri === NS_PUBSUB_OWNER;
    default:
      return false;
  }
}

interface Build {
  stack: Element[];
  uris: string[];
  kind: 'child' | 'leaf';
  container: 'archive' | 'offline' | undefined;
  unit: number;
  at: Where;
  invalidUtf8: number | undefined;
}

/** A <user> the parser is inside: read, rejected whole, or passed over because the read resumes after it. */
interface UserRef {
  entry: EntryPath;
  /** `local@domain` when known: the key of its rejects. */
  key: string | undefined;
  /** `<user name='…'>`, for messages. */
  label: string;
  /** Namespaces declared on its start tag: a <user> that starts inside it is reopened with them. */
  ns: Record<string, string>;
  state: 'read' | 'rejected' | 'passed';
}

interface OpenUser extends UserRef {
  depth: number;
  units: number;
  container: { kind: 'archive' | 'offline'; depth: number } | undefined;
  sawArchive: boolean;
}

/** <server-data> or <host> around the users: what a fresh parser must reopen after a break. */
interface OpenFrame {
  local: string;
  /** Its start tag cut down to the name and namespace declarations, which is all a fresh parser needs. */
  reopen: string;
  label: string;
  context: DomainContext;
}

/** A direct child of <user>, or an item of its archive or offline messages. */
interface Part {
  name: string;
  line: number;
}

/**
 * Where the XML of a file breaks: it is not well-formed there ('malformed'), it ends ('truncated'), or a
 * <user> starts inside a user whose </user> is missing ('unclosed'). Reported once reading can go on.
 */
interface Break {
  kind: 'malformed' | 'truncated' | 'unclosed';
  at: Where & { column: number };
  problem: string;
  /** The user the break is in; undefined for a break between users. */
  user: UserRef | undefined;
  /** The element of that user the break is in: what it started before is read, the rest is lost. */
  part: Part | undefined;
  /** Between users: the reject's key and message, given where reading goes on. */
  stray?: { key: string | undefined; message: (until: string) => string };
}

/** After a break: looking for where to start again. text[idx] of the current text is at line/column (0-based). */
interface Seek {
  broken: Break;
  idx: number;
  line: number;
  column: number;
  /** The end of the text searched last, when it may be the start of a resync point cut by the chunk edge. */
  tail: string;
}

/** What the last close event ended, to take it back when saxes then finds the close tag was the wrong one. */
type Undo =
  | { t: 'build'; build: Build }
  | { t: 'skip'; user: UserRef | undefined }
  | { t: 'user'; user: OpenUser }
  | { t: 'frame'; frame: OpenFrame };

type Sax = SaxesParser<{ xmlns: true; position: true; fileName: string; fragment: boolean }>;

/** Thrown from a saxes handler to stop that parser at a break; caught where the text is written to it. */
class ParserBreak extends Error {}
const BREAK = new ParserBreak('xep0227: the XML parser stopped at a break');

/**
 * Where reading can start again after a break, tested at each '<' after it: a user, a host, server data or
 * an include starts, or a host or the server data ends (the frames still open decide which end is usable).
 */
const RESYNC = /<(?:\/(?:[A-Za-z_][\w.-]*:)?(host|server-data)\s*>|(?:[A-Za-z_][\w.-]*:)?(user|host|server-data)(?=[\s/>])|[A-Za-z_][\w.-]*:(include)(?=[\s/>]))/y;
/** What a resync point may look like when the end of a chunk cuts it (a name and spaces: no bad bytes). */
const RESYNC_PREFIX = /^<\/?[\w.:-]{0,40}\s{0,20}$/;
/** A <user> or <host> start tag, for a break inside one: which user (or host) it costs. */
const BROKEN_START_TAG = /^<((?:[A-Za-z_][\w.-]*:)?(user|host))(?=[\s/>])([^<>]*)/;

/**
 * One file's push parser: saxes events in, units out (queued, drained by the walker after each chunk).
 * Elements are built only inside a <user>, and only for the parts the read still needs.
 *
 * When the XML breaks, the parser reports it and resynchronises: it finds the next place where reading
 * can start again (RESYNC) in the text after the break, and goes on there with a fresh saxes parser into
 * which the frames still open (<server-data>, <host>, with their namespace declarations) are replayed.
 * Everything depends on the text alone, never on where a read resumed, so every read of a file breaks,
 * numbers its entries and resynchronises the same way.
 */
class PieFileParser {
  readonly queue: Unit[] = [];
  failed = false;
  private sax: Sax;
  /** Lines and columns of the current saxes parser, which may have started mid-file: file line = lineBase + sax.line. */
  private lineBase = 0;
  /** On the current parser's first line: file column = columnBase + sax.column. */
  private columnBase = 0;
  /** Characters written to the current parser; text[i] is at its position i + textFed. */
  private fed = 0;
  private text = '';
  private textFed = 0;
  /** Where in `text` the current parser started (-1: in an earlier text). A new break is always looked past it. */
  private restartAt = -1;
  /** Written to a fresh parser before the text: the start tag of a <user> that was read already. */
  private preface = '';
  private seek: Seek | undefined;
  /** Where in `text` writing goes on after a break. */
  private continueAt = 0;
  private closing = false;
  /** The file's first element was seen: a break before it is fatal. */
  private rooted = false;
  private closeMark = 0;
  private undo: Undo | undefined;
  private depth = 0;
  private skipDepth = 0;
  private readonly frames: OpenFrame[] = [];
  private user: OpenUser | undefined;
  /** The user whose whole subtree skipDepth is skipping (rejected, or before the resume position). */
  private skipUser: UserRef | undefined;
  private build: Build | undefined;
  /** The part of the open user being read or skipped (valid while `build`, or `user` and `skipDepth`). */
  private partName = '';
  private partLine = 0;
  private pendingInvalid: number | undefined;
  private started = false;
  private nextEntry = 0;

  constructor(
    private readonly file: string,
    private readonly ctx: WalkContext,
    private readonly inherited: DomainContext,
    /** This file's entry path prefix: the path of the include that brought it in. */
    private readonly path: EntryPath,
  ) {
    this.sax = this.newSax(false);
    this.attach(this.sax);
  }

  write(chunk: DecodedChunk): void {
    if (this.failed) return;
    if (!this.started) {
      this.started = true;
      const encoding = /^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']/.exec(chunk.text.slice(0, 300))?.[1];
      if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) {
        this.fail(`the XML declaration says encoding="${encoding}"; only UTF-8 exports can be read (convert the file with iconv first)`);
        return;
      }
    }
    let text = chunk.text;
    let invalidAt = chunk.invalidAt;
    const seek = this.seek;
    if (seek !== undefined && seek.tail !== '') {
      // Only while looking for a resync point: the one copy of a chunk, for a tag cut by its edge.
      const shift = seek.tail.length;
      text = seek.tail + text;
      invalidAt = invalidAt.map((i) => i + shift);
      seek.tail = '';
    }
    this.restartAt = -1;
    let at = 0;
    for (;;) {
      if (this.failed) return;
      // Also when a break left nothing of this text to search: the search state moves on to the next one.
      if (this.seek !== undefined) at = this.resync(text, at);
      if (at < 0 || at >= text.length) return;
      at = this.feed(text, invalidAt, at);
    }
  }

  close(): void {
    if (this.failed) return;
    if (this.seek === undefined) {
      this.closing = true;
      this.text = '';
      try {
        if (this.preface !== '') {
          this.textFed = this.fed + this.preface.length;
          this.put(this.preface);
        }
        this.sax.close();
      } catch (err) {
        if (err !== BREAK) throw err;
      }
    }
    const seek = this.seek;
    if (seek !== undefined) {
      this.seek = undefined;
      this.queueBreak(seek.broken, 'the end of the file');
      return;
    }
    if (this.pendingInvalid !== undefined) this.takeInvalid();
  }

  private newSax(fragment: boolean): Sax {
    return new SaxesParser({ xmlns: true, position: true, fileName: this.file, fragment });
  }

  // Six handlers at most: with eight, V8 made the parser object a slow dictionary and parsing was 4× slower
  // (measured). So the XML declaration is checked on the first chunk's text, and processing instructions
  // get no handler.
  private attach(sax: Sax): void {
    sax.on('opentag', this.onOpenTag);
    sax.on('closetag', this.onCloseTag);
    sax.on('text', this.onTextNode);
    sax.on('cdata', this.onCdata);
    sax.on('comment', this.onComment);
    sax.on('error', this.onError);
  }

  private readonly onOpenTag = (tag: SaxesTagNS): void => this.onOpen(tag);
  private readonly onCloseTag = (): void => this.onClose();
  private readonly onTextNode = (text: string): void => this.onText(text);
  private readonly onCdata = (text: string): void => this.onText(text, true);
  private readonly onComment = (): void => {
    this.takeInvalid();
  };
  private readonly onError = (err: Error): void => {
    if (!this.failed) this.broke(err);
    throw BREAK;
  };

  /** Writes text[start…] to the parser. Returns text.length, or after a break the index where reading goes on. */
  private feed(text: string, invalidAt: readonly number[], start: number): number {
    const preface = this.preface;
    this.preface = '';
    this.text = text;
    this.textFed = this.fed + preface.length - start;
    let from = start;
    try {
      if (preface !== '') this.put(preface);
      for (const at of invalidAt) {
        if (at < from) continue;
        if (at > from) this.put(text.slice(from, at));
        if (this.failed) return text.length;
        // Whatever event comes next (the text, tag or comment holding the bad bytes) takes the mark.
        this.pendingInvalid ??= this.line();
        from = at;
      }
      if (from < text.length) this.put(from === 0 ? text : text.slice(from));
    } catch (err) {
      if (err !== BREAK) throw err;
      return this.failed ? text.length : this.continueAt;
    }
    return text.length;
  }

  private put(text: string): void {
    this.sax.write(text);
    this.fed += text.length;
  }

  private line(): number {
    return this.lineBase + this.sax.line;
  }

  private column(): number {
    return this.sax.line === 1 ? this.columnBase + this.sax.column : this.sax.column;
  }

  private newEntry(): EntryPath {
    return [...this.path, this.nextEntry++];
  }

  private where(): Where {
    return { file: this.file, line: this.line() };
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.queue.push({ t: 'fatal', message, at: { file: this.file, line: this.line(), column: this.column() } });
  }

  private domainContext(): DomainContext {
    return this.frames[this.frames.length - 1]?.context ?? this.inherited;
  }

  // -------------------------------------------------------------------------------------------------------
  // Breaks and resynchronisation.

  /** saxes found the XML not well-formed (or ended) here: decides what the break costs and where to look on. */
  private broke(err: Error): void {
    const own = err.message.startsWith(`${this.file}:`) ? err.message.slice(this.file.length + 1) : err.message;
    const reason = own.replace(/^\d+:\d+: /, '').replace(/\.$/, '');
    if (!this.rooted) {
      this.fail(reason);
      return;
    }
    // saxes closes the open element first and only then says the close tag was not its own.
    if (reason === 'unexpected close tag') this.undoClose();
    const text = this.text;
    const low = Math.max(0, this.restartAt);
    let idx = Math.max(0, Math.min(text.length, this.sax.position - this.textFed));
    let line = this.line();
    let column = this.column();
    let from = idx - 1;
    if (!this.closing && reason.includes('entity')) {
      // saxes reads an entity up to the next ';', however far: the break is at the '&' that started it.
      const amp = text.indexOf('&', Math.max(text.lastIndexOf(';', idx - 2) + 1, low));
      if (amp >= 0 && amp < idx - 1) {
        ({ line, column } = locate(text, idx, line, column, amp + 1));
        idx = amp + 1;
        from = amp;
      }
    } else if (reason === 'unexpected close tag') {
      // The close tag itself is the break, and may be where reading goes on (a </host> after a lost </user>).
      const lt = text.lastIndexOf('</', idx - 1);
      if (lt >= low) {
        ({ line, column } = locate(text, idx, line, column, lt + 1));
        idx = lt + 1;
        from = lt;
      }
    }
    const at = { file: this.file, line, column };
    const where = `${this.file}:${line}:${column}`;
    const owner: UserRef | undefined = this.user ?? this.skipUser;
    const part = this.user !== undefined && (this.build !== undefined || this.skipDepth > 0) ? { name: this.partName, line: this.partLine } : undefined;
    let broken: Break;
    if (owner !== undefined) {
      const problem = this.closing
        ? `file ends inside ${owner.label} at line ${line} (the export looks truncated): its remaining data is missing`
        : `not well-formed XML at ${where} (${reason})`;
      broken = { kind: this.closing ? 'truncated' : 'malformed', at, problem, user: owner, part };
    } else if (this.closing) {
      const inside = this.frames[this.frames.length - 1]?.label;
      const message = (): string =>
        `the file ends at line ${line}${inside === undefined ? '' : ` inside ${inside}`} (${reason}; the export looks truncated): whatever followed is missing`;
      broken = { kind: 'truncated', at, problem: '', user: undefined, part: undefined, stray: { key: undefined, message } };
    } else {
      broken = this.strayBreak(text, idx, low, at, reason);
    }
    this.seek = { broken, idx, line, column, tail: '' };
    this.continueAt = Math.max(from, this.restartAt + 1, 0);
  }

  /** A break between users; one inside a <user> or <host> start tag costs that user, or that host's users. */
  private strayBreak(text: string, idx: number, low: number, at: Where & { column: number }, reason: string): Break {
    const where = `${at.file}:${at.line}:${at.column}`;
    const lt = text.lastIndexOf('<', idx - 1);
    const gt = lt >= low ? text.indexOf('>', lt) : -1;
    const tag = lt >= low && (gt < 0 || gt >= idx - 1) ? BROKEN_START_TAG.exec(text.slice(lt, lt + 2000)) : null;
    const attribute = (name: string): string | undefined => new RegExp(`\\s${name}\\s*=\\s*(?:'([^']*)'|"([^"]*)")`).exec(tag?.[3] ?? '')?.slice(1).find((v) => v !== undefined);
    if (tag?.[2] === 'user') {
      const name = attribute('name');
      const label = name === undefined ? `<${tag[1]}>` : `<${tag[1]} name='${name}'>`;
      const domain = this.domainContext().domain ?? this.ctx.settings.domain;
      const key = name === undefined ? undefined : `${name}@${domain ?? '?'}`;
      const message = (until: string): string =>
        `${label} at line ${at.line}: not well-formed XML at ${where} (${reason}) in its start tag: the user is skipped, with everything up to ${until}`;
      return { kind: 'malformed', at, problem: '', user: undefined, part: undefined, stray: { key, message } };
    }
    if (tag?.[2] === 'host') {
      const jid = attribute('jid');
      const label = jid === undefined ? `<${tag[1]}>` : `<${tag[1]} jid='${jid}'>`;
      // Its users are still read, to be rejected one by one: a host's users are never lost silently.
      const error = `${label} at ${at.file}:${at.line}: its start tag is not well-formed XML (${reason})`;
      this.frames.push({ local: 'host', reopen: `<${tag[1]}>`, label, context: { domain: undefined, error } });
      const message = (until: string): string =>
        `${label} at line ${at.line}: not well-formed XML at ${where} (${reason}) in its start tag: its users are rejected (invalid-host); the data up to ${until} is skipped`;
      return { kind: 'malformed', at, problem: '', user: undefined, part: undefined, stray: { key: undefined, message } };
    }
    const message = (until: string): string => `not well-formed XML at ${where} (${reason}), outside any <user>: the data from line ${at.line} to ${until} is skipped`;
    return { kind: 'malformed', at, problem: '', user: undefined, part: undefined, stray: { key: undefined, message } };
  }

  /** Takes back the close event saxes then found to be the wrong close tag: its element is where the break is. */
  private undoClose(): void {
    this.queue.length = this.closeMark;
    const undo = this.undo;
    this.undo = undefined;
    if (undo === undefined) return;
    if (undo.t === 'build') this.build = undo.build;
    else if (undo.t === 'skip') {
      this.skipDepth = 1;
      this.skipUser = undo.user;
    } else if (undo.t === 'user') this.user = undo.user;
    else this.frames.push(undo.frame);
  }

  /** Looks for the next resync point from text[from]; when found, reports the break and restarts there. */
  private resync(text: string, from: number): number {
    const seek = this.seek as Seek;
    for (let lt = text.indexOf('<', from); lt >= 0; lt = text.indexOf('<', lt + 1)) {
      RESYNC.lastIndex = lt;
      const m = RESYNC.exec(text);
      if (m === null) continue;
      const what = this.reopenAt(m);
      if (what === undefined) continue;
      const at = locate(text, seek.idx, seek.line, seek.column, lt);
      this.seek = undefined;
      // Bad bytes before here are in the part the break skipped, and reported with it.
      this.pendingInvalid = undefined;
      this.queueBreak(seek.broken, `${what} at line ${at.line}`);
      this.restart(at, lt, '');
      return lt;
    }
    const lt = text.lastIndexOf('<');
    const keep = lt >= from && text.length - lt <= 64 && RESYNC_PREFIX.test(text.slice(lt)) ? lt : text.length;
    const at = locate(text, seek.idx, seek.line, seek.column, keep);
    seek.idx = 0;
    seek.line = at.line;
    seek.column = at.column;
    seek.tail = text.slice(keep);
    return -1;
  }

  /** Whether reading can start again at this resync point, with which frames; describes it for the reject. */
  private reopenAt(m: RegExpExecArray): string | undefined {
    const [, closing, opening, include] = m;
    const innermost = (local: string): number => {
      for (let i = this.frames.length - 1; i >= 0; i--) if ((this.frames[i] as OpenFrame).local === local) return i;
      return -1;
    };
    if (closing !== undefined) {
      // Only the end of a frame that is open: it closes that frame (and any inside it whose end was lost).
      const i = innermost(closing);
      if (i < 0) return undefined;
      this.frames.length = i + 1;
      return `</${closing}>`;
    }
    if (opening === 'host') {
      const i = innermost('host');
      if (i >= 0) this.frames.length = i;
      return 'the next <host>';
    }
    if (opening === 'server-data') {
      this.frames.length = 0;
      return '<server-data>';
    }
    return opening === 'user' ? 'the next <user>' : `the next <xi:${include}>`;
  }

  /** A fresh parser for the text from text[textIndex] (at line/column `at`), inside the frames still open. */
  private restart(at: { line: number; column: number }, textIndex: number, preface: string): void {
    const sax = this.newSax(this.frames.length === 0);
    let prefix = '';
    for (const frame of this.frames) prefix += frame.reopen;
    // The frames are open already: their start tags are replayed before the handlers are attached.
    if (prefix !== '') sax.write(prefix);
    this.attach(sax);
    this.sax = sax;
    this.fed = prefix.length;
    this.preface = preface;
    this.lineBase = at.line - 1;
    this.columnBase = at.column - codePoints(prefix, 0, prefix.length) - codePoints(preface, 0, preface.length);
    this.restartAt = textIndex;
    this.depth = this.frames.length;
    this.skipDepth = 0;
    this.user = undefined;
    this.skipUser = undefined;
    this.build = undefined;
    this.undo = undefined;
  }

  private queueBreak(broken: Break, until: string): void {
    const user = broken.user;
    if (user !== undefined) {
      this.queue.push({
        t: 'user-break',
        entry: user.entry,
        key: user.key,
        label: user.label,
        state: user.state,
        kind: broken.kind,
        problem: broken.problem,
        part: broken.part,
        until,
        at: broken.at,
      });
      return;
    }
    const stray = broken.stray as NonNullable<Break['stray']>;
    const code = broken.kind === 'truncated' ? 'truncated-file' : 'malformed-xml';
    this.queue.push({ t: 'stray', entry: this.newEntry(), code, message: stray.message(until), at: broken.at, key: stray.key });
  }

  /**
   * A <user> starts directly inside a user: the outer one's </user> is missing. The outer user ends there
   * (with a reject), and the inner one is read as the next user, its start tag replayed into a fresh parser.
   */
  private unclosedUser(tag: SaxesTagNS, outer: UserRef): never {
    const line = this.line();
    const column = this.column();
    const label = userLabel(tag);
    this.queueBreak(
      {
        kind: 'unclosed',
        at: { file: this.file, line, column },
        problem: `${label} starts at ${this.file}:${line} inside this user, whose </user> is missing`,
        user: outer,
        part: undefined,
      },
      `${label} at line ${line}`,
    );
    const continueAt = this.sax.position - this.textFed;
    this.restart({ line, column }, continueAt, reopenStartTag(tag, outer.ns));
    this.continueAt = continueAt;
    throw BREAK;
  }

  // -------------------------------------------------------------------------------------------------------
  // Events.

  /** Assigns pending invalid bytes to what holds them: the element being built, the user, or the file. */
  private takeInvalid(opening?: 'user'): boolean {
    const line = this.pendingInvalid;
    if (line === undefined) return false;
    this.pendingInvalid = undefined;
    if (opening === 'user') return true;
    if (this.skipDepth > 0) return false;
    if (this.build) {
      this.build.invalidUtf8 ??= line;
      return false;
    }
    const message = `invalid UTF-8 bytes near line ${line}`;
    if (this.user) {
      const unit = ++this.user.units;
      this.queue.push({ t: 'user-stray', entry: this.user.entry, unit, code: 'invalid-utf8', message, at: { file: this.file, line } });
    } else {
      this.queue.push({ t: 'stray', entry: this.newEntry(), code: 'invalid-utf8', message, at: { file: this.file, line } });
    }
    return false;
  }

  private onOpen(tag: SaxesTagNS): void {
    if (this.failed) return;
    this.depth++;
    if (this.skipDepth > 0) {
      if (this.skipDepth === 1 && this.skipUser !== undefined && isPie(tag, 'user')) this.unclosedUser(tag, this.skipUser);
      this.takeInvalid();
      this.skipDepth++;
      return;
    }
    if (this.build) {
      this.takeInvalid();
      this.appendElement(tag);
      return;
    }
    if (this.user) {
      this.openInUser(tag, this.user);
      return;
    }
    this.openStructural(tag);
  }

  private openStructural(tag: SaxesTagNS): void {
    const first = !this.rooted;
    this.rooted = true;
    this.ctx.signals.namespaces.add(tag.uri);
    if (isPie(tag, 'user')) {
      this.openUser(tag);
      return;
    }
    this.takeInvalid();
    if (isPie(tag, 'server-data')) {
      this.frames.push({ local: 'server-data', reopen: reopenFrame(tag), label: `<${tag.name}>`, context: this.domainContext() });
      return;
    }
    if (isPie(tag, 'host')) {
      const raw = tag.attributes.jid?.value;
      let context: DomainContext;
      if (raw === undefined) context = { domain: undefined, error: `<host> at ${this.file}:${this.line()} has no jid attribute` };
      else {
        try {
          const jid = parseJid(raw);
          context =
            jid.local === '' && jid.resource === ''
              ? { domain: jid.domain, error: undefined }
              : { domain: undefined, error: `<host jid='${raw}'> is not a domain` };
        } catch (err) {
          context = { domain: undefined, error: `<host jid='${raw}'>: ${(err as Error).message}` };
        }
      }
      const label = raw === undefined ? `<${tag.name}>` : `<${tag.name} jid='${raw}'>`;
      this.frames.push({ local: 'host', reopen: reopenFrame(tag), label, context });
      return;
    }
    if (tag.local === 'include' && tag.uri === NS_XINCLUDE) {
      const href = tag.attributes.href?.value ?? '';
      this.queue.push({
        t: 'include',
        entry: this.newEntry(),
        href,
        parse: tag.attributes.parse?.value,
        domain: this.domainContext(),
        at: this.where(),
      });
      this.skipDepth = 1; // <xi:fallback> is not used: a missing file is an error, not an alternative.
      return;
    }
    if (this.depth === 1 && first) {
      this.fail(`the root element <${tag.name} xmlns='${tag.uri}'> is not XEP-0227 (<server-data>, <host> or <user> in ${NS_PIE})`);
      return;
    }
    countSkipped(this.ctx.signals, `<${tag.local} xmlns='${tag.uri}'> outside any <user>`);
    this.skipDepth = 1;
  }

  private openUser(tag: SaxesTagNS): void {
    const entry = this.newEntry();
    const invalid = this.takeInvalid('user');
    const label = userLabel(tag);
    if (compareEntries(entry, this.ctx.resume.entry) < 0) {
      this.skipUser = { entry, key: undefined, label, ns: tag.ns, state: 'passed' };
      this.skipDepth = 1;
      return;
    }
    const at = this.where();
    const name = tag.attributes.name?.value;
    const domain = this.domainContext();
    const reject = (code: string, message: string, key?: string): void => {
      this.queue.push({ t: 'user-reject', entry, code, message, key, at });
      this.skipUser = { entry, key, label, ns: tag.ns, state: 'rejected' };
      this.skipDepth = 1;
    };
    const userDomain = domain.domain ?? (domain.error === undefined ? this.ctx.settings.domain : undefined);
    if (invalid) return reject('invalid-utf8', `invalid UTF-8 bytes in the <user> start tag near line ${at.line}: the user and everything in it is skipped`);
    if (name === undefined || name === '') return reject('user-without-name', '<user> has no name attribute: the user and everything in it is skipped');
    const rawKey = `${name}@${userDomain ?? '?'}`;
    if (userDomain === undefined) {
      return reject(
        domain.error ? 'invalid-host' : 'no-host',
        domain.error ?? `<user name='${name}'> is in no <host jid>: pass --source-option domain=<domain> to read a file per user on its own`,
        rawKey,
      );
    }
    let local: string;
    try {
      local = normaliseLocal(name);
      if (local.includes('@')) throw new JidError(`invalid user name ${JSON.stringify(name)}`);
    } catch (err) {
      return reject('invalid-jid', `<user name='${name}'>: ${(err as Error).message}`, rawKey);
    }
    const attrs: Record<string, string> = {};
    for (const attr of Object.values(tag.attributes)) {
      if (attr.prefix === 'xmlns' || attr.name === 'xmlns') continue;
      if (attr.uri === NS_PROSODY_EXTENDED) {
        this.ctx.signals.prosodyExtended++;
        attrs[`prosody:${attr.local}`] = attr.value;
      } else if (attr.uri === '') attrs[attr.local] = attr.value;
    }
    const owner = { local, domain: userDomain };
    this.user = { entry, key: bareJidString(owner), label, ns: tag.ns, state: 'read', depth: this.depth, units: 0, container: undefined, sawArchive: false };
    this.queue.push({ t: 'user-start', entry, owner, name, attrs, at });
  }

  private openInUser(tag: SaxesTagNS, user: OpenUser): void {
    if (this.depth === user.depth + 1 && isPie(tag, 'user')) this.unclosedUser(tag, user);
    const resumeHere = compareEntries(user.entry, this.ctx.resume.entry) === 0;
    if (user.container && this.depth === user.container.depth + 1) {
      const unit = ++user.units;
      // Each archive or offline item yields exactly one item, so when resuming inside this user the items
      // at or before the cursor need not be built at all.
      if (resumeHere && unit <= this.ctx.resume.unit) {
        this.takeInvalid();
        this.skipPart(tag);
        return;
      }
      this.startBuild(tag, 'leaf', user.container.kind, unit);
      return;
    }
    if (tag.local === 'archive' && (tag.uri === NS_PIE_MAM || PIE_NAMESPACES.has(tag.uri))) {
      this.takeInvalid();
      this.ctx.signals.archives++;
      user.container = { kind: 'archive', depth: this.depth };
      if (!user.sawArchive) {
        user.sawArchive = true;
        this.queue.push({ t: 'archive-start', entry: user.entry, unit: ++user.units, at: this.where() });
      }
      return;
    }
    if (isPie(tag, 'offline-messages')) {
      this.takeInvalid();
      user.container = { kind: 'offline', depth: this.depth };
      return;
    }
    if (tag.local === 'include' && tag.uri === NS_XINCLUDE) {
      this.takeInvalid();
      this.queue.push({
        t: 'user-stray',
        entry: user.entry,
        unit: ++user.units,
        code: 'unsupported-include',
        message: '<xi:include> inside a <user> is not supported: include whole users, hosts or server-data',
        at: this.where(),
      });
      this.skipPart(tag);
      return;
    }
    if (!isKnownUserChild(tag)) {
      // Not built at all: an unknown element may be as large as an archive.
      this.takeInvalid();
      countSkipped(this.ctx.signals, `<${tag.local} xmlns='${tag.uri}'> in <user>`);
      this.skipPart(tag);
      return;
    }
    this.startBuild(tag, 'child', undefined, ++user.units);
  }

  private skipPart(tag: SaxesTagNS): void {
    this.partName = tag.name;
    this.partLine = this.line();
    this.skipDepth = 1;
  }

  private startBuild(tag: SaxesTagNS, kind: 'child' | 'leaf', container: 'archive' | 'offline' | undefined, unit: number): void {
    const at = this.where();
    this.build = { stack: [], uris: [], kind, container, unit, at, invalidUtf8: undefined };
    this.partName = tag.name;
    this.partLine = at.line;
    this.takeInvalid();
    this.appendElement(tag);
  }

  /** Builds an ltx element; its namespace becomes an explicit xmlns wherever it differs from its parent's. */
  private appendElement(tag: SaxesTagNS): void {
    const build = this.build as Build;
    const parentUri = build.uris[build.uris.length - 1];
    const attrs: Record<string, string> = {};
    if (parentUri === undefined ? tag.uri !== '' : tag.uri !== parentUri) attrs.xmlns = tag.uri;
    for (const key in tag.attributes) {
      const attr = tag.attributes[key]!;
      if (attr.prefix === 'xmlns' || attr.name === 'xmlns') continue;
      attrs[attr.name] = attr.value;
      // Prefixes are resolved here, so a detached element stays well-formed on its own.
      if (attr.prefix !== '' && attr.prefix !== 'xml') attrs[`xmlns:${attr.prefix}`] = attr.uri;
    }
    const el = new Element(tag.local, attrs);
    const parent = build.stack[build.stack.length - 1];
    if (parent) {
      el.parent = parent;
      parent.children.push(el);
    }
    build.stack.push(el);
    build.uris.push(tag.uri);
  }

  private onClose(): void {
    if (this.failed) return;
    this.depth--;
    this.takeInvalid();
    this.closeMark = this.queue.length;
    this.undo = undefined;
    if (this.skipDepth > 0) {
      if (--this.skipDepth === 0) {
        this.undo = { t: 'skip', user: this.skipUser };
        this.skipUser = undefined;
      }
      return;
    }
    const build = this.build;
    if (build) {
      const el = build.stack.pop() as Element;
      build.uris.pop();
      dropLayoutWhitespace(el);
      if (build.stack.length > 0) return;
      this.build = undefined;
      this.undo = { t: 'build', build };
      const user = this.user as OpenUser;
      if (build.kind === 'child') {
        this.queue.push({ t: 'child', entry: user.entry, unit: build.unit, el, at: build.at, invalidUtf8: build.invalidUtf8 });
      } else {
        this.queue.push({
          t: 'leaf',
          entry: user.entry,
          unit: build.unit,
          container: build.container as 'archive' | 'offline',
          el,
          at: build.at,
          invalidUtf8: build.invalidUtf8,
        });
      }
      return;
    }
    const user = this.user;
    if (user) {
      if (user.container && this.depth === user.container.depth - 1) {
        user.container = undefined;
        return;
      }
      if (this.depth === user.depth - 1) {
        this.queue.push({ t: 'user-end', entry: user.entry, unit: ++user.units, at: this.where() });
        this.user = undefined;
        this.undo = { t: 'user', user };
      }
      return;
    }
    const frame = this.frames.pop();
    if (frame !== undefined) this.undo = { t: 'frame', frame };
  }

  private onText(text: string, cdata = false): void {
    if (this.failed) return;
    this.takeInvalid();
    const build = this.build;
    if (!build || this.skipDepth > 0) return;
    const parent = build.stack[build.stack.length - 1] as Element;
    const last = parent.children[parent.children.length - 1];
    if (typeof last === 'string') parent.children[parent.children.length - 1] = last + text;
    else if (text !== '' || cdata) parent.children.push(text);
  }
}

function userLabel(tag: SaxesTagNS): string {
  const name = tag.attributes.name?.value;
  return name === undefined ? `<${tag.name}>` : `<${tag.name} name='${name}'>`;
}

function escapeAttribute(value: string): string {
  return value.replace(/[&<'"\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function namespaceDeclarations(ns: Record<string, string>, except?: Record<string, string>): string {
  let out = '';
  for (const prefix in ns) {
    if (except !== undefined && prefix in except) continue;
    out += `${prefix === '' ? ' xmlns' : ` xmlns:${prefix}`}='${escapeAttribute(ns[prefix] as string)}'`;
  }
  return out;
}

/** A frame's start tag for a fresh parser: the name and the namespaces it declares. */
function reopenFrame(tag: SaxesTagNS): string {
  return `<${tag.name}${namespaceDeclarations(tag.ns)}>`;
}

/** A start tag already read, written again: its attributes, and the namespaces it inherited from `outer`. */
function reopenStartTag(tag: SaxesTagNS, outer: Record<string, string>): string {
  let out = `<${tag.name}`;
  for (const name in tag.attributes) out += ` ${name}='${escapeAttribute((tag.attributes[name] as SaxesAttributeNS).value)}'`;
  out += namespaceDeclarations(outer, tag.ns);
  return `${out}${tag.isSelfClosing ? '/>' : '>'}`;
}

/** Characters as saxes counts columns: a surrogate pair is one. */
function codePoints(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

/** Line breaks as saxes counts them: \n, \r\n and a lone \r. */
function isLineBreak(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10);
}

/** The line breaks in text[from, to) and the index just after the last one (-1 when none). */
function lineBreaks(text: string, from: number, to: number): { count: number; after: number } {
  let count = 0;
  let after = -1;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) {
    count++;
    after = i + 1;
  }
  for (let i = text.indexOf('\r', from); i >= 0 && i < to; i = text.indexOf('\r', i + 1)) {
    if (text.charCodeAt(i + 1) === 10) continue;
    count++;
    after = Math.max(after, i + 1);
  }
  return { count, after };
}

/** The line and 0-based column of text[to], given those of text[from]. */
function locate(text: string, from: number, line: number, column: number, to: number): { line: number; column: number } {
  if (to >= from) {
    const { count, after } = lineBreaks(text, from, to);
    return count === 0 ? { line, column: column + codePoints(text, from, to) } : { line: line + count, column: codePoints(text, after, to) };
  }
  const { count } = lineBreaks(text, to, from);
  if (count === 0) return { line, column: column - codePoints(text, to, from) };
  let start = to;
  while (start > 0 && !isLineBreak(text, start - 1)) start--;
  // When the line starts before this text, the column is counted from the text's start: a lower bound.
  return { line: line - count, column: codePoints(text, start, to) };
}

/**
 * Line breaks and indentation between child elements are the export's pretty-printing, not content. A
 * <body> of spaces (no element children) and a space between inline XHTML-IM elements keep their text.
 */
function dropLayoutWhitespace(el: Element): void {
  const children = el.children;
  if (children.length < 2 || !children.some((c) => typeof c !== 'string')) return;
  if (!children.some(isIndentation)) return;
  el.children = children.filter((c) => !isIndentation(c));
}

function isIndentation(node: Element | string): boolean {
  return typeof node === 'string' && node.includes('\n') && node.trim() === '';
}

/**
 * Streams one file's units, following includes where they appear. `stack` holds the absolute paths of the
 * files being read, to refuse include cycles.
 */
async function* walkFile(file: string, ctx: WalkContext, inherited: DomainContext, stack: string[], path: EntryPath): AsyncGenerator<Unit> {
  const absolute = resolvePath(file);
  if (stack.includes(absolute)) {
    throw new SourceError('include-cycle', `${file} includes itself (through ${stack.map((f) => basename(f)).join(' → ')}): fix the <xi:include> elements`);
  }
  ctx.signals.files.push(file);
  const parser = new PieFileParser(file, ctx, inherited, path);
  const decoder = new StrictUtf8Decoder();
  const input = createReadStream(file, { highWaterMark: CHUNK_BYTES });
  let first = true;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let decoded = decoder.push(chunk);
      if (first) {
        first = false;
        if (decoded.text.charCodeAt(0) === 0xfeff) decoded = { text: decoded.text.slice(1), invalidAt: decoded.invalidAt.map((i) => i - 1) };
      }
      parser.write(decoded);
      yield* drain(parser, file, ctx, [...stack, absolute]);
      if (parser.failed) return;
    }
    parser.write(decoder.finish());
    parser.close();
    yield* drain(parser, file, ctx, [...stack, absolute]);
  } catch (err) {
    if (err instanceof SourceError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new SourceError('unreadable-file', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    throw err;
  } finally {
    input.destroy();
  }
}

async function* drain(parser: PieFileParser, file: string, ctx: WalkContext, stack: string[]): AsyncGenerator<Unit> {
  // Units are taken one by one: an include runs a whole file before the next unit of this one.
  for (let i = 0; i < parser.queue.length; i++) {
    const unit = parser.queue[i] as Unit;
    if (unit.t === 'include') yield* followInclude(unit, file, ctx, stack);
    else yield unit;
  }
  parser.queue.length = 0;
}

async function* followInclude(unit: Extract<Unit, { t: 'include' }>, file: string, ctx: WalkContext, stack: string[]): AsyncGenerator<Unit> {
  const at = `${unit.at.file}:${unit.at.line}`;
  // Resuming past this whole file: it need not even be opened.
  if (compareEntries(unit.entry, ctx.resume.entry) < 0 && !isPrefix(unit.entry, ctx.resume.entry)) return;
  if (unit.parse !== undefined && unit.parse !== 'xml') {
    yield { t: 'stray', entry: unit.entry, code: 'unsupported-include', message: `<xi:include parse='${unit.parse}'> at ${at} is not XML: skipped`, at: unit.at };
    return;
  }
  let target: string;
  if (/^file:/i.test(unit.href)) target = fileURLToPath(unit.href);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(unit.href)) {
    throw new SourceError('unsupported-include', `<xi:include href='${unit.href}'> at ${at}: only local files can be included; download it and point href at the copy`);
  } else if (unit.href === '') {
    throw new SourceError('unsupported-include', `<xi:include> at ${at} has no href`);
  } else target = isAbsolute(unit.href) ? unit.href : join(dirname(file), unit.href);
  try {
    await access(target);
  } catch (err) {
    throw new SourceError('include-not-found', `<xi:include href='${unit.href}'> at ${at}: ${target} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); the export is incomplete without it`, { cause: err });
  }
  yield* walkFile(target, ctx, unit.domain, stack, unit.entry);
}

// ---------------------------------------------------------------------------------------------------------
// Units to records: one user at a time.

type Produced = { record: MigrationRecord } | { reject: RecordError; excerpt?: string };

interface RosterDraft {
  contact: string;
  name: string;
  subscription: Subscription;
  ask: Ask;
  askMessage: string;
  groups: string[];
  at: Where;
}

const SCRAM_MECHANISMS: Record<string, { algorithm: ScramAlgorithm; keyLength: number }> = {
  'SCRAM-SHA-1': { algorithm: 'sha1', keyLength: 20 },
  'SCRAM-SHA-224': { algorithm: 'sha224', keyLength: 28 },
  'SCRAM-SHA-256': { algorithm: 'sha256', keyLength: 32 },
  'SCRAM-SHA-384': { algorithm: 'sha384', keyLength: 48 },
  'SCRAM-SHA-512': { algorithm: 'sha512', keyLength: 64 },
};
const LEGACY_SCRAM_HASHES: Record<string, string> = { sha256: 'SCRAM-SHA-256', sha512: 'SCRAM-SHA-512' };

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function strictBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  return STRICT_BASE64.test(compact) ? Buffer.from(compact, 'base64') : undefined;
}

class ScramError extends Error {}

/** Decodes SCRAM values, once or (ejabberd) twice; see `Xep0227Settings.scramDoubleBase64`. */
function decodeScram(
  mechanism: string,
  values: { iterations: string; salt: string; storedKey: string; serverKey: string },
  mode: Xep0227Settings['scramDoubleBase64'],
): { hash: ScramHash; double: boolean } {
  const spec = SCRAM_MECHANISMS[mechanism.replace(/-PLUS$/, '')];
  if (!spec) throw new ScramError(`unknown SCRAM mechanism ${JSON.stringify(mechanism)}`);
  const iterations = /^\d{1,10}$/.test(values.iterations.trim()) ? Number(values.iterations.trim()) : NaN;
  if (!(iterations >= 1 && iterations <= 0x7fffffff)) throw new ScramError(`${mechanism} iteration count ${JSON.stringify(values.iterations)} is not a positive integer`);
  const once = (field: string, text: string): Buffer => {
    const bytes = strictBase64(text);
    if (!bytes || bytes.length === 0) throw new ScramError(`${mechanism} ${field} is not base64: ${JSON.stringify(text.slice(0, 100))}`);
    return bytes;
  };
  const stored1 = once('stored-key', values.storedKey);
  const server1 = once('server-key', values.serverKey);
  const salt1 = once('salt', values.salt);
  const doubleLength = 4 * Math.ceil(spec.keyLength / 3);
  let double: boolean;
  if (mode === 'yes') double = true;
  else if (mode === 'no') double = false;
  else double = stored1.length === doubleLength && server1.length === doubleLength;
  const twice = (field: string, bytes: Buffer): Buffer => {
    if (!double) return bytes;
    const inner = strictBase64(bytes.toString('latin1'));
    if (!inner || inner.length === 0) throw new ScramError(`${mechanism} ${field} is not double base64 (scram-double-base64=${mode})`);
    return inner;
  };
  const storedKey = twice('stored-key', stored1);
  const serverKey = twice('server-key', server1);
  const salt = twice('salt', salt1);
  for (const [field, key] of [['stored-key', storedKey], ['server-key', serverKey]] as const) {
    if (key.length !== spec.keyLength) {
      throw new ScramError(`${mechanism} ${field} is ${key.length} bytes, expected ${spec.keyLength}${mode === 'auto' ? '' : ` (scram-double-base64=${mode})`}`);
    }
  }
  return { hash: { algorithm: spec.algorithm, iterations, salt, storedKey, serverKey }, double };
}

/**
 * The first child element with this name in this namespace. Elements built here carry an explicit xmlns
 * wherever the namespace changes, so a child's namespace is its own xmlns or its parent's: no walk up.
 */
function child(el: Element, name: string, ns: string, parentNs = el.attrs.xmlns ?? ''): Element | undefined {
  for (const c of el.children) {
    if (typeof c !== 'string' && c.name === name && (c.attrs.xmlns ?? parentNs) === ns) return c;
  }
  return undefined;
}

function excerptOf(el: Element): string {
  const text = serializeXml(el);
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}

/** Turns the units of one <user> into records; account and roster items wait for the roster to be complete. */
class UserAssembler {
  private readonly key: string;
  private password: string | undefined;
  private readonly hashes: ScramHash[] = [];
  private readonly scramErrors: string[] = [];
  private accountEmitted = false;
  private readonly roster = new Map<string, RosterDraft>();
  private readonly rosterDone = new Set<string>();
  private readonly privateNamespaces = new Set<string>();
  private vcards = 0;
  private readonly createdAt: Micros | undefined;
  /** An archive names the same few peers over and over: prep each JID text once per user. */
  private readonly jids = new Map<string, Jid>();

  constructor(
    private readonly start: Extract<Unit, { t: 'user-start' }>,
    private readonly ctx: WalkContext,
  ) {
    this.key = bareJidString(start.owner);
    const password = start.attrs.password ?? start.attrs['prosody:password'];
    if (password !== undefined && password !== '') this.acceptPassword(password);
    const created = start.attrs['prosody:created'];
    if (created !== undefined && /^\d{1,12}$/.test(created)) this.createdAt = BigInt(created) * 1_000_000n;
  }

  private jid(text: string): Jid {
    let jid = this.jids.get(text);
    if (jid === undefined) {
      jid = parseJid(text);
      if (this.jids.size >= 1000) this.jids.clear();
      this.jids.set(text, jid);
    }
    return jid;
  }

  get owner(): BareJid {
    return this.start.owner;
  }

  private location(at: Where): SourceLocation {
    return { source: this.ctx.source, file: at.file, line: at.line, key: this.key };
  }

  private reject(code: string, message: string, at: Where, el?: Element): Produced {
    const reject = new RecordError(code, `${this.key}: ${message}`, this.location(at));
    return el ? { reject, excerpt: excerptOf(el) } : { reject };
  }

  private acceptPassword(password: string): void {
    if (password.startsWith('scram:')) {
      // ejabberd before 16.x: password='scram:[sha256,|sha512,]StoredKey,ServerKey,Salt,IterationCount'
      const parts = password.slice('scram:'.length).split(',');
      const mechanism = parts.length === 5 ? LEGACY_SCRAM_HASHES[parts[0] as string] : 'SCRAM-SHA-1';
      const [storedKey, serverKey, salt, iterations] = parts.length === 5 ? parts.slice(1) : parts;
      if (mechanism === undefined || parts.length < 4 || parts.length > 5) {
        this.scramErrors.push('the password attribute starts with "scram:" but is not ejabberd\'s scram:[hash,]stored,server,salt,iterations');
        return;
      }
      this.addScram(mechanism, { storedKey: storedKey!, serverKey: serverKey!, salt: salt!, iterations: iterations! });
      return;
    }
    this.password = password;
  }

  private addScram(mechanism: string, values: { iterations: string; salt: string; storedKey: string; serverKey: string }): void {
    try {
      const { hash, double } = decodeScram(mechanism, values, this.ctx.settings.scramDoubleBase64);
      if (double) this.ctx.signals.doubleBase64++;
      else this.ctx.signals.singleBase64++;
      const same = this.hashes.find((h) => h.algorithm === hash.algorithm);
      if (!same) this.hashes.push(hash);
      else if (!(same.iterations === hash.iterations && same.salt.equals(hash.salt) && same.storedKey.equals(hash.storedKey))) {
        this.scramErrors.push(`two different ${mechanism} credentials`);
      }
    } catch (err) {
      if (!(err instanceof ScramError)) throw err;
      this.scramErrors.push(err.message);
    }
  }

  accept(unit: Unit): Produced[] {
    switch (unit.t) {
      case 'child':
        if (unit.invalidUtf8 !== undefined) {
          const message = `invalid UTF-8 bytes near line ${unit.invalidUtf8} in <${unit.el.name}>`;
          // Never an account without the credentials it had: the account itself is rejected.
          if (unit.el.name === 'scram-credentials' && !this.accountEmitted) this.scramErrors.push(message);
          else return [this.reject('invalid-utf8', `${message}: the element is skipped`, unit.at)];
          return [];
        }
        return this.child(unit.el, unit.at);
      case 'leaf': {
        if (unit.invalidUtf8 !== undefined) {
          return [this.reject('invalid-utf8', `invalid UTF-8 bytes near line ${unit.invalidUtf8} in this ${unit.container === 'archive' ? 'archive item' : 'offline message'}: skipped`, unit.at)];
        }
        return [unit.container === 'archive' ? this.archiveItem(unit.el, unit.at) : this.offlineMessage(unit.el, unit.at)];
      }
      case 'archive-start':
        return this.flush();
      case 'user-stray':
        return [this.reject(unit.code, unit.message, unit.at)];
      case 'user-end':
        return this.flush();
      default:
        return [];
    }
  }

  /** The user breaks off: what was held back for its end and is now lost. */
  abandon(): { account: boolean; roster: number } {
    return { account: !this.accountEmitted, roster: this.roster.size };
  }

  /** Emits the account (once) and the roster items gathered so far. */
  private flush(): Produced[] {
    const out: Produced[] = [];
    if (!this.accountEmitted) {
      this.accountEmitted = true;
      out.push(this.account());
    }
    for (const draft of this.roster.values()) {
      const record: RosterItemRecord = {
        kind: 'roster-item',
        owner: this.owner,
        contact: draft.contact,
        name: draft.name,
        subscription: draft.subscription,
        ask: draft.ask,
        askMessage: draft.askMessage,
        groups: draft.groups,
        location: this.location(draft.at),
      };
      out.push({ record });
      this.rosterDone.add(draft.contact);
    }
    this.roster.clear();
    return out;
  }

  private account(): Produced {
    const at = this.start.at;
    if (this.scramErrors.length > 0) {
      return this.reject('invalid-scram', `cannot read the SCRAM credentials: ${this.scramErrors.join('; ')}`, at);
    }
    let plain = this.password;
    let plainDropped: string | undefined;
    if (plain !== undefined && plain === this.start.name) {
      this.ctx.signals.passwordIsUsername++;
      if (this.ctx.settings.passwordEqualsUsername === 'none') {
        plain = undefined;
        plainDropped =
          'the password equals the user name, which the Openfire User Import/Export plugin writes when it cannot decrypt a password; ' +
          'set a new password after the migration, or pass --source-option password-equals-username=keep to migrate it';
      }
    }
    const hashes = [...this.hashes].sort((a, b) => SCRAM_ALGORITHMS.indexOf(a.algorithm) - SCRAM_ALGORITHMS.indexOf(b.algorithm));
    let credential: Credential;
    if (plain !== undefined && hashes.length > 0) credential = { type: 'plain+scram', password: plain, hashes };
    else if (hashes.length > 0) credential = { type: 'scram', hashes };
    else if (plain !== undefined) credential = { type: 'plain', password: plain };
    else credential = { type: 'none', reason: plainDropped ?? 'the export has neither a password attribute nor <scram-credentials> for this user' };
    const record: AccountRecord = { kind: 'account', jid: this.owner, credential, location: this.location(at) };
    if (this.createdAt !== undefined) record.createdAt = this.createdAt;
    return { record };
  }

  private child(el: Element, at: Where): Produced[] {
    const ns = el.attrs.xmlns ?? '';
    if (el.name === 'scram-credentials' && ns === NS_PIE_SCRAM) return this.scramCredentials(el, at);
    if (el.name === 'query' && ns === NS_ROSTER) return this.rosterQuery(el, at);
    if (el.name === 'presence' && (ns === NS_CLIENT || ns === NS_SERVER || PIE_NAMESPACES.has(ns))) return this.presence(el, at);
    if (el.name === 'vCard' && ns === NS_VCARD) {
      if (++this.vcards > 1) return [this.reject('duplicate-vcard', 'a second <vCard>: only the first is migrated', at, el)];
      return [{ record: { kind: 'vcard', owner: this.owner, vcard: el, location: this.location(at) } }];
    }
    if (el.name === 'query' && ns === NS_PRIVATE) return this.privateQuery(el, at);
    if (el.name === 'query' && ns === NS_PRIVACY) return this.privacyQuery(el, at);
    if (el.name === 'pubsub' && ns === NS_PUBSUB) return this.pepItems(el, at);
    if (el.name === 'pubsub' && ns === NS_PUBSUB_OWNER) {
      this.ctx.signals.pepConfig++;
      return [];
    }
    countSkipped(this.ctx.signals, `<${el.name} xmlns='${ns}'> in <user>`);
    return [];
  }

  private scramCredentials(el: Element, at: Where): Produced[] {
    if (this.accountEmitted) {
      this.ctx.signals.lateProfileData++;
      return [this.reject('late-credentials', '<scram-credentials> after the <archive>: the account was already read without it; move credentials before the archive', at)];
    }
    const text = (name: string): string => el.getChildText(name) ?? '';
    this.addScram(el.attrs.mechanism ?? '', {
      iterations: text('iter-count'),
      salt: text('salt'),
      storedKey: text('stored-key'),
      serverKey: text('server-key'),
    });
    return [];
  }

  private rosterQuery(query: Element, at: Where): Produced[] {
    const out: Produced[] = [];
    if (this.accountEmitted) this.ctx.signals.lateProfileData++;
    for (const item of childElements(query)) {
      if (item.name !== 'item') continue;
      const rawJid = item.attrs.jid ?? '';
      let contact: string;
      try {
        contact = normaliseJid(rawJid);
      } catch (err) {
        out.push(this.reject('invalid-jid', `roster item: ${(err as Error).message}`, at, item));
        continue;
      }
      const subscription = item.attrs.subscription ?? 'none';
      if (subscription === 'remove') continue;
      if (!['none', 'to', 'from', 'both'].includes(subscription)) {
        out.push(this.reject('unknown-subscription', `roster item ${contact}: unknown subscription ${JSON.stringify(subscription)} (expected none, to, from or both)`, at, item));
        continue;
      }
      const askAttr = item.attrs.ask;
      if (askAttr !== undefined && askAttr !== 'subscribe' && askAttr !== '') {
        out.push(this.reject('unknown-ask', `roster item ${contact}: unknown ask ${JSON.stringify(askAttr)} (expected subscribe)`, at, item));
        continue;
      }
      if (this.roster.has(contact) || this.rosterDone.has(contact)) {
        out.push(this.reject('duplicate-roster-item', `a second roster item for ${contact}: only the first is migrated`, at, item));
        continue;
      }
      const groups: string[] = [];
      const groupElements = item.getChildren('group');
      this.ctx.signals.rosterItems++;
      if (groupElements.length === 1) this.ctx.signals.oneGroupItems++;
      for (const group of groupElements) {
        const text = group.getText();
        if (text.trim() === '') {
          this.ctx.signals.emptyGroups++;
          continue;
        }
        const names = this.ctx.settings.splitGroups === undefined ? [text] : text.split(this.ctx.settings.splitGroups).map((g) => g.trim());
        for (const name of names) if (name !== '' && !groups.includes(name)) groups.push(name);
      }
      this.roster.set(contact, {
        contact,
        name: item.attrs.name ?? '',
        subscription: subscription as Subscription,
        ask: askAttr === 'subscribe' ? 'out' : 'none',
        askMessage: '',
        groups,
        at,
      });
    }
    return out;
  }

  /** A pending inbound subscription request: merged into the roster item of that contact, or one of its own. */
  private presence(el: Element, at: Where): Produced[] {
    if (this.accountEmitted) this.ctx.signals.lateProfileData++;
    const type = el.attrs.type;
    if (type !== 'subscribe') {
      return [this.reject('unsupported-presence', `<presence type='${type ?? ''}'> in a user: only pending subscription requests (type='subscribe') can be migrated`, at, el)];
    }
    let contact: string;
    try {
      const jid = parseJid(el.attrs.from ?? '');
      contact = bareJidString(jid);
    } catch (err) {
      return [this.reject('invalid-jid', `subscription request: ${(err as Error).message}`, at, el)];
    }
    if (this.rosterDone.has(contact)) {
      return [this.reject('late-roster-data', `subscription request from ${contact} after that contact's roster item was read (it came after the <archive>)`, at, el)];
    }
    const askMessage = el.getChildText('status') ?? '';
    const draft = this.roster.get(contact);
    if (draft) {
      draft.ask = draft.ask === 'out' || draft.ask === 'both' ? 'both' : 'in';
      draft.askMessage = askMessage;
    } else {
      this.roster.set(contact, { contact, name: '', subscription: 'none', ask: 'in', askMessage, groups: [], at });
    }
    return [];
  }

  private privateQuery(query: Element, at: Where): Produced[] {
    const out: Produced[] = [];
    for (const child of childElements(query)) {
      const ns = child.getNS() ?? '';
      child.parent = null;
      child.attrs.xmlns = ns;
      if (ns === '' || ns === NS_PRIVATE) {
        out.push(this.reject('private-xml-without-namespace', `private XML <${child.name}> has no namespace of its own, which private storage is keyed by`, at, child));
      } else if (this.privateNamespaces.has(ns)) {
        out.push(this.reject('duplicate-private-xml', `a second private XML element in ${ns}: only the first is migrated`, at, child));
      } else {
        this.privateNamespaces.add(ns);
        out.push({ record: { kind: 'private-xml', owner: this.owner, element: child, location: this.location(at) } });
      }
    }
    return out;
  }

  /** XEP-0016 lists: https://xmpp.org/extensions/xep-0016.html */
  private privacyQuery(query: Element, at: Where): Produced[] {
    const out: Produced[] = [];
    const defaultName = query.getChild('default')?.attrs.name;
    for (const list of query.getChildren('list')) {
      const name = list.attrs.name ?? '';
      const items: PrivacyItem[] = [];
      let problem: string | undefined;
      for (const item of list.getChildren('item')) {
        const type = item.attrs.type ?? 'none';
        let value = item.attrs.value ?? '';
        const action = item.attrs.action ?? '';
        const order = item.attrs.order ?? '';
        if (type !== 'none' && type !== 'jid' && type !== 'group' && type !== 'subscription') problem = `item type ${JSON.stringify(type)}`;
        else if (action !== 'allow' && action !== 'deny') problem = `item action ${JSON.stringify(action)}`;
        else if (!/^\d{1,9}$/.test(order)) problem = `item order ${JSON.stringify(order)}`;
        else if (type === 'subscription' && !['none', 'to', 'from', 'both'].includes(value)) problem = `subscription value ${JSON.stringify(value)}`;
        else if (type === 'jid') {
          try {
            value = normaliseJid(value);
          } catch (err) {
            problem = (err as Error).message;
          }
        }
        if (problem) break;
        const matches = childElements(item)
          .map((c) => c.name)
          .filter((n): n is PrivacyItem['matches'][number] => n === 'iq' || n === 'message' || n === 'presence-in' || n === 'presence-out');
        items.push({ type: type as PrivacyItem['type'], value, action: action as PrivacyItem['action'], order: Number(order), matches });
      }
      if (name === '') problem ??= 'a <list> without a name';
      if (problem) {
        out.push(this.reject('invalid-privacy-list', `privacy list ${JSON.stringify(name)}: ${problem}`, at, list));
        continue;
      }
      out.push({ record: { kind: 'privacy-list', owner: this.owner, name, isDefault: name === defaultName, items, location: this.location(at) } });
    }
    return out;
  }

  /** XEP-0227 1.1 PEP items: <pubsub xmlns='…pubsub'><items node><item id>payload. */
  private pepItems(pubsub: Element, at: Where): Produced[] {
    const out: Produced[] = [];
    for (const items of pubsub.getChildren('items')) {
      const node = items.attrs.node ?? '';
      for (const item of items.getChildren('item')) {
        const payload = childElements(item)[0];
        if (node === '' || !payload) {
          out.push(this.reject('invalid-pep-item', `PEP item ${JSON.stringify(item.attrs.id ?? '')} of node ${JSON.stringify(node)} has no ${node === '' ? 'node' : 'payload'}`, at, item));
          continue;
        }
        payload.attrs.xmlns = payload.getNS() ?? '';
        payload.parent = null;
        out.push({ record: { kind: 'pep-item', owner: this.owner, node, itemId: item.attrs.id ?? '', payload, location: this.location(at) } });
      }
    }
    return out;
  }

  /** Makes a stanza stand alone in jabber:client and drops what only the old server's storage meant. */
  private cleanStanza(message: Element): string | undefined {
    const ns = message.getNS() ?? '';
    if (!(ns === NS_CLIENT || ns === NS_SERVER || PIE_NAMESPACES.has(ns))) return `<message> in namespace ${JSON.stringify(ns)}, not jabber:client`;
    message.parent = null;
    // Prosody's storage-only `stamp` attributes are no part of the stanza.
    const { xmlns: _ns, stamp: _stamp, stamp_legacy: _legacy, ...attrs } = message.attrs;
    message.attrs = { xmlns: NS_CLIENT, ...attrs };
    const owner = this.key;
    message.children = message.children.filter((c) => {
      if (typeof c === 'string') return true;
      const cns = c.attrs.xmlns ?? NS_CLIENT;
      if ((c.name === 'delay' && cns === NS_DELAY) || (c.name === 'x' && cns === NS_DELAY_LEGACY)) return false;
      // The old server's own archive ids mean nothing to MongooseIM, which derives ids from time.
      if ((c.name === 'stanza-id' && cns === NS_SID) || (c.name === 'archived' && cns === NS_MAM_TMP)) {
        try {
          const by = this.jid(c.attrs.by ?? '');
          return by.resource !== '' || bareJidString(by) !== owner;
        } catch {
          return true;
        }
      }
      return true;
    });
    return undefined;
  }

  private offlineMessage(el: Element, at: Where): Produced {
    if (el.name !== 'message') return this.reject('unexpected-element', `<${el.name}> in <offline-messages>: only <message> can be stored offline`, at, el);
    const modern = el.getChildren('delay', NS_DELAY);
    const legacy = el.getChildren('x', NS_DELAY_LEGACY);
    // The server's own "Offline Storage" delay is the storage time; a delay from elsewhere is older history.
    const domain = this.owner.domain;
    const own =
      modern.find((d) => d.attrs.from === domain) ?? legacy.find((d) => d.attrs.from === domain) ?? modern[modern.length - 1] ?? legacy[legacy.length - 1];
    const stamp = own?.attrs.stamp;
    if (stamp === undefined) return this.reject('missing-timestamp', 'offline message without a <delay stamp>: its storage time is unknown', at, el);
    const timestamp = parseXmppTimestamp(stamp);
    if (timestamp === undefined) return this.badStamp(stamp, 'offline message', at, el);
    if (el.attrs.from === undefined) return this.reject('invalid-jid', 'offline message without a from attribute', at, el);
    let from: string;
    try {
      from = normaliseJid(el.attrs.from);
    } catch (err) {
      return this.reject('invalid-jid', `offline message from: ${(err as Error).message}`, at, el);
    }
    const problem = this.cleanStanza(el);
    if (problem) return this.reject('unexpected-element', problem, at, el);
    return { record: { kind: 'offline-message', owner: this.owner, timestamp, from, stanza: el, location: this.location(at) } };
  }

  private badStamp(stamp: string, what: string, at: Where, el: Element): Produced {
    if (JAVA_DATE.test(stamp)) {
      this.ctx.signals.javaDateStamps++;
      return this.reject('malformed-timestamp', `${what} stamp ${JSON.stringify(stamp)} is Java's Date.toString() (old Openfire export plugins), not an XEP-0082 date-time`, at, el);
    }
    return this.reject('malformed-timestamp', `${what} stamp ${JSON.stringify(stamp)} is not an XEP-0082 date-time (CCYY-MM-DDThh:mm:ss[.sss]TZD, 1970 or later)`, at, el);
  }

  /** <result xmlns='urn:xmpp:mam:2' id><forwarded><delay stamp/><message/></forwarded></result> */
  private archiveItem(el: Element, at: Where): Produced {
    const resultNs = el.attrs.xmlns ?? NS_PIE_MAM;
    if (el.name !== 'result' || !resultNs.startsWith('urn:xmpp:mam:')) {
      return this.reject('unexpected-element', `<${el.name} xmlns='${resultNs}'> in <archive>: expected a MAM <result>`, at, el);
    }
    const forwarded = child(el, 'forwarded', NS_FORWARD, resultNs);
    const message = forwarded?.getChild('message');
    if (!forwarded || !message) return this.reject('malformed-archive-item', 'archive <result> without <forwarded><message>', at, el);
    const stamp = child(forwarded, 'delay', NS_DELAY, NS_FORWARD)?.attrs.stamp;
    if (stamp === undefined) return this.reject('missing-timestamp', 'archive <result> without <forwarded><delay stamp>', at, el);
    const timestamp = parseXmppTimestamp(stamp);
    if (timestamp === undefined) return this.badStamp(stamp, 'archived message', at, el);
    let from: Jid | undefined;
    let to: Jid | undefined;
    try {
      if (message.attrs.from !== undefined) from = this.jid(message.attrs.from);
      if (message.attrs.to !== undefined) to = this.jid(message.attrs.to);
    } catch (err) {
      return this.reject('invalid-jid', `archived message: ${(err as Error).message}`, at, el);
    }
    const owner = this.owner;
    // Outgoing when the owner sent it: bare(from) is the owner, or no from at all (stored as the client sent it).
    const outgoing = from === undefined || (from.local === owner.local && from.domain === owner.domain);
    const peer = outgoing ? to : from;
    const remote = peer ? formatPeer(peer) : this.key;
    const problem = this.cleanStanza(message);
    const originId = child(message, 'origin-id', NS_SID, NS_CLIENT)?.attrs.id;
    if (problem) return this.reject('unexpected-element', problem, at, el);
    const record: MigrationRecord = {
      kind: 'archived-message',
      archive: { type: 'user', jid: owner },
      timestamp,
      direction: outgoing ? 'out' : 'in',
      remote,
      stanza: message,
      location: this.location(at),
    };
    if (originId !== undefined) record.originId = originId;
    if (el.attrs.id !== undefined) record.sourceId = el.attrs.id;
    return { record };
  }
}

/**
 * The reject of a break inside a user: what of the user was emitted already, what is skipped or lost, and
 * what was held back for the user's end (the account, roster items) and so is not emitted either.
 */
function userBreakMessage(u: UserBreak, held: { account: boolean; roster: number } | undefined): string {
  const who = u.key ?? u.label;
  if (u.state === 'rejected') {
    if (u.kind === 'unclosed') return `${who}: ${u.problem}. The user was rejected as a whole already`;
    return `${who}: ${u.problem}. The user was rejected as a whole already; its data up to ${u.until} is skipped with it`;
  }
  const out = [`${who}: ${u.problem}.`];
  const position = u.part ? `the <${u.part.name}> at line ${u.part.line}` : `line ${u.at.line}, column ${u.at.column}`;
  if (u.kind === 'unclosed') out.push("Already emitted: the records of this user's elements, all read.");
  else out.push(`Already emitted: the records of this user's elements that ended before ${position}.`);
  if (u.kind === 'malformed') out.push(`Skipped: this user's data from ${position} to ${u.until}.`);
  else if (u.kind === 'truncated') out.push(u.part ? `Lost: the unfinished <${u.part.name}> from line ${u.part.line}.` : 'Lost: whatever followed in the export.');
  if (held?.account) {
    out.push(`Not emitted: its account${held.roster > 0 ? ` and ${held.roster} roster item(s), which wait` : ', which waits'} for the end of the user.`);
  } else if (held !== undefined && held.roster > 0) {
    out.push(`Not emitted: ${held.roster} roster item(s) read after its <archive>, which wait for the end of the user.`);
  }
  return out.join(' ');
}

function formatPeer(jid: Jid): string {
  const bare = jid.local === '' ? jid.domain : `${jid.local}@${jid.domain}`;
  return jid.resource === '' ? bare : `${bare}/${jid.resource}`;
}

// ---------------------------------------------------------------------------------------------------------
// The read: units → items with cursors, strictly after the resume position.

async function* readUsers(file: string, ctx: WalkContext): AsyncGenerator<SourceItem> {
  let assembler: UserAssembler | undefined;
  let openEntry: EntryPath | undefined;
  const resume = ctx.resume;
  function* emit(entry: EntryPath, unit: number, produced: Produced[]): Generator<SourceItem> {
    for (let sub = 0; sub < produced.length; sub++) {
      const position = { entry, unit, sub };
      if (comparePositions(position, resume) <= 0) continue;
      const p = produced[sub] as Produced;
      const cursor = encodeCursor(position);
      if ('record' in p) yield { record: p.record, cursor };
      else if (p.excerpt !== undefined) yield { reject: p.reject, cursor, excerpt: p.excerpt };
      else yield { reject: p.reject, cursor };
    }
  }
  for await (const unit of walkFile(file, ctx, { domain: undefined, error: undefined }, [], [])) {
    switch (unit.t) {
      case 'user-start':
        assembler = new UserAssembler(unit, ctx);
        openEntry = unit.entry;
        break;
      case 'user-reject':
      case 'stray': {
        const reject = new RecordError(unit.code, unit.message, {
          source: ctx.source,
          file: unit.at.file,
          line: unit.at.line,
          ...(unit.at.column !== undefined ? { column: unit.at.column } : {}),
          ...(unit.key !== undefined ? { key: unit.key } : {}),
        });
        yield* emit(unit.entry, 0, [{ reject }]);
        break;
      }
      case 'user-break': {
        const own = assembler !== undefined && openEntry !== undefined && compareEntries(openEntry, unit.entry) === 0;
        const reject = new RecordError(unit.kind === 'truncated' ? 'truncated-file' : 'malformed-xml', userBreakMessage(unit, own ? assembler?.abandon() : undefined), {
          source: ctx.source,
          file: unit.at.file,
          line: unit.at.line,
          ...(unit.at.column !== undefined ? { column: unit.at.column } : {}),
          ...(unit.key !== undefined ? { key: unit.key } : {}),
        });
        // Past every unit of this user: the reject sorts after what was already emitted.
        yield* emit(unit.entry, LAST_UNIT, [{ reject }]);
        assembler = undefined;
        openEntry = undefined;
        break;
      }
      case 'child':
      case 'leaf':
      case 'archive-start':
      case 'user-stray':
        if (assembler) yield* emit(unit.entry, unit.unit, assembler.accept(unit));
        break;
      case 'user-end':
        if (assembler) yield* emit(unit.entry, unit.unit, assembler.accept(unit));
        assembler = undefined;
        openEntry = undefined;
        break;
      case 'fatal': {
        // Only before the first element, or a file that is not UTF-8 or not XEP-0227: nothing to recover.
        const where = `${unit.at.file}:${unit.at.line}:${unit.at.column}`;
        throw new SourceError('malformed-xml', `${where}: not well-formed XML: ${unit.message}. Fix the file there (or cut the export before it) and run again`);
      }
      default:
        break;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The adapter.

class Xep0227Source implements SourceAdapter {
  readonly displayName: string;
  readonly capabilities = { resume: 'skip' as const, delta: 'none' as const, kinds: KINDS };

  constructor(
    private readonly file: string,
    private readonly settings: Xep0227Settings,
  ) {
    this.displayName = `xep0227:${file}`;
  }

  streams(): StreamInfo[] {
    return [{ name: XEP0227_STREAM, kinds: KINDS }];
  }

  private context(resume: Position): WalkContext {
    return { source: this.displayName, settings: this.settings, resume, signals: newSignals() };
  }

  read(stream: string, after?: string): AsyncIterable<SourceItem> {
    if (stream !== XEP0227_STREAM) throw new UsageError(`the xep0227 source has one stream, ${JSON.stringify(XEP0227_STREAM)}, not ${JSON.stringify(stream)}`);
    const resume = after === undefined ? BEFORE_ALL : decodeCursor(after);
    return readUsers(this.file, this.context(resume));
  }

  quickInventory(): Promise<SourceInventory> {
    return quickScanXep0227(this.file);
  }

  async inventory(): Promise<SourceInventory> {
    const ctx = this.context(BEFORE_ALL);
    const counts: SourceInventory['counts'] = {};
    const owners: SourceInventory['owners'] = {};
    const credentials: Record<string, number> = {};
    const rejects: Record<string, number> = {};
    const ownersSeen = new Map<RecordKind, string>();
    const accounts = new Set<string>();
    let duplicateUsers = 0;
    let archiveBytes = 0;
    let first: bigint | undefined;
    let last: bigint | undefined;
    for await (const item of readUsers(this.file, ctx)) {
      if ('reject' in item) {
        rejects[item.reject.code] = (rejects[item.reject.code] ?? 0) + 1;
        continue;
      }
      const record = item.record;
      counts[record.kind] = (counts[record.kind] ?? 0) + 1;
      const owner = ownerKey(record);
      if (owner !== undefined && ownersSeen.get(record.kind) !== owner) {
        // Records of one owner come together, so a change of owner is a new owner.
        ownersSeen.set(record.kind, owner);
        owners[record.kind] = (owners[record.kind] ?? 0) + 1;
      }
      if (record.kind === 'account') {
        const shape = credentialShape(record.credential);
        credentials[shape] = (credentials[shape] ?? 0) + 1;
        const key = bareJidString(record.jid);
        if (accounts.has(key)) duplicateUsers++;
        accounts.add(key);
      } else if (record.kind === 'archived-message') {
        archiveBytes += Buffer.byteLength(serializeXml(record.stanza));
        if (first === undefined || record.timestamp < first) first = record.timestamp;
        if (last === undefined || record.timestamp > last) last = record.timestamp;
      }
    }
    credentials.none ??= 0;
    const inventory: SourceInventory = {
      description: describe(ctx.signals),
      counts,
      owners,
      credentials,
      rejects,
      archiveBytes,
      cannotProvide: cannotProvide(ctx.signals),
      notes: notes(ctx.signals, duplicateUsers),
    };
    if (first !== undefined && last !== undefined) inventory.archiveSpan = { first, last };
    return inventory;
  }

  async close(): Promise<void> {
    // Every read opens and closes its own file handles.
  }
}

function ownerKey(record: MigrationRecord): string | undefined {
  switch (record.kind) {
    case 'account':
      return bareJidString(record.jid);
    case 'archived-message':
      return bareJidString(record.archive.jid);
    case 'roster-item':
    case 'vcard':
    case 'private-xml':
    case 'offline-message':
    case 'privacy-list':
    case 'pep-item':
      return bareJidString(record.owner);
    default:
      return undefined;
  }
}

const EJABBERD_FILE_NAME = /^\d{8}-\d{6}(_[^/]+)?\.xml$/;

function looksLikeEjabberd(s: Signals): boolean {
  return s.archives === 0 && (s.doubleBase64 > 0 || s.files.some((f) => EJABBERD_FILE_NAME.test(basename(f))));
}

/** Openfire's plugin writes exactly one <group> per roster item (empty when none), so every item has one. */
function openfireGroups(s: Signals): boolean {
  return s.emptyGroups > 0 && s.oneGroupItems === s.rosterItems;
}

function looksLikeOpenfire(s: Signals): boolean {
  return openfireGroups(s) || s.passwordIsUsername > 0 || s.javaDateStamps > 0;
}

function describe(s: Signals): string {
  const ns = [s.namespaces.has(NS_PIE) ? `v1.1 (${NS_PIE})` : undefined, s.namespaces.has(NS_PIE_LEGACY) ? `pre-1.0 (${NS_PIE_LEGACY})` : undefined]
    .filter((x) => x !== undefined)
    .join(' + ');
  const producer = looksLikeEjabberd(s)
    ? ', written by ejabberd export_piefxis'
    : looksLikeOpenfire(s)
      ? ', written by the Openfire User Import/Export plugin'
      : s.prosodyExtended > 0
        ? ', written by Prosody mod_storage_xep0227'
        : '';
  return `XEP-0227 ${ns || '(no namespace)'}, ${s.files.length} file${s.files.length === 1 ? '' : 's'}${producer}`;
}

function cannotProvide(s: Signals): NotProvided[] {
  const out: NotProvided[] = [
    { kind: 'muc-room', reason: 'XEP-0227 has no MUC rooms (Tigase writes them in a proprietary namespace this adapter does not read)', advice: "read the rooms from the old server's own storage with its adapter" },
    { kind: 'muc-registration', reason: 'XEP-0227 has no MUC nick registrations' },
    { kind: 'last-activity', reason: 'XEP-0227 has no last activity (XEP-0012)' },
  ];
  if (looksLikeEjabberd(s)) {
    const advice =
      "switch ejabberd's mod_mam (and mod_muc, mod_pubsub) to SQL first (db_type: sql, then `ejabberdctl export2sql` or a fresh SQL backend) and read that database with the ejabberd SQL adapter; " +
      'or, on ejabberd 26.07 and later, export with `ejabberdctl export_db_ext HOST DIR all json`';
    out[0] = { kind: 'muc-room', reason: 'ejabberd export_piefxis writes no MUC rooms or room archives', advice };
    out.push(
      { kind: 'archived-message', reason: 'ejabberd export_piefxis writes no message archive (MAM)', advice },
      { kind: 'pep-item', reason: 'ejabberd export_piefxis writes no PEP nodes (bookmarks in PEP, avatars, …)', advice },
    );
  } else if (looksLikeOpenfire(s)) {
    const advice = "read Openfire's database with the Openfire adapter (and its Monitoring plugin tables for archives)";
    out.push(
      { kind: 'archived-message', reason: 'the Openfire User Import/Export plugin writes no message archive', advice },
      { kind: 'privacy-list', reason: 'the Openfire User Import/Export plugin writes no privacy lists', advice },
    );
  } else if (s.prosodyExtended > 0) {
    out.push({ kind: 'offline-message', reason: 'Prosody mod_storage_xep0227 writes no offline messages', advice: "read Prosody's data directory or SQL store with the Prosody adapter" });
  }
  return out;
}

function notes(s: Signals, duplicateUsers: number): string[] {
  const out: string[] = [];
  if (s.doubleBase64 > 0) out.push(`${s.doubleBase64} SCRAM credential(s) are double base64 (ejabberd export_piefxis) and were decoded twice; force with scram-double-base64=yes|no`);
  if (openfireGroups(s)) {
    out.push(
      `every roster item has exactly one <group> and ${s.emptyGroups} are empty (ignored): the Openfire User Import/Export plugin writes one <group> per contact ` +
        "and joins all of a contact's groups into its text without a separator; check contacts in several groups, and pass split-groups=<separator> if your export separated them",
    );
  } else if (s.emptyGroups > 0) out.push(`${s.emptyGroups} empty <group/> element(s) ignored`);
  if (s.passwordIsUsername > 0) {
    out.push(`${s.passwordIsUsername} account(s) have a password equal to their user name (the Openfire plugin's placeholder when it cannot decrypt); see password-equals-username`);
  }
  if (s.javaDateStamps > 0) out.push(`${s.javaDateStamps} delay stamp(s) are Java Date.toString() text (old Openfire export plugin), rejected as malformed timestamps`);
  if (s.pepConfig > 0) out.push(`${s.pepConfig} <pubsub xmlns='${NS_PUBSUB_OWNER}'> element(s) (PEP node configuration and affiliations) are not migrated; PEP items are`);
  if (s.lateProfileData > 0) out.push(`${s.lateProfileData} roster or credential element(s) come after a user's <archive>`);
  if (duplicateUsers > 0) out.push(`${duplicateUsers} user(s) appear more than once; the target keeps the first account of each`);
  for (const [what, count] of s.skipped) out.push(`skipped ${count} × ${what}: not part of XEP-0227 as read here`);
  return out;
}

export const xep0227Adapter: SourceAdapterDefinition = {
  schemes: ['xep0227'],
  summary: 'XEP-0227 export files (v1.1 and pre-1.0; XInclude; ejabberd, Prosody, Openfire, Tigase exports)',
  example: 'xep0227:./export.xml',
  async open(location: string, options: SourceOptions): Promise<SourceAdapter> {
    const settings = parseXep0227Settings(options.settings);
    await assertSourceFile('xep0227', location, './export.xml');
    return new Xep0227Source(location, settings);
  },
};

