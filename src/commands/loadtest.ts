// `loadtest`: simulated clients against the target server, with a scenario from the source's usage or from
// flags; writes a JSON and a self-contained HTML report. Traffic goes only where --xmpp points.
import { writeFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { htmlReport } from '../loadtest/html-report.js';
import { runLoad, type LoadReport } from '../loadtest/load-runner.js';
import { DEFAULT_SCENARIO, scenarioFromInventory, validateScenario, type LoadScenario } from '../loadtest/scenario.js';
import { readPasswordCsv } from '../smoke/password-csv.js';
import { openSourceFor } from './context.js';

export interface LoadtestOptions {
  /** CSV of jid,password: the accounts the simulated clients log in as (test accounts on the target). */
  accounts: string;
  xmpp: { host: string; port: number };
  /** Draw the rates from this source's inventory (flags still win). */
  source?: string;
  sourceSettings: Record<string, string>;
  /** Scenario values given as flags. */
  scenario: Partial<Omit<LoadScenario, 'basis'>>;
  starttls: 'auto' | 'required' | 'off';
  rejectUnauthorized: boolean;
  plainWithoutTls: boolean;
  timeoutMs: number;
  jsonFile: string;
  htmlFile: string;
  /** Above this share of failed operations (connections, lost messages, failed queries) the test fails. */
  maxErrorRate: number;
  signal?: AbortSignal;
}

export interface LoadtestResult {
  report: LoadReport;
  jsonFile: string;
  htmlFile: string;
  errorRate: number;
  passed: boolean;
}

export async function loadtest(options: LoadtestOptions): Promise<LoadtestResult> {
  const accounts = await readPasswordCsv(options.accounts);
  if (accounts.length < 1) throw new UsageError(`--accounts ${options.accounts} holds no account`);
  const clients = options.scenario.clients ?? DEFAULT_SCENARIO.clients;
  let fromSource: Partial<LoadScenario> & { basis: string[] } = { basis: [] };
  if (options.source) {
    const source = await openSourceFor({ source: options.source, sourceSettings: options.sourceSettings, target: '', settingsFlags: {}, createSchema: false });
    try {
      fromSource = scenarioFromInventory(await source.inventory(), clients);
    } finally {
      await source.close();
    }
  }
  const flagged = Object.keys(options.scenario).filter((k) => options.scenario[k as keyof typeof options.scenario] !== undefined);
  const scenario = validateScenario({
    ...DEFAULT_SCENARIO,
    ...withoutBasis(fromSource),
    ...definedOnly(options.scenario),
    basis: [...fromSource.basis, ...(flagged.length ? [`flags: ${flagged.join(', ')}`] : []), 'defaults for the rest'],
  });
  const report = await runLoad({ scenario, accounts, xmpp: options.xmpp, starttls: options.starttls, rejectUnauthorized: options.rejectUnauthorized, plainWithoutTls: options.plainWithoutTls, timeoutMs: options.timeoutMs, signal: options.signal });
  const operations = report.connections.attempted + report.messages.sent + report.mam.queries;
  const failures = report.connections.failed + report.messages.lost + report.mam.failed;
  const errorRate = operations === 0 ? 1 : failures / operations;
  await writeFile(options.jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(options.htmlFile, htmlReport(report));
  return { report, jsonFile: options.jsonFile, htmlFile: options.htmlFile, errorRate, passed: errorRate <= options.maxErrorRate && report.stoppedBy !== 'no-clients' };
}

function withoutBasis(s: Partial<LoadScenario>): Partial<LoadScenario> {
  const { basis: _basis, ...rest } = s;
  return rest;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function formatLoadtest(result: LoadtestResult): string {
  const r = result.report;
  const l = (x: LoadReport['messages']['latency']): string => `p50 ${x.p50} ms, p95 ${x.p95} ms, p99 ${x.p99} ms, max ${x.max} ms (n=${x.count})`;
  return [
    `Load test: ${r.target}, ${r.scenario.clients} clients, bound ${r.scenario.messagesPerSecond} msg/s and ${r.scenario.mamQueriesPerSecond} MAM queries/s, stopped by ${r.stoppedBy}`,
    `connections: ${r.connections.ok}/${r.connections.attempted} ok; ${l(r.connections.latency)}`,
    `messages: ${r.messages.sent} sent (${r.messages.achievedPerSecond}/s), ${r.messages.received} delivered, ${r.messages.lost} lost; delivery ${l(r.messages.latency)}`,
    `MAM queries: ${r.mam.ok}/${r.mam.queries} ok; ${l(r.mam.latency)}`,
    ...Object.entries(r.errors).map(([k, v]) => `error: ${v} × ${k}`),
    `reports: ${result.jsonFile}, ${result.htmlFile}`,
    result.passed ? `LOAD TEST PASSED (error rate ${(result.errorRate * 100).toFixed(2)}%)` : `LOAD TEST FAILED (error rate ${(result.errorRate * 100).toFixed(2)}%)`,
    '',
  ].join('\n');
}
