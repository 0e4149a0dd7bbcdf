// The target test matrix: every dialect the writer supports, each on a fresh empty database, with the
// few SQL spellings tests need so that their assertions stay identical. XMIG_TEST_DIALECTS selects a
// subset (comma-separated names, e.g. `mysql` or `postgres,pglite`); the default is all.
import type { MongooseimDialect } from '../../src/target/mongooseim/mongooseim-dialect.js';
import { openMysql } from '../../src/target/mysql/mysql-database.js';
import { MysqlDialect, type MysqlDialectOptions } from '../../src/target/mysql/mysql-dialect.js';
import { openPglite, openPostgres } from '../../src/target/postgres/postgres-database.js';
import { PostgresDialect } from '../../src/target/postgres/postgres-dialect.js';
import type { DumpFlavour } from '../support/target-dump.js';
import { freshMysqlDatabase, freshPostgresDatabase } from '../support/databases.js';

export const DIALECTS_ENV = 'XMIG_TEST_DIALECTS';

export type DialectName = 'postgres' | 'mysql' | 'pglite';

export interface OpenedDialect {
  dialect: MongooseimDialect;
  /** The URL the CLI would take (absent for PGlite in memory). */
  url?: string;
  /** Closes the dialect's connection and drops the database. */
  cleanup(): Promise<void>;
}

export interface DialectUnderTest {
  name: DialectName;
  label: string;
  dump: DumpFlavour;
  open(hint: string, options?: { mysqlBulk?: MysqlDialectOptions['bulk'] }): Promise<OpenedDialect>;
  /** `expr` as decimal text (BIGINT ids, µs). */
  text(expr: string): string;
  /** `expr` (a count) as a JS number. */
  int(expr: string): string;
}

const ALL: DialectUnderTest[] = [
  {
    name: 'postgres',
    label: 'PostgreSQL 15',
    dump: 'postgres',
    async open(hint) {
      const fresh = await freshPostgresDatabase(hint);
      const dialect = new PostgresDialect(await openPostgres(fresh.url));
      return { dialect, url: fresh.url, cleanup: async () => { await dialect.db.close(); await fresh.drop(); } };
    },
    text: (expr) => `(${expr})::text`,
    int: (expr) => `(${expr})::int`,
  },
  {
    name: 'mysql',
    label: 'MariaDB 10.11',
    dump: 'mysql',
    async open(hint, options) {
      const fresh = await freshMysqlDatabase(hint);
      const dialect = await MysqlDialect.open(await openMysql(fresh.url), { bulk: options?.mysqlBulk });
      return { dialect, url: fresh.url, cleanup: async () => { await dialect.db.close(); await fresh.drop(); } };
    },
    text: (expr) => `CAST(${expr} AS CHAR)`,
    int: (expr) => `CAST(${expr} AS DOUBLE)`,
  },
  {
    name: 'pglite',
    label: 'PGlite',
    dump: 'postgres',
    async open() {
      const dialect = new PostgresDialect(await openPglite('memory'));
      return { dialect, cleanup: () => dialect.db.close() };
    },
    text: (expr) => `(${expr})::text`,
    int: (expr) => `(${expr})::int`,
  },
];

/** The dialects selected by XMIG_TEST_DIALECTS (all when unset). Unknown names fail loudly. */
export function selectedDialects(): DialectUnderTest[] {
  const wanted = process.env[DIALECTS_ENV]?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!wanted || wanted.length === 0) return ALL;
  const unknown = wanted.filter((name) => !ALL.some((d) => d.name === name));
  if (unknown.length > 0) throw new Error(`${DIALECTS_ENV}: unknown dialect(s) ${unknown.join(', ')}; expected some of ${ALL.map((d) => d.name).join(', ')}`);
  return ALL.filter((d) => wanted.includes(d.name));
}

export function isSelected(name: DialectName): boolean {
  return selectedDialects().some((d) => d.name === name);
}
