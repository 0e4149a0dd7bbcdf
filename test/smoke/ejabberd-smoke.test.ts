// The smoke test against a real ejabberd 23.01 (Debian's package) on PostgreSQL that stores only SCRAM-SHA-512
// keys: the source is its own database, read by the ejabberd SQL adapter; the "target" is the same server over
// XMPP. Logins go through SCRAM-SHA-512 against a real server, rosters and archives match, and an account
// whose password in the CSV is wrong is reported as a failed login.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xml } from '@xmpp/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smoke, type SmokeReport } from '../../src/commands/smoke.js';
import { freshPostgresDatabase, postgresServer, type FreshDatabase } from '../support/databases.js';
import { EjabberdServer } from '../fixtures/ejabberd/ejabberd-server.js';
import { loadPgSchema, pgQuery, schemaFile } from '../fixtures/ejabberd/helpers.js';
import { PASSWORD, connect } from '../fixtures/ejabberd/seed.js';

const D = 'smoke.test';
let server: EjabberdServer;
let db: FreshDatabase;
let work: string;
let report: SmokeReport;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-ej-smoke-'));
  db = await freshPostgresDatabase('ej_smoke');
  await loadPgSchema(db.url, schemaFile('pg.new.sql'));
  const s = postgresServer();
  server = new EjabberdServer({
    root: await mkdtemp(join(tmpdir(), 'xmig-ej-smoke-node-')),
    hosts: [D],
    scramHash: 'sha512',
    sql: { type: 'pgsql', host: s.host, port: s.port, database: db.name, user: s.user, password: s.password, multiHost: true },
  });
  await server.start();
  await Promise.all(['alice', 'bob', 'carol'].map((u) => server.ctl('register', u, D, PASSWORD)));
  await server.ctl('add_rosteritem', 'alice', D, 'bob', D, 'Bob', 'Friends', 'both');
  const [alice, bob] = await Promise.all([connect(server, 'alice', D, PASSWORD, 'phone'), connect(server, 'bob', D, PASSWORD, 'pc')]);
  for (const session of [alice, bob]) await session.xmpp.send(xml('presence', {}));
  for (let i = 1; i <= 4; i++) {
    const [from, to] = i % 2 ? [alice, `bob@${D}`] : [bob, `alice@${D}`];
    await from.xmpp.send(xml('message', { to, type: 'chat', id: `smoke-${i}` }, xml('body', {}, `smoke message ${i}`)));
  }
  const deadline = Date.now() + 15_000;
  while (Number((await pgQuery(db.url, `SELECT count(*)::int AS n FROM archive`))[0]!.n) < 8) {
    if (Date.now() > deadline) throw new Error(`ejabberd did not archive the messages:\n${await server.errors()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await Promise.all([alice.xmpp.stop(), bob.xmpp.stop()]);
  const csv = join(work, 'passwords.csv');
  await writeFile(csv, `jid,password\nalice@${D},${PASSWORD}\nbob@${D},${PASSWORD}\ncarol@${D},not-carols-password\n`);
  report = await smoke({
    source: `ejabberd+pg:${db.url}`, sourceSettings: {}, passwords: csv, xmpp: { host: '127.0.0.1', port: server.c2sPort },
    sample: 10, messages: 20, starttls: 'off', rejectUnauthorized: true, plainWithoutTls: false, timeoutMs: 5000, toleranceMs: 2000,
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await db?.drop();
  await rm(work, { recursive: true, force: true });
});

describe('smoke test against a real ejabberd storing SCRAM-SHA-512 keys', () => {
  it('logs in with SCRAM-SHA-512 and finds roster and archive as the source has them', () => {
    for (const jid of [`alice@${D}`, `bob@${D}`]) {
      const account = report.accounts.find((a) => a.jid === jid)!;
      expect(account, jid).toMatchObject({ status: 'match' });
      expect(account.logins.filter((l) => l.ok).map((l) => l.mechanism)).toContain('SCRAM-SHA-512');
      expect(account.archive).toMatchObject({ compared: 4, matched: 4, missing: [], unexpected: [] });
    }
    const alice = report.accounts.find((a) => a.jid === `alice@${D}`)!;
    expect(alice.roster).toMatchObject({ source: 1, differences: [] });
  });

  it('reports the account whose password does not log in', () => {
    const carol = report.accounts.find((a) => a.jid === `carol@${D}`)!;
    expect(carol.status).toBe('login-failed');
    expect(carol.logins.every((l) => !l.ok && l.condition === 'not-authorized')).toBe(true);
    expect(report.summary).toMatchObject({ match: 2, 'login-failed': 1 });
  });
});
