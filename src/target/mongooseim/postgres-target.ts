// The MongooseIM writer on PostgreSQL and PGlite: the generic writer over the PostgreSQL dialect. Kept as
// its own entry point for callers that hold a PostgresDatabase (tests, the benchmark).
import type { PgSession, PostgresDatabase } from '../postgres/postgres-database.js';
import { PostgresDialect } from '../postgres/postgres-dialect.js';
import { MongooseimSqlTarget, type MongooseimTargetOptions } from './mongooseim-sql-target.js';

export type PostgresTargetOptions = MongooseimTargetOptions;
export type PostgresMongooseimTarget = MongooseimSqlTarget<PgSession>;

export const PostgresMongooseimTarget = {
  open(db: PostgresDatabase, options: PostgresTargetOptions): Promise<PostgresMongooseimTarget> {
    return MongooseimSqlTarget.open(new PostgresDialect(db), options);
  },
};
