// Target URLs: `pglite:DIR` (the embedded rehearsal default), `pglite:memory`, `postgres://…`,
// `mysql://…` / `mariadb://…`. The one place that maps a URL to a dialect; everything after it is generic.
import { PlanRefusedError, TargetError, UsageError, redactSecrets } from '../errors.js';
import { DryRunTarget } from './mongooseim/dry-run-target.js';
import type { MongooseimDialect } from './mongooseim/mongooseim-dialect.js';
import { MongooseimSqlTarget } from './mongooseim/mongooseim-sql-target.js';
import type { TargetSettings } from './mongooseim/target-settings.js';
import { openMysql } from './mysql/mysql-database.js';
import { MysqlDialect, type MysqlDialectOptions } from './mysql/mysql-dialect.js';
import { openPglite, openPostgres } from './postgres/postgres-database.js';
import { PostgresDialect } from './postgres/postgres-dialect.js';
import type { MigrationTarget } from './target.js';
import { DomainSettingsTables, DynamicDomains, type DynamicDomainsOptions, type ParamStyle } from './mongooseim/dynamic-domains.js';

export const DEFAULT_TARGET = 'pglite:./mongooseim-rehearsal';
const RUN_LOCK = 'xmpp-migrate-run';

export const TARGET_URL_HELP = 'postgres://user:password@host:port/database, mysql://user:password@host:port/database (or mariadb://…), pglite:DIR or pglite:memory';

export interface OpenTargetOptions {
  settings: TargetSettings;
  /** Create MongooseIM's schema in an empty database. Always allowed for PGlite rehearsal targets. */
  createSchema: boolean;
  dryRun: boolean;
  /** Take the per-target run lock before anything else (runs write; plan, verify and status only read). */
  lock?: boolean;
  /** Sharded runs (`--shard k/n`) each take their own lock, so the shards of one migration run side by side. */
  lockSuffix?: string;
  /**
   * Write even though some MongooseIM text column (or the connection) cannot hold 4-byte UTF-8: records
   * with such characters are then refused by the database and land in the reject report. Default false:
   * a run refuses such a target (exit 4), naming the columns.
   */
  acceptNonUtf8mb4?: boolean;
  /** `--merge-archives`: see MongooseimTargetOptions.mergeArchives. */
  mergeArchives?: { windowMicros: bigint };
  /** MySQL only: force a bulk path instead of choosing (tests, the benchmark). */
  mysqlBulk?: MysqlDialectOptions['bulk'];
}

interface TargetKind {
  matches(url: string): boolean;
  open(url: string, options: { mysqlBulk?: MysqlDialectOptions['bulk'] }): Promise<MongooseimDialect>;
  /** Statement parameter markers, for the few statements written outside the dialects (domain_settings). */
  params?: ParamStyle;
  /** An embedded database one process opens once: other work on it shares the writer's connection. */
  embedded?: boolean;
}

/** The dialects, one line each: which URLs they take and how they connect. */
const TARGET_KINDS: TargetKind[] = [
  { matches: (url) => url.startsWith('pglite:'), open: async (url) => new PostgresDialect(await openPglite(url.slice('pglite:'.length))), params: 'dollar', embedded: true },
  { matches: (url) => /^postgres(ql)?:\/\//.test(url), open: async (url) => new PostgresDialect(await openPostgres(url)), params: 'dollar' },
  {
    matches: (url) => /^(mysql|mariadb):\/\//.test(url),
    params: 'question',
    open: async (url, options) => {
      const db = await openMysql(url);
      try {
        return await MysqlDialect.open(db, { bulk: options.mysqlBulk });
      } catch (err) {
        await db.close();
        throw err;
      }
    },
  },
];

export function describeTarget(url: string): string {
  return redactSecrets(url);
}

/** Throws a UsageError before any I/O when the target URL is not one xmpp-migrate can open. */
export function validateTargetUrl(url: string): void {
  if (TARGET_KINDS.some((kind) => kind.matches(url))) return;
  throw new UsageError(`unknown target ${JSON.stringify(describeTarget(url))}: use ${TARGET_URL_HELP}`);
}

/** Connects to the target and returns its dialect (which owns the connection: close it with `dialect.db.close()`). */
export async function openDialect(url: string, options: { mysqlBulk?: MysqlDialectOptions['bulk'] } = {}): Promise<MongooseimDialect> {
  validateTargetUrl(url);
  return TARGET_KINDS.find((kind) => kind.matches(url))!.open(url, options);
}

/** The refusal of a target whose character sets would lose characters, naming every place. */
export function characterSetRefusal(problems: string[]): string {
  return `the target cannot store 4-byte UTF-8 (emoji, some CJK): ${problems.join('; ')}. Convert them (ALTER TABLE … CONVERT TO CHARACTER SET utf8mb4; ALTER DATABASE … CHARACTER SET utf8mb4), or accept that records holding such characters are rejected with --accept-non-utf8mb4`;
}

export async function openTarget(url: string, options: OpenTargetOptions): Promise<MigrationTarget> {
  if (options.dryRun) {
    validateTargetUrl(url);
    return new DryRunTarget(`${describeTarget(url)} (dry run: nothing is written)`, options.settings);
  }
  const dialect = await openDialect(url, { mysqlBulk: options.mysqlBulk });
  const { db } = dialect;
  try {
    const lockName = options.lockSuffix ? `${RUN_LOCK} ${options.lockSuffix}` : RUN_LOCK;
    if (options.lock && !(await db.tryLock(lockName))) {
      const holder = await db.lockHolder?.(lockName).catch(() => undefined);
      throw new TargetError(
        'run-locked',
        `another xmpp-migrate run holds the lock on ${db.displayName}${holder ? `: ${holder}` : ''}; wait for it to finish (see \`xmpp-migrate status\`): two runs must not interleave`,
        { retryable: false },
      );
    }
    if (options.lock && !options.acceptNonUtf8mb4 && dialect.characterSetProblems) {
      const problems = await dialect.characterSetProblems();
      if (problems.length > 0) throw new PlanRefusedError(characterSetRefusal(problems), problems);
    }
    return await MongooseimSqlTarget.open(dialect, { settings: options.settings, createSchema: options.createSchema, mergeArchives: options.mergeArchives });
  } catch (err) {
    await db.close();
    throw err;
  }
}

/**
 * MongooseIM's dynamic domains in the target (domain_settings, domain_events), read and written on a
 * connection of their own, so a registration never lands inside a batch's transaction (an embedded PGlite
 * target, which one process opens once, shares the writer's). Open it after `openTarget`, which may have
 * created the schema. Without those tables, dynamic domains count as unused unless the config says otherwise.
 */
export async function openDynamicDomains(url: string, target: MigrationTarget, options: DynamicDomainsOptions): Promise<{ domains: DynamicDomains; close(): Promise<void> }> {
  validateTargetUrl(url);
  const kind = TARGET_KINDS.find((k) => k.matches(url))!;
  const shared = kind.embedded && target instanceof MongooseimSqlTarget ? target.dialect : undefined;
  const dialect = shared ?? (await kind.open(url, {}));
  const close = async (): Promise<void> => {
    if (!shared) await dialect.db.close();
  };
  try {
    const present = (await dialect.tableExists('domain_settings')) && (await dialect.tableExists('domain_events'));
    const tables = present ? new DomainSettingsTables(dialect.db, kind.params ?? 'dollar') : undefined;
    return { domains: await DynamicDomains.open(tables, options), close };
  } catch (err) {
    await close();
    throw err;
  }
}
