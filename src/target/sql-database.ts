// The driver slice every target database offers (Kysely's "driver"): one connection, its transactions and
// the run lock. Each dialect folder implements it over its own client (`pg`, PGlite, `mysql2`) and adds the
// bulk-load primitive its database has; only those folders import a driver.

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
  /** Takes the run lock (advisory lock, GET_LOCK, or a lock file for PGlite); false when another run holds it. */
  tryLock(name: string): Promise<boolean>;
  close(): Promise<void>;
}
