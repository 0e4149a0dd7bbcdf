// A PostgreSQL 15 cluster of one test's own, which the test may stop and start again (`pg_ctl stop -m fast` or
// `-m immediate`, then `pg_ctl start`): never the shared server of global-setup.ts, which other test files use at
// the same time. Started like every test server (postgres-server.ts); its command-line settings are also written
// with ALTER SYSTEM, so a plain `pg_ctl start` brings it back on the same port with the same settings; commits
// are synchronous, so a crash keeps every commit the server acknowledged.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { HOST, isRoot, postgresBinDir, run, startThrowawayPostgres, stopPid, type TestServer } from './postgres-server.js';

export interface RestartablePostgres {
  server: TestServer;
  /** `pg_ctl stop -m <mode> -w`: fast rolls back open transactions and closes sessions; immediate is a crash. */
  stopServer(mode: 'fast' | 'immediate'): Promise<void>;
  /** `pg_ctl start -w`: resolves once the server accepts connections (after crash recovery, if any). */
  startServer(): Promise<void>;
  /** Copies the data directory of the stopped server aside (a standby's state at this moment). */
  snapshot(): Promise<void>;
  /**
   * Replaces the data directory of the stopped server by the snapshot: started again, the server has lost every
   * commit since, as after a failover to an asynchronous standby that lagged behind.
   */
  restoreSnapshot(): Promise<void>;
  /** Stops the server, whatever its pid is now, and removes its files. */
  close(): Promise<void>;
}

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const started = await startThrowawayPostgres(['SIGTERM', 'SIGHUP']);
  const dir = join(started.root, 'pg');
  const data = join(dir, 'data');
  const snapshotDir = join(dir, 'snapshot');
  const pgCtl = (args: string[]): Promise<string> => {
    const bin = join(postgresBinDir(), 'pg_ctl');
    return isRoot ? run('runuser', ['-u', 'postgres', '--', bin, ...args]) : run(bin, args);
  };
  const admin = new pg.Client({ connectionString: started.server.url });
  await admin.connect();
  try {
    for (const [name, value] of [
      ['port', String(started.server.port)],
      ['listen_addresses', HOST],
      ['unix_socket_directories', dir],
      ['fsync', 'off'],
      // On, unlike the shared server: with it off, a crash (immediate stop) loses commits the server had already
      // acknowledged, which is that setting's documented trade, not a fault a client can survive.
      ['synchronous_commit', 'on'],
      ['full_page_writes', 'off'],
      ['max_connections', '200'],
    ]) {
      await admin.query(`ALTER SYSTEM SET ${name} = '${value}'`);
    }
  } finally {
    await admin.end();
  }
  const currentPid = (): number | undefined => {
    const file = join(data, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  const handle: RestartablePostgres = {
    server: started.server,
    async stopServer(mode) {
      await pgCtl(['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
    },
    async startServer() {
      await pgCtl(['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
    },
    async snapshot() {
      await run('rm', ['-rf', snapshotDir]);
      await run('cp', ['-a', data, snapshotDir]);
    },
    async restoreSnapshot() {
      await run('rm', ['-rf', data]);
      await run('cp', ['-a', snapshotDir, data]);
    },
    async close() {
      const pid = currentPid();
      if (pid !== undefined) await stopPid(pid, 'SIGINT');
      await started.stop();
    },
  };
  // Once now, so the server runs with the settings above (the command line of its first start overrides them).
  await handle.stopServer('fast');
  await handle.startServer();
  return handle;
}
