// The benchmark's MariaDB target, kept apart from bench/run.ts's PostgreSQL phases: `run --create-schema` of any
// source URL (xep0227:FILE, prosody:DIR, ejabberd+pg:postgres://…) into an empty MariaDB database (end-to-end,
// in a child process like the PostgreSQL phases, by LOAD DATA LOCAL INFILE and, unless left out, once more with
// the server's local_infile OFF, i.e. the multi-row INSERT fallback), against a raw LOAD DATA LOCAL INFILE of
// exactly the rows the run wrote (dumped untimed, loaded timed into another empty database with the same schema,
// one transaction per table). bench/matrix.ts uses it for every source; standalone it runs the XEP-0227 export.
//
//   npx tsx bench/mariadb-case.ts [--messages N] [--users U] [--work DIR] [--batch-rows R]   (standalone, XEP-0227)
//   XMIG_BENCH_MYSQL_URL=mysql://root:pw@127.0.0.1:3306 …                                 (an existing server)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import mysqlCore from 'mysql2';
import type { BatchLimits } from '../src/pipeline/batch-limits.js';
import { MONGOOSEIM_MYSQL_DDL } from '../src/target/mongooseim/schema-mysql.js';
import { LOAD_DATA_FORMAT, loadDataField } from '../src/target/mysql/mysql-bulk-text.js';
import { exitGuard, freePorts, HOST, isRoot, READY_TIMEOUT_MS, reused, run, sleep, STOP_TIMEOUT_MS, tail, type StartedServer } from '../test/support/postgres-server.js';
import { databaseUrl, ensureXep0227Export, runPhaseChild, type PhaseResult, type PhaseSpec, type SourceSettings } from './phases.js';

export const MYSQL_URL_ENV = 'XMIG_BENCH_MYSQL_URL';

export interface MariadbCaseOptions {
  /** Any source URL `run` takes: xep0227:FILE, prosody:DIR, ejabberd+pg:postgres://… */
  source: string;
  sourceSettings?: SourceSettings;
  /** Archived messages the source holds: a run that writes another number is reported. */
  messages: number;
  /** Scratch space for the row dumps (a directory of its own is made under it and removed). */
  work: string;
  limits?: Partial<BatchLimits>;
  /** Also `run` with the server's local_infile OFF (multi-row INSERTs). Default true. */
  insertFallback?: boolean;
  /** Runs the end-to-end phase (default: runPhaseChild); the matrix wraps it to account CPU. */
  runEndToEnd?: (spec: PhaseSpec) => Promise<PhaseResult>;
}

export interface MariadbCaseResult {
  server: string;
  messages: number;
  /** `run` into MariaDB with LOAD DATA LOCAL INFILE (the default path). */
  loadData: PhaseResult;
  /** `run` into MariaDB with the server's local_infile OFF: multi-row INSERTs (unless left out). */
  insert?: PhaseResult;
  /** Raw LOAD DATA LOCAL INFILE of the rows `run` wrote: wall ms and rows per table. */
  raw: { ms: number; rows: Record<string, number>; messages: number };
  /** End-to-end (LOAD DATA) msg/s ÷ raw LOAD DATA msg/s. */
  ratio: number;
}

// ------------------------------------------------------------------------------------------------- server

/** A throwaway MariaDB on 127.0.0.1 (recipe: shared/docs/test-servers.md §3), local_infile on, its own tmpdir. */
export async function startThrowawayMariadb(): Promise<StartedServer> {
  const root = await mkdtemp(join(tmpdir(), 'xmig-my-'));
  const guard = exitGuard(root, ['SIGINT', 'SIGTERM', 'SIGHUP']);
  try {
    const [port] = await freePorts(1);
    const data = join(root, 'data');
    const password = randomBytes(12).toString('hex');
    const common = ['--no-defaults', ...(isRoot ? ['--user=root'] : []), `--datadir=${data}`, '--innodb-log-file-size=64M'];
    await mkdir(join(root, 'tmp'), { recursive: true });
    await run('mariadb-install-db', [...common, '--auth-root-authentication-method=normal', '--skip-test-db']);
    const initFile = join(root, 'init.sql');
    await writeFile(initFile, `CREATE USER 'xmig'@'${HOST}' IDENTIFIED BY '${password}';\nGRANT ALL PRIVILEGES ON *.* TO 'xmig'@'${HOST}' WITH GRANT OPTION;\n`, { mode: 0o600 });
    const child = spawn('mariadbd', [
      ...common, `--tmpdir=${join(root, 'tmp')}`, `--socket=${join(root, 'sock')}`, `--pid-file=${join(root, 'pid')}`, `--port=${port}`,
      `--bind-address=${HOST}`, '--skip-name-resolve', '--skip-log-bin', '--innodb-flush-log-at-trx-commit=0', '--innodb-buffer-pool-size=512M',
      '--character-set-server=utf8mb4', '--local-infile=1', `--log-error=${join(root, 'err.log')}`, `--init-file=${initFile}`,
    ], { stdio: 'ignore' });
    guard.onProcess(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mariadbd exited while starting:\n${await tail(join(root, 'err.log'))}`);
      try {
        await (await mysql.createConnection({ host: HOST, port, user: 'xmig', password, connectTimeout: 1000 })).end();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`mariadbd not ready: ${String(err)}`);
        await sleep(50);
      }
    }
    return {
      server: { url: `mysql://xmig:${password}@${HOST}:${port}`, host: HOST, port: port!, user: 'xmig', password, reused: false },
      pid: child.pid,
      stop: async () => {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(STOP_TIMEOUT_MS).then(() => child.kill('SIGKILL'))]);
        await rm(root, { recursive: true, force: true });
        guard.release();
      },
    };
  } catch (err) {
    guard.killAll();
    guard.release();
    throw err;
  }
}

async function admin<T>(serverUrl: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection(serverUrl);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

// ------------------------------------------------------------------------------------------------- phases

const BLOB_TYPES = new Set(['tinyblob', 'blob', 'mediumblob', 'longblob', 'binary', 'varbinary']);

/** Every MongooseIM table the run wrote into, dumped as LOAD DATA files (bytes as hex), all columns. */
async function dumpRows(url: string, dir: string): Promise<Array<{ table: string; file: string; columns: Array<{ name: string; hex: boolean }> }>> {
  await mkdir(dir, { recursive: true });
  const conn = mysqlCore.createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true });
  const q = conn.promise();
  try {
    const [tables] = (await q.query(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name NOT LIKE 'xmpp\\_migrate\\_%' ORDER BY 1`)) as unknown as [Array<{ t: string }>];
    const dumped = [];
    for (const { t } of tables) {
      const [[{ n }]] = (await q.query(`SELECT count(*) AS n FROM ${t}`)) as unknown as [[{ n: string }]];
      if (Number(n) === 0) continue;
      const [cols] = (await q.query(`SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`, [t])) as unknown as [Array<{ name: string; type: string }>];
      // Binary JID columns hold UTF-8 text: dumped as text, as the writer loads them.
      const columns = cols.map((c) => ({ name: c.name, hex: BLOB_TYPES.has(c.type) && !['varbinary'].includes(c.type) }));
      const file = join(dir, `${t}.tsv`);
      const out = createWriteStream(file);
      const stream = conn.query({ sql: `SELECT * FROM ${t}`, typeCast: (field: { type: string; string(e?: string): string | null }, next: () => unknown) => (field.type === 'VAR_STRING' || field.type === 'STRING' ? field.string('utf8') : next()) } as never).stream();
      for await (const row of stream as AsyncIterable<Record<string, unknown>>) {
        const line = columns.map((c) => loadDataField(row[c.name] as never, c.hex)).join('\t');
        if (!out.write(`${line}\n`)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      dumped.push({ table: t, file, columns });
    }
    return dumped;
  } finally {
    conn.end();
  }
}

async function rawLoadData(url: string, tables: Awaited<ReturnType<typeof dumpRows>>): Promise<MariadbCaseResult['raw']> {
  const c = await mysql.createConnection({ uri: url, flags: ['-FOUND_ROWS'] });
  const rows: Record<string, number> = {};
  const t0 = performance.now();
  try {
    for (const { table, file, columns } of tables) {
      const targets = columns.map((col) => (col.hex ? `@${col.name}` : `\`${col.name}\``));
      const unhex = columns.filter((col) => col.hex).map((col) => `\`${col.name}\` = UNHEX(@${col.name})`);
      await c.query('START TRANSACTION');
      const [result] = await c.query({
        sql: `LOAD DATA LOCAL INFILE '${table}' INTO TABLE ${table} CHARACTER SET utf8mb4 ${LOAD_DATA_FORMAT} (${targets.join(', ')})${unhex.length ? ` SET ${unhex.join(', ')}` : ''}`,
        infileStreamFactory: () => createReadStream(file, { highWaterMark: 1 << 20 }),
      });
      await c.query('COMMIT');
      rows[table] = (result as { affectedRows: number }).affectedRows;
    }
  } finally {
    await c.end();
  }
  return { ms: performance.now() - t0, rows, messages: (rows.mam_message ?? 0) + (rows.mam_muc_message ?? 0) };
}

/** The database's version, e.g. `MariaDB 10.11.6`. */
export async function mariadbVersion(serverUrl: string): Promise<string> {
  const [[row]] = (await admin(serverUrl, (c) => c.query('SELECT VERSION() AS v'))) as unknown as [[{ v: string }]];
  return `MariaDB ${row!.v.replace(/-MariaDB.*$/i, '')}`;
}

/** The MariaDB case for one source: see the header. `serverUrl` has no database; databases are created and dropped. */
export async function benchMariadb(serverUrl: string, options: MariadbCaseOptions, log: (s: string) => void = () => undefined): Promise<MariadbCaseResult> {
  const { source, messages, limits } = options;
  const runEndToEnd = options.runEndToEnd ?? ((spec: PhaseSpec) => runPhaseChild(spec, [], 'MariaDB end-to-end'));
  const name = (hint: string): string => `xmig_bench_${hint}_${process.pid}_${randomBytes(3).toString('hex')}`;
  await mkdir(options.work, { recursive: true });
  const scratch = await mkdtemp(join(options.work, `mariadb-${process.pid}-${messages}-`));
  const created: string[] = [];
  const create = async (hint: string): Promise<string> => {
    const db = name(hint);
    await admin(serverUrl, (c) => c.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`));
    created.push(db);
    return databaseUrl(serverUrl, db);
  };
  try {
    const version = await mariadbVersion(serverUrl);
    const spec = (target: string, label: string): PhaseSpec => ({
      phase: 'end-to-end',
      source,
      ...(options.sourceSettings ? { sourceSettings: options.sourceSettings } : {}),
      target,
      rejectFile: join(scratch, `rejects-${label}.ndjson`),
      ...(limits ? { limits } : {}),
    });
    const rate = (n: number, ms: number): string => Math.round(n / (ms / 1000)).toLocaleString('en');

    await admin(serverUrl, (c) => c.query('SET GLOBAL local_infile = 1'));
    const loadUrl = await create('e2e');
    const loadData = await runEndToEnd(spec(loadUrl, 'load-data'));
    log(`mariadb end-to-end (LOAD DATA)  ${rate(loadData.messages, loadData.ms).padStart(9)} msg/s  ${(loadData.ms / 1000).toFixed(1)} s  peak RSS ${loadData.peakRssMb.toFixed(0)} MB`);
    if (loadData.messages !== messages) log(`warning: the run wrote ${loadData.messages} messages, the source holds ${messages}`);
    if (loadData.rejected > 0) log(`warning: the run rejected ${loadData.rejected} records`);

    const dumped = await dumpRows(loadUrl, join(scratch, 'rows'));
    const rawUrl = await create('raw');
    await admin(rawUrl, async (c) => {
      for (const statement of MONGOOSEIM_MYSQL_DDL) await c.query(statement);
    });
    const raw = await rawLoadData(rawUrl, dumped);
    log(`mariadb raw LOAD DATA           ${rate(raw.messages, raw.ms).padStart(9)} msg/s  ${(raw.ms / 1000).toFixed(1)} s`);

    let insert: PhaseResult | undefined;
    if (options.insertFallback ?? true) {
      const insertUrl = await create('e2e_insert');
      await admin(serverUrl, (c) => c.query('SET GLOBAL local_infile = 0'));
      try {
        insert = await runEndToEnd(spec(insertUrl, 'insert'));
      } finally {
        await admin(serverUrl, (c) => c.query('SET GLOBAL local_infile = 1'));
      }
      log(`mariadb end-to-end (INSERTs)    ${rate(insert.messages, insert.ms).padStart(9)} msg/s  ${(insert.ms / 1000).toFixed(1)} s  peak RSS ${insert.peakRssMb.toFixed(0)} MB`);
    }

    const perSecond = (n: number, ms: number): number => n / (ms / 1000);
    return { server: version, messages, loadData, ...(insert ? { insert } : {}), raw, ratio: perSecond(loadData.messages, loadData.ms) / perSecond(raw.messages, raw.ms) };
  } finally {
    for (const db of created) await admin(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS \`${db}\``)).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The case's lines for the report. */
export function formatMariadb(results: MariadbCaseResult[]): string {
  const rate = (n: number, ms: number): string => Math.round(n / (ms / 1000)).toLocaleString('en');
  const lines = [`MariaDB case (${results[0]?.server ?? 'MariaDB'}): end-to-end against a raw LOAD DATA LOCAL INFILE of the rows it wrote`];
  lines.push('messages   end-to-end LOAD DATA msg/s   end-to-end INSERT msg/s   raw LOAD DATA msg/s   ratio   peak RSS MB');
  for (const r of results) {
    lines.push(
      `${r.messages.toLocaleString('en').padEnd(9)}  ${rate(r.loadData.messages, r.loadData.ms).padStart(26)}  ${(r.insert ? rate(r.insert.messages, r.insert.ms) : '–').padStart(24)}  ${rate(r.raw.messages, r.raw.ms).padStart(20)}  ${`${(r.ratio * 100).toFixed(0)} %`.padStart(6)}  ${r.loadData.peakRssMb.toFixed(0).padStart(11)}`,
    );
  }
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------------- standalone

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { messages: { type: 'string' }, users: { type: 'string' }, work: { type: 'string' }, 'batch-rows': { type: 'string' } } });
  const messages = Number(values.messages ?? 200_000);
  const users = Number(values.users ?? Math.max(1, Math.floor(messages / 1000)));
  if (!(messages > 0 && users > 0 && messages % users === 0)) throw new Error(`${messages} messages do not divide into ${users} users`);
  const work = values.work ?? join(tmpdir(), 'xmig-bench');
  const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
  const exportFile = await ensureXep0227Export(work, messages, users, log);
  const given = process.env[MYSQL_URL_ENV];
  const server = given ? reused(given) : await startThrowawayMariadb();
  try {
    const limits = values['batch-rows'] ? { rows: Number(values['batch-rows']) } : undefined;
    const result = await benchMariadb(server.server.url, { source: `xep0227:${exportFile}`, messages, work, ...(limits ? { limits } : {}) }, log);
    process.stdout.write(`${formatMariadb([result])}\n`);
  } finally {
    await server.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
