// The benchmark matrix (`npm run bench -- --matrix`): every source {XEP-0227 file, Prosody data directory,
// ejabberd SQL database} into every target {PostgreSQL, MariaDB}, at each size. Per cell: the real `run
// --create-schema` into an empty database in a child process of its own (end-to-end msg/s, timed around the
// run only, and the process's peak RSS), then the rows that run wrote, dumped untimed, loaded into another
// empty database with the same schema by the database's own bulk load (raw msg/s): binary COPY on
// PostgreSQL (bench/phases.ts's raw-copy phase), LOAD DATA LOCAL INFILE on MariaDB (bench/mariadb-case.ts).
// ratio = end-to-end ÷ raw. Every source of one size has the same users and archived messages. See
// bench/README.md.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BATCH_LIMITS, type BatchLimits } from '../src/pipeline/batch-limits.js';
import { MONGOOSEIM_PG_DDL } from '../src/target/mongooseim/schema-pg.js';
import { DEFAULT_TARGET_SETTINGS } from '../src/target/mongooseim/target-settings.js';
import { reused, startThrowawayPostgres, type StartedServer } from '../test/support/postgres-server.js';
import { dropEjabberdSource, ensureEjabberdSource } from './ejabberd-case.js';
import { benchMariadb, mariadbVersion, MYSQL_URL_ENV, startThrowawayMariadb } from './mariadb-case.js';
import {
  databaseUrl,
  dumpPgRows,
  ensureXep0227Export,
  machineBusyMs,
  runPhaseChild,
  serverCpuMs,
  withPgClient,
  type PhaseResult,
  type PhaseSpec,
  type SourceSettings,
  createdPgDatabases,
  createPgDatabase,
  dropPgDatabase,
} from './phases.js';
import { ensureProsodyData } from './prosody-case.js';

export const PG_URL_ENV = 'XMIG_BENCH_PG_URL';
export const MATRIX_SOURCES = ['xep0227', 'prosody', 'ejabberd'] as const;
export const MATRIX_TARGETS = ['pg', 'mariadb'] as const;
export type MatrixSource = (typeof MATRIX_SOURCES)[number];
export type MatrixTarget = (typeof MATRIX_TARGETS)[number];

export interface MatrixOptions {
  sizes: number[];
  /** Users (archives) at every size; default messages ÷ 1000. */
  users?: number;
  limits?: Partial<BatchLimits>;
  /** Generated sources and row dumps. */
  work: string;
  json: boolean;
  sources: readonly MatrixSource[];
  targets: readonly MatrixTarget[];
  /** Keep the generated ejabberd database on a server given by XMIG_BENCH_PG_URL, for the next run to reuse. */
  keepSources: boolean;
}

/** The end-to-end phase with the CPU of the databases we started, and of everything else, while it ran. */
export interface MeasuredRun extends PhaseResult {
  /** CPU of the PostgreSQL cluster and MariaDB server we started (not of servers given by URL). */
  databaseCpuMs?: number;
  /** CPU of everything else on the machine: other programs competing for the cores. */
  otherCpuMs?: number;
}

export interface MatrixCell {
  source: MatrixSource;
  target: MatrixTarget;
  messages: number;
  users: number;
  endToEnd?: MeasuredRun;
  /** The raw bulk load of the rows the end-to-end run wrote. */
  raw?: { method: string; ms: number; messages: number; rows: Record<string, number> };
  endToEndPerSecond?: number;
  rawPerSecond?: number;
  /** End-to-end msg/s ÷ raw msg/s. */
  ratio?: number;
  /** Why the cell has no figures. */
  error?: string;
}

const RAW_METHOD: Record<MatrixTarget, string> = {
  pg: 'COPY … FROM STDIN (FORMAT binary), one transaction per table',
  mariadb: 'LOAD DATA LOCAL INFILE, one transaction per table',
};

const log = (text: string): void => {
  process.stderr.write(`[bench] ${text}\n`);
};

const perSecond = (messages: number, ms: number): number => messages / (ms / 1000);

interface Servers {
  pg: StartedServer;
  mariadb?: StartedServer;
}

/** One source, ready for `run`. */
interface PreparedSource {
  source: string;
  sourceSettings?: SourceSettings;
  /** Undo what preparing it created (the ejabberd database), unless it is to be kept. */
  cleanup?: () => Promise<void>;
}

async function prepareSource(name: MatrixSource, servers: Servers, options: MatrixOptions, messages: number, users: number): Promise<PreparedSource> {
  switch (name) {
    case 'xep0227':
      return { source: `xep0227:${await ensureXep0227Export(options.work, messages, users, log)}` };
    case 'prosody':
      return { source: `prosody:${await ensureProsodyData(options.work, messages, users, log)}` };
    case 'ejabberd': {
      const serverUrl = servers.pg.server.url;
      const ejabberd = await ensureEjabberdSource(serverUrl, messages, users, log);
      // On the throwaway cluster nothing outlives the run; on a given server the database is a cache only when asked.
      const keep = options.keepSources && servers.pg.server.reused;
      return {
        source: ejabberd.source,
        sourceSettings: ejabberd.sourceSettings,
        ...(keep ? {} : { cleanup: () => dropEjabberdSource(serverUrl, ejabberd.database) }),
      };
    }
  }
}


/** Runs a phase in its child process, with the CPU the databases and everything else used meanwhile. */
async function timedPhase(servers: Servers, spec: PhaseSpec, label: string): Promise<MeasuredRun> {
  const databaseCpu = (): number | undefined => {
    const ours = [servers.pg.pid, servers.mariadb?.pid].filter((pid): pid is number => pid !== undefined);
    if (ours.length === 0) return undefined;
    let total = 0;
    for (const pid of ours) total += serverCpuMs(pid) ?? 0;
    return total;
  };
  const db0 = databaseCpu();
  const busy0 = machineBusyMs();
  const self0 = process.cpuUsage();
  const result = await runPhaseChild(spec, [], label);
  const self = process.cpuUsage(self0);
  const busy1 = machineBusyMs();
  const db1 = databaseCpu();
  const measured: MeasuredRun = { ...result };
  if (db0 !== undefined && db1 !== undefined) measured.databaseCpuMs = db1 - db0;
  if (busy0 !== undefined && busy1 !== undefined) {
    // Ours: the whole child (start-up included: "other" errs low), this process, the databases we started.
    const ours = result.processCpuMs + (self.user + self.system) / 1000 + (measured.databaseCpuMs ?? 0);
    measured.otherCpuMs = Math.max(0, busy1 - busy0 - ours);
  }
  return measured;
}

async function pgCell(servers: Servers, prepared: PreparedSource, options: MatrixOptions, messages: number, scratch: string): Promise<Pick<MatrixCell, 'endToEnd' | 'raw'>> {
  const serverUrl = servers.pg.server.url;
  const checkpoint = (db: string): Promise<unknown> => withPgClient(databaseUrl(serverUrl, db), (c) => c.query('CHECKPOINT'));
  const e2eDb = await createPgDatabase(serverUrl, 'e2e');
  const e2eUrl = databaseUrl(serverUrl, e2eDb);
  // Every timed phase starts from a clean cluster: earlier dirty pages (the generated source's too) are written out now.
  await checkpoint(e2eDb);
  const endToEnd = await timedPhase(servers, {
    phase: 'end-to-end',
    source: prepared.source,
    ...(prepared.sourceSettings ? { sourceSettings: prepared.sourceSettings } : {}),
    target: e2eUrl,
    rejectFile: join(scratch, 'rejects-pg.ndjson'),
    ...(options.limits ? { limits: options.limits } : {}),
  }, 'PostgreSQL end-to-end');
  const dumpDir = join(scratch, 'pg-rows');
  const dumped = await dumpPgRows(e2eUrl, dumpDir);
  await dropPgDatabase(serverUrl, e2eDb);
  const rawDb = await createPgDatabase(serverUrl, 'raw');
  const rawUrl = databaseUrl(serverUrl, rawDb);
  await withPgClient(rawUrl, async (c) => {
    for (const statement of MONGOOSEIM_PG_DDL) await c.query(statement);
  });
  await checkpoint(rawDb);
  const raw = await timedPhase(servers, { phase: 'raw-copy', target: rawUrl, tables: dumped.map(({ table, file }) => ({ table, file })) }, 'raw COPY');
  for (const { table, rows } of dumped) {
    if (raw.rows[table] !== rows) log(`warning: raw COPY loaded ${raw.rows[table]} rows into ${table}, the run wrote ${rows}`);
  }
  await dropPgDatabase(serverUrl, rawDb);
  await rm(dumpDir, { recursive: true, force: true });
  return { endToEnd, raw: { method: RAW_METHOD.pg, ms: raw.ms, messages: raw.messages, rows: raw.rows } };
}

async function mariadbCell(servers: Servers, prepared: PreparedSource, options: MatrixOptions, messages: number, scratch: string): Promise<Pick<MatrixCell, 'endToEnd' | 'raw'>> {
  let endToEnd: MeasuredRun | undefined;
  const result = await benchMariadb(
    servers.mariadb!.server.url,
    {
      source: prepared.source,
      ...(prepared.sourceSettings ? { sourceSettings: prepared.sourceSettings } : {}),
      messages,
      work: scratch,
      ...(options.limits ? { limits: options.limits } : {}),
      insertFallback: false,
      runEndToEnd: async (spec) => (endToEnd = await timedPhase(servers, spec, 'MariaDB end-to-end')),
    },
    () => undefined,
  );
  return { endToEnd: endToEnd ?? result.loadData, raw: { method: RAW_METHOD.mariadb, ...result.raw } };
}

async function benchCell(servers: Servers, prepared: PreparedSource, options: MatrixOptions, cell: MatrixCell, scratch: string): Promise<void> {
  const measure = cell.target === 'pg' ? pgCell : mariadbCell;
  const { endToEnd, raw } = await measure(servers, prepared, options, cell.messages, scratch);
  cell.endToEnd = endToEnd;
  cell.raw = raw;
  if (endToEnd && raw) {
    cell.endToEndPerSecond = perSecond(endToEnd.messages, endToEnd.ms);
    cell.rawPerSecond = perSecond(raw.messages, raw.ms);
    cell.ratio = cell.endToEndPerSecond / cell.rawPerSecond;
    const rate = (n: number): string => Math.round(n).toLocaleString('en').padStart(9);
    const other = (endToEnd.otherCpuMs ?? 0) > Math.max(0.1 * endToEnd.ms, 500) ? `  (other programs used ${((endToEnd.otherCpuMs ?? 0) / 1000).toFixed(1)} s CPU meanwhile)` : '';
    log(
      `${cell.source} → ${cell.target}: end-to-end ${rate(cell.endToEndPerSecond)} msg/s (${(endToEnd.ms / 1000).toFixed(1)} s), raw ${rate(cell.rawPerSecond)} msg/s, ` +
        `ratio ${(cell.ratio * 100).toFixed(0)} %, peak RSS ${endToEnd.peakRssMb.toFixed(0)} MB${other}`,
    );
    if (endToEnd.messages !== cell.messages) log(`warning: ${cell.source} → ${cell.target} wrote ${endToEnd.messages} messages, the source holds ${cell.messages}`);
    if (endToEnd.rejected > 0) log(`warning: ${cell.source} → ${cell.target} rejected ${endToEnd.rejected} records`);
  }
}

/** Scratch directories of earlier runs that were interrupted: their process is gone. */
async function removeStaleScratch(work: string): Promise<void> {
  if (!existsSync(work)) return;
  for (const name of readdirSync(work)) {
    const pid = /^matrix-(\d+)-/.exec(name)?.[1];
    if (pid && !existsSync(`/proc/${pid}`)) await rm(join(work, name), { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------------- output

function table(header: string[], rows: string[][], leftColumns: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n');
}

const SOURCE_LABEL: Record<MatrixSource, string> = { xep0227: 'XEP-0227 file', prosody: 'Prosody files', ejabberd: 'ejabberd SQL (pg)' };
const TARGET_LABEL: Record<MatrixTarget, string> = { pg: 'PostgreSQL', mariadb: 'MariaDB' };

export function formatMatrix(cells: MatrixCell[], environment: Record<string, string>): string {
  const whole = (n: number | undefined): string => (n === undefined ? '–' : Math.round(n).toLocaleString('en'));
  const seconds = (ms: number | undefined): string => (ms === undefined ? '–' : (ms / 1000).toFixed(1));
  const rows = cells.map((c) => [
    SOURCE_LABEL[c.source],
    TARGET_LABEL[c.target],
    c.messages.toLocaleString('en'),
    c.users.toLocaleString('en'),
    c.error ? `failed: ${c.error.split('\n', 1)[0]!.slice(0, 60)}` : whole(c.endToEndPerSecond),
    whole(c.rawPerSecond),
    c.ratio === undefined ? '–' : `${(c.ratio * 100).toFixed(0)} %`,
    c.endToEnd ? c.endToEnd.peakRssMb.toFixed(0) : '–',
    seconds(c.endToEnd?.ms),
    c.endToEnd ? String(c.endToEnd.rejected) : '–',
    seconds(c.endToEnd?.otherCpuMs),
  ]);
  const out = [
    `xmpp-migrate benchmark matrix: ${environment.postgres}; ${environment.mariadb ?? 'no MariaDB'}; ${environment.machine}`,
    `target settings: ${DEFAULT_TARGET_SETTINGS.messageFormat} ${DEFAULT_TARGET_SETTINGS.exmlShape}, batches of ${environment.batchRows ?? DEFAULT_BATCH_LIMITS.rows} rows`,
    '',
    table(['source', 'target', 'messages', 'users', 'end-to-end msg/s', 'raw load msg/s', 'ratio', 'peak RSS MB', 'end-to-end s', 'rejected', 'other CPU s'], rows, 2),
    '',
    `raw load: ${MATRIX_TARGETS.map((t) => `${TARGET_LABEL[t]}: ${RAW_METHOD[t]}`).join('; ')}.`,
    'ratio = end-to-end msg/s ÷ raw load msg/s; peak RSS = VmHWM of the end-to-end process; other CPU s = CPU time of other programs during the end-to-end run.',
  ];
  const busy = cells.filter((c) => c.endToEnd && (c.endToEnd.otherCpuMs ?? 0) > Math.max(0.1 * c.endToEnd.ms, 500));
  if (busy.length > 0) out.push(`warning: other programs used the CPUs during ${busy.length} end-to-end run(s) ("other CPU s"): their wall-clock figures are pessimistic.`);
  for (const c of cells) {
    if (c.endToEnd && c.endToEnd.messages !== c.messages) out.push(`warning: ${c.source} → ${c.target} wrote ${c.endToEnd.messages} of ${c.messages} messages`);
  }
  return out.join('\n');
}

// --------------------------------------------------------------------------------------------------- main

/** The whole matrix: starts (or uses) the servers, runs every cell, prints the table or JSON, cleans up. */
export async function runMatrix(options: MatrixOptions): Promise<void> {
  const givenPg = process.env[PG_URL_ENV];
  const givenMysql = process.env[MYSQL_URL_ENV];
  const wantMariadb = options.targets.includes('mariadb');
  const pg = givenPg ? reused(givenPg) : await startThrowawayPostgres();
  const servers: Servers = { pg };
  const cells: MatrixCell[] = [];
  try {
    if (wantMariadb) servers.mariadb = givenMysql ? reused(givenMysql) : await startThrowawayMariadb();
    const pgVersion = await withPgClient(pg.server.url, async (c) => (await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v);
    const environment: Record<string, string> = {
      postgres: `PostgreSQL ${pgVersion} (${givenPg ? PG_URL_ENV : 'throwaway, fsync off'})`,
      ...(servers.mariadb ? { mariadb: `${await mariadbVersion(servers.mariadb.server.url)} (${givenMysql ? MYSQL_URL_ENV : 'throwaway, innodb_flush_log_at_trx_commit=0'})` } : {}),
      machine: `Node ${process.version}, ${availableParallelism()} CPUs`,
      batchRows: String(options.limits?.rows ?? DEFAULT_BATCH_LIMITS.rows),
    };
    await removeStaleScratch(options.work);
    await mkdir(options.work, { recursive: true });
    for (const messages of options.sizes) {
      const users = options.users ?? Math.max(1, Math.floor(messages / 1000));
      for (const sourceName of options.sources) {
        let prepared: PreparedSource;
        try {
          prepared = await prepareSource(sourceName, servers, options, messages, users);
        } catch (err) {
          const error = `preparing the ${sourceName} source: ${err instanceof Error ? err.message : String(err)}`;
          log(error);
          for (const target of options.targets) cells.push({ source: sourceName, target, messages, users, error });
          continue;
        }
        try {
          for (const target of options.targets) {
            const cell: MatrixCell = { source: sourceName, target, messages, users };
            cells.push(cell);
            const scratch = await mkdtemp(join(options.work, `matrix-${process.pid}-`));
            try {
              await benchCell(servers, prepared, options, cell, scratch);
            } catch (err) {
              // One failing cell (a server refusing, a crash) leaves the others to measure.
              cell.error = err instanceof Error ? err.message : String(err);
              log(`${sourceName} → ${target} failed: ${cell.error}`);
            } finally {
              await rm(scratch, { recursive: true, force: true });
            }
          }
        } finally {
          await prepared.cleanup?.();
        }
      }
    }
    if (options.json) {
      const doc = {
        environment,
        settings: { ...DEFAULT_TARGET_SETTINGS, batchLimits: { ...DEFAULT_BATCH_LIMITS, ...options.limits } },
        rawLoad: RAW_METHOD,
        cells,
      };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    } else {
      process.stdout.write(`${formatMatrix(cells, environment)}\n`);
    }
    if (cells.some((c) => c.error)) process.exitCode = 1;
  } finally {
    if (givenPg) for (const name of [...createdPgDatabases]) await dropPgDatabase(givenPg, name).catch(() => undefined);
    await servers.mariadb?.stop();
    await pg.stop();
  }
}
