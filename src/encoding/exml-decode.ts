// Reads MongooseIM's mam_message.message column back into an element: the exml record in the Erlang external
// term format (plain or `compressed`), exml 4 or exml 3 shape, or XML text (mam_message_xml). The reverse of
// etf.ts, for the inbox rebuild, which needs the last message of a conversation as XML.
// https://www.erlang.org/doc/apps/erts/erl_ext_dist.html
import { inflateSync } from 'node:zlib';
import { Element, parseXml } from '../xml/element.js';

const VERSION_MAGIC = 131;
const COMPRESSED = 80;

/** A term the exml reader understands; anything else is refused with this error. */
export class ExmlDecodeError extends Error {
  override name = 'ExmlDecodeError';
}

type Term = string | number | bigint | { atom: string } | Term[] | { tuple: Term[] } | { mapPairs: Array<[Term, Term]> };

/** The stored message as an element: ETF when the bytes start with 131, XML text otherwise. */
export function decodeStoredMessage(bytes: Buffer): Element {
  if (bytes[0] === VERSION_MAGIC) return decodeExml(bytes);
  return parseXml(bytes.toString('utf8'));
}

/** `term_to_binary` of an exml element (either shape, compressed or not) → element. */
export function decodeExml(bytes: Buffer): Element {
  if (bytes[0] !== VERSION_MAGIC) throw new ExmlDecodeError('not an Erlang term (no version byte 131)');
  let body = bytes.subarray(1);
  if (body[0] === COMPRESSED) {
    const size = body.readUInt32BE(1);
    body = inflateSync(body.subarray(5));
    if (body.length !== size) throw new ExmlDecodeError(`compressed term inflates to ${body.length} bytes, header says ${size}`);
  }
  const reader = new TermReader(body);
  const term = reader.term();
  return toElement(term);
}

class TermReader {
  private pos = 0;
  constructor(private readonly bytes: Buffer) {}

  private u8(): number {
    return this.bytes[this.pos++]!;
  }

  private u16(): number {
    const v = this.bytes.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    const v = this.bytes.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  private take(n: number): Buffer {
    if (this.pos + n > this.bytes.length) throw new ExmlDecodeError('term ends early');
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  term(): Term {
    const tag = this.u8();
    switch (tag) {
      case 97: // SMALL_INTEGER_EXT
        return this.u8();
      case 98: // INTEGER_EXT
        return this.take(4).readInt32BE(0);
      case 100: // ATOM_EXT (latin-1)
        return { atom: this.take(this.u16()).toString('latin1') };
      case 115: // SMALL_ATOM_EXT
        return { atom: this.take(this.u8()).toString('latin1') };
      case 118: // ATOM_UTF8_EXT
        return { atom: this.take(this.u16()).toString('utf8') };
      case 119: // SMALL_ATOM_UTF8_EXT
        return { atom: this.take(this.u8()).toString('utf8') };
      case 104: // SMALL_TUPLE_EXT
        return { tuple: this.items(this.u8()) };
      case 105: // LARGE_TUPLE_EXT
        return { tuple: this.items(this.u32()) };
      case 106: // NIL_EXT
        return [];
      case 107: // STRING_EXT: a list of bytes
        return [...this.take(this.u16())];
      case 108: { // LIST_EXT, then its tail (NIL for a proper list)
        const items = this.items(this.u32());
        const tail = this.term();
        if (!Array.isArray(tail) || tail.length > 0) throw new ExmlDecodeError('improper list in an exml term');
        return items;
      }
      case 109: // BINARY_EXT: exml keeps every name, attribute and text as a UTF-8 binary
        return this.take(this.u32()).toString('utf8');
      case 116: { // MAP_EXT
        const n = this.u32();
        const mapPairs: Array<[Term, Term]> = [];
        for (let i = 0; i < n; i++) mapPairs.push([this.term(), this.term()]);
        return { mapPairs };
      }
      default:
        throw new ExmlDecodeError(`unexpected term tag ${tag} in an exml term`);
    }
  }

  private items(n: number): Term[] {
    const items: Term[] = [];
    for (let i = 0; i < n; i++) items.push(this.term());
    return items;
  }
}

const isAtom = (t: Term, name: string): boolean => typeof t === 'object' && t !== null && 'atom' in t && t.atom === name;

/** `{xmlel, Name, Attrs, Children}` (Attrs a map in exml 4, a list of pairs in exml 3) → element. */
function toElement(term: Term): Element {
  if (typeof term !== 'object' || term === null || !('tuple' in term) || term.tuple.length !== 4 || !isAtom(term.tuple[0]!, 'xmlel')) {
    throw new ExmlDecodeError('not an {xmlel, …} record');
  }
  const [, name, attrs, children] = term.tuple;
  if (typeof name !== 'string') throw new ExmlDecodeError('xmlel name is not a binary');
  const el = new Element(name, attrsOf(attrs!));
  if (!Array.isArray(children)) throw new ExmlDecodeError(`children of <${name}> are not a list`);
  for (const child of children) {
    if (typeof child === 'object' && child !== null && 'tuple' in child && isAtom(child.tuple[0]!, 'xmlcdata')) {
      const text = child.tuple[1];
      if (typeof text !== 'string') throw new ExmlDecodeError('xmlcdata without a binary');
      el.children.push(text);
    } else {
      const c = toElement(child);
      c.parent = el;
      el.children.push(c);
    }
  }
  return el;
}

function attrsOf(term: Term): Record<string, string> {
  const attrs: Record<string, string> = {};
  let pairs: Array<[Term, Term]>;
  if (Array.isArray(term)) {
    // exml 3: [{K, V}]
    pairs = term.map((p) => {
      if (typeof p !== 'object' || p === null || Array.isArray(p) || !('tuple' in p) || p.tuple.length !== 2) throw new ExmlDecodeError('exml 3 attribute is not a pair');
      return [p.tuple[0]!, p.tuple[1]!] as [Term, Term];
    });
  } else if (typeof term === 'object' && term !== null && 'mapPairs' in term) {
    pairs = term.mapPairs; // exml 4: #{K => V}
  } else {
    throw new ExmlDecodeError('xmlel attributes are neither a map nor a list');
  }
  for (const [k, v] of pairs) {
    if (typeof k !== 'string' || typeof v !== 'string') throw new ExmlDecodeError('attribute name or value is not a binary');
    attrs[k] = v;
  }
  return attrs;
}
