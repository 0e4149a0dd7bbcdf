// The load test against a real Prosody 0.12 on 127.0.0.1 (serving a copy of test/fixtures/prosody/real-0.12.3
// and its seven accounts): it holds its rate, reports percentiles, stops by itself at its bounds (time and
// count), and its HTML report renders in headless Chromium.
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadtest, type LoadtestResult } from '../../src/commands/loadtest.js';
import { ProsodyTarget } from '../smoke/prosody-target.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/prosody/real-0.12.3');
const PASSWORDS = JSON.parse(readFileSync(join(FIXTURE, 'passwords.json'), 'utf8')) as Record<string, string>;

let target: ProsodyTarget;
let accounts: string;
let timed: LoadtestResult;
let timedMs: number;

function options(out: string, scenario: Parameters<typeof loadtest>[0]['scenario']): Parameters<typeof loadtest>[0] {
  return { accounts, xmpp: { host: '127.0.0.1', port: target.port }, sourceSettings: {}, scenario, starttls: 'off', rejectUnauthorized: true, plainWithoutTls: true, timeoutMs: 5000, jsonFile: join(target.root, `${out}.json`), htmlFile: join(target.root, `${out}.html`), maxErrorRate: 0 };
}

beforeAll(async () => {
  target = new ProsodyTarget(readFileSync(join(FIXTURE, 'prosody.cfg.lua'), 'utf8'), join(FIXTURE, 'data'));
  await target.start();
  accounts = join(target.root, 'accounts.csv');
  writeFileSync(accounts, Object.entries(PASSWORDS).map(([jid, pw]) => `${jid},${pw}`).join('\n'));
  const t0 = performance.now();
  timed = await loadtest(options('timed', { clients: 6, rampUpSeconds: 1, messagesPerSecond: 20, mamQueriesPerSecond: 2, durationSeconds: 3, maxMessages: 1000 }));
  timedMs = performance.now() - t0;
}, 60_000);

afterAll(async () => {
  await target?.stop();
});

describe('load test against a real Prosody', () => {
  it('holds its rate and stops by itself at the duration', () => {
    const r = timed.report;
    expect(r.stoppedBy).toBe('duration');
    expect(r.connections).toMatchObject({ attempted: 6, ok: 6, failed: 0 });
    // 3 s at 20/s on a fixed schedule: exactly 60 sends, never faster than the bound.
    expect(r.messages.sent).toBe(60);
    expect(r.messages.achievedPerSecond).toBeLessThanOrEqual(20);
    expect(r.messages.achievedPerSecond).toBeGreaterThanOrEqual(19);
    for (const second of r.timeline) expect(second.sent, `second ${second.second}`).toBeLessThanOrEqual(21);
    expect(timedMs).toBeLessThan(15_000);
  });

  it('delivers every message and reports latency percentiles for delivery, connections and MAM', () => {
    const r = timed.report;
    expect(r.messages.received).toBe(r.messages.sent);
    expect(r.messages.lost).toBe(0);
    expect(r.errors).toEqual({});
    expect(r.messages.latency.count).toBe(60);
    expect(r.messages.latency.p50).toBeGreaterThan(0);
    expect(r.messages.latency.p50).toBeLessThanOrEqual(r.messages.latency.p95);
    expect(r.messages.latency.p95).toBeLessThanOrEqual(r.messages.latency.p99);
    expect(r.connections.latency.count).toBe(6);
    expect(r.mam.queries).toBeGreaterThanOrEqual(5);
    expect(r.mam.ok).toBe(r.mam.queries);
    expect(r.mam.latency.p95).toBeGreaterThan(0);
    expect(timed.passed).toBe(true);
    const json = JSON.parse(readFileSync(timed.jsonFile, 'utf8')) as typeof r;
    expect(json.messages.sent).toBe(60);
  });

  it('stops by itself at the message count', async () => {
    const t0 = performance.now();
    const r = (await loadtest(options('counted', { clients: 3, rampUpSeconds: 0, messagesPerSecond: 50, mamQueriesPerSecond: 0, durationSeconds: 60, maxMessages: 15 }))).report;
    expect(r.stoppedBy).toBe('max-messages');
    expect(r.messages.sent).toBe(15);
    expect(r.messages.received).toBe(15);
    expect(performance.now() - t0).toBeLessThan(8_000);
  });

  it('writes a self-contained HTML report whose charts render in headless Chromium', async () => {
    const html = readFileSync(timed.htmlFile, 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    expect(html).toContain('Message delivery latency over time');
    const blank = join(target.root, 'blank.html');
    writeFileSync(blank, '<!DOCTYPE html><html><body></body></html>');
    const shot = await screenshot(timed.htmlFile, join(target.root, 'report.png'));
    const empty = await screenshot(blank, join(target.root, 'blank.png'));
    const png = readFileSync(shot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // The charts and tables make the picture far larger than a blank page's.
    expect(statSync(shot).size).toBeGreaterThan(statSync(empty).size * 5);
  }, 60_000);

  it('runs from the CLI and prints the percentiles', async () => {
    let out = '';
    const io = { stdout: { write: (s: string) => void (out += s) }, stderr: { write: (s: string) => void (out += s) } };
    const prefix = join(target.root, 'cli');
    const code = await main(['loadtest', '--accounts', accounts, '--xmpp', `127.0.0.1:${target.port}`, '--clients', '2', '--ramp-up', '0', '--rate', '10', '--mam-rate', '0', '--duration', '1', '--starttls', 'off', '--plain-without-tls', '--out', prefix], io);
    expect(code).toBe(0);
    expect(out).toMatch(/messages: 10 sent \(10\/s\), 10 delivered, 0 lost; delivery p50 [\d.]+ ms, p95/);
    for (const password of Object.values(PASSWORDS)) expect(out).not.toContain(password);
    expect(statSync(`${prefix}.html`).size).toBeGreaterThan(1000);
  });
});

function screenshot(file: string, png: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run', '--disable-background-networking', '--window-size=900,1500', `--screenshot=${png}`, `file://${file}`], { timeout: 45_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`chromium failed: ${err.message}\n${stderr}`));
      else resolve(png);
    });
  });
}
