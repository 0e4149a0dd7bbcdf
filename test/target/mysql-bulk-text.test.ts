// The MySQL bulk formats as In → Out tables: LOAD DATA's text fields and SQL literals. That the server reads
// them back byte for byte is shown against MariaDB in mysql-target.test.ts and mongooseim-target.test.ts.
import { describe, expect, it } from 'vitest';
import type { BulkValue } from '../../src/target/mongooseim/mongooseim-dialect.js';
import { loadDataField, loadDataLines, sqlLiteral, sqlTuple } from '../../src/target/mysql/mysql-bulk-text.js';

describe('LOAD DATA fields (FIELDS TERMINATED BY tab ESCAPED BY backslash)', () => {
  const cases: Array<[string, BulkValue, boolean, string]> = [
    ['NULL', null, false, '\\N'],
    ['undefined as NULL', undefined, false, '\\N'],
    ['the empty string, not NULL', '', false, ''],
    ['plain text', 'hello', false, 'hello'],
    ['tab, newline, carriage return', 'a\tb\nc\rd', false, 'a\\tb\\nc\\rd'],
    ['backslash, and a literal \\N that is not NULL', 'x\\N', false, 'x\\\\N'],
    ['NUL', 'a\u0000b', false, 'a\\0b'],
    ['4-byte UTF-8 as it is', 'ok 😀 𝄞', false, 'ok 😀 𝄞'],
    ['booleans as 1/0', true, false, '1'],
    ['false', false, false, '0'],
    ['a bigint beyond 2^53, exact', 436252262431604736n, false, '436252262431604736'],
    ['a number', 42, false, '42'],
    ['bytes as hex for a binary column', Buffer.from([0, 9, 10, 92, 255]), true, '00090a5cff'],
    ['empty bytes', Buffer.alloc(0), true, ''],
    ['NULL bytes stay NULL', null, true, '\\N'],
  ];
  it.each(cases)('%s', (_name, value, binary, expected) => {
    expect(loadDataField(value, binary)).toBe(expected);
  });

  it('joins a row with tabs, one line per row', () => {
    expect(loadDataLines([[1n, 'a\tb', Buffer.from('hi'), null], [2n, '', Buffer.alloc(0), false]], [false, false, true, false])).toEqual([
      '1\ta\\tb\t6869\t\\N',
      '2\t\t\t0',
    ]);
  });
});

describe('SQL literals (multi-row INSERT fallback)', () => {
  const cases: Array<[string, BulkValue, string]> = [
    ['NULL', null, 'NULL'],
    ['quotes and backslashes', `it's "x" \\ y`, `'it\\'s \\"x\\" \\\\ y'`],
    ['control characters', 'a\u0000\b\t\n\r\u001a', "'a\\0\\b\\t\\n\\r\\Z'"],
    ['4-byte UTF-8 as it is', '😀', "'😀'"],
    ['booleans', true, '1'],
    ['a bigint beyond 2^53, exact', 436252262431604736n, '436252262431604736'],
    ['bytes', Buffer.from([0, 39, 255]), "X'0027ff'"],
  ];
  it.each(cases)('%s', (_name, value, expected) => {
    expect(sqlLiteral(value)).toBe(expected);
  });

  it('refuses a number that is not finite', () => {
    expect(() => sqlLiteral(Number.NaN)).toThrow(/not a finite number/);
  });

  it('writes a tuple, text as bytes where the column is binary', () => {
    expect(sqlTuple([1, 'é', 'é'], [false, false, true])).toBe("(1, 'é', X'c3a9')");
  });
});
