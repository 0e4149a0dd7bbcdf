// PostgreSQL COPY text format, the bulk path of the PostgreSQL dialect: tab-separated columns, `\N` for
// NULL, backslash escapes.
// https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2
export type CopyValue = string | number | bigint | boolean | Buffer | null | undefined;

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeText(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : text;
}

/** One value in COPY text form; bytea as `\\x` hex (the backslash itself escaped for COPY). */
export function copyField(value: CopyValue): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') return escapeText(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (Buffer.isBuffer(value)) return `\\\\x${value.toString('hex')}`;
  return String(value);
}

/** Builds the COPY payload of many rows at once: one string join per batch, not per field. */
export function copyRows(rows: CopyValue[][]): Buffer {
  const lines = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) lines[i] = rows[i]!.map(copyField).join('\t');
  return Buffer.from(lines.length === 0 ? '' : `${lines.join('\n')}\n`, 'utf8');
}
