// The extensions audit against one mongooseim.toml per finding (test/fixtures/mongooseim-toml/), for a
// deployment described by its inventory: what it used, how its passwords are stored.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SourceInventory } from '../../src/adapters/source-adapter.js';
import { auditConfig, type AuditFinding, type AuditReport } from '../../src/audit/audit-config.js';
import { readMongooseimConfig } from '../../src/audit/mongooseim-config.js';
import { RECORD_KINDS, type RecordKind } from '../../src/records.js';
import { readTargetConfig, resolveTargetSettings, type TargetSettings } from '../../src/target/mongooseim/target-settings.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/mongooseim-toml');
/** The kinds the run writes: fixed here (the writer grows), so a used kind outside it is "not migrated yet". */
const WRITTEN = new Set<RecordKind>(['account', 'roster-item', 'archived-message', 'vcard', 'private-xml', 'offline-message']);

/** An ejabberd-like deployment: no last activity, no privacy lists, blocklists, rooms, PEP, a MAM archive. */
function inventory(credentials: Record<string, number> = { plain: 60, 'scram-sha1+sha256': 40 }, extra: Partial<Record<RecordKind, number>> = {}): SourceInventory {
  return {
    description: 'ejabberd 23.01 SQL (test inventory)',
    counts: { account: 100, 'roster-item': 400, vcard: 80, 'private-xml': 10, 'offline-message': 5, 'archived-message': 5000, blocklist: 3, 'privacy-list': 0, 'last-activity': 0, 'muc-room': 2, 'muc-registration': 0, 'pep-item': 12, 'legacy-collection': 0, ...extra },
    owners: {},
    credentials,
    rejects: {},
    cannotProvide: [],
    notes: [],
  };
}

async function auditFixture(file: string, options: { credentials?: Record<string, number>; extra?: Partial<Record<RecordKind, number>>; flags?: Partial<TargetSettings> } = {}): Promise<AuditReport> {
  const path = join(FIXTURES, file);
  const settings = resolveTargetSettings(await readTargetConfig(path), options.flags ?? {});
  return auditConfig({ config: await readMongooseimConfig(path), inventory: inventory(options.credentials, options.extra), sourceKinds: RECORD_KINDS, writtenKinds: WRITTEN, settings });
}

function only(report: AuditReport): AuditFinding {
  expect(report.findings.map((f) => `${f.severity} ${f.code} ${f.module ?? ''}: ${f.title}`)).toHaveLength(1);
  return report.findings[0]!;
}

describe('extensions audit', () => {
  it('finds nothing in a config that fits the deployment', async () => {
    const report = await auditFixture('clean.toml');
    expect(report.findings).toEqual([]);
    expect(report.summary).toEqual({ error: 0, warn: 0, info: 0 });
  });

  it('reports mod_last enabled without last-activity data, with its load cost and the change', async () => {
    const f = only(await auditFixture('unused-mod-last.toml'));
    expect(f).toMatchObject({ code: 'module-unused', severity: 'warn', module: 'mod_last' });
    expect(f.why).toMatch(/every session end|per logout/);
    expect(f.change).toBe('# remove [modules.mod_last] and its options');
  });

  it('does not call mod_last unused when the source cannot tell (Prosody keeps last activity in memory)', async () => {
    const path = join(FIXTURES, 'unused-mod-last.toml');
    const inv = { ...inventory(), cannotProvide: [{ kind: 'last-activity', reason: 'memory only' }] };
    const report = auditConfig({ config: await readMongooseimConfig(path), inventory: inv, sourceKinds: RECORD_KINDS, writtenKinds: WRITTEN, settings: resolveTargetSettings(await readTargetConfig(path), {}) });
    expect(report.findings).toEqual([]);
  });

  it('reports a module the migrated data needs but the config lacks', async () => {
    const f = only(await auditFixture('missing-mod-offline.toml'));
    expect(f).toMatchObject({ code: 'module-missing', severity: 'error', module: 'mod_offline' });
    expect(f.title).toContain('5 offline-message');
    expect(f.change).toBe('[modules.mod_offline]\n  backend = "rdbms"');
  });

  it('reports a module left on its Mnesia default for data written to SQL', async () => {
    const f = only(await auditFixture('roster-on-mnesia.toml'));
    expect(f).toMatchObject({ code: 'module-backend', severity: 'error', module: 'mod_roster' });
    expect(f.title).toBe('mod_roster uses the mnesia backend (its default)');
    expect(f.change).toBe('[modules.mod_roster]\n  backend = "rdbms"');
  });

  it('reports [auth.internal], which never reads the migrated users table', async () => {
    const f = only(await auditFixture('auth-internal.toml'));
    expect(f).toMatchObject({ code: 'auth-not-rdbms', severity: 'error' });
    expect(f.change).toBe('[auth.rdbms]\n# and remove [auth.internal]');
  });

  it('reports a missing RDBMS pool', async () => {
    const f = only(await auditFixture('no-rdbms-pool.toml'));
    expect(f).toMatchObject({ code: 'no-rdbms-pool', severity: 'error' });
    expect(f.change).toContain('[outgoing_pools.rdbms.default]');
  });

  it('reports SHA-1-only accounts while SCRAM-SHA-512 is advertised, and narrows password.hash to sha', async () => {
    const f = only(await auditFixture('sasl-default-hashes.toml', { credentials: { plain: 10, 'scram-sha1': 90 } }));
    expect(f).toMatchObject({ code: 'sasl-unservable', severity: 'error' });
    expect(f.title).toMatch(/^90 migrated accounts/);
    expect(f.why).toContain('SCRAM-SHA-512');
    expect(f.change).toContain('password.hash = ["sha"]');
  });

  it('accepts SHA-1+SHA-256 accounts when password.hash advertises exactly those', async () => {
    expect((await auditFixture('clean.toml', { credentials: { 'scram-sha1+sha256': 100 } })).findings).toEqual([]);
  });

  it('reports mixed SHA-1-only and SHA-256-only accounts: no SCRAM hash serves both, PLAIN over TLS does', async () => {
    const f = only(await auditFixture('clean.toml', { credentials: { 'scram-sha1': 4, 'scram-sha256': 2, plain: 1 } }));
    expect(f).toMatchObject({ code: 'sasl-unservable', severity: 'error' });
    expect(f.title).toContain('no SCRAM hash is shared');
    expect(f.why).toContain('4 scram-sha1');
    expect(f.change).toContain('sasl_mechanisms = ["plain"]');
    expect(f.change).toContain('tls.mode = "starttls_required"');
  });

  it('adds SCRAM-SHA-1 back to an explicit mechanism list that lacks it', async () => {
    const f = only(await auditFixture('sasl-explicit-mechanisms.toml', { credentials: { 'scram-sha1': 5 } }));
    expect(f.code).toBe('sasl-unservable');
    expect(f.change).toContain('password.hash = ["sha"]');
    expect(f.change).toContain('sasl_mechanisms = ["scram_sha1_plus", "scram_sha1", "plain"]');
  });

  it('reports the deprecated DIGEST-MD5 mechanism', async () => {
    const f = only(await auditFixture('sasl-digest.toml'));
    expect(f).toMatchObject({ code: 'deprecated', severity: 'warn' });
    expect(f.change).toContain('sasl_mechanisms = ["scram_sha256", "scram_sha1", "plain"]');
  });

  it('reports a message format that differs from what the run writes', async () => {
    const report = await auditFixture('mam-message-xml.toml', { flags: { messageFormat: 'compressed-eterm' } });
    expect(report.findings.map((x) => x.title)).toEqual([
      'pm archive: MongooseIM reads db_message_format mam_message_xml, the run writes mam_message_compressed_eterm',
      'muc archive: MongooseIM reads db_message_format mam_message_xml, the run writes mam_message_compressed_eterm',
    ]);
    const f = report.findings[0]!;
    expect(f).toMatchObject({ code: 'mam-format', severity: 'error', module: 'mod_mam' });
    expect(f.title).toBe('pm archive: MongooseIM reads db_message_format mam_message_xml, the run writes mam_message_compressed_eterm');
    expect(f.change).toMatch(/^run with --message-format xml/);
    // read from the config itself, the run writes what the server reads
    expect((await auditFixture('mam-message-xml.toml')).findings).toEqual([]);
  });

  it('reports a JID format that differs from what the run writes', async () => {
    const f = only(await auditFixture('mam-jid-rfc.toml', { flags: { pmJidFormat: 'mini' } }));
    expect(f.title).toBe('pm archive: MongooseIM reads db_jid_format mam_jid_rfc, the run writes mam_jid_mini');
    expect(f.change).toBe('run with --jid-format rfc');
  });

  it('reports full-text search on while the run leaves search_body empty', async () => {
    const f = only(await auditFixture('mam-full-text.toml', { flags: { fullTextSearch: false } }));
    expect(f).toMatchObject({ code: 'mam-format', severity: 'warn' });
    expect(f.change).toBe('run with --full-text-search true');
  });

  it('reports a host_config whose archive format differs from the one the run writes, and its Mnesia roster', async () => {
    const report = await auditFixture('host-config-mam.toml');
    expect(report.scopes).toEqual(['top level', 'host_config host = "legacy.example.com"']);
    const codes = report.findings.map((f) => [f.scope, f.code, f.module]);
    expect(codes).toEqual(expect.arrayContaining([
      ['host_config host = "legacy.example.com"', 'mam-format', 'mod_mam'],
      ['host_config host = "legacy.example.com"', 'module-backend', 'mod_roster'],
    ]));
    expect(report.findings.filter((f) => f.scope === 'top level')).toEqual([]);
    expect(report.findings.find((f) => f.code === 'module-backend')!.change).toBe('[host_config.modules.mod_roster]\n  backend = "rdbms"');
  });

  it('reports mod_mam without a personal archive', async () => {
    const f = only(await auditFixture('mam-no-pm.toml'));
    expect(f).toMatchObject({ code: 'mam-pm-disabled', severity: 'error', change: '[modules.mod_mam.pm]' });
  });

  it('reports a missing mod_mam', async () => {
    const f = only(await auditFixture('mam-missing.toml'));
    expect(f).toMatchObject({ code: 'module-missing', severity: 'error', module: 'mod_mam' });
    expect(f.change).toBe('[modules.mod_mam]\n  backend = "rdbms"\n  [modules.mod_mam.pm]');
  });

  it('suggests simple MAM queries for a large archive', async () => {
    const f = only(await auditFixture('clean.toml', { extra: { 'archived-message': 3_000_000 } }));
    expect(f).toMatchObject({ code: 'mam-simple-queries', severity: 'info' });
    expect(f.change).toContain('enforce_simple_queries = true');
  });

  it('reports a XEP-0136 module: superseded by XEP-0313 and unknown to MongooseIM', async () => {
    const f = only(await auditFixture('xep0136-archive.toml', { extra: { 'legacy-collection': 7 } }));
    expect(f).toMatchObject({ code: 'deprecated', severity: 'error', module: 'mod_archive' });
    expect(f.why).toContain('XEP-0313');
    expect(f.why).toContain('7 XEP-0136 collections');
    expect(f.change).toBe('# remove [modules.mod_archive]');
  });

  it('reports XEP-0016 privacy lists nobody used, and the XEP-0191 module for the blocklists instead', async () => {
    const report = await auditFixture('privacy-instead-of-blocking.toml');
    const unused = report.findings.find((f) => f.code === 'module-unused')!;
    expect(unused).toMatchObject({ severity: 'warn', module: 'mod_privacy' });
    expect(unused.why).toContain('XEP-0016 is Deprecated');
    expect(unused.change).toContain('[modules.mod_blocking]');
    const missing = report.findings.find((f) => f.code === 'module-missing')!;
    expect(missing).toMatchObject({ module: 'mod_blocking', severity: 'warn' });
    expect(missing.why).toContain('does not migrate these records yet');
    expect(report.findings).toHaveLength(2);
  });

  it('makes a missing module an error once the run writes its records', async () => {
    const path = join(FIXTURES, 'privacy-instead-of-blocking.toml');
    const report = auditConfig({ config: await readMongooseimConfig(path), inventory: inventory(), sourceKinds: RECORD_KINDS, writtenKinds: new Set([...WRITTEN, 'blocklist']), settings: resolveTargetSettings(await readTargetConfig(path), {}) });
    expect(report.findings.find((f) => f.code === 'module-missing')).toMatchObject({ module: 'mod_blocking', severity: 'error' });
  });

  it('reports the deprecated mod_pubsub_old', async () => {
    const f = only(await auditFixture('pubsub-old.toml'));
    expect(f).toMatchObject({ code: 'deprecated', module: 'mod_pubsub_old', severity: 'info' });
    expect(f.change).toContain('[modules.mod_pubsub]');
  });
});
