// vitest globalSetup: one throwaway PostgreSQL 15 cluster and one MariaDB 10.11 server for the whole run,
// on 127.0.0.1 with free ports, under a unique root in /tmp. Recipes: shared/docs/test-servers.md §2–§3.
// Set XMIG_TEST_PG_URL / XMIG_TEST_MYSQL_URL to reuse running servers instead (fast local iteration).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { TestProject } from 'vitest/node';

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

declare module 'vitest' {
  export interface ProvidedContext {
    xmigPostgres: TestServer;
    xmigMysql: TestServer;
  }
}

export const PG_URL_ENV = 'XMIG_TEST_PG_URL';
export const MYSQL_URL_ENV = 'XMIG_TEST_MYSQL_URL';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const COMMAND_TIMEOUT_MS = 60_000;
const isRoot = process.getuid?.() === 0;

interface StartedServer {
  server: TestServer;
  stop(): Promise<void>;
}

/** Called by a start function as soon as its server process may exist, with a synchronous last-resort kill. */
type OnProcess = (killNow: () => void) => void;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = performance.now();
  const reusedPg = process.env[PG_URL_ENV];
  const reusedMy = process.env[MYSQL_URL_ENV];
  const root = reusedPg && reusedMy ? undefined : await mkdtemp(join(tmpdir(), 'xmig-test-'));
  // initdb runs as user postgres, which must be able to enter the root.
  if (root) await chmod(root, 0o755);

  // If vitest ends without calling the teardown (SIGTERM from a CI timeout, a crash, even mid-start), do not
  // leave servers or /tmp data behind. A signal is re-raised after cleaning up, so it still terminates.
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
    for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
      if (on) process.once(signal, onSignal);
      else process.removeListener(signal, onSignal);
    }
    if (on) process.once('exit', killAll);
    else process.removeListener('exit', killAll);
  };
  exitHooks(true);
  const onProcess: OnProcess = (kill) => kills.push(kill);

  const [pgPort, myPort] = await freePorts(2);
  const timed = async (start: Promise<StartedServer>): Promise<[StartedServer, number]> => [
    await start,
    performance.now() - t0,
  ];
  const results = await Promise.allSettled([
    timed(reusedPg ? Promise.resolve(reused(reusedPg)) : startPostgres(join(root!, 'pg'), pgPort!, onProcess)),
    timed(reusedMy ? Promise.resolve(reused(reusedMy)) : startMariadb(join(root!, 'my'), myPort!, onProcess)),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value[0]] : []));
    await Promise.allSettled(started.map((s) => s.stop()));
    killAll();
    exitHooks(false);
    throw failed.reason;
  }
  const [[pg, pgMs], [my, myMs]] = results.map((r) => (r as PromiseFulfilledResult<[StartedServer, number]>).value) as [
    [StartedServer, number],
    [StartedServer, number],
  ];

  project.provide('xmigPostgres', pg.server);
  project.provide('xmigMysql', my.server);
  // Child processes spawned by tests (the CLI under test) find the servers here.
  process.env[PG_URL_ENV] = pg.server.url;
  process.env[MYSQL_URL_ENV] = my.server.url;
  const summary = (name: string, s: TestServer, ms: number): string =>
    `${name} ${s.host}:${s.port} ${s.reused ? 'reused' : `ready in ${(ms / 1000).toFixed(2)} s`}`;
  process.stderr.write(
    `[global-setup] ${summary('PostgreSQL', pg.server, pgMs)}; ${summary('MariaDB', my.server, myMs)}${
      root ? `; root ${root}` : ''
    }\n`,
  );

  return async () => {
    if (!reusedPg) delete process.env[PG_URL_ENV];
    if (!reusedMy) delete process.env[MYSQL_URL_ENV];
    const t1 = performance.now();
    await Promise.allSettled([pg.stop(), my.stop()]);
    process.stderr.write(`[global-setup] stopped in ${((performance.now() - t1) / 1000).toFixed(2)} s\n`);
    if (root) await rm(root, { recursive: true, force: true });
    exitHooks(false);
  };
}

function reused(url: string): StartedServer {
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

// ---------------------------------------------------------------------------------------------- PostgreSQL

function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  if (existsSync(join(base, '15', 'bin'))) return join(base, '15', 'bin');
  const versions = existsSync(base) ? readdirSync(base).filter((v) => /^\d+$/.test(v)) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`no PostgreSQL server under ${base}: install postgresql-15 (see scripts/test.sh)`);
  return join(base, newest, 'bin');
}

async function startPostgres(dir: string, port: number, onProcess: OnProcess): Promise<StartedServer> {
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
    // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients a failed test left open.
    stop: () => stopPid(pid, 'SIGINT'),
  };
}

// ------------------------------------------------------------------------------------------------- MariaDB

async function startMariadb(dir: string, port: number, onProcess: OnProcess): Promise<StartedServer> {
  const data = join(dir, 'data');
  const user = 'xmig';
  const password = randomBytes(12).toString('hex');
  await mkdir(dir, { recursive: true });
  const asUser = isRoot ? ['--user=root'] : [];
  const common = ['--no-defaults', ...asUser, `--datadir=${data}`, '--innodb-log-file-size=8M'];
  await run('mariadb-install-db', [...common, '--auth-root-authentication-method=normal', '--skip-test-db']);
  // Runs before the server serves its first connection, so the TCP user exists once a login succeeds.
  const initFile = join(dir, 'init.sql');
  await writeFile(
    initFile,
    `CREATE USER '${user}'@'${HOST}' IDENTIFIED BY '${password}';\n` +
      `GRANT ALL PRIVILEGES ON *.* TO '${user}'@'${HOST}' WITH GRANT OPTION;\n`,
    { mode: 0o600 },
  );
  const errorLog = join(dir, 'err.log');
  const child = spawn(
    'mariadbd',
    [
      ...common,
      `--socket=${join(dir, 'sock')}`, `--pid-file=${join(dir, 'pid')}`, `--port=${port}`,
      `--bind-address=${HOST}`, '--skip-name-resolve', '--skip-log-bin', '--innodb-flush-log-at-trx-commit=0',
      '--character-set-server=utf8mb4', '--collation-server=utf8mb4_general_ci',
      `--log-error=${errorLog}`, `--init-file=${initFile}`,
    ],
    { stdio: 'ignore' },
  );
  child.unref();
  onProcess(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server: TestServer = { url: `mysql://${user}:${password}@${HOST}:${port}`, host: HOST, port, user, password, reused: false };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`mariadbd exited (${child.exitCode ?? child.signalCode}) while starting:\n${await tail(errorLog)}`);
    }
    try {
      const conn = await mysql.createConnection({ host: HOST, port, user, password, connectTimeout: 1000 });
      await conn.end();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`mariadbd not ready after ${READY_TIMEOUT_MS} ms (${String(err)}):\n${await tail(errorLog)}`);
      }
      await sleep(40);
    }
  }

  return {
    server,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
      });
      if (await Promise.race([exited.then(() => false), timedOut])) {
        child.kill('SIGKILL');
        await exited;
      }
      clearTimeout(timer);
    },
  };
}

// ------------------------------------------------------------------------------------------------- helpers

/** Ports the kernel hands out for port 0, all held open together so they differ, then released. */
async function freePorts(count: number): Promise<number[]> {
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

function killRunningCommands(): void {
  // The whole group: mariadb-install-db is a shell script around a bootstrap mariadbd.
  for (const child of runningCommands) if (child.pid !== undefined) killQuietly(-child.pid, 'SIGKILL');
}

function run(cmd: string, args: string[]): Promise<string> {
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
async function stopPid(pid: number, signal: NodeJS.Signals): Promise<void> {
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

function killQuietly(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

async function tail(path: string, lines = 30): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${path})`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
