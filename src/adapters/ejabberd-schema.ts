// ejabberd's SQL schema as the database shows it: which variant (single-host or multi-host, and the columns
// later releases added), read from information_schema, never from configuration. Facts:
// shared/docs/storage-facts.md §2.1; processone/ejabberd: sql/{pg,mysql}{,.new}.sql and the
// sql_schemas/0 declarations of the *_sql.erl modules.
// Also the two SQL dialects this adapter reads (PostgreSQL, MySQL/MariaDB): placeholders and keyset conditions.
import { SourceError, UsageError } from '../errors.js';

export type SqlDialect = 'pg' | 'mysql';

/** The slice of a database driver the ejabberd adapter calls. */
export interface EjabberdDb {
  readonly dialect: SqlDialect;
  /** Rows as objects keyed by column name. */
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/** Per-user tables that gain `server_host` in the multi-host schema (storage-facts §2.1). */
export const PER_USER_TABLES = [
  'users',
  'last',
  'rosterusers',
  'rostergroups',
  'roster_version',
  'spool',
  'archive',
  'archive_prefs',
  'vcard',
  'vcard_search',
  'privacy_default_list',
  'privacy_list',
  'private_storage',
  'muc_room',
  'muc_registered',
  'sr_group',
  'sr_user',
] as const;

export interface EjabberdSchema {
  dialect: SqlDialect;
  /** `server_host` on the per-user tables (`new_sql_schema` / `sql_schema_multihost: true`). */
  multiHost: boolean;
  /** `users.type` (25.03+: one row per user per password type; type 0 rows are not yet converted). */
  usersType: boolean;
  /** `users.serverkey` (16.03+); without it every password is plaintext. */
  scramColumns: boolean;
  /** `archive.origin_id` (24.02+). */
  archiveOriginId: boolean;
  /** `rosterusers.approved` (26.03+, pre-approval). */
  rosterApproved: boolean;
  /** `schema_version(module, version)` rows, when the auto-updater (23.10+) ran. */
  schemaVersions: Map<string, number> | undefined;
  tables: Map<string, Set<string>>;
  /** Server product and version, for the description. */
  serverVersion: string;
  database: string;
}

export function hasTable(schema: EjabberdSchema, table: string): boolean {
  return schema.tables.has(table);
}

export function hasColumn(schema: EjabberdSchema, table: string, column: string): boolean {
  return schema.tables.get(table)?.has(column) ?? false;
}

/** Reads the schema variant from the database. Throws SourceError when this is not an ejabberd database. */
export async function detectSchema(db: EjabberdDb): Promise<EjabberdSchema> {
  const rows =
    db.dialect === 'pg'
      ? await db.query(
          `SELECT table_name AS t, column_name AS c FROM information_schema.columns
           WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
        )
      : await db.query(
          `SELECT table_name AS t, column_name AS c FROM information_schema.columns
           WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position`,
        );
  const tables = new Map<string, Set<string>>();
  for (const row of rows) {
    const table = String(row.t ?? row.T ?? row.TABLE_NAME).toLowerCase();
    const column = String(row.c ?? row.C ?? row.COLUMN_NAME).toLowerCase();
    let columns = tables.get(table);
    if (!columns) tables.set(table, (columns = new Set()));
    columns.add(column);
  }
  const users = tables.get('users');
  if (!users || !users.has('username') || !users.has('password')) {
    throw new SourceError(
      'not-ejabberd',
      `the database has no ejabberd users table (users with username and password columns); is this ejabberd's SQL database? Tables found: ${[...tables.keys()].slice(0, 20).join(', ') || 'none'}`,
    );
  }
  const multiHost = users.has('server_host');
  // A half-converted database (mysql.old-to-new.sql stopped midway) cannot be read consistently.
  const disagreeing = PER_USER_TABLES.filter((t) => tables.has(t) && tables.get(t)!.has('server_host') !== multiHost);
  if (disagreeing.length > 0) {
    throw new SourceError(
      'mixed-schema',
      `users ${multiHost ? 'has' : 'has no'} server_host column but ${disagreeing.join(', ')} ${multiHost ? 'lack' : 'have'} it: the database is partly converted between ejabberd's single-host and multi-host schemas. Finish the conversion (ejabberd's sql/*.old-to-new.sql or update_sql_schema) before migrating`,
    );
  }
  let schemaVersions: Map<string, number> | undefined;
  if (tables.get('schema_version')?.has('module')) {
    schemaVersions = new Map();
    for (const row of await db.query('SELECT module, version FROM schema_version')) schemaVersions.set(String(row.module), Number(row.version));
  }
  const versionRow = (await db.query(db.dialect === 'pg' ? 'SELECT version() AS v, current_database() AS d' : 'SELECT VERSION() AS v, DATABASE() AS d'))[0] ?? {};
  const rawVersion = String(versionRow.v ?? '');
  const serverVersion =
    db.dialect === 'pg'
      ? (/^PostgreSQL [\d.]+/.exec(rawVersion)?.[0] ?? `PostgreSQL ${rawVersion}`)
      : /mariadb/i.test(rawVersion)
        ? `MariaDB ${rawVersion.replace(/-MariaDB.*$/i, '')}`
        : `MySQL ${rawVersion}`;
  return {
    dialect: db.dialect,
    multiHost,
    usersType: users.has('type'),
    scramColumns: users.has('serverkey'),
    archiveOriginId: hasColumnIn(tables, 'archive', 'origin_id'),
    rosterApproved: hasColumnIn(tables, 'rosterusers', 'approved'),
    schemaVersions,
    tables,
    serverVersion,
    database: String(versionRow.d ?? ''),
  };
}

function hasColumnIn(tables: Map<string, Set<string>>, table: string, column: string): boolean {
  return tables.get(table)?.has(column) ?? false;
}

/** One line for inventory().description. */
export function describeSchema(schema: EjabberdSchema, domain: string | undefined): string {
  const parts = [
    schema.multiHost ? 'multi-host schema (server_host columns; new_sql_schema / sql_schema_multihost)' : `single-host schema (no server_host; domain ${domain ?? '?'} from --source-option)`,
    schema.usersType ? 'users.type: yes (25.03+, one row per password type)' : schema.scramColumns ? 'users.type: no (before 25.03)' : 'no SCRAM columns (before 16.03)',
    `archive.origin_id: ${schema.archiveOriginId ? 'yes (24.02+)' : 'no (before 24.02)'}`,
    `rosterusers.approved: ${schema.rosterApproved ? 'yes (26.03+)' : 'no'}`,
    schema.schemaVersions
      ? `schema_version: ${[...schema.schemaVersions].map(([m, v]) => `${m} ${v}`).join(', ') || 'empty'} (23.10+ auto-updater)`
      : 'schema_version: none (before 23.10, or update_sql_schema off)',
  ];
  return `ejabberd SQL on ${schema.serverVersion}, database ${schema.database}: ${parts.join('; ')}`;
}

// ---------------------------------------------------------------------------------------------------------
// Building statements.

export class SqlBuilder {
  readonly values: unknown[] = [];
  constructor(readonly dialect: SqlDialect) {}

  /** A placeholder for `value`: `$n` on PostgreSQL, `?` on MySQL. */
  param(value: unknown): string {
    this.values.push(value);
    return this.dialect === 'pg' ? `$${this.values.length}` : '?';
  }
}

export interface KeyColumn {
  /** The column as the SELECT names it (qualified when joined). */
  expr: string;
  /** Integer column: compared as a number (MySQL would otherwise compare a string parameter as a double). */
  numeric?: boolean;
}

/**
 * `(k1, k2, …) > (v1, v2, …)` (or `>=`, `<`, `<=`). PostgreSQL compares row values itself and seeks with an
 * index on a prefix of the key; for MySQL/MariaDB, whose range optimizer does not use row comparisons, the same
 * condition is expanded, led by `k1 >= v1` (or `<=`) so the first key column bounds the index range.
 */
export function keysetCondition(b: SqlBuilder, key: KeyColumn[], values: string[], op: '>' | '>=' | '<' | '<='): string {
  if (key.length !== values.length) throw new UsageError(`a cursor with ${values.length} key values does not fit a key of ${key.length} columns`);
  const value = (i: number): string => {
    const raw = values[i] as string;
    const column = key[i] as KeyColumn;
    if (column.numeric) {
      if (!/^-?\d+$/.test(raw)) throw new UsageError(`cursor value ${JSON.stringify(raw)} for ${column.expr} is not an integer`);
      return b.param(b.dialect === 'pg' ? raw : BigInt(raw));
    }
    return b.param(raw);
  };
  if (b.dialect === 'pg') return `(${key.map((k) => k.expr).join(', ')}) ${op} (${key.map((_, i) => value(i)).join(', ')})`;
  const strict = op === '>' || op === '<' ? op : op === '>=' ? '>' : '<';
  const expand = (i: number): string => {
    const col = (key[i] as KeyColumn).expr;
    if (i === key.length - 1) return `${col} ${op} ${value(i)}`;
    const v1 = value(i);
    const v2 = value(i);
    return `(${col} ${strict} ${v1} OR (${col} = ${v2} AND ${expand(i + 1)}))`;
  };
  const lead = `${(key[0] as KeyColumn).expr} ${strict === '>' ? '>=' : '<='} ${value(0)}`;
  return `${lead} AND ${expand(0)}`;
}
