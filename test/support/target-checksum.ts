// A checksum over every row of every MongooseIM table the writer fills (WRITER_TABLES), for targets too large to
// hold as a dump in the test process: the rows of target-dump.ts's queries (the same row form: archive owners by
// name, not by serial id) and of the other writer tables, each hashed by the server, the hashes sorted and hashed
// again. Offline messages keep their delivery
// order, so they are hashed in order. Two targets with the same checksums hold the same rows.
import { createHash } from 'node:crypto';
import { WRITER_TABLES, type TableSpec } from '../../src/target/mongooseim/mongooseim-tables.js';
import { QUERIES } from './target-dump.js';

/**
 * A writer table target-dump.ts has no query for: its columns as written, a serial reference to a parent row
 * (privacy_list_data.id, muc_room_aff.room_id) replaced by that parent's key, since serial ids may differ.
 */
function writerTableQuery(spec: TableSpec): string {
  const columns = spec.columns.filter((c) => c !== spec.parent?.column).map((c) => `t.${c}`);
  if (!spec.parent) return `SELECT ${columns.join(', ')} FROM ${spec.name} t`;
  const parent = WRITER_TABLES.find((p) => p.name === spec.parent!.table)!;
  const parentKey = parent.key.map((k) => `p.${k} AS parent_${k}`);
  return `SELECT ${[...parentKey, ...columns].join(', ')} FROM ${spec.name} t JOIN ${parent.name} p ON p.${parent.serialId} = t.${spec.parent.column}`;
}

interface Queryable {
  query(sql: string): Promise<{ rows: unknown[] }>;
}

export interface TableChecksum {
  rows: number;
  md5: string;
}

/** Table → row count and checksum (PostgreSQL targets). */
export async function checksumMongooseim(db: Queryable): Promise<Record<string, TableChecksum>> {
  const out: Record<string, TableChecksum> = {};
  const queries: Record<string, string> = { ...QUERIES.postgres };
  for (const spec of WRITER_TABLES) queries[spec.name] ??= writerTableQuery(spec);
  for (const [table, sql] of Object.entries(queries)) {
    if (/\bORDER BY\b/i.test(sql)) {
      // Order is part of the content (a small table): hash the rows in the query's own order.
      const { rows } = await db.query(sql);
      const hash = createHash('md5');
      for (const row of rows) hash.update(`${JSON.stringify(row)}\n`);
      out[table] = { rows: rows.length, md5: hash.digest('hex') };
      continue;
    }
    const { rows } = await db.query(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(h, '' ORDER BY h), '')) AS md5
       FROM (SELECT md5(row_to_json(xm_row)::text) AS h FROM (${sql}) xm_row) xm_rows`,
    );
    const row = rows[0] as { n: number; md5: string };
    out[table] = { rows: row.n, md5: row.md5 };
  }
  return out;
}
