// Target URLs: `pglite:DIR` (the embedded rehearsal default), `pglite:memory`, `postgres://…`.
import { TargetError, UsageError } from '../errors.js';
import { DryRunTarget } from './mongooseim/dry-run-target.js';
import { PostgresMongooseimTarget } from './mongooseim/postgres-target.js';
import type { TargetSettings } from './mongooseim/target-settings.js';
import { displayUrl, openPglite, openPostgres, type PostgresDatabase } from './postgres/postgres-database.js';
import type { MigrationTarget } from './target.js';

export const DEFAULT_TARGET = 'pglite:./mongooseim-rehearsal';
const RUN_LOCK = 'xmpp-migrate-run';

export interface OpenTargetOptions {
  settings: TargetSettings;
  /** Create MongooseIM's schema in an empty database. Always allowed for PGlite rehearsal targets. */
  createSchema: boolean;
  dryRun: boolean;
  /** Take the per-target run lock before anything else (runs write; plan, verify and status only read). */
  lock?: boolean;
}

export function describeTarget(url: string): string {
  return displayUrl(url);
}

/** Throws a UsageError before any I/O when the target URL is not one xmpp-migrate can open. */
export function validateTargetUrl(url: string): void {
  if (url.startsWith('pglite:') || /^postgres(ql)?:\/\//.test(url)) return;
  throw new UsageError(`unknown target ${JSON.stringify(displayUrl(url))}: use pglite:DIR, pglite:memory or postgres://user:password@host:port/database`);
}

async function openDatabase(url: string): Promise<PostgresDatabase> {
  validateTargetUrl(url);
  return url.startsWith('pglite:') ? openPglite(url.slice('pglite:'.length)) : openPostgres(url);
}

export async function openTarget(url: string, options: OpenTargetOptions): Promise<MigrationTarget> {
  if (options.dryRun) {
    validateTargetUrl(url);
    return new DryRunTarget(`${displayUrl(url)} (dry run: nothing is written)`, options.settings);
  }
  const db = await openDatabase(url);
  try {
    if (options.lock && !(await db.tryLock(RUN_LOCK))) {
      throw new TargetError('run-locked', `another xmpp-migrate run holds the lock on ${db.displayName}; wait for it to finish (see \`xmpp-migrate status\`): two runs must not interleave`);
    }
    return await PostgresMongooseimTarget.open(db, { settings: options.settings, createSchema: options.createSchema || db.kind === 'pglite' });
  } catch (err) {
    await db.close();
    throw err;
  }
}

export { openDatabase };
