// Faults on the way to the target, with the real CLI and real servers: the target connection runs through a TCP
// proxy the test controls (test/support/tcp-proxy.ts), which cuts every connection several times mid-run, adds
// latency, and once fails silently (the client side reset, the server keeping the session and its run lock, as a
// broken network path leaves it); and a PostgreSQL server of this test's own is stopped (fast, then immediate, a
// crash) and started again mid-run. Each run completes and leaves exactly the rows of an uninterrupted run, on
// PostgreSQL and on MariaDB; while the first run is alive after its reconnects, a second run is refused by the
// run lock. Where going on would be wrong, the run stops and a re-run completes the rows: when another session
// took the run lock while the run was cut off, and when the server came back without commits it had acknowledged
// (a failover to a lagging standby: the data directory replaced by an older copy). Every fault is triggered by a
// batch the run reported written, never by wall time.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlLockName, openMysql } from '../../src/target/mysql/mysql-database.js';
import { runCli, type CliEvent, type CliResult } from '../support/cli-process.js';
import { freshMysqlDatabase, freshPostgresDatabase, mysqlServer, postgresServer, type FreshDatabase } from '../support/databases.js';
import { seedBulkEjabberd, type BulkSourceCounts } from '../support/ejabberd-bulk-source.js';
import { startRestartablePostgres, type RestartablePostgres } from '../support/restartable-postgres.js';
import { startTcpProxy, viaProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { dumpMongooseim } from '../support/target-dump.js';

const MESSAGES = 20_000;
const USERS = 200;
/** About 50 batches: room for a fault every few batches. */
const BATCH_ROWS = 500;
const RUN_TIMEOUT_MS = 120_000;

let work: string;
let source: FreshDatabase;
let counts: BulkSourceCounts;
const databases: FreshDatabase[] = [];
const proxies: TcpProxy[] = [];
let restartable: RestartablePostgres | undefined;

const args = (url: string): string[] => [
  'run', '--source', `ejabberd+pg:${source.url}`, '--target', url, '--create-schema', '--batch-rows', String(BATCH_ROWS), '--json',
  '--reject-file', join(work, 'rejects.ndjson'),
];

async function dumpPg(url: string): Promise<Record<string, string[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await dumpMongooseim(client);
  } finally {
    await client.end();
  }
}

async function dumpMy(url: string): Promise<Record<string, string[]>> {
  const db = await openMysql(url);
  try {
    return await dumpMongooseim(db, 'mysql');
  } finally {
    await db.close();
  }
}

/** An uninterrupted run into a fresh database: the rows every faulted run must end with. */
const baselines = new Map<'postgres' | 'mysql', Promise<Record<string, string[]>>>();
function baseline(kind: 'postgres' | 'mysql'): Promise<Record<string, string[]>> {
  let dump = baselines.get(kind);
  if (!dump) {
    dump = (async () => {
      const db = kind === 'postgres' ? await freshPostgresDatabase('faults_base') : await freshMysqlDatabase('faults_base');
      databases.push(db);
      const result = await runCli(args(db.url), { cwd: work, timeoutMs: RUN_TIMEOUT_MS });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.events.some((e) => e.event === 'retry')).toBe(false);
      return kind === 'postgres' ? dumpPg(db.url) : dumpMy(db.url);
    })();
    baselines.set(kind, dump);
  }
  return dump;
}

/** A fault schedule: after the n-th batch the run reported written, do this (in order, one at a time). */
type Fault = [afterBatch: number, what: string, act: (child: ChildProcess) => Promise<void> | void];

/** Runs the CLI with `faults` applied as the batches come; resolves once the run ended and every fault is done. */
async function runWithFaults(url: string, faults: Fault[], onRetry?: () => void): Promise<{ result: CliResult; applied: string[] }> {
  const applied: string[] = [];
  let batches = 0;
  let next = 0;
  let queue = Promise.resolve();
  const failures: unknown[] = [];
  const result = await runCli(args(url), {
    cwd: work,
    timeoutMs: RUN_TIMEOUT_MS,
    onEvent: (event: CliEvent, child) => {
      if (event.event === 'retry') onRetry?.();
      if (event.event !== 'batch-written') return;
      batches++;
      while (next < faults.length && faults[next]![0] <= batches) {
        const [, what, act] = faults[next++]!;
        queue = queue.then(async () => {
          try {
            await act(child);
            applied.push(`${what} after batch ${batches}`);
          } catch (err) {
            failures.push(err);
          }
        });
      }
    },
  });
  await queue;
  if (failures.length > 0) throw failures[0];
  return { result, applied };
}

function expectCompleted(result: CliResult): CliEvent[] {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const retries = result.events.filter((e) => e.event === 'retry');
  // Each retry was for a lost connection or a server not up yet, never for anything a retry would repeat.
  for (const retry of retries) expect(String(retry.reason)).toMatch(/connection|terminat|ECONNRE|shutting down|starting up|not yet accepting|closed state|server has gone away/i);
  return retries;
}

/** Same rows in every table; a difference is shown as counts and the first rows missing and extra, not as a 20k-line diff. */
function expectSameRows(actual: Record<string, string[]>, expected: Record<string, string[]>): void {
  expect(expected.mam_message!.length + expected.mam_muc_message!.length).toBe(counts.archive);
  for (const table of Object.keys(expected)) {
    const want = expected[table]!;
    const got = actual[table] ?? [];
    if (JSON.stringify(got) === JSON.stringify(want)) continue;
    const gotSet = new Set(got);
    const wantSet = new Set(want);
    expect({
      table,
      rows: got.length,
      missing: want.filter((row) => !gotSet.has(row)).length,
      firstMissing: want.filter((row) => !gotSet.has(row)).slice(0, 3),
      extra: got.filter((row) => !wantSet.has(row)).slice(0, 3),
    }).toEqual({ table, rows: want.length, missing: 0, firstMissing: [], extra: [] });
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-faults-'));
  source = await freshPostgresDatabase('faults_src');
  databases.push(source);
  counts = await seedBulkEjabberd(source.url, { messages: MESSAGES, users: USERS });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(proxies.map((p) => p.close()));
  await restartable?.close();
  await Promise.allSettled(databases.map((db) => db.drop()));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a run whose target connections are cut, slowed and silently dropped', () => {
  it('completes with the rows of an uninterrupted run on PostgreSQL, and keeps the run lock through every reconnect', async () => {
    const expected = baseline('postgres');
    const db = await freshPostgresDatabase('faults_proxy');
    databases.push(db);
    const server = postgresServer();
    const proxy = await startTcpProxy({ host: server.host, port: server.port });
    proxies.push(proxy);
    let second: CliResult | undefined;
    const cut = (): void => {
      expect(proxy.cutAll()).toBeGreaterThan(0);
    };
    const { result, applied } = await runWithFaults(viaProxy(db.url, proxy), [
      [3, 'cut', cut],
      [7, 'latency 20 ms', () => proxy.setLatency(20)],
      [10, 'cut under latency', cut],
      [14, 'no latency', () => proxy.setLatency(0)],
      [18, 'silent drop', () => {
        expect(proxy.partition()).toBeGreaterThan(0);
      }],
      [24, 'cut', cut],
      // A second run while the first is alive (slowed down by the proxy meanwhile): refused by the run lock the
      // first took again on its new connection.
      [28, 'second run', async () => {
        proxy.setLatency(200);
        second = await runCli(args(db.url), { cwd: work, timeoutMs: RUN_TIMEOUT_MS });
        proxy.setLatency(0);
      }],
      [32, 'cut', cut],
    ]);
    expect(applied).toHaveLength(8);
    const retries = expectCompleted(result);
    expect(retries.length).toBeGreaterThan(0);
    // Every cut and the silent drop forced a new connection.
    expect(proxy.accepted).toBeGreaterThanOrEqual(1 + 5);
    expect(second!.code).toBe(1);
    expect(second!.stdout + second!.stderr).toMatch(/another xmpp-migrate run holds the lock/);
    expectSameRows(await dumpPg(db.url), await expected);
    process.stderr.write(`[faults] PostgreSQL via proxy: ${applied.join(', ')}; ${retries.length} retries, ${proxy.accepted} connections, ${(result.ms / 1000).toFixed(1)} s\n`);
  });

  it('completes with the rows of an uninterrupted run on MariaDB', async () => {
    const expected = baseline('mysql');
    const db = await freshMysqlDatabase('faults_proxy');
    databases.push(db);
    const server = mysqlServer();
    const proxy = await startTcpProxy({ host: server.host, port: server.port });
    proxies.push(proxy);
    const cut = (): void => {
      expect(proxy.cutAll()).toBeGreaterThan(0);
    };
    const { result, applied } = await runWithFaults(viaProxy(db.url, proxy), [
      [3, 'cut', cut],
      [7, 'latency 20 ms', () => proxy.setLatency(20)],
      [10, 'cut under latency', cut],
      [14, 'no latency', () => proxy.setLatency(0)],
      [18, 'silent drop', () => {
        expect(proxy.partition()).toBeGreaterThan(0);
      }],
      [24, 'cut', cut],
      [32, 'cut', cut],
    ]);
    expect(applied).toHaveLength(7);
    const retries = expectCompleted(result);
    expect(retries.length).toBeGreaterThan(0);
    expect(proxy.accepted).toBeGreaterThanOrEqual(1 + 5);
    expectSameRows(await dumpMy(db.url), await expected);
    process.stderr.write(`[faults] MariaDB via proxy: ${applied.join(', ')}; ${retries.length} retries, ${proxy.accepted} connections, ${(result.ms / 1000).toFixed(1)} s\n`);
  });
});

describe('a run that meets a lock timeout', () => {
  it('retries the batch and completes with the rows of an uninterrupted run (PostgreSQL, lock_timeout on the target database)', async () => {
    const expected = baseline('postgres');
    const db = await freshPostgresDatabase('faults_locktimeout');
    databases.push(db);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    // As a DBA of a live MongooseIM database might set it for the migration's role.
    await admin.query(`ALTER DATABASE "${db.name}" SET lock_timeout = '300ms'`);
    await admin.end();
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    let retried: (() => void) | undefined;
    try {
      const { result, applied } = await runWithFaults(
        db.url,
        [
          // A session that blocks every insert into mam_message until the run has given up on one.
          [12, 'mam_message locked until a retry', async () => {
            const seen = new Promise<void>((resolve) => (retried = resolve));
            await holder.query(`SET lock_timeout = '30s'`);
            await holder.query('BEGIN');
            await holder.query('LOCK TABLE mam_message IN SHARE MODE');
            await seen;
            await holder.query('ROLLBACK');
          }],
        ],
        () => retried?.(),
      );
      expect(applied).toHaveLength(1);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const retries = result.events.filter((e) => e.event === 'retry');
      expect(retries.length).toBeGreaterThan(0);
      for (const retry of retries) expect(String(retry.reason)).toMatch(/lock timeout/);
    } finally {
      await holder.end();
    }
    expectSameRows(await dumpPg(db.url), await expected);
  });
});

describe('a run that finds the run lock taken when it reconnects', () => {
  // While the run cannot reach the server (the proxy refuses), the test takes the run lock, as a second run would.
  // The run's new connection must not write: it stops; once the lock is free again, a re-run completes the rows.
  it.each(['postgres', 'mysql'] as const)('stops instead of writing beside the holder (%s), and a re-run completes the rows', async (kind) => {
    const expected = baseline(kind);
    const db = kind === 'postgres' ? await freshPostgresDatabase('faults_lock') : await freshMysqlDatabase('faults_lock');
    databases.push(db);
    const server = kind === 'postgres' ? postgresServer() : mysqlServer();
    const proxy = await startTcpProxy({ host: server.host, port: server.port });
    proxies.push(proxy);
    let release: (() => Promise<void>) | undefined;
    const takeLock = async (): Promise<void> => {
      if (kind === 'postgres') {
        const holder = new pg.Client({ connectionString: db.url });
        await holder.connect();
        // Waits, if need be, until the server has ended the run's cut session.
        await holder.query(`SET lock_timeout = '10s'`);
        await holder.query(`SELECT pg_advisory_lock(hashtext('xmpp-migrate-run'))`);
        release = () => holder.end();
      } else {
        const holder = await openMysql(db.url);
        const { rows } = await holder.query<{ got: unknown }>('SELECT GET_LOCK(?, 10) AS got', [mysqlLockName('xmpp-migrate-run', db.name)]);
        expect(Number(rows[0]!.got)).toBe(1);
        release = () => holder.close();
      }
    };
    try {
      const { result, applied } = await runWithFaults(viaProxy(db.url, proxy), [
        [8, 'cut, refuse, lock taken, accept', async () => {
          proxy.setRefusing(true);
          expect(proxy.cutAll()).toBeGreaterThan(0);
          await takeLock();
          proxy.setRefusing(false);
        }],
      ]);
      expect(applied).toHaveLength(1);
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).toMatch(/another xmpp-migrate run took the run lock/);
    } finally {
      await release?.();
    }
    const rerun = await runCli(args(db.url), { cwd: work, timeoutMs: RUN_TIMEOUT_MS });
    expectCompleted(rerun);
    expectSameRows(kind === 'postgres' ? await dumpPg(db.url) : await dumpMy(db.url), await expected);
  });
});

describe('a run whose PostgreSQL server restarts', () => {
  it('completes with the rows of an uninterrupted run after a fast stop and a crash (immediate stop), each followed by a start', async () => {
    const expected = baseline('postgres');
    restartable ??= await startRestartablePostgres();
    const server = restartable.server;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE mim');
    await admin.end();
    const url = new URL(server.url);
    url.pathname = '/mim';

    // Down until the run has seen the outage (a retry), then started again.
    let down: (() => void) | undefined;
    const outage = (mode: 'fast' | 'immediate') => async (): Promise<void> => {
      const seen = new Promise<void>((resolve) => (down = resolve));
      await restartable!.stopServer(mode);
      await seen;
      down = undefined;
      await restartable!.startServer();
    };
    const { result, applied } = await runWithFaults(
      url.toString(),
      [
        [5, 'stop -m fast, start', outage('fast')],
        [20, 'stop -m immediate, start', outage('immediate')],
      ],
      () => down?.(),
    );
    expect(applied).toHaveLength(2);
    const retries = expectCompleted(result);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expectSameRows(await dumpPg(url.toString()), await expected);
    process.stderr.write(`[faults] PostgreSQL restarts: ${applied.join(', ')}; ${retries.length} retries, ${(result.ms / 1000).toFixed(1)} s\n`);
  });

  it('stops when the server comes back without commits it had acknowledged (a failover to a lagging standby), and a re-run completes the rows', async () => {
    const expected = baseline('postgres');
    restartable ??= await startRestartablePostgres();
    const server = restartable.server;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE mim_failover');
    await admin.end();
    const url = new URL(server.url);
    url.pathname = '/mim_failover';

    let down: (() => void) | undefined;
    const outage = (mode: 'fast' | 'immediate', whileDown: () => Promise<void>) => async (): Promise<void> => {
      const seen = new Promise<void>((resolve) => (down = resolve));
      await restartable!.stopServer(mode);
      await whileDown();
      await seen;
      down = undefined;
      await restartable!.startServer();
    };
    // The standby's copy is taken after batch 10 (in the archive stream); the primary acknowledges more batches,
    // crashes, and the standby (the copy) takes over.
    const { result, applied } = await runWithFaults(
      url.toString(),
      [
        [10, 'standby copy', outage('fast', () => restartable!.snapshot())],
        [22, 'crash, failover to the standby copy', outage('immediate', () => restartable!.restoreSnapshot())],
      ],
      () => down?.(),
    );
    expect(applied).toHaveLength(2);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/lost transactions it had acknowledged/);
    const rerun = await runCli(args(url.toString()), { cwd: work, timeoutMs: RUN_TIMEOUT_MS });
    expectCompleted(rerun);
    expect(rerun.events.some((e) => e.event === 'stream-start' && e.startedFrom === 'resumed')).toBe(true);
    expectSameRows(await dumpPg(url.toString()), await expected);
    process.stderr.write(`[faults] failover to a lagging standby: ${applied.join(', ')}; the run stopped, the re-run completed in ${(rerun.ms / 1000).toFixed(1)} s\n`);
  });
});
