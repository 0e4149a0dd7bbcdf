// The driver slice every target database offers (Kysely's "driver"): one connection, its transactions and
// the run lock. Each dialect folder implements it over its own client (`pg`, PGlite, `mysql2`) and adds the
// bulk-load primitive its database has; only those folders import a driver.
import { TargetError } from '../errors.js';

/** One connection. Staging tables and locks belong to it, so the writer keeps exactly one. */
export interface SqlSession {
  /** One statement with the dialect's own parameter markers (`$1` on PostgreSQL, `?` on MySQL). */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[]; rowCount: number }>;
}

export interface SqlDatabase<S extends SqlSession = SqlSession> extends SqlSession {
  /** Safe to print: never contains a password. */
  readonly displayName: string;
  /** Runs `fn` in one transaction on this connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (session: S) => Promise<T>): Promise<T>;
  /**
   * Takes the run lock (advisory lock, GET_LOCK, or a lock file for PGlite); false when another run holds it.
   * A server-side lock belongs to the connection: after a lost connection is replaced, the lock is taken again
   * before any other statement, and when another run took it meanwhile this run stops (a TargetError that is
   * not retried): two runs never write at the same time.
   */
  tryLock(name: string): Promise<boolean>;
  /** Who holds the run lock `name` (when tryLock failed), for the refusal: process, client, since when. */
  lockHolder?(name: string): Promise<string | undefined>;
  /**
   * Session state to rebuild when a lost connection is replaced (temporary staging tables): `restore` runs on
   * the new connection, after the run lock and the session settings, before the statement that found the old
   * connection gone. A connection lost inside a transaction is never replaced within it: the transaction
   * fails (retryably) and is run again as a whole.
   */
  onReconnect(restore: () => Promise<void>): void;
  close(): Promise<void>;
}

/** The run lock went to another run while this one reconnected: this run must stop, and a retry cannot change that. */
export function runLockLost(displayName: string): TargetError {
  return new TargetError(
    'run-lock-lost',
    `the connection to ${displayName} was lost and another xmpp-migrate run took the run lock before this one reconnected; this run stops so that two runs never interleave (what it committed is kept: run it again once the other run has finished)`,
    { retryable: false },
  );
}
