// The smoke test against a real Prosody 0.12 on 127.0.0.1 serving a copy of the source data directory
// (test/fixtures/prosody/real-0.12.3, written by a real Prosody): one account's stored key is broken and one
// message is removed from one archive in the copy; the smoke test must find both, and nothing else.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { smoke, type SmokeReport } from '../../src/commands/smoke.js';
import { ProsodyTarget } from './prosody-target.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/prosody/real-0.12.3');
const PASSWORDS = JSON.parse(readFileSync(join(FIXTURE, 'passwords.json'), 'utf8')) as Record<string, string>;
const SOURCE = `prosody:${join(FIXTURE, 'data')}`;

let target: ProsodyTarget;
let csv: string;
let report: SmokeReport;

beforeAll(async () => {
  target = new ProsodyTarget(readFileSync(join(FIXTURE, 'prosody.cfg.lua'), 'utf8'), join(FIXTURE, 'data'));
  // Broken account: carol's stored key no longer matches her password.
  const carol = join(target.dataDir, 'example%2etest/accounts/carol.dat');
  writeFileSync(carol, readFileSync(carol, 'utf8').replace(/\["stored_key"\] = "([0-9a-f])/, (_m, c: string) => `["stored_key"] = "${c === '0' ? '1' : '0'}`));
  // Missing message: the first item of alice's archive (erin's "from other.test 🌍") is gone from the target.
  const archive = join(target.dataDir, 'example%2etest/archive/alice.list');
  const items = readFileSync(archive, 'utf8').split(/(?=^item\()/m);
  expect(items[0]).toContain('from other.test');
  writeFileSync(archive, items.slice(1).join(''));
  await target.start();
  csv = join(target.root, 'passwords.csv');
  const rows = ['alice@example.test', 'bob@example.test', 'carol@example.test', 'erin@other.test'].map((jid) => `${jid},"${PASSWORDS[jid]!.replace(/"/g, '""')}"`);
  writeFileSync(csv, `jid,password\n${rows.join('\n')}\n`);
  report = await smoke({ source: SOURCE, sourceSettings: {}, passwords: csv, xmpp: { host: '127.0.0.1', port: target.port }, sample: 10, messages: 20, starttls: 'off', rejectUnauthorized: true, plainWithoutTls: true, timeoutMs: 5000, toleranceMs: 2000 });
}, 60_000);

afterAll(async () => {
  await target?.stop();
});

describe('smoke test against a real Prosody', () => {
  it('finds the account whose login is broken', () => {
    const carol = report.accounts.find((a) => a.jid === 'carol@example.test')!;
    expect(carol.status).toBe('login-failed');
    expect(carol.logins.length).toBeGreaterThan(0);
    expect(carol.logins.every((l) => !l.ok && l.condition === 'not-authorized')).toBe(true);
  });

  it('finds the message missing from the target archive, and only that one', () => {
    const alice = report.accounts.find((a) => a.jid === 'alice@example.test')!;
    expect(alice.status).toBe('differs');
    expect(alice.logins.every((l) => l.ok)).toBe(true);
    expect(alice.archive!.missing).toEqual([expect.objectContaining({ direction: 'in', peer: 'erin@other.test', time: '2026-12-01T02:37:45.000Z' })]);
    expect(alice.archive!.unexpected).toEqual([]);
    expect(alice.archive!.matched).toBe(alice.archive!.compared - 1);
    expect(alice.roster!.differences).toEqual([]);
  });

  it('matches the untouched accounts: every login, the roster and the archive', () => {
    for (const jid of ['bob@example.test', 'erin@other.test']) {
      const account = report.accounts.find((a) => a.jid === jid)!;
      expect(account, jid).toMatchObject({ status: 'match' });
      expect(account.logins.map((l) => l.mechanism)).toContain('PLAIN');
      expect(account.archive!.compared).toBeGreaterThan(0);
      expect(account.roster!.source).toBeGreaterThan(0);
    }
    expect(report.summary).toEqual({ match: 2, differs: 1, 'login-failed': 1, 'not-in-source': 0, error: 0 });
    expect(report.ok).toBe(false);
  });

  it('reports through the CLI, exits 5, and never prints a password', async () => {
    let out = '';
    const io = { stdout: { write: (s: string) => void (out += s) }, stderr: { write: (s: string) => void (out += s) } };
    const code = await main(['smoke', '--source', SOURCE, '--passwords', csv, '--xmpp', `127.0.0.1:${target.port}`, '--starttls', 'off', '--plain-without-tls', '--timeout', '5000'], io);
    expect(code).toBe(5);
    expect(out).toContain('carol@example.test: LOGIN-FAILED');
    expect(out).toMatch(/missing in target: from erin@other\.test at 2026-12-01T02:37:45\.000Z/);
    for (const password of Object.values(PASSWORDS)) expect(out).not.toContain(password);
    let json = '';
    await main(['smoke', '--source', SOURCE, '--passwords', csv, '--xmpp', `127.0.0.1:${target.port}`, '--starttls', 'off', '--json'], { ...io, stdout: { write: (s: string) => void (json += s) } });
    const parsed = JSON.parse(json) as SmokeReport;
    expect(parsed.accounts.find((a) => a.jid === 'bob@example.test')!.notTried.map((n) => n.mechanism)).toContain('PLAIN');
    for (const password of Object.values(PASSWORDS)) expect(json).not.toContain(password);
  });
});
