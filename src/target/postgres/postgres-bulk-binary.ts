// PostgreSQL COPY binary format, the fast bulk path of the PostgreSQL dialect: no escaping, and bytea (every
// archived message) travels as its bytes instead of twice as many hex digits that the server then decodes.
// https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
// A table takes this path only when every column has a type encoded here; a value of a JavaScript type the
// column's binary form cannot carry the way the text form would (a string in a bytea column, a non-integer
// in an integer column) sends the whole batch by the text path, whose errors and conversions are the
// reference.
import type { CopyValue } from './postgres-bulk-text.js';

/** The column types with a binary encoder; other types (timestamps, jsonb, numeric) keep a table on text COPY. */
export type BinaryColumnType = 'int2' | 'int4' | 'int8' | 'bool' | 'text' | 'bytea';

/** pg_type's typname (and typtype, 'e' for enums) → the encoder, or undefined for a type sent as text. */
export function binaryColumnType(typname: string, typtype: string): BinaryColumnType | undefined {
  switch (typname) {
    case 'int2':
    case 'int4':
    case 'int8':
    case 'bool':
    case 'bytea':
    case 'text':
      return typname;
    // Their binary input is the UTF-8 text itself, as for text.
    case 'varchar':
    case 'bpchar':
    case 'json':
      return 'text';
    default:
      return typtype === 'e' ? 'text' : undefined; // an enum's binary input is its label
  }
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const INT_RANGE: Record<'int2' | 'int4', [number, number]> = { int2: [-32768, 32767], int4: [-2147483648, 2147483647] };
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;
const DECIMAL = /^-?\d+$/;

class Unencodable extends Error {}

/** A growing output buffer: each field makes room for its worst case before it is written. */
class Out {
  buf: Buffer;
  at = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
}

/**
 * The COPY binary payload of `rows` (values in column order, typed by `types`), or undefined when a value
 * cannot go in binary form exactly as the text form would take it: the caller then uses text COPY.
 */
export function copyBinaryRows(rows: CopyValue[][], types: readonly BinaryColumnType[]): Buffer | undefined {
  const out = new Out(64 * 1024 + rows.length * 256);
  out.room(SIGNATURE.length + 8);
  out.at += SIGNATURE.copy(out.buf, out.at);
  out.at = out.buf.writeInt32BE(0, out.at); // flags: no OIDs
  out.at = out.buf.writeInt32BE(0, out.at); // no header extension
  try {
    for (const row of rows) {
      out.room(2);
      out.at = out.buf.writeInt16BE(types.length, out.at);
      for (let i = 0; i < types.length; i++) writeField(out, types[i]!, row[i]);
    }
  } catch (err) {
    if (err instanceof Unencodable) return undefined;
    throw err;
  }
  out.room(2);
  out.at = out.buf.writeInt16BE(-1, out.at);
  return out.buf.subarray(0, out.at);
}

function writeField(out: Out, type: BinaryColumnType, value: CopyValue): void {
  if (value === null || value === undefined) {
    out.room(4);
    out.at = out.buf.writeInt32BE(-1, out.at);
    return;
  }
  switch (type) {
    case 'text': {
      // As copyField writes them in text form: numbers and bigints in decimal, booleans as t / f.
      const text = typeof value === 'string' ? value : typeof value === 'boolean' ? (value ? 't' : 'f') : typeof value === 'number' || typeof value === 'bigint' ? String(value) : undefined;
      if (text === undefined) throw new Unencodable();
      out.room(4 + text.length * 3);
      const length = writeUtf8(out.buf, text, out.at + 4);
      out.buf.writeInt32BE(length, out.at);
      out.at += 4 + length;
      return;
    }
    case 'bytea': {
      if (!Buffer.isBuffer(value)) throw new Unencodable();
      out.room(4 + value.length);
      out.at = out.buf.writeInt32BE(value.length, out.at);
      out.at += value.copy(out.buf, out.at);
      return;
    }
    case 'bool': {
      if (typeof value !== 'boolean') throw new Unencodable();
      out.room(5);
      out.at = out.buf.writeInt32BE(1, out.at);
      out.buf[out.at++] = value ? 1 : 0;
      return;
    }
    case 'int8': {
      const n = typeof value === 'bigint' ? value : typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : typeof value === 'string' && DECIMAL.test(value) ? BigInt(value) : undefined;
      if (n === undefined || n < INT8_MIN || n > INT8_MAX) throw new Unencodable();
      out.room(12);
      out.at = out.buf.writeInt32BE(8, out.at);
      out.at = out.buf.writeBigInt64BE(n, out.at);
      return;
    }
    default: {
      const n = typeof value === 'number' ? value : typeof value === 'bigint' || (typeof value === 'string' && DECIMAL.test(value)) ? Number(value) : NaN;
      const [min, max] = INT_RANGE[type];
      if (!Number.isInteger(n) || n < min || n > max) throw new Unencodable();
      const size = type === 'int2' ? 2 : 4;
      out.room(4 + size);
      out.at = out.buf.writeInt32BE(size, out.at);
      out.at = size === 2 ? out.buf.writeInt16BE(n, out.at) : out.buf.writeInt32BE(n, out.at);
    }
  }
}

/**
 * UTF-8 of `text` at `at`, returning its length. Most fields (JIDs, ids, resources) are short ASCII: copied
 * code by code, which is several times cheaper than Buffer#write's setup per call; anything else (and long
 * text) goes to Buffer#write.
 */
function writeUtf8(buf: Buffer, text: string, at: number): number {
  const n = text.length;
  if (n > 64) return buf.write(text, at, 'utf8');
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return buf.write(text, at, 'utf8');
    buf[at + i] = code;
  }
  return n;
}
