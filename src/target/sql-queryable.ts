// The slice of a SQL client that target code calls. `pg`'s Client and Pool and PGlite satisfy it as they
// are; only the wiring imports a driver.

export interface SqlQueryable {
  /** Runs one statement with `$1`-style parameters and resolves to its result rows (none for DDL). */
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>;
}
