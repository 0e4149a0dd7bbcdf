// Write-latency bounds on a live target: past --slow-latency the run halves its rate and says so, and still
// writes every row; past --abort-latency it stops after committing the batch, exit 1 with what to do, and the
// same command resumes to the rows of an uninterrupted run. A real PostgreSQL target, the real CLI.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';
import { writeSyntheticExport } from '../support/synthetic-xep0227.js';

let work: string;
let source: string;
const databases: FreshDatabase[] = [];

async function cli(args: string[]): Promise<{ code: number; events: Array<Record<string, unknown>>; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: { write: (s) => void (stdout += s) }, stderr: { write: (s) => void (stderr += s) } });
  const events = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, events, stderr };
}

async function count(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query('SELECT count(*)::int AS n FROM mam_message')).rows[0].n);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-latency-'));
  const file = join(work, 'export.xml');
  await writeSyntheticExport(file, { users: 10, messagesPerUser: 30, seed: 5 });
  source = `xep0227:${file}`;
});

afterAll(async () => {
  for (const db of databases) await db.drop();
  await rm(work, { recursive: true, force: true });
});

describe('write-latency bounds', () => {
  it('backs off past --slow-latency and still writes everything', async () => {
    const db = await freshPostgresDatabase('latency_slow');
    databases.push(db);
    // A bound of 0 ms: every batch is "slow", on any machine.
    const run = await cli(['run', '--source', source, '--target', db.url, '--create-schema', '--json', '--batch-rows', '100', '--slow-latency', '0', '--reject-file', join(work, 'r1.ndjson')]);
    expect(run.code).toBe(0);
    const changes = run.events.filter((e) => e.event === 'rate-changed');
    expect(changes.length).toBeGreaterThanOrEqual(2);
    const rates = changes.map((e) => e.rate as number);
    // Each back-off halves the rate it had.
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeLessThanOrEqual(Math.max(1, Math.floor(rates[i - 1]! / 2)) + 1);
    expect(String(changes[0]!.reason)).toMatch(/past --slow-latency 0 ms: backing off/);
    expect(await count(db.url)).toBe(300);
  }, 120_000);

  it('stops past --abort-latency after committing the batch, and the same command resumes', async () => {
    const db = await freshPostgresDatabase('latency_abort');
    databases.push(db);
    const args = ['run', '--source', source, '--target', db.url, '--create-schema', '--json', '--batch-rows', '40', '--reject-file', join(work, 'r2.ndjson')];
    const stopped = await cli([...args, '--abort-latency', '0']);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/past the abort bound of 0 ms \(--abort-latency\).*Re-run the same command to resume/s);
    const written = await count(db.url);
    expect(written).toBeLessThan(300);
    const resumed = await cli(args);
    expect(resumed.code).toBe(0);
    expect(await count(db.url)).toBe(300);
  }, 120_000);
});
