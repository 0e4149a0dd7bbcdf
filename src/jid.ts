// JIDs as MongooseIM reads them: jid:from_binary/1 splits the text, jid:make/3 prepares each part with the
// stringprep NIF (nodeprep, nameprep, resourceprep: ./encoding/stringprep.ts) and applies the size limits. The
// prepared parts are the keys MongooseIM stores rows under. mongoose_jid 2.2.3 is the version MongooseIM 6.8.0 pins.
// https://github.com/esl/mongoose_jid/blob/2.2.3/src/jid.erl https://www.rfc-editor.org/rfc/rfc7622
//
// In → Out (parseJid; checked against jid:from_binary/1 with the real NIF):
//   `Alice@Example.COM/Phone` → alice, example.com, Phone     `Straße@example.de` → strasse
//   `a@b/` → a, b, '' (an empty resource is no resource)       `example.com.` → example.com. (the dot is kept)
//   `a@b@c`, `@b`, `a@`, `a@/r`, `/r`, `` → invalid             `a b@c` → invalid (nodeprep forbids the space)
//   `example.com/a@b` → invalid: from_binary takes an `@` up to 8 bytes past the first `/` for the local part's end
// Deliberately stricter than MongooseIM, because JIDs travel through the migration as text: a non-empty local part
// or domain that prepares to nothing (`\u00ad@b`, where MongooseIM makes the domain's own JID, and `a@\u00ad`) and
// a domain that prepares to text with `@` or `/` (`a@b＠c`, `a@b／c`, and normaliseDomain('a@b')), and a JID
// whose prepared text form from_binary would split elsewhere (`example.com/a＠b`) are refused.
import type { BareJid } from './records.js';
import { nameprep, nodeprep, resourceprep, type Prepared } from './encoding/stringprep.js';

export { lowerCodePoints } from './encoding/stringprep.js';

export interface Jid {
  local: string;
  domain: string;
  resource: string;
}

export class JidError extends Error {
  override name = 'JidError';
}

// jid.erl ?SANE_LIMIT: every part, before and after preparation, is shorter than 1024 bytes.
const MAX_PART_BYTES = 1023;
// jid.erl ?XMPP_JID_SIZE_LIMIT (RFC 7622 section 3.1): from_binary/1 takes JIDs shorter than 3071 bytes.
const MAX_JID_BYTES = 3070;

const NON_ASCII = /[^\x00-\x7f]/;
// What nodeprep refuses in ASCII text: C.1.1 (space), C.2.1 (controls) and RFC 3920 A.5's `"&'/:<>@`.
const NODE_FORBIDDEN_ASCII = /[\x00-\x20"&'/:<>@\x7f]/;
// What resourceprep refuses in ASCII text: C.2.1.
const ASCII_CONTROL = /[\x00-\x1f\x7f]/;
const SEPARATOR = /[@/]/;

type Part = 'local part' | 'domain' | 'resource';

export interface ParseJidOptions {
  /**
   * `strict`: refuse a resource that resourceprep refuses, as MongooseIM does. `keep-accepted` (the default):
   * keep only the characters resourceprep accepts (emoji and other post-Unicode-3.2 characters go; '' when
   * nothing is left). Resources are never keys, but archived messages carry them (peer resources, MUC nicks):
   * losing a decade-old message over the phone emoji in a resource would lose data MongooseIM can store.
   */
  resource?: 'strict' | 'keep-accepted';
}

/** Parses and normalises a JID as jid:from_binary/1 does; throws JidError with the reason when it is not valid. */
export function parseJid(raw: string, options: ParseJidOptions = {}): Jid {
  if (raw === '') throw invalid(raw, 'empty');
  const ascii = !NON_ASCII.test(raw);
  if ((ascii ? raw.length : Buffer.byteLength(raw)) > MAX_JID_BYTES) throw invalid(raw, `longer than ${MAX_JID_BYTES} bytes`);
  const at = raw.indexOf('@');
  const slash = raw.indexOf('/');
  let local = '';
  let domain: string;
  let resource = '';
  if (at !== -1 && (slash === -1 || at < slash)) {
    if (at === 0) throw invalid(raw, 'empty local part before @');
    const domainEnd = slash === -1 ? raw.length : slash;
    const second = raw.indexOf('@', at + 1);
    if (second !== -1 && second < domainEnd) throw invalid(raw, 'a second @ before the resource');
    local = raw.slice(0, at);
    domain = raw.slice(at + 1, domainEnd);
    if (domain === '') throw invalid(raw, 'empty domain after @');
    if (slash !== -1) resource = raw.slice(slash + 1);
  } else if (slash !== -1) {
    if (slash === 0) throw invalid(raw, 'empty domain before /');
    if (at !== -1 && fromBinaryTakesAt(raw, slash, at, ascii)) {
      throw invalid(
        raw,
        'MongooseIM (jid:from_binary/1) ends the local part at an @ found up to 8 bytes after the first /, ' +
          'which leaves a / in the local part',
      );
    }
    domain = raw.slice(0, slash);
    resource = raw.slice(slash + 1);
  } else {
    domain = raw;
  }
  if (ascii) {
    return {
      local: local === '' ? '' : asciiLocal(local, raw),
      domain: asciiDomain(domain, raw),
      resource: resource === '' ? '' : withResourcePolicy(() => asciiResource(resource, raw), resource, options),
    };
  }
  const jid = {
    local: local === '' ? '' : prepare(local, raw, 'local part', nodeprep),
    domain: prepare(domain, raw, 'domain', nameprep),
    resource: resource === '' ? '' : withResourcePolicy(() => prepare(resource, raw, 'resource', resourceprep, true), resource, options),
  };
  if (jid.local === '' && jid.resource.includes('@')) {
    // Preparation moved or made an @ (`example.com/a＠b`): the text form must still split where this one did.
    const text = formatJid(jid);
    if (fromBinaryTakesAt(text, jid.domain.length, text.indexOf('@'), false)) {
      throw invalid(raw, `its prepared form ${JSON.stringify(text)} would not read back: jid:from_binary/1 would end a local part at its @`);
    }
  }
  return jid;
}

export function parseBareJid(raw: string): BareJid {
  const { local, domain } = parseJid(raw);
  return { local, domain };
}

export function formatJid(jid: Jid): string {
  const bare = jid.local === '' ? jid.domain : `${jid.local}@${jid.domain}`;
  return jid.resource === '' ? bare : `${bare}/${jid.resource}`;
}

export function bareOf(jid: Jid): BareJid {
  return { local: jid.local, domain: jid.domain };
}

export function sameBare(a: BareJid, b: BareJid): boolean {
  return a.local === b.local && a.domain === b.domain;
}

/** Normalises a JID string; throws JidError when invalid. */
export function normaliseJid(raw: string): string {
  return formatJid(parseJid(raw));
}

/** Normalises a localpart alone (usernames in files and tables): jid:nodeprep/1, and never empty. */
export function normaliseLocal(local: string): string {
  if (local === '') throw new JidError('invalid user name "": empty');
  return prepare(local, local, 'local part', nodeprep);
}

/** Normalises a domain alone: jid:nameprep/1. */
export function normaliseDomain(domain: string): string {
  if (domain === '') throw invalid(domain, 'no domain');
  return prepare(domain, domain, 'domain', nameprep);
}

/**
 * Whether jid:from_binary/1 splits `raw`, whose first `/` comes before its first `@`, at that `@` instead. It scans
 * 9-byte windows that advance by 8 and looks for `@` in the whole window before looking for `/`, so an `@` in the
 * window holding the first `/` wins. The resulting local part holds the `/`, which nodeprep refuses.
 */
function fromBinaryTakesAt(raw: string, slash: number, at: number, ascii: boolean): boolean {
  const slashByte = ascii ? slash : Buffer.byteLength(raw.slice(0, slash));
  const atByte = ascii ? at : slashByte + Buffer.byteLength(raw.slice(slash, at));
  const window = slashByte <= 8 ? 0 : Math.ceil((slashByte - 8) / 8) * 8;
  return atByte <= window + 8;
}

// The pure-ASCII parts: no table lookups; ASCII letters are the only code points that change (to lower case).
function asciiLocal(local: string, raw: string): string {
  if (NODE_FORBIDDEN_ASCII.test(local)) throw refused(raw, 'local part', nodeprep(local));
  if (local.length > MAX_PART_BYTES) throw tooLong(raw, 'local part');
  return local.toLowerCase();
}

function asciiDomain(domain: string, raw: string): string {
  if (domain.length > MAX_PART_BYTES) throw tooLong(raw, 'domain');
  return domain.toLowerCase();
}

function withResourcePolicy(prep: () => string, resource: string, options: ParseJidOptions): string {
  try {
    return prep();
  } catch (err) {
    if (options.resource === 'strict' || !(err instanceof JidError)) throw err;
    let kept = '';
    for (const ch of resource) if (typeof resourceprep(ch) === 'string') kept += ch;
    const prepped = resourceprep(kept);
    return typeof prepped === 'string' && Buffer.byteLength(prepped) <= MAX_PART_BYTES ? prepped : '';
  }
}

function asciiResource(resource: string, raw: string): string {
  if (ASCII_CONTROL.test(resource)) throw refused(raw, 'resource', resourceprep(resource));
  if (resource.length > MAX_PART_BYTES) throw tooLong(raw, 'resource');
  return resource;
}

function prepare(value: string, raw: string, part: Part, profile: (value: string) => Prepared, mayVanish = false): string {
  if (Buffer.byteLength(value) > MAX_PART_BYTES) throw tooLong(raw, part);
  const prepped = profile(value);
  if (typeof prepped !== 'string') throw refused(raw, part, prepped);
  if (prepped === '' && !mayVanish) throw invalid(raw, `the ${part} ${JSON.stringify(value)} prepares to nothing`);
  if (part === 'domain' && SEPARATOR.test(prepped)) {
    throw invalid(raw, `the domain prepares to ${JSON.stringify(prepped)}, whose @ or / would not read back as part of the domain`);
  }
  if (Buffer.byteLength(prepped) > MAX_PART_BYTES) throw invalid(raw, `the prepared ${part} is longer than ${MAX_PART_BYTES} bytes`);
  return prepped;
}

function refused(raw: string, part: Part, result: Prepared): JidError {
  return invalid(raw, `the ${part} ${typeof result === 'string' ? 'is refused' : result.reason}`);
}

function tooLong(raw: string, part: Part): JidError {
  return invalid(raw, `the ${part} is longer than ${MAX_PART_BYTES} bytes`);
}

function invalid(raw: string, why: string): JidError {
  return new JidError(`invalid JID ${JSON.stringify(raw)}: ${why}`);
}
