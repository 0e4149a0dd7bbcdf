// exml records in the Erlang external term format: MongooseIM's mam_message_(compressed_)eterm message column.
// https://www.erlang.org/doc/apps/erts/erl_ext_dist.html
import { RecordError } from '../errors.js';
import type { Element, XmlNode } from '../xml/element.js';
import { deflateSync } from 'node:zlib';

/**
 * exml4: `{xmlel, Name, #{K => V}, Children}` and `{xmlcdata, Text, escaped}` (esl/exml include/exml.hrl),
 * what MongooseIM ≥ 6.3.2 writes. exml3: `{xmlel, Name, [{K, V}], Children}` and `{xmlcdata, Text}`, what
 * ≤ 6.3.1 writes; ≥ 6.3.2 converts it on read (mam_message_eterm:maybe_convert_old_exml_format), but only when
 * the top-level attrs is a list, so one term never mixes the two.
 */
export type ExmlShape = 'exml4' | 'exml3';

export interface ExmlEncodeOptions {
  shape: ExmlShape;
  /**
   * true: what `term_to_binary(T, [compressed])` gives: `83 50 <u32 size> <zlib>` when the zlib stream fits in
   * the plain term minus 5 bytes, else the plain term (Erlang's own fallback; binary_to_term reads both).
   * false: always the plain `83 <term>`.
   */
  compressed: boolean;
}

const VERSION_MAGIC = 131;
const COMPRESSED = 80;
const NIL_EXT = 106;
const LIST_EXT = 108;
const BINARY_EXT = 109;
const MAP_EXT = 116;

// Constant prefixes, atoms as SMALL_ATOM_UTF8_EXT (119), which every OTP since 20 decodes.
// {xmlel, … : SMALL_TUPLE_EXT arity 4, 'xmlel'
const XMLEL_HEAD = bytes([104, 4, 119, 5, ...ascii('xmlel')]);
// {xmlcdata, … : arity 3 (exml4) or 2 (exml3), 'xmlcdata'
const CDATA4_HEAD = bytes([104, 3, 119, 8, ...ascii('xmlcdata')]);
const CDATA3_HEAD = bytes([104, 2, 119, 8, ...ascii('xmlcdata')]);
// …, escaped}: the exml parser marks every text node `escaped`, CDATA sections included.
const ESCAPED_TAIL = bytes([119, 7, ...ascii('escaped')]);
// {K, V} of an exml3 attribute list
const PAIR_HEAD = bytes([104, 2]);

const INITIAL_SCRATCH = 64 * 1024;
// A huge stanza grows the scratch buffer; do not keep more than this between calls.
const MAX_KEPT_SCRATCH = 1024 * 1024;

// Characters XML 1.0 forbids (exml's parser rejects them, so MongooseIM never stores them and a client
// would drop the stream reading one back), and lone surrogates, which Buffer.write would silently turn
// into U+FFFD.
const INVALID_XML_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|\p{Cs}/u;
// XML whitespace as exml's parser (rapidxml) defines it.
const NOT_XML_SPACE = /[^ \t\r\n]/;

let buf = Buffer.allocUnsafe(INITIAL_SCRATCH);
let pos = 0;
let cdataHead = CDATA4_HEAD;
let exml4 = true;

/**
 * Encodes an element as the exml record MongooseIM stores, in one reused scratch buffer.
 *
 * Text nodes are what exml's parser builds when MongooseIM receives the stanza live (rapidxml driven by
 * c_src/exml.cpp; read at esl/exml master ad80c56, 4.1.2 plus 5 commits; MongooseIM 6.8.0 pins hexml 4.2.1),
 * so a pretty-printed source stanza (XEP-0227 exports, Prosody files) is stored exactly like a native row:
 * - adjacent text (and CDATA) becomes one `xmlcdata`: get_children_tuple merges consecutive data nodes;
 * - a text run made only of XML whitespace (space, tab, CR, LF) is dropped: rapidxml skips whitespace and
 *   creates a data node only when a character other than whitespace follows before the next `<`, so
 *   indentation between child elements, and `<body> </body>`, never reach the term. A run with any other
 *   character is kept whole, its leading and trailing whitespace included.
 *   Edge left as is: exml keeps a whitespace run written as character references (`&#32;`) and drops a
 *   whitespace run split off by a comment or CDATA section; the ltx model no longer tells those apart.
 *
 * Attributes whose value is null or undefined are skipped, as ltx's serialiser does.
 * Throws RecordError `xml-invalid-char` for a character XML forbids or a lone surrogate.
 */
export function encodeExml(el: Element, options: ExmlEncodeOptions): Buffer {
  exml4 = options.shape === 'exml4';
  cdataHead = exml4 ? CDATA4_HEAD : CDATA3_HEAD;
  pos = 0;
  ensure(1);
  buf[pos++] = VERSION_MAGIC;
  writeElement(el);
  const out = options.compressed ? compressedOrPlain(pos) : copyOut(0, pos);
  if (buf.length > MAX_KEPT_SCRATCH) buf = Buffer.allocUnsafe(INITIAL_SCRATCH);
  return out;
}

function compressedOrPlain(end: number): Buffer {
  // zlib level 6, Erlang's `compressed` default, read from the scratch buffer in place. A fresh zlib state per
  // message: a reused one (deflateReset) keeps stale window bytes that Node's zlib reads past the input, so
  // the same message could compress differently after different predecessors, and a replayed batch would
  // then look like a different message at the same MAM id.
  const z = deflateSync(buf.subarray(1, end));
  return compressedTerm(end - 1, z) ?? copyOut(0, end);
}

/**
 * `term_to_binary(T, [compressed])` from the plain term `83 <term>` and the zlib stream of `<term>` (level 6),
 * for compression done elsewhere (src/encoding/deflate-pool.ts): the same bytes encodeExml gives.
 */
export function compressedFromPlain(plain: Buffer, z: Buffer): Buffer {
  return compressedTerm(plain.length - 1, z) ?? plain;
}

/** Erlang gives zlib an output buffer of the term size minus 5 and keeps the plain term when it does not fit. */
function compressedTerm(termSize: number, z: Buffer): Buffer | undefined {
  if (z.length > termSize - 5) return undefined;
  const out = Buffer.allocUnsafe(6 + z.length);
  out[0] = VERSION_MAGIC;
  out[1] = COMPRESSED;
  out.writeUInt32BE(termSize, 2);
  z.copy(out, 6);
  return out;
}

function copyOut(start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  buf.copy(out, 0, start, end);
  return out;
}

function writeElement(el: Element): void {
  writeBytes(XMLEL_HEAD);
  writeBinary(el.name);
  if (exml4) writeAttrMap(el.attrs);
  else writeAttrList(el.attrs);
  writeChildren(el.children);
}

function writeAttrMap(attrs: Record<string, string | null | undefined>): void {
  ensure(5);
  const headerAt = pos;
  buf[pos] = MAP_EXT;
  pos += 5;
  let count = 0;
  // Erlang writes a map of up to 32 keys in key order (binaries compare byte-wise), whatever order it was
  // built in: so do we, and a stanza's term no longer depends on its source's attribute order.
  for (const key of Object.keys(attrs).sort(compareUtf8)) {
    const value = attrs[key];
    if (value == null) continue;
    writeBinary(key);
    writeBinary(typeof value === 'string' ? value : String(value));
    count++;
  }
  buf.writeUInt32BE(count, headerAt + 1);
}

/** Byte-wise order of the UTF-8 encodings (UTF-16 code unit order differs only above U+FFFF). */
const ASCII_ONLY = /^[\x00-\x7f]*$/;

function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  if (ASCII_ONLY.test(a) && ASCII_ONLY.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function writeAttrList(attrs: Record<string, string | null | undefined>): void {
  ensure(5);
  const headerAt = pos;
  buf[pos] = LIST_EXT;
  pos += 5;
  let count = 0;
  for (const key in attrs) {
    const value = attrs[key];
    if (value == null) continue;
    writeBytes(PAIR_HEAD);
    writeBinary(key);
    writeBinary(typeof value === 'string' ? value : String(value));
    count++;
  }
  endList(headerAt, count);
}

function writeChildren(children: readonly XmlNode[]): void {
  ensure(5);
  const headerAt = pos;
  buf[pos] = LIST_EXT;
  pos += 5;
  let count = 0;
  let text: string | undefined;
  for (const child of children) {
    if (typeof child === 'string') {
      text = text === undefined ? child : text + child;
    } else if (child != null) {
      if (text !== undefined) {
        if (NOT_XML_SPACE.test(text)) {
          writeText(text);
          count++;
        }
        text = undefined;
      }
      writeElement(child);
      count++;
    }
  }
  if (text !== undefined && NOT_XML_SPACE.test(text)) {
    writeText(text);
    count++;
  }
  endList(headerAt, count);
}

/** Closes a list opened at headerAt: an empty list is NIL_EXT alone, as Erlang writes `[]`. */
function endList(headerAt: number, count: number): void {
  if (count === 0) {
    pos = headerAt;
  } else {
    buf.writeUInt32BE(count, headerAt + 1);
  }
  ensure(1);
  buf[pos++] = NIL_EXT;
}

function writeText(text: string): void {
  writeBytes(cdataHead);
  writeBinary(text);
  if (exml4) writeBytes(ESCAPED_TAIL);
}

/** BINARY_EXT with the UTF-8 bytes of `text`, written once into the scratch buffer. */
function writeBinary(text: string): void {
  const length = text.length;
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
  ensure(5 + 3 * length);
  const start = pos + 5;
  let i = 0;
  // Printable ASCII, the bulk of stanza names, attributes and text, without a call into C++.
  for (; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) break;
    buf[start + i] = c;
  }
  let size = length;
  if (i < length) {
    if (INVALID_XML_CHAR.test(text)) throw invalidChar(text);
    size = buf.write(text, start);
  }
  buf[pos] = BINARY_EXT;
  buf.writeUInt32BE(size, pos + 1);
  pos = start + size;
}

function invalidChar(text: string): RecordError {
  const match = INVALID_XML_CHAR.exec(text);
  const code = match ? (match[0].codePointAt(0) ?? 0) : 0;
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  return new RecordError(
    'xml-invalid-char',
    `the stanza contains U+${hex}, which XML forbids (or an unpaired surrogate) at index ${match?.index ?? -1} of ` +
      `${JSON.stringify(text.slice(0, 80))}; MongooseIM could neither store nor deliver it: fix or drop the message in the source`,
  );
}

function writeBytes(src: Uint8Array): void {
  ensure(src.length);
  for (let i = 0; i < src.length; i++) buf[pos + i] = src[i]!;
  pos += src.length;
}

function ensure(extra: number): void {
  const needed = pos + extra;
  if (needed <= buf.length) return;
  let size = buf.length * 2;
  while (size < needed) size *= 2;
  const grown = Buffer.allocUnsafe(size);
  buf.copy(grown, 0, 0, pos);
  buf = grown;
}

function ascii(text: string): number[] {
  return Array.from(text, (ch) => ch.charCodeAt(0));
}

function bytes(values: number[]): Uint8Array {
  return Uint8Array.from(values);
}
