// vitest globalSetup: one throwaway PostgreSQL 15 cluster and one MariaDB 10.11 server for the whole run,
// on 127.0.0.1 with free ports, under a unique root in /tmp. Recipes: shared/docs/test-servers.md §2–§3.
// Set XMIG_TEST_PG_URL / XMIG_TEST_MYSQL_URL to reuse running servers instead (fast local iteration).
// PostgreSQL's start and the process helpers live in postgres-server.ts (the benchmark uses them too).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { TestProject } from 'vitest/node';
import {
  exitGuard,
  freePorts,
  HOST,
  isRoot,
  READY_TIMEOUT_MS,
  reused,
  run,
  sleep,
  startPostgres,
  STOP_TIMEOUT_MS,
  tail,
  type OnProcess,
  type StartedServer,
  type TestServer,
} from './postgres-server.js';

export type { TestServer };

declare module 'vitest' {
  export interface ProvidedContext {
    xmigPostgres: TestServer;
    xmigMysql: TestServer;
  }
}

export const PG_URL_ENV = 'XMIG_TEST_PG_URL';
export const MYSQL_URL_ENV = 'XMIG_TEST_MYSQL_URL';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = performance.now();
  const reusedPg = process.env[PG_URL_ENV];
  const reusedMy = process.env[MYSQL_URL_ENV];
  const root = reusedPg && reusedMy ? undefined : await mkdtemp(join(tmpdir(), 'xmig-test-'));
  // initdb runs as user postgres, which must be able to enter the root.
  if (root) await chmod(root, 0o755);

  // If vitest ends without calling the teardown (SIGTERM from a CI timeout, a crash, even mid-start), do not
  // leave servers or /tmp data behind (postgres-server.ts: exitGuard).
  const { onProcess, killAll, release } = exitGuard(root);

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
    release();
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
    release();
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
