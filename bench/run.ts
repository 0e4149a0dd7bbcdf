// The benchmark (`npm run bench`): the speed and memory of a real migration, as ratios against the raw
// database load of the same rows. For each size: generate a synthetic XEP-0227 export (cached), then in a
// fresh child process each: read the source alone, `run --dry-run`, the real `run` into an empty database
// (end-to-end), and a plain COPY of the rows that run wrote into another empty database (raw). With --matrix,
// bench/matrix.ts runs instead: every source (XEP-0227, Prosody, ejabberd SQL) into every target (PostgreSQL,
// MariaDB). See bench/README.md for what each number means and the targets.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_BATCH_LIMITS, type BatchLimits } from '../src/pipeline/batch-limits.js';
import { MONGOOSEIM_PG_DDL } from '../src/target/mongooseim/schema-pg.js';
import { DEFAULT_TARGET_SETTINGS } from '../src/target/mongooseim/target-settings.js';
import { reused, startThrowawayPostgres, type StartedServer } from '../test/support/postgres-server.js';
import { formatSummary, readProfile, summariseProfile, type ProfileSummary } from './cpu-profile.js';
import {
  databaseUrl,
  dumpPgRows,
  ensureXep0227Export,
  machineBusyMs,
  runPhaseChild,
  serverCpuMs,
  withPgClient,
  type PhaseName,
  type PhaseResult,
  type PhaseSpec,
  createdPgDatabases,
  createPgDatabase,
  dropPgDatabase,
} from './phases.js';
import { MATRIX_SOURCES, MATRIX_TARGETS, PG_URL_ENV, runMatrix, type MatrixSource, type MatrixTarget } from './matrix.js';
import { benchProsody, formatProsody, type ProsodyCaseResult } from './prosody-case.js';

/** Targets (bench/README.md): end-to-end at least half of raw COPY; peak RSS under 300 MB and flat. */
const TARGET_RATIO = 0.5;
const TARGET_RSS_MB = 300;
const TARGET_RSS_GROWTH = 1.2;

const USAGE = `usage: npm run bench -- [options]
  --messages N      archived messages in the export (default 200000)
  --users U         users (archives) in the export; N must be a multiple (default N / 1000)
  --sizes A,B,…     several message counts in one run; prints the peak RSS ratio largest ÷ smallest
  --batch-rows R    rows per batch for the runs (default ${DEFAULT_BATCH_LIMITS.rows})
  --cpu-prof        profile the end-to-end phase (node --cpu-prof) and summarise its self time
  --work DIR        where exports, row dumps and profiles go (default ${join(tmpdir(), 'xmig-bench')})
  --json            one JSON document on stdout instead of the table
  --prosody         also the Prosody case (bench/prosody-case.ts): a generated Prosody data directory of the
                    same size through \`run\`, and prosody-migrator (files → SQLite) on a subset of it
  --matrix          instead: the matrix (bench/matrix.ts) of sources {${MATRIX_SOURCES.join(', ')}} × targets
                    {${MATRIX_TARGETS.join(', ')}}: end-to-end msg/s, raw bulk load msg/s of the same rows, ratio,
                    peak RSS; with --messages/--sizes, --users, --batch-rows, --work, --json, and
    --sources A,B   only these sources (default all)
    --targets A,B   only these targets (default all)
    --keep-sources  keep the generated ejabberd database on a server given by ${PG_URL_ENV}, for the next run
PostgreSQL: a throwaway 15 cluster on 127.0.0.1, or the server in ${PG_URL_ENV} (a superuser URL;
databases are created and dropped there). MariaDB (--matrix): a throwaway server, or the one in
XMIG_BENCH_MYSQL_URL.`;

interface Options {
  sizes: number[];
  users?: number;
  limits?: Partial<BatchLimits>;
  cpuProf: boolean;
  work: string;
  json: boolean;
  prosody: boolean;
  /** Run the matrix of sources × targets instead of the XEP-0227 phases. */
  matrix?: { sources: MatrixSource[]; targets: MatrixTarget[]; keepSources: boolean };
}

interface MeasuredPhase extends PhaseResult {
  /** CPU of the PostgreSQL cluster during the phase (a cluster we started only). */
  pgCpuMs?: number;
  /** CPU of everything else on the machine during the phase: other programs competing for the cores. */
  otherCpuMs?: number;
}

interface SizeResult {
  messages: number;
  users: number;
  exportMb: number;
  phases: Record<PhaseName, MeasuredPhase>;
  /** End-to-end messages/s ÷ raw COPY messages/s. */
  ratio: number;
  profile?: ProfileSummary & { file: string };
}

const FLAGS = {
  messages: { type: 'string' },
  users: { type: 'string' },
  sizes: { type: 'string' },
  'batch-rows': { type: 'string' },
  'cpu-prof': { type: 'boolean', default: false },
  work: { type: 'string' },
  json: { type: 'boolean', default: false },
  prosody: { type: 'boolean', default: false },
  matrix: { type: 'boolean', default: false },
  sources: { type: 'string' },
  targets: { type: 'string' },
  'keep-sources': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

// Return type inferred: parseArgs types the values from FLAGS.
function parseFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, strict: true, options: FLAGS }).values;
  } catch (err) {
    return usage((err as Error).message);
  }
}

function parseOptions(argv: string[]): Options {
  const values = parseFlags(argv);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const count = (name: string, text: string): number => {
    const n = Number(text.replace(/[_,]/g, ''));
    if (!Number.isInteger(n) || n <= 0) usage(`--${name} wants a positive integer, not ${JSON.stringify(text)}`);
    return n;
  };
  const sizes = values.sizes
    ? values.sizes.split(/[ ,]+/).filter(Boolean).map((s) => count('sizes', s.replace(/k$/i, '000').replace(/m$/i, '000000')))
    : [values.messages ? count('messages', values.messages) : 200_000];
  if (values.sizes && values.messages) usage('give --messages or --sizes, not both');
  const users = values.users ? count('users', values.users) : undefined;
  for (const n of sizes) {
    const u = users ?? defaultUsers(n);
    if (n % u !== 0) usage(`${n} messages do not divide into ${u} users: every archive has the same length`);
  }
  if (values.matrix && (values['cpu-prof'] || values.prosody)) usage('--matrix runs its own cases: no --cpu-prof or --prosody with it');
  if (!values.matrix && (values.sources || values.targets || values['keep-sources'])) usage('--sources, --targets and --keep-sources go with --matrix');
  const pick = <T extends string>(name: string, text: string | undefined, all: readonly T[]): T[] => {
    if (text === undefined) return [...all];
    const picked = text.split(/[ ,]+/).filter(Boolean);
    const unknown = picked.filter((p) => !all.includes(p as T));
    if (unknown.length > 0 || picked.length === 0) usage(`--${name} wants some of ${all.join(', ')}, not ${JSON.stringify(text)}`);
    // The matrix's own order, whatever the order given.
    return all.filter((a) => picked.includes(a));
  };
  return {
    ...(values.matrix
      ? { matrix: { sources: pick('sources', values.sources, MATRIX_SOURCES), targets: pick('targets', values.targets, MATRIX_TARGETS), keepSources: values['keep-sources'] } }
      : {}),
    sizes: [...new Set(sizes)].sort((a, b) => a - b),
    users,
    limits: values['batch-rows'] ? { rows: count('batch-rows', values['batch-rows']) } : undefined,
    cpuProf: values['cpu-prof'],
    work: values.work ?? join(tmpdir(), 'xmig-bench'),
    json: values.json,
    prosody: values.prosody,
  };
}

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}\n`);
  process.exit(2);
}

/** 1000 messages per archive: a typical personal archive, and few enough plaintext accounts to hash. */
function defaultUsers(messages: number): number {
  return Math.max(1, Math.floor(messages / 1000));
}

const log = (text: string): void => {
  process.stderr.write(`[bench] ${text}\n`);
};

// --------------------------------------------------------------------------------------------- the database


// ------------------------------------------------------------------------------------------------- phases

/** Scratch directories (row dumps) of earlier runs that were interrupted: their process is gone. */
async function removeStaleScratch(work: string): Promise<void> {
  if (!existsSync(work)) return;
  for (const name of readdirSync(work)) {
    const pid = /^run-(\d+)-/.exec(name)?.[1];
    if (pid && !existsSync(`/proc/${pid}`)) await rm(join(work, name), { recursive: true, force: true });
  }
}

async function benchSize(server: StartedServer, options: Options, messages: number): Promise<SizeResult> {
  const users = options.users ?? defaultUsers(messages);
  const exportFile = await ensureXep0227Export(options.work, messages, users, log);
  const source = `xep0227:${exportFile}`;
  const serverUrl = server.server.url;
  const scratch = join(options.work, `run-${process.pid}-${messages}`);
  await mkdir(scratch, { recursive: true });
  const phases = {} as SizeResult['phases'];
  const limits = options.limits;
  try {
    const timed = async (spec: PhaseSpec, db?: string, nodeFlags?: string[]): Promise<PhaseResult> => {
      // Start every phase from a clean cluster: the previous phase's dirty pages are written out now.
      if (db) await withPgClient(databaseUrl(serverUrl, db), (c) => c.query('CHECKPOINT'));
      const pg0 = serverCpuMs(server.pid);
      const busy0 = machineBusyMs();
      const self0 = process.cpuUsage();
      const result = await runPhaseChild(spec, nodeFlags);
      const self = process.cpuUsage(self0);
      const busy1 = machineBusyMs();
      const pg1 = serverCpuMs(server.pid);
      const measured: MeasuredPhase = { ...result };
      if (pg0 !== undefined && pg1 !== undefined) measured.pgCpuMs = pg1 - pg0;
      if (busy0 !== undefined && busy1 !== undefined) {
        // Ours: the whole child (start-up included), this process, the cluster. The child's start-up falls
        // outside the timed phase, so "other" errs low. Without our own cluster, its CPU counts as other.
        const ours = result.processCpuMs + (self.user + self.system) / 1000 + (measured.pgCpuMs ?? 0);
        measured.otherCpuMs = Math.max(0, busy1 - busy0 - ours);
      }
      phases[spec.phase] = measured;
      const other = contended(measured) ? `  (other programs used ${seconds(measured.otherCpuMs)} s CPU meanwhile)` : '';
      log(`${spec.phase.padEnd(10)} ${rate(result.messages, result.ms).padStart(9)} msg/s  ${(result.ms / 1000).toFixed(1)} s  peak RSS ${result.peakRssMb.toFixed(0)} MB${other}`);
      return result;
    };

    await timed({ phase: 'read', source });
    await timed({ phase: 'dry-run', source, target: serverUrl, rejectFile: join(scratch, 'rejects-dry-run.ndjson'), ...(limits ? { limits } : {}) });

    const e2eDb = await createPgDatabase(serverUrl, 'e2e');
    const e2eUrl = databaseUrl(serverUrl, e2eDb);
    const profileDir = join(options.work, 'profiles');
    const profileName = `end-to-end-${messages}-${process.pid}.cpuprofile`;
    const profFlags = options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${profileName}`] : [];
    const e2e = await timed({ phase: 'end-to-end', source, target: e2eUrl, rejectFile: join(scratch, 'rejects.ndjson'), ...(limits ? { limits } : {}) }, e2eDb, profFlags);
    if (e2e.messages !== messages) log(`warning: the run wrote ${e2e.messages} messages, the export holds ${messages}`);

    let profile: SizeResult['profile'];
    if (options.cpuProf) {
      const file = join(profileDir, profileName);
      profile = { file, ...summariseProfile(await readProfile(file), 15, e2e) };
    }

    const dumped = await dumpPgRows(e2eUrl, join(scratch, 'rows'));
    await dropPgDatabase(serverUrl, e2eDb);
    const rawDb = await createPgDatabase(serverUrl, 'raw');
    const rawUrl = databaseUrl(serverUrl, rawDb);
    await withPgClient(rawUrl, async (c) => {
      for (const statement of MONGOOSEIM_PG_DDL) await c.query(statement);
    });
    const raw = await timed({ phase: 'raw-copy', target: rawUrl, tables: dumped.map(({ table, file }) => ({ table, file })) }, rawDb);
    for (const { table, rows } of dumped) {
      if (raw.rows[table] !== rows) log(`warning: raw COPY loaded ${raw.rows[table]} rows into ${table}, the run wrote ${rows}`);
    }
    await dropPgDatabase(serverUrl, rawDb);

    const exportMb = (await stat(exportFile)).size / 2 ** 20;
    return { messages, users, exportMb, phases, ratio: perSecond(e2e) / perSecond(raw), ...(profile ? { profile } : {}) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------------- output

/** Other programs took more than a tenth of a core during the phase (and more than noise). */
const contended = (p: MeasuredPhase): boolean => (p.otherCpuMs ?? 0) > Math.max(0.1 * p.ms, 500);
const perSecond = (r: PhaseResult): number => r.messages / (r.ms / 1000);
/** CPU per message of the phase's Node process and the database together: robust where wall time is not. */
const cpuPerMessage = (p: MeasuredPhase): number => ((p.cpuUserMs + p.cpuSystemMs + (p.pgCpuMs ?? 0)) * 1000) / p.messages;
const rate = (n: number, ms: number): string => Math.round(n / (ms / 1000)).toLocaleString('en');
const mb = (n: number): string => n.toFixed(0);
const seconds = (ms: number | undefined): string => (ms === undefined ? '–' : (ms / 1000).toFixed(1));

function table(header: string[], rows: string[][], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n');
}

function settingsLabel(): string {
  const s = DEFAULT_TARGET_SETTINGS;
  return `${s.messageFormat} ${s.exmlShape}`;
}

function rssGrowth(results: SizeResult[]): number | undefined {
  if (results.length < 2) return undefined;
  return results.at(-1)!.phases['end-to-end'].peakRssMb / results[0]!.phases['end-to-end'].peakRssMb;
}

function report(results: SizeResult[], env: Record<string, string>): string {
  const out: string[] = [];
  out.push(`xmpp-migrate benchmark: XEP-0227 → MongooseIM on ${env.postgres}; ${env.machine}`);
  out.push('');
  out.push(
    table(
      ['case', 'messages', 'users', 'read msg/s', 'dry-run msg/s', 'end-to-end msg/s', 'raw COPY msg/s', 'ratio', 'peak RSS MB'],
      results.map((r) => [
        `xep0227 → pg, ${settingsLabel()}`,
        r.messages.toLocaleString('en'),
        r.users.toLocaleString('en'),
        rate(r.phases.read.messages, r.phases.read.ms),
        rate(r.phases['dry-run'].messages, r.phases['dry-run'].ms),
        rate(r.phases['end-to-end'].messages, r.phases['end-to-end'].ms),
        rate(r.phases['raw-copy'].messages, r.phases['raw-copy'].ms),
        `${(r.ratio * 100).toFixed(0)} %`,
        mb(r.phases['end-to-end'].peakRssMb),
      ]),
    ),
  );
  out.push('');
  out.push('where the time goes: wall time; CPU time of the phase\'s Node process and of the PostgreSQL cluster, and');
  out.push('both per message; CPU time of everything else on the machine (when large, other programs competed):');
  const order: PhaseName[] = ['read', 'dry-run', 'end-to-end', 'raw-copy'];
  const anyContended = results.some((r) => order.some((n) => contended(r.phases[n])));
  out.push(
    table(
      ['messages', 'phase', 'msg/s', 'wall s', 'node CPU s', 'postgres CPU s', 'CPU µs/msg', 'other CPU s', 'RSS at start MB', 'peak RSS MB'],
      results.flatMap((r) =>
        order.map((name) => {
          const p = r.phases[name];
          return [
            r.messages.toLocaleString('en'), name, rate(p.messages, p.ms), seconds(p.ms), seconds(p.cpuUserMs + p.cpuSystemMs),
            seconds(p.pgCpuMs), cpuPerMessage(p).toFixed(1), seconds(p.otherCpuMs), mb(p.startRssMb), mb(p.peakRssMb),
          ];
        }),
      ),
      2,
    ),
  );
  if (anyContended) out.push('warning: other programs used the CPUs during some phases ("other CPU s"): wall-clock figures are pessimistic.');
  out.push('');
  for (const r of results) {
    const ok = r.ratio >= TARGET_RATIO && r.phases['end-to-end'].peakRssMb < TARGET_RSS_MB;
    out.push(
      `${r.messages.toLocaleString('en')} messages: end-to-end is ${(r.ratio * 100).toFixed(0)} % of raw COPY (target ≥ ${TARGET_RATIO * 100} %), ` +
        `peak RSS ${mb(r.phases['end-to-end'].peakRssMb)} MB (target < ${TARGET_RSS_MB} MB): ${ok ? 'targets met' : 'target missed'}; ` +
        `CPU per message ${cpuPerMessage(r.phases['end-to-end']).toFixed(0)} µs end-to-end, ${cpuPerMessage(r.phases['raw-copy']).toFixed(1)} µs raw COPY`,
    );
  }
  const growth = rssGrowth(results);
  if (growth !== undefined) {
    out.push(
      `peak RSS ${results.at(-1)!.messages.toLocaleString('en')} ÷ ${results[0]!.messages.toLocaleString('en')} messages: ${growth.toFixed(2)}× ` +
        `(target ≤ ${TARGET_RSS_GROWTH}×, flat memory): ${growth <= TARGET_RSS_GROWTH ? 'met' : 'missed'}`,
    );
  }
  for (const r of results) {
    if (!r.profile) continue;
    out.push('');
    out.push(`CPU profile of the end-to-end phase, ${r.messages.toLocaleString('en')} messages (${r.profile.file}):`);
    out.push(formatSummary(r.profile));
  }
  return out.join('\n');
}

// --------------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.matrix) {
    await runMatrix({
      sizes: options.sizes,
      ...(options.users !== undefined ? { users: options.users } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      work: options.work,
      json: options.json,
      ...options.matrix,
    });
    return;
  }
  const given = process.env[PG_URL_ENV];
  const t0 = performance.now();
  const server = given ? reused(given) : await startThrowawayPostgres();
  if (!given) log(`PostgreSQL ${server.server.host}:${server.server.port} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  try {
    const version = await withPgClient(server.server.url, async (c) => (await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v);
    const env = {
      postgres: `PostgreSQL ${version} (${given ? `${PG_URL_ENV}` : `throwaway on ${server.server.host}, fsync off`})`,
      machine: `Node ${process.version}, ${availableParallelism()} CPUs`,
    };
    await removeStaleScratch(options.work);
    const results: SizeResult[] = [];
    for (const messages of options.sizes) results.push(await benchSize(server, options, messages));
    const prosody: ProsodyCaseResult[] = [];
    if (options.prosody) {
      for (const messages of options.sizes) {
        const users = options.users ?? defaultUsers(messages);
        prosody.push(await benchProsody(server.server.url, { messages, users, work: options.work, ...(options.limits ? { limits: options.limits } : {}) }, log));
      }
    }
    if (options.json) {
      const growth = rssGrowth(results);
      const doc = {
        environment: env,
        settings: { ...DEFAULT_TARGET_SETTINGS, batchLimits: { ...DEFAULT_BATCH_LIMITS, ...options.limits } },
        targets: { ratio: TARGET_RATIO, peakRssMb: TARGET_RSS_MB, rssGrowth: TARGET_RSS_GROWTH },
        results: results.map((r) => ({
          ...r,
          messagesPerSecond: Object.fromEntries(Object.entries(r.phases).map(([name, p]) => [name, perSecond(p)])),
          cpuMicrosPerMessage: Object.fromEntries(Object.entries(r.phases).map(([name, p]) => [name, cpuPerMessage(p)])),
        })),
        ...(growth !== undefined ? { rssGrowth: growth } : {}),
        ...(options.prosody ? { prosody } : {}),
      };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    } else {
      process.stdout.write(`${report(results, env)}\n${options.prosody ? `\n${formatProsody(prosody)}\n` : ''}`);
    }
  } finally {
    if (given) for (const name of [...createdPgDatabases]) await dropPgDatabase(given, name).catch(() => undefined);
    await server.stop();
  }
}

await main();
