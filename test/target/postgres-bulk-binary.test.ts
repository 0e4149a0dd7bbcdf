// Binary COPY must store exactly what text COPY (the reference) stores, value for value, on real PostgreSQL 15
// and PGlite; values the binary form cannot carry as the text form would fall back to text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite, openPostgres, type PostgresDatabase } from '../../src/target/postgres/postgres-database.js';
import { binaryColumnType, copyBinaryRows, type BinaryColumnType } from '../../src/target/postgres/postgres-bulk-binary.js';
import { copyRows, type CopyValue } from '../../src/target/postgres/postgres-bulk-text.js';
import { freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';
import { isSelected } from './target-dialects.js';

const COLUMNS = ['n', 'small', 'normal', 'big', 'flag', 'txt', 'vc', 'ch', 'doc', 'dir', 'raw'];
const DDL = [
  `DO $$ BEGIN CREATE TYPE bin_test_dir AS ENUM ('I', 'O'); EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
  `CREATE TABLE bin_text (n int4, small int2, normal int4, big int8, flag boolean, txt text, vc varchar(250), ch char(1), doc json, dir bin_test_dir, raw bytea)`,
  `CREATE TABLE bin_binary (LIKE bin_text)`,
];

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const ROWS: CopyValue[][] = [
  [1, 0, 0, 0n, false, '', '', 'a', '{}', 'I', Buffer.alloc(0)],
  [2, -32768, -2147483648, -(2n ** 63n), true, 'tab\there\nnewline\r\\backslash \\N', 'émoji 😀 ünïcödé', 'O', '{"a": [1, "\\t"]}', 'O', allBytes],
  [3, 32767, 2147483647, 2n ** 63n - 1n, true, 'x'.repeat(70_000), 'v', 'z', '[]', 'I', Buffer.alloc(100_000, 0x5c)],
  [4, null, null, null, null, null, null, null, null, null, null],
  [5, '12', '-7', '9007199254740993', false, 12.5, 42n, 'q', 'null', 'I', Buffer.from('\\x00')],
  [6, 7, 8, 9007199254740991, true, true, false, 'f', '"s"', 'O', Buffer.from([0])],
];

async function typesOf(db: PostgresDatabase): Promise<BinaryColumnType[]> {
  const { rows } = await db.query<{ attname: string; typname: string; typtype: string }>(
    `SELECT a.attname, t.typname, t.typtype FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = 'bin_binary'::regclass AND a.attnum > 0`,
  );
  const byName = new Map(rows.map((r) => [r.attname, binaryColumnType(r.typname, r.typtype)]));
  return COLUMNS.map((c) => byName.get(c)!);
}

const databases: Array<{ label: string; open(): Promise<{ db: PostgresDatabase; close(): Promise<void> }> }> = [];
if (isSelected('postgres')) {
  databases.push({
    label: 'PostgreSQL 15',
    async open() {
      const fresh: FreshDatabase = await freshPostgresDatabase('binary');
      const db = await openPostgres(fresh.url);
      return { db, close: async () => { await db.close(); await fresh.drop(); } };
    },
  });
}
if (isSelected('pglite')) databases.push({ label: 'PGlite', async open() { const db = await openPglite('memory'); return { db, close: () => db.close() }; } });

describe.each(databases)('COPY binary on $label', ({ open }) => {
  let db: PostgresDatabase;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await open());
    for (const statement of DDL) await db.query(statement);
  });
  afterAll(() => close());

  it('stores every value exactly as text COPY stores it', async () => {
    const types = await typesOf(db);
    expect(types).toEqual(['int4', 'int2', 'int4', 'int8', 'bool', 'text', 'text', 'text', 'text', 'text', 'bytea']);
    const binary = copyBinaryRows(ROWS, types);
    expect(binary).toBeDefined();
    await db.copyFrom('bin_text', COLUMNS, copyRows(ROWS));
    await db.copyFrom('bin_binary', COLUMNS, binary!, 'binary');
    const dump = async (table: string): Promise<unknown[]> =>
      (await db.query(`SELECT n, small, normal, big::text AS big, flag, txt, vc, ch, doc::text AS doc, dir::text AS dir, encode(raw, 'hex') AS raw FROM ${table} ORDER BY n`)).rows;
    const viaText = await dump('bin_text');
    expect(viaText).toHaveLength(ROWS.length);
    expect(await dump('bin_binary')).toEqual(viaText);
    // Spot checks against the values themselves, not only against the text path.
    const second = viaText[1] as Record<string, unknown>;
    expect(second.big).toBe(String(-(2n ** 63n)));
    expect(second.txt).toBe('tab\there\nnewline\r\\backslash \\N');
    expect(second.raw).toBe(allBytes.toString('hex'));
  });

  it('declines values the binary form would store differently, and text COPY then decides', () => {
    const types: BinaryColumnType[] = ['int4', 'int2', 'int4', 'int8', 'bool', 'text', 'text', 'text', 'text', 'text', 'bytea'];
    const variant = (index: number, value: CopyValue): CopyValue[][] => [ROWS[0]!.map((v, i) => (i === index ? value : v))];
    expect(copyBinaryRows(variant(0, 'abc'), types)).toBeUndefined(); // text COPY refuses it: a data error to bisect
    expect(copyBinaryRows(variant(1, 40_000), types)).toBeUndefined(); // out of int2's range
    expect(copyBinaryRows(variant(2, 1.5), types)).toBeUndefined();
    expect(copyBinaryRows(variant(3, 2n ** 63n), types)).toBeUndefined();
    expect(copyBinaryRows(variant(4, 't'), types)).toBeUndefined();
    expect(copyBinaryRows(variant(5, Buffer.from('x')), types)).toBeUndefined();
    expect(copyBinaryRows(variant(10, '\\x00'), types)).toBeUndefined();
    expect(copyBinaryRows(variant(0, 5), types)).toBeDefined();
  });
});
