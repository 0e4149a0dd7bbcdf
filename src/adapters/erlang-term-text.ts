// Erlang terms written as text, the data subset only: what ejabberd stores with misc:term_to_expr/1
// (io_lib:print/4) in `muc_room.opts`, `archive_prefs`, `sr_group.opts`, `muc_room_subscribers.nodes`, and reads
// back with erl_scan + erl_parse:parse_term. https://www.erlang.org/doc/reference_manual/data_types.html
//
// Nothing is ever evaluated: a variable, an operator other than a sign, a fun, a pid or a record expression
// is a syntax error here. The text is read as ejabberd reads it, byte by byte (binary_to_list of the column):
// `<<"é">>` in a UTF-8 column is the two bytes of é, exactly the binary ejabberd had, and a string "…" is the
// list of those bytes.

export type ErlangTerm =
  | { type: 'atom'; name: string }
  | { type: 'integer'; value: bigint }
  | { type: 'float'; value: number }
  | { type: 'binary'; bytes: Buffer }
  /** Proper lists have no tail; `[a | b]` has tail b. Strings are lists of integers. */
  | { type: 'list'; items: ErlangTerm[]; tail?: ErlangTerm }
  | { type: 'tuple'; items: ErlangTerm[] }
  | { type: 'map'; entries: Array<[ErlangTerm, ErlangTerm]> };

export class ErlangTermError extends Error {
  override name = 'ErlangTermError';
  constructor(message: string, readonly offset: number) {
    super(`${message} at byte ${offset}`);
  }
}

const MAX_DEPTH = 500;

/** Parses one term, optionally followed by the `.` that ends an Erlang expression. Throws ErlangTermError. */
export function parseErlangTerm(text: string | Buffer): ErlangTerm {
  const parser = new TermParser(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  parser.skipSpace();
  const term = parser.term(0);
  parser.skipSpace();
  if (parser.peek() === DOT) {
    parser.pos++;
    parser.skipSpace();
  }
  if (!parser.atEnd()) throw parser.error('unexpected text after the term');
  return term;
}

const DOT = 0x2e;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isLower = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0xdf && c <= 0xff && c !== 0xf7);
const isUpper = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0xde && c !== 0xd7);
const isNameChar = (c: number): boolean => isLower(c) || isUpper(c) || isDigit(c) || c === 0x5f || c === 0x40;

class TermParser {
  pos = 0;
  constructor(private readonly src: Buffer) {}

  atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  peek(offset = 0): number {
    return this.src[this.pos + offset] ?? -1;
  }

  error(message: string): ErlangTermError {
    return new ErlangTermError(message, this.pos);
  }

  skipSpace(): void {
    for (;;) {
      const c = this.peek();
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c || c === 0x0b) this.pos++;
      else if (c === 0x25) {
        // % comment to the end of the line
        while (!this.atEnd() && this.peek() !== 0x0a) this.pos++;
      } else return;
    }
  }

  private expect(c: number, what: string): void {
    this.skipSpace();
    if (this.peek() !== c) throw this.error(`expected ${what}`);
    this.pos++;
  }

  term(depth: number): ErlangTerm {
    if (depth > MAX_DEPTH) throw this.error(`terms nested deeper than ${MAX_DEPTH}`);
    this.skipSpace();
    const c = this.peek();
    if (c === -1) throw this.error('unexpected end of text');
    if (c === 0x7b) return this.tuple(depth); // {
    if (c === 0x5b) return this.list(depth); // [
    if (c === 0x3c && this.peek(1) === 0x3c) return this.binary(); // <<
    if (c === 0x23 && this.peek(1) === 0x7b) return this.map(depth); // #{
    if (c === 0x22) return { type: 'list', items: this.quoted(0x22).map((code) => ({ type: 'integer', value: BigInt(code) })) };
    if (c === 0x27) return { type: 'atom', name: codesToName(this.quoted(0x27)) };
    if (c === 0x24) return { type: 'integer', value: BigInt(this.char()) };
    if (isDigit(c) || ((c === 0x2d || c === 0x2b) && (isDigit(this.peek(1)) || this.signedSpace()))) return this.number();
    if (isLower(c)) return { type: 'atom', name: this.name() };
    if (isUpper(c) || c === 0x5f) throw this.error(`a variable (${this.name()}) is not data`);
    if (c === 0x3c) throw this.error('a pid, port or reference (<…>) is not data');
    if (c === 0x23) throw this.error('a record, fun or reference (#…) is not data');
    throw this.error(`unexpected character ${JSON.stringify(String.fromCharCode(c))}`);
  }

  /** `- 5` is also a negative number for erl_parse; only when a number follows. */
  private signedSpace(): boolean {
    let i = this.pos + 1;
    while (this.src[i] === 0x20) i++;
    return isDigit(this.src[i] ?? -1);
  }

  private name(): string {
    const start = this.pos;
    while (isNameChar(this.peek())) this.pos++;
    return codesToName([...this.src.subarray(start, this.pos)]);
  }

  private tuple(depth: number): ErlangTerm {
    this.pos++;
    return { type: 'tuple', items: this.sequence(0x7d, '}', depth) };
  }

  private map(depth: number): ErlangTerm {
    this.pos += 2;
    const entries: Array<[ErlangTerm, ErlangTerm]> = [];
    this.skipSpace();
    if (this.peek() === 0x7d) {
      this.pos++;
      return { type: 'map', entries };
    }
    for (;;) {
      const key = this.term(depth + 1);
      this.skipSpace();
      if (this.peek() !== 0x3d || this.peek(1) !== 0x3e) throw this.error('expected => in a map');
      this.pos += 2;
      entries.push([key, this.term(depth + 1)]);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c === 0x7d) return { type: 'map', entries };
      if (c !== 0x2c) throw this.error('expected , or } in a map');
    }
  }

  private list(depth: number): ErlangTerm {
    this.pos++;
    const items: ErlangTerm[] = [];
    this.skipSpace();
    if (this.peek() === 0x5d) {
      this.pos++;
      return { type: 'list', items };
    }
    for (;;) {
      items.push(this.term(depth + 1));
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c === 0x5d) return { type: 'list', items };
      if (c === 0x7c) {
        const tail = this.term(depth + 1);
        this.expect(0x5d, ']');
        // [a | [b]] is [a, b]: only an improper tail stays a tail.
        if (tail.type === 'list') return tail.tail === undefined ? { type: 'list', items: [...items, ...tail.items] } : { type: 'list', items: [...items, ...tail.items], tail: tail.tail };
        return { type: 'list', items, tail };
      }
      if (c !== 0x2c) throw this.error('expected , | or ] in a list');
    }
  }

  private sequence(close: number, closeText: string, depth: number): ErlangTerm[] {
    const items: ErlangTerm[] = [];
    this.skipSpace();
    if (this.peek() === close) {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.term(depth + 1));
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c === close) return items;
      if (c !== 0x2c) throw this.error(`expected , or ${closeText}`);
    }
  }

  private binary(): ErlangTerm {
    this.pos += 2;
    const bytes: number[] = [];
    this.skipSpace();
    if (this.peek() === 0x3e && this.peek(1) === 0x3e) {
      this.pos += 2;
      return { type: 'binary', bytes: Buffer.alloc(0) };
    }
    for (;;) {
      this.segment(bytes);
      this.skipSpace();
      if (this.peek() === 0x3e && this.peek(1) === 0x3e) {
        this.pos += 2;
        return { type: 'binary', bytes: Buffer.from(bytes) };
      }
      if (this.peek() !== 0x2c) throw this.error('expected , or >> in a binary');
      this.pos++;
    }
  }

  /** One segment: `"text"`, `Integer` or `$c`, each with an optional `:Size` (bits, whole bytes) and `/Type`. */
  private segment(out: number[]): void {
    this.skipSpace();
    const c = this.peek();
    let value: bigint | number[];
    if (c === 0x22) value = this.quoted(0x22);
    else if (c === 0x24) value = BigInt(this.char());
    else if (isDigit(c) || c === 0x2d) {
      const n = this.number();
      if (n.type !== 'integer') throw this.error('a float segment in a binary is not supported');
      value = n.value;
    } else throw this.error('a binary segment must be a string or an integer');
    let size: number | undefined;
    if (this.peek() === 0x3a) {
      this.pos++;
      const start = this.pos;
      while (isDigit(this.peek())) this.pos++;
      if (start === this.pos) throw this.error('expected a segment size');
      size = Number(this.src.subarray(start, this.pos).toString('latin1'));
      if (size % 8 !== 0 || size === 0) throw this.error(`a segment of ${size} bits is not whole bytes`);
    }
    let kind = 'integer';
    if (this.peek() === 0x2f) {
      this.pos++;
      kind = this.name();
      if (kind !== 'utf8' && kind !== 'integer' && kind !== 'big' && kind !== 'unsigned' && kind !== 'signed' && kind !== 'binary') {
        throw this.error(`binary segment type /${kind} is not supported`);
      }
    }
    if (Array.isArray(value)) {
      // A string segment is each character as its own segment of that type.
      for (const code of value) this.integerSegment(out, BigInt(code), kind, size);
    } else this.integerSegment(out, value, kind, size);
  }

  private integerSegment(out: number[], value: bigint, kind: string, size: number | undefined): void {
    if (kind === 'utf8') {
      if (value < 0n || value > 0x10ffffn || (value >= 0xd800n && value <= 0xdfffn)) throw this.error(`${value} is not a Unicode code point`);
      out.push(...Buffer.from(String.fromCodePoint(Number(value)), 'utf8'));
      return;
    }
    if (kind === 'binary') throw this.error('a /binary segment must be a binary');
    const bytes = (size ?? 8) / 8;
    // Erlang keeps the low bits of an integer that does not fit, two's complement for negatives.
    let v = BigInt.asUintN(bytes * 8, value);
    const chunk: number[] = [];
    for (let i = 0; i < bytes; i++) {
      chunk.unshift(Number(v & 0xffn));
      v >>= 8n;
    }
    out.push(...chunk);
  }

  private number(): ErlangTerm {
    let negative = false;
    if (this.peek() === 0x2d || this.peek() === 0x2b) {
      negative = this.peek() === 0x2d;
      this.pos++;
      while (this.peek() === 0x20) this.pos++;
    }
    const digits = (): string => {
      const s = this.pos;
      while (isDigit(this.peek()) || (this.peek() === 0x5f && isDigit(this.peek(1)) && this.pos > s)) this.pos++;
      return this.src.subarray(s, this.pos).toString('latin1').replaceAll('_', '');
    };
    const whole = digits();
    if (whole === '') throw this.error('expected digits');
    if (this.peek() === 0x23) {
      // Base#Digits
      const base = Number(whole);
      if (base < 2 || base > 36) throw this.error(`base ${base} is not 2..36`);
      this.pos++;
      const s = this.pos;
      while (isNameChar(this.peek()) && this.peek() !== 0x40) this.pos++;
      const text = this.src.subarray(s, this.pos).toString('latin1').replaceAll('_', '').toLowerCase();
      if (text === '') throw this.error('expected digits after #');
      let value = 0n;
      for (const ch of text) {
        const d = parseInt(ch, 36);
        if (Number.isNaN(d) || d >= base) throw this.error(`${JSON.stringify(ch)} is not a base-${base} digit`);
        value = value * BigInt(base) + BigInt(d);
      }
      return { type: 'integer', value: negative ? -value : value };
    }
    if (this.peek() === DOT && isDigit(this.peek(1))) {
      this.pos++;
      const fraction = digits();
      let exponent = '';
      if (this.peek() === 0x65 || this.peek() === 0x45) {
        const save = this.pos;
        this.pos++;
        let sign = '';
        if (this.peek() === 0x2d || this.peek() === 0x2b) {
          sign = String.fromCharCode(this.peek());
          this.pos++;
        }
        const e = digits();
        if (e === '') this.pos = save;
        else exponent = `e${sign}${e}`;
      }
      const value = Number(`${whole}.${fraction}${exponent}`);
      return { type: 'float', value: negative ? -value : value };
    }
    const value = BigInt(whole);
    return { type: 'integer', value: negative ? -value : value };
  }

  /** `$c` and `$\n`: the character's code. */
  private char(): number {
    this.pos++;
    if (this.atEnd()) throw this.error('expected a character after $');
    if (this.peek() === 0x5c) return this.escape();
    return this.src[this.pos++] as number;
  }

  /** A quoted string or atom, escapes resolved: character codes, each source byte one character (as for erl_scan). */
  private quoted(quote: number): number[] {
    this.pos++;
    const out: number[] = [];
    for (;;) {
      if (this.atEnd()) throw this.error(quote === 0x22 ? 'unterminated string' : 'unterminated quoted atom');
      const c = this.src[this.pos] as number;
      if (c === quote) {
        this.pos++;
        break;
      }
      if (c === 0x5c) out.push(this.escape());
      else {
        out.push(c);
        this.pos++;
      }
    }
    // Adjacent string literals are one string ("ab" "cd"), as erl_parse joins them.
    if (quote === 0x22) {
      const save = this.pos;
      this.skipSpace();
      if (this.peek() === 0x22) return [...out, ...this.quoted(0x22)];
      this.pos = save;
    }
    return out;
  }

  /** The escape at `pos` (a backslash): https://www.erlang.org/doc/reference_manual/data_types.html#escape-sequences */
  private escape(): number {
    this.pos++;
    const c = this.peek();
    if (c === -1) throw this.error('unterminated escape');
    this.pos++;
    switch (c) {
      case 0x62: return 8; // \b
      case 0x64: return 127; // \d
      case 0x65: return 27; // \e
      case 0x66: return 12; // \f
      case 0x6e: return 10; // \n
      case 0x72: return 13; // \r
      case 0x73: return 32; // \s
      case 0x74: return 9; // \t
      case 0x76: return 11; // \v
      case 0x5e: { // \^a: control character
        const x = this.src[this.pos++];
        if (x === undefined) throw this.error('unterminated escape');
        return x & 0x1f;
      }
      case 0x78: { // \xHH or \x{H…}
        if (this.peek() === 0x7b) {
          this.pos++;
          const s = this.pos;
          while (/[0-9a-fA-F]/.test(String.fromCharCode(this.peek()))) this.pos++;
          const hex = this.src.subarray(s, this.pos).toString('latin1');
          if (hex === '' || this.peek() !== 0x7d) throw this.error('malformed \\x{…} escape');
          this.pos++;
          const code = parseInt(hex, 16);
          if (code > 0x10ffff) throw this.error(`\\x{${hex}} is not a Unicode code point`);
          return code;
        }
        const hex = this.src.subarray(this.pos, this.pos + 2).toString('latin1');
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw this.error('malformed \\x escape');
        this.pos += 2;
        return parseInt(hex, 16);
      }
      default:
        if (c >= 0x30 && c <= 0x37) {
          // up to three octal digits
          let value = c - 0x30;
          for (let i = 0; i < 2 && this.peek() >= 0x30 && this.peek() <= 0x37; i++) value = value * 8 + (this.src[this.pos++] as number) - 0x30;
          return value;
        }
        return c; // \\ \' \" and any other character stand for themselves
    }
  }
}

/** Atom names are read as bytes too: shown as UTF-8 when they are, else as the characters Erlang sees. */
function codesToName(codes: number[]): string {
  if (codes.every((c) => c <= 0xff)) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(codes));
    } catch {
      // not UTF-8: fall through
    }
  }
  return String.fromCodePoint(...codes);
}

// ---------------------------------------------------------------------------------------------------------
// Reading helpers for the shapes ejabberd stores.

export function isAtom(term: ErlangTerm | undefined, name?: string): term is { type: 'atom'; name: string } {
  return term?.type === 'atom' && (name === undefined || term.name === name);
}

/**
 * The text a binary or string term holds: its bytes as UTF-8. undefined for other terms, for a string with
 * elements that are not bytes, and for bytes that are not UTF-8.
 */
export function termText(term: ErlangTerm | undefined): string | undefined {
  let bytes: Buffer;
  if (term?.type === 'binary') bytes = term.bytes;
  else if (term?.type === 'list' && term.tail === undefined && term.items.every((i) => i.type === 'integer' && i.value >= 0n && i.value <= 255n)) {
    bytes = Buffer.from(term.items.map((i) => Number((i as { value: bigint }).value)));
  } else return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** A proplist's `{Key, Value}` pairs with atom keys, first occurrence wins (proplists:get_value/2). */
export function proplist(term: ErlangTerm): Map<string, ErlangTerm> {
  const out = new Map<string, ErlangTerm>();
  if (term.type !== 'list') return out;
  for (const item of term.items) {
    if (item.type === 'tuple' && item.items.length === 2 && item.items[0]?.type === 'atom') {
      const key = item.items[0].name;
      if (!out.has(key)) out.set(key, item.items[1] as ErlangTerm);
    }
  }
  return out;
}

/** Erlang-like text of a term, for messages and notes (binaries as <<"text">> when they are UTF-8). */
export function formatErlangTerm(term: ErlangTerm): string {
  switch (term.type) {
    case 'atom':
      return /^[a-z][A-Za-z0-9_@]*$/.test(term.name) ? term.name : `'${term.name.replace(/[\\']/g, '\\$&')}'`;
    case 'integer':
      return term.value.toString();
    case 'float':
      return String(term.value);
    case 'binary': {
      const text = termText(term);
      return text !== undefined ? `<<${JSON.stringify(text)}>>` : `<<${[...term.bytes].join(',')}>>`;
    }
    case 'list': {
      const items = term.items.map(formatErlangTerm).join(',');
      return term.tail === undefined ? `[${items}]` : `[${items}|${formatErlangTerm(term.tail)}]`;
    }
    case 'tuple':
      return `{${term.items.map(formatErlangTerm).join(',')}}`;
    case 'map':
      return `#{${term.entries.map(([k, v]) => `${formatErlangTerm(k)} => ${formatErlangTerm(v)}`).join(',')}}`;
  }
}
