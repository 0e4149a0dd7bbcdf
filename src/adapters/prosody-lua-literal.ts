// Prosody's data files as data: the subset of Lua that util/serialization.lua (0.11+) and the older %q
// serializer (0.9, 0.10) write, parsed and NEVER executed. https://www.lua.org/manual/5.4/manual.html#3.1
//
// Accepted: `return <value>;` (.dat) and `item(<table>);` statements (.list); tables with `[k] = v`, `name = v`,
// positional values and `,`/`;` separators; strings with every Lua 5.1-5.4 escape (\a \b \f \n \r \t \v \\ \" \',
// backslash-newline, \ddd with 1-3 digits, \xXX, \z, \u{XXX}) and long brackets; raw high bytes (0.9 files);
// decimal and hex numbers with a sign and exponent; (1/0), (-1/0), (0/0); true, false, nil; -- comments.
// Anything else is a LuaSyntaxError naming the line. Strings are decoded to bytes, then validated as UTF-8:
// valid ones become JS strings, invalid ones LuaBytes (the caller rejects what holds them, with their line).
import { isUtf8 } from 'node:buffer';

/** A Lua string whose bytes are not valid UTF-8 (salts may legitimately be binary). */
export class LuaBytes {
  constructor(
    readonly bytes: Buffer,
    readonly line: number,
  ) {}
}

export type LuaKey = string | number | boolean | LuaBytes;
export type LuaValue = string | number | boolean | LuaBytes | LuaTable;

/** A Lua table: entries in file order; positional values have keys 1..n. */
export class LuaTable {
  readonly map = new Map<LuaKey, LuaValue>();
  constructor(readonly line: number) {}

  get(key: LuaKey): LuaValue | undefined {
    return this.map.get(key);
  }

  /** The array part 1..n, as Lua's ipairs sees it (stops at the first missing index). */
  array(): LuaValue[] {
    const out: LuaValue[] = [];
    for (let i = 1; ; i++) {
      const v = this.map.get(i);
      if (v === undefined) return out;
      out.push(v);
    }
  }
}

export class LuaSyntaxError extends Error {
  override name = 'LuaSyntaxError';
  constructor(
    readonly reason: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

const enum C {
  TAB = 9,
  LF = 10,
  VT = 11,
  FF = 12,
  CR = 13,
  SPACE = 32,
  DQUOTE = 34,
  SQUOTE = 39,
  LPAREN = 40,
  RPAREN = 41,
  PLUS = 43,
  COMMA = 44,
  MINUS = 45,
  DOT = 46,
  SLASH = 47,
  ZERO = 48,
  NINE = 57,
  SEMI = 59,
  EQUALS = 61,
  LBRACKET = 91,
  BACKSLASH = 92,
  RBRACKET = 93,
  UNDERSCORE = 95,
  LBRACE = 123,
  RBRACE = 125,
}

const MAX_DEPTH = 200;

function isDigit(c: number): boolean {
  return c >= C.ZERO && c <= C.NINE;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
function hexValue(c: number): number {
  return c <= C.NINE ? c - C.ZERO : (c | 0x20) - 87;
}
function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === C.UNDERSCORE;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || isDigit(c);
}
function isSpace(c: number): boolean {
  return c === C.SPACE || c === C.TAB || c === C.LF || c === C.CR || c === C.VT || c === C.FF;
}

function describeByte(c: number | undefined): string {
  if (c === undefined) return 'the end of the input';
  if (c >= 33 && c < 127) return JSON.stringify(String.fromCharCode(c));
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/** ASCII/latin1 bytes as a string (Buffer#latin1Slice is fast but untyped). */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Buffer, start: number, end: number) => string }).latin1Slice;
function latin1(buf: Buffer, start: number, end: number): string {
  return latin1Slice.call(buf, start, end);
}

/** Scratch space for decoding escaped strings, grown as needed. */
let scratch = new Uint8Array(256);

/**
 * A parser over one buffer. `line` is the line of `buf[start]` in its file, so errors and values carry file
 * lines even when the buffer is one item of a larger file.
 */
export class LuaLiteralParser {
  private pos: number;
  private line: number;
  private depth = 0;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
    firstLine = 1,
  ) {
    this.pos = start;
    this.line = firstLine;
  }

  get currentLine(): number {
    return this.line;
  }

  private fail(reason: string, line = this.line): never {
    throw new LuaSyntaxError(reason, line);
  }

  /** Skips whitespace and comments. */
  skip(): void {
    const buf = this.buf;
    for (;;) {
      const c = buf[this.pos];
      if (this.pos >= this.end || c === undefined) return;
      if (c === C.LF) {
        this.line++;
        this.pos++;
      } else if (c === C.CR) {
        // \r\n and \n\r count as one line break, as in Lua's lexer.
        this.line++;
        this.pos++;
        if (buf[this.pos] === C.LF && this.pos < this.end) this.pos++;
      } else if (c === C.SPACE || c === C.TAB || c === C.VT || c === C.FF) {
        this.pos++;
      } else if (c === C.MINUS && buf[this.pos + 1] === C.MINUS && this.pos + 1 < this.end) {
        this.pos += 2;
        const level = buf[this.pos] === C.LBRACKET ? this.longBracketLevel() : -1;
        if (level >= 0) {
          this.readLong(level, false, 'comment');
        } else {
          while (this.pos < this.end && buf[this.pos] !== C.LF && buf[this.pos] !== C.CR) this.pos++;
        }
      } else {
        return;
      }
    }
  }

  atEnd(): boolean {
    this.skip();
    return this.pos >= this.end;
  }

  private peek(): number | undefined {
    return this.pos < this.end ? this.buf[this.pos] : undefined;
  }

  private expect(c: number, what: string): void {
    this.skip();
    if (this.peek() !== c) this.fail(`expected ${what} but found ${this.found()}`);
    this.pos++;
  }

  /** A short description of what is at the current position, for error messages. */
  private found(): string {
    const c = this.peek();
    if (c !== undefined && isNameStart(c)) return `the name ${JSON.stringify(this.peekName())}`;
    return describeByte(c);
  }

  private peekName(): string {
    let e = this.pos;
    while (e < this.end && isNameChar(this.buf[e] as number)) e++;
    return latin1(this.buf, this.pos, e);
  }

  private readName(): string {
    const name = this.peekName();
    this.pos += name.length;
    return name;
  }

  /** `return <value> [;]` and nothing else: a whole .dat file. */
  parseReturn(): LuaValue | undefined {
    this.skip();
    const line = this.line;
    const c = this.peek();
    if (c === undefined || !isNameStart(c) || this.peekName() !== 'return') {
      this.fail(`expected "return" (a Prosody .dat file) but found ${this.found()}`);
    }
    this.readName();
    const value = this.parseValue();
    this.skip();
    if (this.peek() === C.SEMI) this.pos++;
    if (!this.atEnd()) this.fail(`unexpected ${this.found()} after the returned value (started at line ${line})`);
    return value;
  }

  /** One `item(<table>) [;]` statement of a .list file. Returns undefined at the end of the input. */
  parseItem(): LuaTable | undefined {
    if (this.atEnd()) return undefined;
    const c = this.peek() as number;
    if (!isNameStart(c) || this.peekName() !== 'item') {
      this.fail(`expected item(…) (a Prosody .list file) but found ${this.found()}`);
    }
    this.readName();
    this.expect(C.LPAREN, '"(" after item');
    this.skip();
    const line = this.line;
    const value = this.parseValue();
    if (!(value instanceof LuaTable)) this.fail('item(…) must hold a table', line);
    this.expect(C.RPAREN, '")" closing item(');
    this.skip();
    if (this.peek() === C.SEMI) this.pos++;
    return value;
  }

  parseValue(): LuaValue | undefined {
    this.skip();
    const c = this.peek();
    switch (c) {
      case C.LBRACE:
        return this.parseTable();
      case C.DQUOTE:
      case C.SQUOTE:
        return this.parseShortString(c);
      case C.LBRACKET: {
        const level = this.longBracketLevel();
        if (level < 0) this.fail(`unexpected "[": not a long string`);
        const line = this.line;
        return this.finishString(this.readLong(level, true, 'string') as Buffer, line);
      }
      case C.LPAREN:
        return this.parseSpecialNumber();
      case C.MINUS: {
        this.pos++;
        this.skip();
        const n = this.peek();
        if (n === undefined || !(isDigit(n) || n === C.DOT)) this.fail(`"-" must be followed by a number, found ${this.found()}`);
        return -this.parseNumber();
      }
      case undefined:
        return this.fail('unexpected end of the input: the data is cut off');
      default:
        if (isDigit(c) || c === C.DOT) return this.parseNumber();
        if (isNameStart(c)) {
          const name = this.peekName();
          if (name === 'true' || name === 'false' || name === 'nil') {
            this.pos += name.length;
            return name === 'nil' ? undefined : name === 'true';
          }
          return this.fail(`${JSON.stringify(name)} is code, not data: only tables, strings, numbers, true, false and nil are read`);
        }
        return this.fail(`unexpected ${describeByte(c)}`);
    }
  }

  private parseTable(): LuaTable {
    const table = new LuaTable(this.line);
    if (++this.depth > MAX_DEPTH) this.fail(`tables nested deeper than ${MAX_DEPTH}`);
    this.pos++; // {
    let index = 1;
    for (;;) {
      this.skip();
      const c = this.peek();
      if (c === C.RBRACE) {
        this.pos++;
        break;
      }
      if (c === undefined) this.fail(`unexpected end of the input inside the table opened at line ${table.line}`);
      if (c === C.LBRACKET && this.longBracketLevel() < 0) {
        this.pos++;
        const keyLine = this.line;
        const key = this.parseValue();
        this.expect(C.RBRACKET, '"]" closing a table key');
        this.expect(C.EQUALS, '"=" after a table key');
        const value = this.parseValue();
        if (key === undefined) this.fail('a table key is nil', keyLine);
        if (typeof key === 'number' && Number.isNaN(key)) this.fail('a table key is NaN', keyLine);
        if (key instanceof LuaTable) this.fail('a table key is a table', keyLine);
        if (value !== undefined) table.map.set(key, value);
        else table.map.delete(key);
      } else if (c !== undefined && isNameStart(c) && this.isFieldName()) {
        const name = this.readName();
        this.expect(C.EQUALS, '"="');
        const value = this.parseValue();
        if (value !== undefined) table.map.set(name, value);
        else table.map.delete(name);
      } else {
        const value = this.parseValue();
        if (value !== undefined) table.map.set(index, value);
        index++;
      }
      this.skip();
      const sep = this.peek();
      if (sep === C.COMMA || sep === C.SEMI) {
        this.pos++;
        continue;
      }
      if (sep === C.RBRACE) {
        this.pos++;
        break;
      }
      this.fail(`expected "," ";" or "}" in the table opened at line ${table.line}, found ${this.found()}`);
    }
    this.depth--;
    return table;
  }

  /** `name =` (a field) rather than a value that starts with a name (true, false, nil). */
  private isFieldName(): boolean {
    let e = this.pos;
    while (e < this.end && isNameChar(this.buf[e] as number)) e++;
    const name = latin1(this.buf, this.pos, e);
    if (name === 'true' || name === 'false' || name === 'nil') return false;
    while (e < this.end && isSpace(this.buf[e] as number)) e++;
    return this.buf[e] === C.EQUALS && this.buf[e + 1] !== C.EQUALS;
  }

  /** (1/0), (-1/0) and (0/0): how both serializers write infinities and NaN. */
  private parseSpecialNumber(): number {
    const line = this.line;
    this.pos++; // (
    this.skip();
    let negative = false;
    if (this.peek() === C.MINUS) {
      negative = true;
      this.pos++;
      this.skip();
    }
    const c = this.peek();
    if (c === undefined || !isDigit(c)) this.fail('only (1/0), (-1/0) and (0/0) may stand in parentheses', line);
    const numerator = this.parseNumber();
    this.expect(C.SLASH, '"/" in (1/0)');
    this.skip();
    const d = this.peek();
    if (d === undefined || !isDigit(d)) this.fail('only (1/0), (-1/0) and (0/0) may stand in parentheses', line);
    const denominator = this.parseNumber();
    this.expect(C.RPAREN, '")"');
    if (denominator !== 0 || (numerator !== 0 && numerator !== 1)) this.fail('only (1/0), (-1/0) and (0/0) may stand in parentheses', line);
    if (numerator === 0) return Number.NaN;
    return negative ? -Infinity : Infinity;
  }

  private parseNumber(): number {
    const buf = this.buf;
    const start = this.pos;
    let e = start;
    if (buf[e] === C.ZERO && (buf[e + 1] === 120 || buf[e + 1] === 88)) {
      // Hex: 0x1F, 0x1.8p3
      e += 2;
      let mantissa = 0;
      let digits = 0;
      let exp = 0;
      while (e < this.end && isHex(buf[e] as number)) {
        mantissa = mantissa * 16 + hexValue(buf[e] as number);
        e++;
        digits++;
      }
      if (buf[e] === C.DOT) {
        e++;
        while (e < this.end && isHex(buf[e] as number)) {
          mantissa = mantissa * 16 + hexValue(buf[e] as number);
          exp -= 4;
          e++;
          digits++;
        }
      }
      if (digits === 0) this.fail('malformed hexadecimal number');
      if (buf[e] === 112 || buf[e] === 80) {
        e++;
        let sign = 1;
        if (buf[e] === C.PLUS || buf[e] === C.MINUS) {
          sign = buf[e] === C.MINUS ? -1 : 1;
          e++;
        }
        const es = e;
        while (e < this.end && isDigit(buf[e] as number)) e++;
        if (e === es) this.fail('malformed hexadecimal exponent');
        exp += sign * Number(latin1(buf, es, e));
      }
      this.pos = e;
      this.checkNumberEnd();
      return mantissa * 2 ** exp;
    }
    while (e < this.end && isDigit(buf[e] as number)) e++;
    if (buf[e] === C.DOT) {
      e++;
      while (e < this.end && isDigit(buf[e] as number)) e++;
    }
    if (buf[e] === 101 || buf[e] === 69) {
      e++;
      if (buf[e] === C.PLUS || buf[e] === C.MINUS) e++;
      const es = e;
      while (e < this.end && isDigit(buf[e] as number)) e++;
      if (e === es) this.fail('malformed number exponent');
    }
    const text = latin1(buf, start, e);
    if (text === '.' || text === '') this.fail('malformed number');
    this.pos = e;
    this.checkNumberEnd();
    return Number(text);
  }

  private checkNumberEnd(): void {
    const c = this.peek();
    if (c !== undefined && (isNameChar(c) || c === C.DOT)) this.fail(`malformed number near ${describeByte(c)}`);
  }

  /** At `[`: the level of a long bracket `[==[`, or -1 when it is not one. */
  private longBracketLevel(): number {
    let e = this.pos + 1;
    let level = 0;
    while (this.buf[e] === C.EQUALS && e < this.end) {
      level++;
      e++;
    }
    return this.buf[e] === C.LBRACKET && e < this.end ? level : -1;
  }

  /** Reads a long bracket `[==[ … ]==]`; the first newline is skipped and line breaks become \n. */
  private readLong(level: number, keep: boolean, what: string): Buffer | undefined {
    const buf = this.buf;
    const line = this.line;
    this.pos += level + 2;
    // A line break right after the opening bracket is not part of the string.
    if (buf[this.pos] === C.CR || buf[this.pos] === C.LF) {
      const first = buf[this.pos];
      this.pos++;
      this.line++;
      if ((buf[this.pos] === C.CR || buf[this.pos] === C.LF) && buf[this.pos] !== first) this.pos++;
    }
    const out: number[] = [];
    for (;;) {
      if (this.pos >= this.end) this.fail(`unfinished long ${what} (started at line ${line})`, line);
      const c = buf[this.pos] as number;
      if (c === C.RBRACKET) {
        let e = this.pos + 1;
        let l = 0;
        while (buf[e] === C.EQUALS && e < this.end) {
          l++;
          e++;
        }
        if (l === level && buf[e] === C.RBRACKET && e < this.end) {
          this.pos = e + 1;
          return keep ? Buffer.from(out) : undefined;
        }
        if (keep) out.push(c);
        this.pos++;
      } else if (c === C.CR || c === C.LF) {
        this.pos++;
        this.line++;
        const n = buf[this.pos];
        if ((n === C.CR || n === C.LF) && n !== c && this.pos < this.end) this.pos++;
        if (keep) out.push(C.LF);
      } else {
        if (keep) out.push(c);
        this.pos++;
      }
    }
  }

  private parseShortString(quote: number): string | LuaBytes {
    const buf = this.buf;
    const line = this.line;
    const start = ++this.pos;
    // Fast path: no escapes. Raw bytes above 0x7F are allowed (0.9 files), raw line breaks are not.
    let e = start;
    let high = false;
    for (;;) {
      if (e >= this.end) this.fail(`unfinished string (started at line ${line})`, line);
      const c = buf[e] as number;
      if (c === quote) {
        this.pos = e + 1;
        if (!high) return latin1(buf, start, e);
        return this.finishString(buf.subarray(start, e), line);
      }
      if (c === C.BACKSLASH) break;
      if (c === C.LF || c === C.CR) this.fail(`unfinished string (a raw line break at line ${this.line} inside the string started at line ${line})`, line);
      if (c >= 0x80) high = true;
      e++;
    }
    // Slow path: decode escapes into bytes.
    let n = 0;
    const put = (b: number): void => {
      if (n >= scratch.length) {
        const bigger = new Uint8Array(scratch.length * 2);
        bigger.set(scratch);
        scratch = bigger;
      }
      scratch[n++] = b;
    };
    for (let i = start; i < e; i++) put(buf[i] as number);
    this.pos = e;
    for (;;) {
      if (this.pos >= this.end) this.fail(`unfinished string (started at line ${line})`, line);
      const c = buf[this.pos] as number;
      if (c === quote) {
        this.pos++;
        break;
      }
      if (c === C.LF || c === C.CR) this.fail(`unfinished string (a raw line break at line ${this.line} inside the string started at line ${line})`, line);
      if (c !== C.BACKSLASH) {
        put(c);
        this.pos++;
        continue;
      }
      this.pos++;
      const x = this.pos < this.end ? (buf[this.pos] as number) : -1;
      switch (x) {
        case 97: put(7); this.pos++; break; // \a
        case 98: put(8); this.pos++; break; // \b
        case 102: put(12); this.pos++; break; // \f
        case 110: put(10); this.pos++; break; // \n
        case 114: put(13); this.pos++; break; // \r
        case 116: put(9); this.pos++; break; // \t
        case 118: put(11); this.pos++; break; // \v
        case C.BACKSLASH: put(C.BACKSLASH); this.pos++; break;
        case C.DQUOTE: put(C.DQUOTE); this.pos++; break;
        case C.SQUOTE: put(C.SQUOTE); this.pos++; break;
        case C.LF:
        case C.CR: {
          // Backslash-newline (Lua 5.1 %q writes newlines this way): a newline in the string.
          put(C.LF);
          this.pos++;
          this.line++;
          const n2 = buf[this.pos];
          if ((n2 === C.CR || n2 === C.LF) && n2 !== x && this.pos < this.end) this.pos++;
          break;
        }
        case 120: { // \xXX
          const h1 = buf[this.pos + 1];
          const h2 = buf[this.pos + 2];
          if (h1 === undefined || h2 === undefined || !isHex(h1) || !isHex(h2) || this.pos + 2 >= this.end) {
            this.fail('\\x must be followed by two hexadecimal digits');
          }
          put(hexValue(h1) * 16 + hexValue(h2));
          this.pos += 3;
          break;
        }
        case 122: { // \z skips the following whitespace, line breaks included
          this.pos++;
          while (this.pos < this.end && isSpace(buf[this.pos] as number)) {
            const s = buf[this.pos] as number;
            this.pos++;
            if (s === C.LF || s === C.CR) {
              this.line++;
              const n2 = buf[this.pos];
              if ((n2 === C.CR || n2 === C.LF) && n2 !== s && this.pos < this.end) this.pos++;
            }
          }
          break;
        }
        case 117: { // \u{XXX}: UTF-8 of the code point (Lua 5.3+ allows up to 2^31)
          if (buf[this.pos + 1] !== C.LBRACE) this.fail('\\u must be followed by {hex digits}');
          let p = this.pos + 2;
          let cp = 0;
          let digits = 0;
          while (p < this.end && isHex(buf[p] as number)) {
            cp = cp * 16 + hexValue(buf[p] as number);
            if (cp > 0x7fffffff) this.fail('\\u{…} code point too large');
            p++;
            digits++;
          }
          if (digits === 0 || buf[p] !== C.RBRACE) this.fail('malformed \\u{…} escape');
          this.pos = p + 1;
          for (const b of utf8Extended(cp)) put(b);
          break;
        }
        default: {
          if (x >= C.ZERO && x <= C.NINE) {
            // \ddd: one to three decimal digits, at most 255
            let v = 0;
            let k = 0;
            while (k < 3 && this.pos < this.end && isDigit(buf[this.pos] as number)) {
              v = v * 10 + ((buf[this.pos] as number) - C.ZERO);
              this.pos++;
              k++;
            }
            if (v > 255) this.fail(`decimal escape \\${v} is larger than 255`);
            put(v);
            break;
          }
          this.fail(`invalid escape sequence \\${x < 0 ? '' : String.fromCharCode(x)} in a string`);
        }
      }
    }
    return this.finishString(Buffer.from(scratch.subarray(0, n)), line);
  }

  private finishString(bytes: Buffer, line: number): string | LuaBytes {
    if (isUtf8(bytes)) return bytes.toString('utf8');
    return new LuaBytes(Buffer.from(bytes), line);
  }
}

/** Lua's utf8esc: up to six bytes, as Lua 5.4 writes \u{…} (values past U+10FFFF and surrogates included). */
function utf8Extended(cp: number): number[] {
  if (cp < 0x80) return [cp];
  const out: number[] = [];
  let mfb = 0x3f;
  let x = cp;
  do {
    out.unshift(0x80 | (x & 0x3f));
    x = Math.floor(x / 64);
    mfb >>= 1;
  } while (x > mfb);
  out.unshift(((~mfb << 1) & 0xff) | x);
  return out;
}

/** Parses a whole .dat file body (`return …;`). */
export function parseDat(buf: Buffer): LuaValue | undefined {
  return new LuaLiteralParser(buf).parseReturn();
}

// ---------------------------------------------------------------------------------------------------------
// Statement boundaries of a .list file, found without parsing: strings, long brackets and comments are
// skipped, brackets counted. Used to skip items on resume and to cut a file into items read on their own.

export interface StatementSpan {
  start: number;
  end: number;
  /** Line of `start`. */
  line: number;
  /** Lines from start to end. */
  lines: number;
}

export type ScanResult =
  | { kind: 'statement'; span: StatementSpan }
  /** The buffer ends inside a statement: more input is needed (or the file is cut off). */
  | { kind: 'incomplete'; start: number; line: number }
  | { kind: 'end' }
  /** A string or bracket that can never close (e.g. a raw line break in a string). */
  | { kind: 'broken'; start: number; line: number; reason: string };

/**
 * Finds the next top-level statement from `pos`: leading space and comments, then everything up to the
 * bracket that closes the first opened one, plus an optional `;`.
 */
export function scanStatement(buf: Buffer, pos: number, line: number, end = buf.length): ScanResult {
  // Skip leading whitespace and comments.
  let p = pos;
  let l = line;
  for (;;) {
    if (p >= end) return { kind: 'end' };
    const c = buf[p] as number;
    if (c === C.LF) {
      l++;
      p++;
    } else if (c === C.CR) {
      l++;
      p++;
      if (buf[p] === C.LF && p < end) p++;
    } else if (c === C.SPACE || c === C.TAB || c === C.VT || c === C.FF || c === C.SEMI) {
      p++;
    } else if (c === C.MINUS && buf[p + 1] === C.MINUS) {
      if (p + 1 >= end) return { kind: 'incomplete', start: p, line: l };
      const r = skipComment(buf, p, l, end);
      if (r === undefined) return { kind: 'incomplete', start: p, line: l };
      p = r.pos;
      l = r.line;
    } else {
      break;
    }
  }
  const start = p;
  const startLine = l;
  let depth = 0;
  let opened = false;
  while (p < end) {
    const c = buf[p] as number;
    switch (c) {
      case C.LF:
        l++;
        p++;
        break;
      case C.CR:
        l++;
        p++;
        if (buf[p] === C.LF && p < end) p++;
        break;
      case C.DQUOTE:
      case C.SQUOTE: {
        p++;
        for (;;) {
          if (p >= end) return { kind: 'incomplete', start, line: startLine };
          const s = buf[p] as number;
          if (s === c) {
            p++;
            break;
          }
          if (s === C.BACKSLASH) {
            if (p + 1 >= end) return { kind: 'incomplete', start, line: startLine };
            const n = buf[p + 1] as number;
            if (n === C.LF || n === C.CR) {
              l++;
              // Backslash + CRLF (or LFCR) is one escaped line break.
              const n2 = buf[p + 2];
              if ((n2 === C.LF || n2 === C.CR) && n2 !== n && p + 2 < end) p++;
            }
            if (n === 122) {
              // \z: whitespace after it may contain line breaks
              p += 2;
              while (p < end && isSpace(buf[p] as number)) {
                if (buf[p] === C.LF) l++;
                p++;
              }
              continue;
            }
            p += 2;
            continue;
          }
          if (s === C.LF || s === C.CR) return { kind: 'broken', start, line: startLine, reason: `unfinished string at line ${l}` };
          p++;
        }
        break;
      }
      case C.LBRACKET: {
        let e = p + 1;
        let level = 0;
        while (e < end && buf[e] === C.EQUALS) {
          level++;
          e++;
        }
        if (e >= end) return { kind: 'incomplete', start, line: startLine };
        if (buf[e] === C.LBRACKET) {
          const r = skipLong(buf, e + 1, level, l, end);
          if (r === undefined) return { kind: 'incomplete', start, line: startLine };
          p = r.pos;
          l = r.line;
        } else {
          depth++;
          opened = true;
          p++;
        }
        break;
      }
      case C.MINUS:
        if (buf[p + 1] === C.MINUS) {
          if (p + 1 >= end) return { kind: 'incomplete', start, line: startLine };
          const r = skipComment(buf, p, l, end);
          if (r === undefined) return { kind: 'incomplete', start, line: startLine };
          p = r.pos;
          l = r.line;
        } else p++;
        break;
      case C.LPAREN:
      case C.LBRACE:
        depth++;
        opened = true;
        p++;
        break;
      case C.RPAREN:
      case C.RBRACE:
      case C.RBRACKET:
        depth--;
        p++;
        if (depth < 0) return { kind: 'broken', start, line: startLine, reason: `unbalanced ${describeByte(c)} at line ${l}` };
        if (depth === 0 && opened) {
          // Include a `;` right after the statement.
          let q = p;
          while (q < end && (buf[q] === C.SPACE || buf[q] === C.TAB)) q++;
          if (buf[q] === C.SEMI && q < end) p = q + 1;
          return { kind: 'statement', span: { start, end: p, line: startLine, lines: l - startLine } };
        }
        break;
      default:
        p++;
    }
  }
  return { kind: 'incomplete', start, line: startLine };
}

function skipComment(buf: Buffer, p: number, l: number, end: number): { pos: number; line: number } | undefined {
  p += 2;
  if (buf[p] === C.LBRACKET) {
    let e = p + 1;
    let level = 0;
    while (e < end && buf[e] === C.EQUALS) {
      level++;
      e++;
    }
    if (e >= end) return undefined;
    if (buf[e] === C.LBRACKET) return skipLong(buf, e + 1, level, l, end);
  }
  while (p < end && buf[p] !== C.LF && buf[p] !== C.CR) p++;
  if (p >= end) return undefined;
  return { pos: p, line: l };
}

function skipLong(buf: Buffer, p: number, level: number, l: number, end: number): { pos: number; line: number } | undefined {
  while (p < end) {
    const c = buf[p] as number;
    if (c === C.LF) l++;
    if (c === C.RBRACKET) {
      let e = p + 1;
      let k = 0;
      while (e < end && buf[e] === C.EQUALS) {
        k++;
        e++;
      }
      if (k === level && buf[e] === C.RBRACKET && e < end) return { pos: e + 1, line: l };
    }
    p++;
  }
  return undefined;
}
