// The timed phases of the benchmark. Each runs alone in a fresh child process (bench/phase-child.ts), so its
// peak RSS is its own and no phase inherits another's heap or JIT state. Only the phase itself is timed:
// not Node's start, not module loading, not the untimed set-up the parent does (schema, export file).
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openSource } from '../src/adapters/index.js';
import { run } from '../src/commands/run.js';
import type { BatchLimits } from '../src/pipeline/batch-limits.js';
import type { KindStats } from '../src/pipeline/run-events.js';
import type { RecordKind } from '../src/records.js';

/** The environment variable that hands a PhaseSpec (JSON) to bench/phase-child.ts. */
export const PHASE_ENV = 'XMIG_BENCH_PHASE';

export type PhaseSpec =
  /** The source adapter alone: parse the export into canonical records, nothing else. */
  | { phase: 'read'; source: string }
  /** `run --dry-run`: read, transform and encode every record; no database is touched. */
  | { phase: 'dry-run'; source: string; target: string; rejectFile: string; limits?: Partial<BatchLimits> }
  /** `run --create-schema` into an empty database: the real migration, in-process. */
  | { phase: 'end-to-end'; source: string; target: string; rejectFile: string; limits?: Partial<BatchLimits> }
  /** The same rows, already encoded, by plain COPY … FROM STDIN (FORMAT binary): one transaction per table, in this order. */
  | { phase: 'raw-copy'; target: string; tables: Array<{ table: string; file: string }> };

export type PhaseName = PhaseSpec['phase'];

export interface PhaseOutcome {
  /** Archived messages the phase handled (read, encoded, written or COPYed). */
  messages: number;
  /** Rows per table (raw COPY) or main rows written per record kind (runs). */
  rows: Record<string, number>;
  rejected: number;
}

export interface PhaseResult extends PhaseOutcome {
  phase: PhaseName;
  /** Wall time of the phase alone. */
  ms: number;
  /** CPU of this Node process during the phase (all threads: GC, libuv pool for pbkdf2 and zlib). */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** CPU of the whole child process, start-up and module loading included. */
  processCpuMs: number;
  /** Resident set before the phase (Node + loaded modules) and its high-water mark over the process's life. */
  startRssMb: number;
  peakRssMb: number;
  /** process.hrtime of the phase's start and end in µs: the clock V8's CPU profiles use. */
  startMicros: number;
  endMicros: number;
}

export async function runPhase(spec: PhaseSpec): Promise<PhaseOutcome> {
  switch (spec.phase) {
    case 'read':
      return readOnly(spec.source);
    case 'dry-run':
    case 'end-to-end':
      return migrate(spec.source, spec.target, spec.rejectFile, spec.phase === 'dry-run', spec.limits);
    case 'raw-copy':
      return rawCopy(spec.target, spec.tables);
  }
}

async function readOnly(sourceUrl: string): Promise<PhaseOutcome> {
  const source = await openSource(sourceUrl, { settings: {} });
  const rows: Record<string, number> = {};
  let rejected = 0;
  try {
    for (const stream of source.streams()) {
      for await (const item of source.read(stream.name)) {
        if ('reject' in item) rejected++;
        else rows[item.record.kind] = (rows[item.record.kind] ?? 0) + 1;
      }
    }
  } finally {
    await source.close();
  }
  return { messages: rows['archived-message'] ?? 0, rows, rejected };
}

async function migrate(source: string, target: string, rejectFile: string, dryRun: boolean, limits?: Partial<BatchLimits>): Promise<PhaseOutcome> {
  const summary = await run({
    source,
    sourceSettings: {},
    target,
    settingsFlags: {},
    createSchema: true,
    dryRun,
    rejectFile,
    ...(limits ? { limits } : {}),
  });
  if (summary.interrupted) throw new Error(`the ${dryRun ? 'dry run' : 'run'} was interrupted`);
  const rows: Record<string, number> = {};
  for (const [kind, stats] of Object.entries(summary.kinds) as Array<[RecordKind, KindStats]>) rows[kind] = stats.written;
  return { messages: rows['archived-message'] ?? 0, rows, rejected: summary.rejected };
}

async function rawCopy(url: string, tables: Array<{ table: string; file: string }>): Promise<PhaseOutcome> {
  const client = new pg.Client({ connectionString: url, application_name: 'xmpp-migrate-bench' });
  await client.connect();
  const rows: Record<string, number> = {};
  try {
    for (const { table, file } of tables) {
      await client.query('BEGIN');
      const copy = client.query(copyFrom(`COPY ${table} FROM STDIN (FORMAT binary)`));
      await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), copy);
      await client.query('COMMIT');
      rows[table] = copy.rowCount;
    }
  } finally {
    await client.end();
  }
  return { messages: (rows.mam_message ?? 0) + (rows.mam_muc_message ?? 0), rows, rejected: 0 };
}
