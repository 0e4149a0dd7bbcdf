// Does `--rate` hold? (`npm run bench:rate`, or `npx tsx bench/rate-check.ts [options]`.) Runs the real CLI with
// `run --rate R --json` from a generated XEP-0227 export into a throwaway PostgreSQL 15 (or the server in
// XMIG_BENCH_PG_URL), times every batch the run reports written as it arrives, and compares the records written in
// a window of W seconds (after a warm-up, so the start-up and the bucket's first second of tokens stay out) with
// R × W. Target (issue 7): within 10 %. Exits 1 when it is not, or when the run could not reach the rate at all.
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { reused, startThrowawayPostgres, type StartedServer } from '../test/support/postgres-server.js';
import { runCli } from '../test/support/cli-process.js';
import { writeSyntheticExport } from '../test/support/synthetic-xep0227.js';

const PG_URL_ENV = 'XMIG_BENCH_PG_URL';
const TOLERANCE = 0.1;

const USAGE = `usage: npx tsx bench/rate-check.ts [options]
  --rate R          records per second to ask for (default 2000)
  --window S        seconds measured (default 30)
  --warmup S        seconds left out at the start (default 3)
  --batch-rows N    rows per batch (default 250: several batches a second, so the window cuts few in two)
  --work DIR        where the export goes (default ${join(tmpdir(), 'xmig-bench-rate')})
  --json            one JSON document on stdout instead of the lines`;

interface Sample {
  /** ms since the run was spawned, when the batch's event arrived. */
  at: number;
  records: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string' },
      window: { type: 'string' },
      warmup: { type: 'string' },
      'batch-rows': { type: 'string' },
      work: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const rate = Number(values.rate ?? 2000);
  const windowS = Number(values.window ?? 30);
  const warmupS = Number(values.warmup ?? 3);
  const batchRows = Number(values['batch-rows'] ?? 250);
  const work = values.work ?? join(tmpdir(), 'xmig-bench-rate');
  for (const [name, n] of Object.entries({ rate, window: windowS, warmup: warmupS, 'batch-rows': batchRows })) {
    if (!Number.isFinite(n) || n < 0 || (name !== 'warmup' && n === 0)) throw new Error(`--${name}: expected a positive number\n${USAGE}`);
  }
  const log = (line: string): void => {
    if (!values.json) process.stderr.write(`${line}\n`);
  };

  // Enough records for the warm-up, the window and a margin: the run must still be going when the window ends.
  const users = 20;
  const messagesPerUser = Math.ceil((rate * (warmupS + windowS + 10)) / users);
  await mkdir(work, { recursive: true });
  const exportFile = join(work, `rate-${users}x${messagesPerUser}.xml`);
  log(`[rate] generating ${users * messagesPerUser} messages …`);
  await writeSyntheticExport(exportFile, { users, messagesPerUser, seed: 42 });

  const given = process.env[PG_URL_ENV];
  const server: StartedServer = given ? reused(given) : await startThrowawayPostgres();
  const database = `xmig_bench_rate_${process.pid}`;
  const admin = new pg.Client({ connectionString: server.server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(server.server.url);
    url.pathname = `/${database}`;
    const samples: Sample[] = [];
    const started = performance.now();
    log(`[rate] run --rate ${rate} for about ${warmupS + windowS} s …`);
    const result = await runCli(
      ['run', '--source', `xep0227:${exportFile}`, '--target', url.toString(), '--create-schema', '--rate', String(rate), '--batch-rows', String(batchRows), '--json', '--reject-file', join(work, 'rejects.ndjson')],
      {
        cwd: work,
        timeoutMs: (warmupS + windowS) * 10_000,
        onEvent: (event, child) => {
          if (event.event !== 'batch-written') return;
          samples.push({ at: performance.now() - started, records: Number(event.records) });
          // Past the window: nothing more to measure.
          const first = samples[0]!.at;
          if (samples.at(-1)!.at > first + (warmupS + windowS + 2) * 1000) child.kill('SIGTERM');
        },
      },
    );
    if (samples.length === 0) throw new Error(`the run wrote nothing (exit ${result.code ?? result.signal}):\n${result.stderr}`);
    const from = samples[0]!.at + warmupS * 1000;
    const to = from + windowS * 1000;
    const last = samples.at(-1)!.at;
    if (last < to) throw new Error(`the run ended ${((to - last) / 1000).toFixed(1)} s before the window did: give it more records`);
    const inWindow = samples.filter((s) => s.at > from && s.at <= to).reduce((n, s) => n + s.records, 0);
    const measured = inWindow / windowS;
    const error = measured / rate - 1;
    // The same over every 5-second stretch of the window: how even the pace is.
    const stretches: number[] = [];
    for (let t = from; t + 5000 <= to; t += 5000) {
      stretches.push(samples.filter((s) => s.at > t && s.at <= t + 5000).reduce((n, s) => n + s.records, 0) / 5);
    }
    const ok = Math.abs(error) <= TOLERANCE;
    const report = { rate, windowSeconds: windowS, warmupSeconds: warmupS, batchRows, recordsInWindow: inWindow, measuredRate: Math.round(measured), error: Number(error.toFixed(4)), per5s: stretches.map(Math.round), ok };
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      process.stdout.write(
        `--rate ${rate}: ${inWindow} records in ${windowS} s = ${Math.round(measured)} records/s, ${(error * 100).toFixed(2)} % off (target within ±${TOLERANCE * 100} %): ${ok ? 'OK' : 'MISSED'}\n` +
          `per 5 s: ${stretches.map(Math.round).join(', ')} records/s\n` +
          (error < -TOLERANCE ? 'below the rate: the run could not go that fast here (other load on the machine, or the target); check with a lower --rate\n' : ''),
      );
    }
    return ok ? 0 : 1;
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    await server.stop();
    if (!values.work) await rm(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`rate check failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
