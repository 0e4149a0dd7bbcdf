// `audit` and plan's audit section through the CLI, on a real source: the Prosody 0.12.3 data directory
// (test/fixtures/prosody/real-0.12.3), whose accounts mix SHA-1-only and SHA-256-only SCRAM hashes.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const ROOT = join(import.meta.dirname, '../..');
const SOURCE = `prosody:${join(ROOT, 'test/fixtures/prosody/real-0.12.3/data')}`;
const CONFIG = (name: string): string => join(ROOT, 'test/fixtures/mongooseim-toml', name);

function capture() {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => void (out += s) }, stderr: { write: (s: string) => void (err += s) } },
    get out() { return out; },
    get err() { return err; },
  };
}

describe('audit command', () => {
  it('finds that the mixed SCRAM accounts of a real Prosody deployment cannot all log in, and exits 6', async () => {
    const c = capture();
    expect(await main(['audit', '--source', SOURCE, '--target-config', CONFIG('clean.toml')], c.io)).toBe(6);
    expect(c.out).toContain('[error] 4 migrated accounts cannot log in with the advertised SCRAM mechanism (no SCRAM hash is shared by all accounts)');
    expect(c.out).toContain('sasl_mechanisms = ["plain"]');
    expect(c.out).toMatch(/1 error\(s\)/);
  });

  it('prints JSON findings with --json', async () => {
    const c = capture();
    expect(await main(['audit', '--source', SOURCE, '--target-config', CONFIG('unused-mod-last.toml'), '--json'], c.io)).toBe(6);
    const report = JSON.parse(c.out) as { findings: Array<{ code: string; module?: string }>; source: string };
    // Prosody keeps last activity in memory: the audit cannot call mod_last unused, so it says nothing about it.
    expect(report.findings.map((f) => f.code)).toEqual(['sasl-unservable']);
    expect(report.source).toMatch(/^prosody:/);
  });

  it('refuses to run without --target-config', async () => {
    const c = capture();
    expect(await main(['audit', '--source', SOURCE], c.io)).toBe(2);
    expect(c.err).toContain('--target-config');
  });

  it('adds the audit to plan', async () => {
    const c = capture();
    expect(await main(['plan', '--source', SOURCE, '--target', 'pglite:/nonexistent/xmpp-migrate-audit-plan', '--target-config', CONFIG('roster-on-mnesia.toml')], c.io)).toBe(0);
    expect(c.out).toContain('[fail] extensions audit: 2 error(s)');
    expect(c.out).toContain('Extensions audit of');
    expect(c.out).toContain('[error] mod_roster uses the mnesia backend (its default)');
  });
});
