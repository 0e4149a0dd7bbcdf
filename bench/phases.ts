// The timed phases of the benchmark. Each runs alone in a fresh child process (bench/phase-child.ts), so its
// peak RSS is its own and no phase inherits another's heap or JIT state. Only the phase itself is timed:
// not Node's start, not module loading, not the untimed set-up the parent does (schema, export file).
// Below the phases: what the parent side of every case shares (starting a phase's child, the XEP-0227 export,
// PostgreSQL row dumps, CPU accounting from /proc).
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { openSource } from '../src/adapters/index.js';
import { run } from '../src/commands/run.js';
import type { BatchLimits } from '../src/pipeline/batch-limits.js';
import type { KindStats } from '../src/pipeline/run-events.js';
import type { RecordKind } from '../src/records.js';
import { writeSyntheticExport } from '../test/support/synthetic-xep0227.js';

/** The environment variable that hands a PhaseSpec (JSON) to bench/phase-child.ts. */
export const PHASE_ENV = 'XMIG_BENCH_PHASE';

export type PhaseSpec =
  /** The source adapter alone: parse the export into canonical records, nothing else. */
  | { phase: 'read'; source: string; sourceSettings?: SourceSettings }
  /** `run --dry-run`: read, transform and encode every record; no database is touched. */
  | { phase: 'dry-run'; source: string; sourceSettings?: SourceSettings; target: string; rejectFile: string; limits?: Partial<BatchLimits> }
  /** `run --create-schema` into an empty database: the real migration, in-process. */
  | { phase: 'end-to-end'; source: string; sourceSettings?: SourceSettings; target: string; rejectFile: string; limits?: Partial<BatchLimits> }
  /** The same rows, already encoded, by plain COPY … FROM STDIN (FORMAT binary): one transaction per table, in this order. */
  | { phase: 'raw-copy'; target: string; tables: Array<{ table: string; file: string }> };

/** `--source-option key=value` pairs (an ejabberd single-host schema needs `domain`). */
export type SourceSettings = Record<string, string>;

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
      return readOnly(spec.source, spec.sourceSettings ?? {});
    case 'dry-run':
    case 'end-to-end':
      return migrate(spec.source, spec.sourceSettings ?? {}, spec.target, spec.rejectFile, spec.phase === 'dry-run', spec.limits);
    case 'raw-copy':
      return rawCopy(spec.target, spec.tables);
  }
}

async function readOnly(sourceUrl: string, settings: SourceSettings): Promise<PhaseOutcome> {
  const source = await openSource(sourceUrl, { settings });
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

async function migrate(source: string, sourceSettings: SourceSettings, target: string, rejectFile: string, dryRun: boolean, limits?: Partial<BatchLimits>): Promise<PhaseOutcome> {
  const summary = await run({
    source,
    sourceSettings,
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

// ---------------------------------------------------------------------------------------- the parent side

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..');
const TSX = import.meta.resolve('tsx');
const PHASE_CHILD = join(here, 'phase-child.ts');

/** Runs one phase in a fresh child process (bench/phase-child.ts) and returns what it measured. */
export function runPhaseChild(spec: PhaseSpec, nodeFlags: string[] = [], label: string = spec.phase): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, ...nodeFlags, PHASE_CHILD], {
      cwd: repoRoot,
      // The spec holds database URLs with their passwords: the environment is private to the user, argv is not.
      env: { ...process.env, [PHASE_ENV]: JSON.stringify(spec) },
      // The IPC channel only tells the child when this process is gone (Ctrl-C, kill): it stops then.
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`the ${label} phase failed (${code ?? signal})`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as PhaseResult);
      } catch (err) {
        reject(new Error(`the ${label} phase printed no result: ${out}`, { cause: err }));
      }
    });
  });
}

const XEP0227_GENERATOR = join(repoRoot, 'test', 'support', 'synthetic-xep0227.ts');
/** The seed of every generated source: the same size gives the same data in every run. */
export const BENCH_SEED = 42;

/** The XEP-0227 export for these parameters, generated once: the name holds the parameters and the generator's hash. */
export async function ensureXep0227Export(work: string, messages: number, users: number, log: (s: string) => void = () => undefined): Promise<string> {
  const generator = createHash('sha256').update(readFileSync(XEP0227_GENERATOR)).digest('hex').slice(0, 10);
  const file = join(work, `xep0227-${messages}m-${users}u-seed${BENCH_SEED}-${generator}.xml`);
  if (existsSync(file)) {
    log(`export ${file} (reused)`);
    return file;
  }
  await mkdir(work, { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  const t0 = performance.now();
  log(`generating ${messages.toLocaleString('en')} messages for ${users} users…`);
  try {
    await writeSyntheticExport(partial, { users, messagesPerUser: messages / users, seed: BENCH_SEED });
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
  log(`export ${file} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return file;
}

/** `serverUrl` (any database URL) pointing at `database` instead. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withPgClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'xmpp-migrate-bench' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Bench databases created on the PostgreSQL server by this process: dropped at the end, also on a reused server. */
export const createdPgDatabases: string[] = [];

export async function createPgDatabase(serverUrl: string, hint: string): Promise<string> {
  const name = `xmig_bench_${hint}_${process.pid}_${randomBytes(3).toString('hex')}`;
  await withPgClient(serverUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  createdPgDatabases.push(name);
  return name;
}

export async function dropPgDatabase(serverUrl: string, name: string): Promise<void> {
  await withPgClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  createdPgDatabases.splice(createdPgDatabases.indexOf(name), 1);
}

export interface DumpedTable {
  table: string;
  file: string;
  rows: number;
}

/** Every MongooseIM table the run wrote into (not the tool's own xmpp_migrate_* tables), as COPY binary files (the fastest form PostgreSQL loads, and the one the writer uses). */
export async function dumpPgRows(url: string, dir: string): Promise<DumpedTable[]> {
  await mkdir(dir, { recursive: true });
  return withPgClient(url, async (client) => {
    const { rows: tables } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'xmpp\\_migrate\\_%'
        ORDER BY table_name`,
    );
    const dumped: DumpedTable[] = [];
    for (const { table_name: table } of tables) {
      const { rows } = await client.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${table}) AS any`);
      if (!rows[0]?.any) continue;
      const file = join(dir, `${table}.copy`);
      const copy = client.query(copyTo(`COPY ${table} TO STDOUT (FORMAT binary)`));
      await pipeline(copy, createWriteStream(file));
      dumped.push({ table, file, rows: copy.rowCount });
    }
    return dumped;
  });
}

/** Clock ticks per second of /proc/…/stat times. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time of a server so far, in ms: its main process (all threads: MariaDB is one process), its live children,
 * and the children it has reaped (PostgreSQL backends of closed connections). Only for a server we started
 * (we know its main process); undefined without /proc.
 */
export function serverCpuMs(mainPid: number | undefined): number | undefined {
  if (mainPid === undefined || !existsSync('/proc/self/stat')) return undefined;
  const fields = (pid: string | number): string[] | undefined => {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // comm may hold spaces and parentheses: the fields that follow start after the last ')'.
      return text.slice(text.lastIndexOf(')') + 2).split(' ');
    } catch {
      return undefined;
    }
  };
  // After ')': [0] state, [1] ppid, …, [11] utime, [12] stime, [13] cutime, [14] cstime.
  const own = fields(mainPid);
  if (!own) return undefined;
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const f = fields(pid);
    if (f && Number(f[1]) === mainPid) ticks += Number(f[11]) + Number(f[12]);
  }
  return (ticks * 1000) / CLK_TCK;
}

/** Busy CPU time of the whole machine so far, in ms (/proc/stat): what else ran shows up as "other CPU". */
export function machineBusyMs(): number | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice: busy is all but idle and iowait, and
    // guest time is already counted in user.
    const busy = cpu.reduce((a, b) => a + b, 0) - (cpu[3] ?? 0) - (cpu[4] ?? 0) - (cpu[8] ?? 0) - (cpu[9] ?? 0);
    return (busy * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}
