// The two bulk formats of the MySQL dialect: LOAD DATA's text format (tab-separated, backslash escapes,
// `\N` for NULL; bytes as hex, turned back by `SET col = UNHEX(@col)`) and SQL literals for multi-row
// INSERTs (the fallback when the server forbids LOCAL INFILE).
// https://mariadb.com/kb/en/load-data-infile/ · https://dev.mysql.com/doc/refman/8.0/en/load-data.html
// https://dev.mysql.com/doc/refman/8.0/en/string-literals.html
import type { BulkValue } from '../mongooseim/mongooseim-dialect.js';

/** What LOAD DATA reads back as the byte itself after the escape character (FIELDS ESCAPED BY '\\'). */
const LOAD_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };
const LOAD_NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const LOAD_ESCAPE_ALL = /[\\\t\n\r\0]/g;

/** The LOAD DATA clause that matches `loadDataRows`: `FIELDS … LINES …`. */
export const LOAD_DATA_FORMAT = "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'";

/** One field of a LOAD DATA line; a `binary` column's bytes as hex (the statement UNHEXes them). */
export function loadDataField(value: BulkValue, binary: boolean): string {
  if (value === null || value === undefined) return '\\N';
  if (Buffer.isBuffer(value)) return binary ? value.toString('hex') : loadDataText(value.toString('utf8'));
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'string') return binary ? Buffer.from(value, 'utf8').toString('hex') : loadDataText(value);
  return String(value);
}

function loadDataText(text: string): string {
  return LOAD_NEEDS_ESCAPE.test(text) ? text.replace(LOAD_ESCAPE_ALL, (c) => LOAD_ESCAPES[c]!) : text;
}

/** One line per row (values in column order), UTF-8. `binary[i]` marks hex columns. */
export function loadDataLines(rows: BulkValue[][], binary: boolean[]): string[] {
  const lines = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    let line = '';
    for (let c = 0; c < row.length; c++) line += (c === 0 ? '' : '\t') + loadDataField(row[c], binary[c]!);
    lines[i] = line;
  }
  return lines;
}

/** MySQL's escapes inside a quoted string literal (NO_BACKSLASH_ESCAPES is off in our session). */
const SQL_ESCAPES: Record<string, string> = { '\0': '\\0', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z', '"': '\\"', "'": "\\'", '\\': '\\\\' };
const SQL_ESCAPE_ALL = /[\0\b\t\n\r\x1a"'\\]/g;

/** A value as a MySQL literal: strings quoted, bytes as X'…', booleans 1/0, bigints exact. */
export function sqlLiteral(value: BulkValue, binary = false): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`);
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return `X'${value.toString('hex')}'`;
  if (binary) return `X'${Buffer.from(value, 'utf8').toString('hex')}'`;
  return `'${value.replace(SQL_ESCAPE_ALL, (c) => SQL_ESCAPES[c]!)}'`;
}

/** `(v1, v2, …)` for one row. */
export function sqlTuple(row: BulkValue[], binary: boolean[]): string {
  let tuple = '(';
  for (let c = 0; c < row.length; c++) tuple += (c === 0 ? '' : ', ') + sqlLiteral(row[c], binary[c]);
  return `${tuple})`;
}
