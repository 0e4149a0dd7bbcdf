// A throwaway PostgreSQL 15 cluster on 127.0.0.1 (initdb as user postgres, fsync off, a free port, under a
// directory of our own), and the process helpers it needs. Used by the vitest global setup (which also starts
// MariaDB with the same helpers) and by the benchmark (bench/run.ts). No vitest import here: the benchmark
// runs outside vitest. Recipe: shared/docs/test-servers.md §2.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Superuser-capable access to one test server. */
export interface TestServer {
  /** `postgres://user:pw@127.0.0.1:port/postgres` or `mysql://user:pw@127.0.0.1:port` (no database). */
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  /** True when the server came from XMIG_TEST_*_URL: teardown leaves it running. */
  reused: boolean;
}

export interface StartedServer {
  server: TestServer;
  /** The server's main process (PostgreSQL: the postmaster), when we started it. */
  pid?: number;
  stop(): Promise<void>;
}

/** Called by a start function as soon as its server process may exist, with a synchronous last-resort kill. */
export type OnProcess = (killNow: () => void) => void;

export const HOST = '127.0.0.1';
export const READY_TIMEOUT_MS = 30_000;
export const STOP_TIMEOUT_MS = 15_000;
const COMMAND_TIMEOUT_MS = 60_000;
export const isRoot = process.getuid?.() === 0;

/** A server given by URL (XMIG_TEST_PG_URL, XMIG_BENCH_PG_URL, …): used as it is, never stopped. */
export function reused(url: string): StartedServer {
  const u = new URL(url);
  const defaultPort = u.protocol.startsWith('mysql') ? 3306 : 5432;
  return {
    server: {
      url,
      host: u.hostname,
      port: u.port ? Number(u.port) : defaultPort,
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      reused: true,
    },
    stop: async () => {},
  };
}

export interface ExitGuard {
  /** Pass to the start functions: registers a server's last-resort kill. */
  onProcess: OnProcess;
  /** Kills running setup commands and every registered server, then removes the root. Synchronous. */
  killAll(): void;
  /** Removes the signal and exit hooks (after a clean stop). */
  release(): void;
}

/**
 * If the process ends without a clean stop (a signal such as SIGTERM from a CI timeout, a crash, even
 * mid-start), do not leave servers or the data under `root` behind. A signal is re-raised after cleaning
 * up, so it still terminates.
 */
export function exitGuard(root: string | undefined, signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP']): ExitGuard {
  const kills: Array<() => void> = [];
  const killAll = (): void => {
    killRunningCommands();
    for (const kill of kills) kill();
    try {
      // Retries: a server killed a moment ago may still be writing.
      if (root) rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    } catch {
      // Best effort on the way out: never turn a signal into a crash report.
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    killAll();
    process.kill(process.pid, signal);
  };
  const exitHooks = (on: boolean): void => {
    for (const signal of signals) {
      if (on) process.once(signal, onSignal);
      else process.removeListener(signal, onSignal);
    }
    if (on) process.once('exit', killAll);
    else process.removeListener('exit', killAll);
  };
  exitHooks(true);
  return { onProcess: (kill) => kills.push(kill), killAll, release: () => exitHooks(false) };
}

/**
 * One throwaway PostgreSQL cluster for a standalone program (the benchmark): its own root under /tmp, a free
 * port, cleaned up by `stop()` or, failing that, on exit or on one of `signals`.
 */
export async function startThrowawayPostgres(signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']): Promise<StartedServer & { root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'xmig-pg-'));
  // initdb runs as user postgres, which must be able to enter the root.
  await chmod(root, 0o755);
  const guard = exitGuard(root, signals);
  try {
    const [port] = await freePorts(1);
    const started = await startPostgres(join(root, 'pg'), port!, guard.onProcess);
    return {
      ...started,
      root,
      stop: async () => {
        await started.stop();
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

// ---------------------------------------------------------------------------------------------- PostgreSQL

export function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  if (existsSync(join(base, '15', 'bin'))) return join(base, '15', 'bin');
  const versions = existsSync(base) ? readdirSync(base).filter((v) => /^\d+$/.test(v)) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`no PostgreSQL server under ${base}: install postgresql-15 (see scripts/test.sh)`);
  return join(base, newest, 'bin');
}

export async function startPostgres(dir: string, port: number, onProcess: OnProcess): Promise<StartedServer> {
  const bin = postgresBinDir();
  const data = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 });
  // initdb refuses to run as root: the cluster belongs to user postgres.
  if (isRoot) await run('chown', ['-R', 'postgres:', dir]);
  const asPostgres = (cmd: string, args: string[]): Promise<string> =>
    isRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args);

  await asPostgres('initdb', [
    '-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions',
    // TCP logins need the password, as in production; socket logins stay open for debugging with psql.
    '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${join(dir, 'pwfile')}`,
  ]);
  const serverOptions = [
    `-p ${port}`, `-c listen_addresses=${HOST}`, `-k ${dir}`,
    '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off', '-c max_connections=200',
  ].join(' ');
  // SIGQUIT is an immediate shutdown: the postmaster takes its children down with it.
  onProcess(() => {
    const pidLine = readIfExists(join(data, 'postmaster.pid'))?.split('\n')[0];
    if (pidLine) killQuietly(Number(pidLine), 'SIGQUIT');
  });
  await asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', serverOptions, 'start']);
  const pid = Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);

  return {
    server: {
      url: `postgres://postgres:${password}@${HOST}:${port}/postgres`,
      host: HOST,
      port,
      user: 'postgres',
      password,
      reused: false,
    },
    pid,
    // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients a failed test left open.
    stop: () => stopPid(pid, 'SIGINT'),
  };
}

// ------------------------------------------------------------------------------------------------- helpers

/** Ports the kernel hands out for port 0, all held open together so they differ, then released. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, HOST, () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('port probe returned no TCP address');
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Setup commands still running (initdb, mariadb-install-db, ...), each the leader of its process group. */
const runningCommands = new Set<ChildProcess>();

export function killRunningCommands(): void {
  // The whole group: mariadb-install-db is a shell script around a bootstrap mariadbd.
  for (const child of runningCommands) if (child.pid !== undefined) killQuietly(-child.pid, 'SIGKILL');
}

/** Runs a setup command in its own process group; resolves with its output, rejects on a non-zero exit. */
export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // pg_ctl leaves the server running; its pipes close anyway because -l points the server's output at a file.
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    runningCommands.add(child);
    const timer = setTimeout(() => {
      if (child.pid !== undefined) killQuietly(-child.pid, 'SIGKILL');
    }, COMMAND_TIMEOUT_MS);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (err) => {
      clearTimeout(timer);
      runningCommands.delete(child);
      reject(new Error(`${cmd} could not start: ${err.message}`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      runningCommands.delete(child);
      if (code === 0) resolve(output);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}):\n${output}`));
    });
  });
}

/** Sends `signal` and waits until the process is gone (or only a zombie: it is not our child to reap). */
export async function stopPid(pid: number, signal: NodeJS.Signals): Promise<void> {
  if (!killQuietly(pid, signal)) return;
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      killQuietly(pid, 'SIGKILL');
      return;
    }
    await sleep(30);
  }
}

function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function killQuietly(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export async function tail(path: string, lines = 30): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${path})`;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
