// MongooseIM's dynamic domains, on real PostgreSQL and MariaDB with MongooseIM's schema: a target whose
// domain_settings (or whose config's general.host_types) shows dynamic domains refuses a run whose domains it
// does not serve, naming them all, before writing anything; `--register-domains HOST_TYPE` adds each missing
// domain as mongoose_domain_sql:insert_domain/2 does (a settings row, status 1, and one domain_events row, in
// one transaction); static hosts (general.hosts), MUC hosts and present domains are left alone.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { openMysql } from '../../src/target/mysql/mysql-database.js';
import { openDialect } from '../../src/target/open-target.js';
import { openPostgres } from '../../src/target/postgres/postgres-database.js';
import { freshMysqlDatabase, freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';

const root = join(import.meta.dirname, '..', '..');
const SOURCE = `prosody:${join(root, 'test', 'fixtures', 'prosody', 'real-0.12.3', 'data')}`;
const EXAMPLE_MAPPING = join(root, 'mappings', 'example.toml');

interface Dialect {
  name: string;
  fresh(hint: string): Promise<FreshDatabase>;
  open(url: string): Promise<{ query(sql: string): Promise<{ rows: unknown[] }>; close(): Promise<void> }>;
}

const DIALECTS: Dialect[] = [
  { name: 'PostgreSQL', fresh: freshPostgresDatabase, open: openPostgres },
  { name: 'MariaDB', fresh: freshMysqlDatabase, open: openMysql },
];

let work: string;
const databases: FreshDatabase[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-dyn-'));
});

afterAll(async () => {
  for (const db of databases) await db.drop();
  await rm(work, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: { write: (s: string) => void (out += s) }, stderr: { write: (s: string) => void (err += s) } });
  return { code, out, err };
}

function run(url: string, ...extra: string[]): Promise<{ code: number; out: string; err: string }> {
  return cli(['run', '--source', SOURCE, '--target', url, '--quiet', '--reject-file', join(work, 'rejects.ndjson'), ...extra]);
}

describe.each(DIALECTS)('dynamic domains on $name', (dialect) => {
  /** A target with MongooseIM's schema loaded, as an operator's would have it. */
  async function target(hint: string): Promise<string> {
    const db = await dialect.fresh(hint);
    databases.push(db);
    const d = await openDialect(db.url);
    try {
      await d.createSchema();
    } finally {
      await d.db.close();
    }
    return db.url;
  }

  async function sql<T>(url: string, text: string): Promise<T[]> {
    const db = await dialect.open(url);
    try {
      return (await db.query(text)).rows as T[];
    } finally {
      await db.close();
    }
  }

  const settings = (url: string): Promise<Array<{ domain: string; host_type: string; status: number }>> =>
    sql<{ domain: string; host_type: string; status: number | string }>(url, 'SELECT domain, host_type, status FROM domain_settings ORDER BY id').then((rows) => rows.map((r) => ({ domain: r.domain, host_type: r.host_type, status: Number(r.status) })));
  const events = (url: string): Promise<string[]> => sql<{ domain: string }>(url, 'SELECT domain FROM domain_events ORDER BY id').then((rows) => rows.map((r) => r.domain));
  const users = (url: string): Promise<number> => sql<{ n: number | string }>(url, 'SELECT COUNT(*) AS n FROM users').then((rows) => Number(rows[0]!.n));

  it('refuses a target whose domain_settings is in use, naming every missing domain, and writes nothing', async () => {
    const url = await target('dyn_refuse');
    // A domain an operator added with mongooseimctl: the settings row and its event.
    await sql(url, "INSERT INTO domain_settings (domain, host_type) VALUES ('existing.example', 'type1')");
    await sql(url, "INSERT INTO domain_events (domain) VALUES ('existing.example')");
    const refused = await run(url);
    expect(refused.code).toBe(4);
    expect(refused.err).toContain("the target uses MongooseIM's dynamic domains (the target's domain_settings table holds 1 domain(s))");
    expect(refused.err).toContain('not registered in its domain_settings: example.test, other.test, plain.test.');
    expect(refused.err).toContain('--register-domains HOST_TYPE');
    expect(refused.err).not.toContain('conference.example.test');
    expect(await users(url)).toBe(0);
    expect(await settings(url)).toEqual([{ domain: 'existing.example', host_type: 'type1', status: 1 }]);
  }, 60_000);

  it('--register-domains adds each missing domain as MongooseIM does, once', async () => {
    const url = await target('dyn_register');
    await sql(url, "INSERT INTO domain_settings (domain, host_type) VALUES ('existing.example', 'type1')");
    await sql(url, "INSERT INTO domain_events (domain) VALUES ('existing.example')");
    // example.test is already there, under another host type: kept as it is.
    await sql(url, "INSERT INTO domain_settings (domain, host_type) VALUES ('example.test', 'type2')");
    await sql(url, "INSERT INTO domain_events (domain) VALUES ('example.test')");
    const done = await run(url, '--register-domains', 'type1', '--json');
    expect(done.code).toBe(0);
    const summary = JSON.parse(done.out.trim().split('\n').at(-1)!) as { registeredDomains?: string[] };
    expect(summary.registeredDomains).toEqual(['other.test', 'plain.test']);
    expect(done.out).toContain('registered the dynamic domain other.test (host type \\"type1\\") in domain_settings');
    expect(await settings(url)).toEqual([
      { domain: 'existing.example', host_type: 'type1', status: 1 },
      { domain: 'example.test', host_type: 'type2', status: 1 },
      { domain: 'other.test', host_type: 'type1', status: 1 },
      { domain: 'plain.test', host_type: 'type1', status: 1 },
    ]);
    expect(await events(url)).toEqual(['existing.example', 'example.test', 'other.test', 'plain.test']);
    expect(await users(url)).toBe(7);
    // Again: nothing to register, no new event (MongooseIM's insert is idempotent too).
    const again = await run(url, '--register-domains', 'type1');
    expect(again.code).toBe(0);
    expect(await events(url)).toHaveLength(4);
  }, 60_000);

  it('reads dynamic domains from the config: static hosts need no row, renamed domains are registered by their new names', async () => {
    const url = await target('dyn_config');
    const config = join(work, `mongooseim-${dialect.name}.toml`);
    await writeFile(config, '[general]\n  hosts = ["plain.test"]\n  host_types = ["type1"]\n  default_server_domain = "plain.test"\n');
    const refused = await run(url, '--target-config', config, '--mapping', EXAMPLE_MAPPING);
    expect(refused.code).toBe(4);
    expect(refused.err).toContain('the target config sets general.host_types = ["type1"]');
    expect(refused.err).toContain('not registered in its domain_settings: chat.example.org, other.test.');
    const unknown = await run(url, '--target-config', config, '--mapping', EXAMPLE_MAPPING, '--register-domains', 'type9');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--register-domains "type9": not a host type of the target config (general.host_types = ["type1"])');
    expect(await users(url)).toBe(0);
    const done = await run(url, '--target-config', config, '--mapping', EXAMPLE_MAPPING, '--register-domains', 'type1');
    expect(done.code).toBe(0);
    expect(await settings(url)).toEqual([
      { domain: 'chat.example.org', host_type: 'type1', status: 1 },
      { domain: 'other.test', host_type: 'type1', status: 1 },
    ]);
    expect(await events(url)).toEqual(['chat.example.org', 'other.test']);
    expect(await sql<{ server: string }>(url, "SELECT DISTINCT server FROM users ORDER BY server")).toEqual([{ server: 'chat.example.org' }, { server: 'other.test' }, { server: 'plain.test' }]);
  }, 60_000);

  it('writes the settings row and its event in one transaction: a failed event leaves no settings row', async () => {
    const url = await target('dyn_atomic');
    await sql(url, "INSERT INTO domain_settings (domain, host_type) VALUES ('existing.example', 'type1')");
    // The database refuses the event of other.test: its settings row must not stay behind either.
    await sql(url, "ALTER TABLE domain_events ADD CONSTRAINT xmig_no_other CHECK (domain <> 'other.test')");
    const failed = await run(url, '--register-domains', 'type1');
    expect(failed.code).toBe(1);
    expect((await settings(url)).map((s) => s.domain)).toEqual(['existing.example', 'example.test']);
    expect(await events(url)).toEqual(['example.test']);
    expect(await users(url)).toBe(0);
  }, 60_000);

  it('judges a domain first seen after the accounts (an archive without an account) before writing it', async () => {
    const url = await target('dyn_late');
    await sql(url, "INSERT INTO domain_settings (domain, host_type) VALUES ('existing.example', 'type1')");
    const handwritten = `prosody:${join(root, 'test', 'fixtures', 'prosody', 'handwritten', 'data')}`;
    const args = ['run', '--source', handwritten, '--target', url, '--quiet', '--reject-file', join(work, 'late.ndjson'), '--register-domains', 'type1'];
    const done = await cli(args);
    expect([0, 3]).toContain(done.code);
    // bad.test and legacy.test have accounts (registered before anything is written); modarchive.test only
    // an archive, registered when its first message came; muc.legacy.test is a MUC host, never registered.
    expect((await settings(url)).map((s) => s.domain)).toEqual(['existing.example', 'bad.test', 'legacy.test', 'modarchive.test']);
    expect(await events(url)).toEqual(['bad.test', 'legacy.test', 'modarchive.test']);
    const archived = await sql<{ server: string }>(url, "SELECT DISTINCT server FROM mam_server_user WHERE server = 'modarchive.test'");
    expect(archived).toEqual([{ server: 'modarchive.test' }]);
  }, 60_000);

  it('refuses a domain MongooseIM has disabled, and leaves a target without dynamic domains alone', async () => {
    const url = await target('dyn_disabled');
    await sql(url, "INSERT INTO domain_settings (domain, host_type, status) VALUES ('example.test', 'type1', 0)");
    const refused = await run(url, '--register-domains', 'type1');
    expect(refused.code).toBe(4);
    expect(refused.err).toContain('has example.test disabled (status 0)');
    expect(await users(url)).toBe(0);

    const plain = await target('dyn_none');
    expect((await run(plain)).code).toBe(0);
    expect(await settings(plain)).toEqual([]);
    expect(await events(plain)).toEqual([]);
  }, 60_000);
});
