// The staged cutover on a live source: a real ejabberd 23.01 node (Debian's package) on PostgreSQL keeps
// taking messages, password changes and roster edits while the bulk run copies it; `run --delta` carries
// what arrived; after the freeze (the node stopped) `cutover` runs the final delta and verify and reports
// parity. The staged target then holds exactly the rows one fresh full migration of the final source gives.
// Saved plans refuse a drifted source or setting; the control file pauses and resumes a run.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { xml } from '@xmpp/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePassDetails } from '../../src/encoding/scram.js';
import { freshPostgresDatabase, postgresServer, type FreshDatabase } from '../support/databases.js';
import { dumpMongooseim } from '../support/target-dump.js';
import { EjabberdServer } from '../fixtures/ejabberd/ejabberd-server.js';
import { loadPgSchema, pgQuery, scramMatches, schemaFile } from '../fixtures/ejabberd/helpers.js';
import { PASSWORD, connect, type Session } from '../fixtures/ejabberd/seed.js';

const root = join(import.meta.dirname, '..', '..');
const TSX_LOADER = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const D = 'live.test';
/** Archive rows written straight into ejabberd's own table, so the bulk pass takes a few seconds. */
const BULK_ROWS = 30_000;

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: Array<Record<string, unknown>>;
}

/** Runs the CLI from its sources; `onEvent` sees each NDJSON line of --json output as it arrives. */
/** `onEvent` returning 'kill' SIGKILLs the process there (a crash mid-pass). */
function cli(args: string[], cwd: string, onEvent?: (event: Record<string, unknown>) => void | 'kill'): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, join(root, 'src', 'cli', 'bin.ts'), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const events: Array<Record<string, unknown>> = [];
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const event = JSON.parse(line) as Record<string, unknown>;
        events.push(event);
        if (onEvent?.(event) === 'kill' && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, events }));
  });
}

let work: string;
let server: EjabberdServer;
let source: FreshDatabase;
let sourceUrl: string;
const databases: FreshDatabase[] = [];

async function fresh(hint: string): Promise<FreshDatabase> {
  const db = await freshPostgresDatabase(hint);
  databases.push(db);
  return db;
}

async function dump(url: string): Promise<Record<string, unknown[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await dumpMongooseim(client);
  } finally {
    await client.end();
  }
}

async function chat(from: Session, to: string, body: string): Promise<void> {
  await from.xmpp.send(xml('message', { to, type: 'chat', id: body.replace(/\W/g, '-') }, xml('body', {}, body)));
}

/** Waits until ejabberd's archive holds `count` rows whose body starts with `prefix` (both sides archive). */
async function archived(prefix: string, count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const rows = await pgQuery(sourceUrl, `SELECT count(*)::int AS n FROM archive WHERE txt LIKE $1`, [`${prefix}%`]);
    if (Number(rows[0]!.n) >= count) return;
    if (Date.now() > deadline) throw new Error(`ejabberd archived ${String(rows[0]!.n)} of ${count} "${prefix}" messages:\n${await server.errors()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-staged-'));
  source = await fresh('staged_src');
  sourceUrl = source.url;
  await loadPgSchema(source.url, schemaFile('pg.new.sql'));
  const s = postgresServer();
  server = new EjabberdServer({
    root: await mkdtemp(join(tmpdir(), 'xmig-staged-ej-')),
    hosts: [D],
    sql: { type: 'pgsql', host: s.host, port: s.port, database: source.name, user: s.user, password: s.password, multiHost: true },
  });
  await server.start();
  await Promise.all(['alice', 'bob', 'carol'].map((u) => server.ctl('register', u, D, PASSWORD)));
  await server.ctl('add_rosteritem', 'alice', D, 'bob', D, 'Bob', 'Friends', 'both');
  // Years of history, as ejabberd's mod_mam writes it: plain XML rows of carol's archive.
  await pgQuery(
    source.url,
    `INSERT INTO archive (username, server_host, timestamp, peer, bare_peer, xml, txt, kind, nick)
     SELECT 'carol', '${D}', 1500000000000000 + g::bigint * 1000000, 'dave@${D}/desk', 'dave@${D}',
            '<message xmlns="jabber:client" from="carol@${D}/phone" to="dave@${D}/desk" type="chat"><body>history ' || g || '</body></message>',
            'history ' || g, 'chat', ''
     FROM generate_series(1, ${BULK_ROWS}) g`,
  );
}, 120_000);

afterAll(async () => {
  await server?.stop();
  for (const db of databases) await db.drop();
  await rm(work, { recursive: true, force: true });
});

describe('a staged cutover from a live ejabberd', () => {
  it('carries what arrives during the bulk run in the delta, then cuts over with parity and the rows of one full run', async () => {
    const staged = await fresh('staged_target');
    const src = `ejabberd+pg:${sourceUrl}`;
    const common = ['--source', src, '--target', staged.url, '--create-schema', '--json'];

    // Live traffic while the bulk pass runs: starts once the first batch is written.
    const [alice, bob] = await Promise.all([connect(server, 'alice', D, PASSWORD, 'phone'), connect(server, 'bob', D, PASSWORD, 'laptop')]);
    for (const s of [alice, bob]) await s.xmpp.send(xml('presence', {}));
    let liveTraffic: Promise<void> | undefined;
    const bulk = await cli(['run', ...common, '--defer-offline', '--batch-rows', '400', '--rate', '10000', '--reject-file', join(work, 'r1.ndjson')], work, (event) => {
      if (event.event !== 'batch-written' || liveTraffic) return;
      liveTraffic = (async () => {
        for (let i = 1; i <= 10; i++) await chat(i % 2 ? alice : bob, i % 2 ? `bob@${D}` : `alice@${D}`, `duringbulk ${i}`);
        await archived('duringbulk', 20); // each message is archived by sender and recipient
        await chat(alice, `carol@${D}`, 'offlinenote for carol'); // carol is offline: it waits in the spool
        await server.ctl('change_password', 'bob', D, 'bobs-new-secret');
        await server.ctl('add_rosteritem', 'alice', D, 'carol', D, 'Carol', 'Work', 'to');
      })();
    });
    expect(bulk.stderr).toBe('');
    expect(bulk.code).toBe(0);
    await liveTraffic;
    const bulkStreams = bulk.events.filter((e) => e.event === 'stream-start');
    expect(bulkStreams.every((e) => e.pass === 0)).toBe(true);

    // The delta: a new pass per stream; the archive read past the bulk pass's high-water mark. The first try
    // is SIGKILLed in the middle of the archive pass; the same command resumes that pass, not a new one.
    let archiveBatches = 0;
    const crashed = await cli(['run', ...common, '--delta', '--defer-offline', '--batch-rows', '500', '--reject-file', join(work, 'r2.ndjson')], work, (event) =>
      event.event === 'batch-written' && event.stream === 'archive' && ++archiveBatches === 3 ? 'kill' : undefined,
    );
    expect(crashed.signal).toBe('SIGKILL');
    const crashedStart = crashed.events.find((e) => e.event === 'stream-start' && e.stream === 'archive')!;
    expect(crashedStart).toMatchObject({ pass: 1, startedFrom: 'start' });
    expect(Number(crashedStart.since)).toBeGreaterThanOrEqual(BULK_ROWS);
    const delta = await cli(['run', ...common, '--delta', '--defer-offline', '--batch-rows', '500', '--reject-file', join(work, 'r2.ndjson')], work);
    expect(delta.stderr).toBe('');
    expect(delta.code).toBe(0);
    const archiveStart = delta.events.find((e) => e.event === 'stream-start' && e.stream === 'archive')!;
    expect(archiveStart).toMatchObject({ pass: 1, startedFrom: 'resumed', since: crashedStart.since });
    const deltaSummary = delta.events.find((e) => e.event === 'summary') as { kinds: Record<string, { read: number; updated: number; written: number }> };
    // Only the rows past the mark (less a lag for ids drawn before it but committed after) are read again.
    expect(deltaSummary.kinds['archived-message']!.read).toBeLessThan(BULK_ROWS / 2);
    // Offline messages wait for the cutover: the old server may still deliver them.
    expect(await pgQuery(sourceUrl, `SELECT count(*)::int AS n FROM spool`)).toEqual([{ n: 1 }]);
    expect(await pgQuery(staged.url, `SELECT count(*)::int AS n FROM offline_message`)).toEqual([{ n: 0 }]);
    const afterDelta = await pgQuery(staged.url, `SELECT count(*)::int AS n FROM mam_message WHERE search_body LIKE 'duringbulk %'`);
    expect(Number(afterDelta[0]!.n)).toBe(20);
    const bobRow = (await pgQuery(staged.url, `SELECT pass_details FROM users WHERE username = 'bob'`))[0]!;
    const bobHashes = parsePassDetails(String(bobRow.pass_details)).hashes;
    expect(bobHashes.length).toBeGreaterThan(0);
    for (const hash of bobHashes) expect(scramMatches('bobs-new-secret', hash)).toBe(true);
    expect(await pgQuery(staged.url, `SELECT jid, grp FROM rostergroups WHERE username = 'alice' ORDER BY jid`)).toEqual([
      { jid: `bob@${D}`, grp: 'Friends' },
      { jid: `carol@${D}`, grp: 'Work' },
    ]);

    // More traffic, a roster group change, then the freeze: the old server stops.
    for (let i = 1; i <= 3; i++) await chat(alice, `bob@${D}`, `beforefreeze ${i}`);
    await archived('beforefreeze', 6);
    await server.ctl('add_rosteritem', 'alice', D, 'bob', D, 'Bob', 'Family', 'both');
    await Promise.all([alice.xmpp.stop(), bob.xmpp.stop()]);
    await server.stop();

    const cut = await cli(['cutover', ...common, '--reject-file', join(work, 'r3.ndjson')], work);
    expect(cut.stderr).toBe('');
    expect(cut.code).toBe(0);
    const report = cut.events.find((e) => e.event === 'cutover') as { parity: boolean; phases: Array<{ stream: string; pass: number; completed: boolean }>; verify: { messagesInSource: number; messagesInTarget: number } };
    expect(report.parity).toBe(true);
    expect(report.phases.filter((p) => p.stream === 'archive').map((p) => [p.pass, p.completed])).toEqual([[0, true], [1, true], [2, true]]);
    expect(report.verify.messagesInTarget).toBe(report.verify.messagesInSource);
    // 13 chats and the offline note, each archived by sender and recipient.
    expect(report.verify.messagesInSource).toBe(BULK_ROWS + 28);
    expect(await pgQuery(staged.url, `SELECT username FROM offline_message`)).toEqual([{ username: 'carol' }]);
    // The changed group replaced the old one.
    expect(await pgQuery(staged.url, `SELECT grp FROM rostergroups WHERE username = 'alice' AND jid = 'bob@${D}'`)).toEqual([{ grp: 'Family' }]);

    // The same rows as one full migration of the final source.
    const reference = await fresh('staged_reference');
    await pgQuery(reference.url, `CREATE TABLE xmpp_migrate_meta (key text PRIMARY KEY, value text NOT NULL)`);
    const seed = (await pgQuery(staged.url, `SELECT value FROM xmpp_migrate_meta WHERE key = 'salt-seed'`))[0]!.value;
    await pgQuery(reference.url, `INSERT INTO xmpp_migrate_meta VALUES ('salt-seed', $1)`, [seed]);
    const full = await cli(['run', '--source', src, '--target', reference.url, '--create-schema', '--json', '--reject-file', join(work, 'r4.ndjson')], work);
    expect(full.code).toBe(0);
    expect(await dump(staged.url)).toEqual(await dump(reference.url));

    // A cutover repeated changes nothing and still reports parity.
    const again = await cli(['cutover', ...common, '--reject-file', join(work, 'r5.ndjson')], work);
    expect(again.code).toBe(0);
    expect(await dump(staged.url)).toEqual(await dump(reference.url));
  }, 180_000);

  it('refuses a saved plan once the source grew past it or a setting changed, and runs it while it holds', async () => {
    const target = await fresh('staged_plan');
    const src = `ejabberd+pg:${sourceUrl}`;
    const planFile = join(work, 'plan.json');
    const planned = await cli(['plan', '--source', src, '--target', target.url, '--create-schema', '--out', planFile, '--allow-growth', '5'], work);
    expect(planned.code).toBe(0);
    const held = await cli(['run', '--source', src, '--target', target.url, '--create-schema', '--plan', planFile, '--only', 'accounts', '--json'], work);
    expect(held.stderr).toBe('');
    expect(held.code).toBe(0);

    const changedSetting = await cli(['run', '--source', src, '--target', target.url, '--create-schema', '--plan', planFile, '--message-format', 'xml'], work);
    expect(changedSetting.code).toBe(4);
    expect(changedSetting.stderr).toContain('target setting messageFormat: "compressed-eterm" in the plan, "xml" now');

    // The source grows by a tenth: past the 5% the plan allows.
    await pgQuery(
      sourceUrl,
      `INSERT INTO archive (username, server_host, timestamp, peer, bare_peer, xml, txt, kind, nick)
       SELECT 'carol', '${D}', 1600000000000000 + g::bigint * 1000000, 'erin@${D}', 'erin@${D}',
              '<message xmlns="jabber:client" to="erin@${D}" type="chat"><body>more ' || g || '</body></message>', 'more ' || g, 'chat', ''
       FROM generate_series(1, ${BULK_ROWS / 10}) g`,
    );
    const grown = await cli(['run', '--source', src, '--target', target.url, '--create-schema', '--plan', planFile], work);
    expect(grown.code).toBe(4);
    expect(grown.stderr).toMatch(/archived-message: \d+ in the plan, \d+ now: grew past the 5% the plan allows/);
    expect(grown.stderr).not.toContain(postgresServer().password);
  }, 120_000);

  it('pauses at the control file between batches and goes on when told to resume', async () => {
    const target = await fresh('staged_pause');
    const control = join(work, 'migrate.ctl');
    await writeFile(control, 'pause rehearsal of a pause\n');
    let batchesWhilePaused = 0;
    let paused = false;
    let resumed = false;
    const run = cli(['run', '--source', `ejabberd+pg:${sourceUrl}`, '--target', target.url, '--create-schema', '--json', '--batch-rows', '2000', '--control-file', control, '--reject-file', join(work, 'r6.ndjson')], work, (event) => {
      if (event.event === 'paused') {
        paused = true;
        // Resume a while later; nothing may be written meanwhile.
        setTimeout(() => void writeFile(control, 'resume\nrate=0\n'), 1500);
      }
      if (event.event === 'batch-written' && paused && !resumed) batchesWhilePaused++;
      if (event.event === 'resumed') resumed = true;
    });
    const result = await run;
    expect(result.code).toBe(0);
    expect(result.events.find((e) => e.event === 'paused')).toMatchObject({ reason: 'rehearsal of a pause' });
    expect(resumed).toBe(true);
    expect(batchesWhilePaused).toBe(0);
    const rows = await pgQuery(target.url, `SELECT count(*)::int AS n FROM mam_message`);
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(BULK_ROWS);
  }, 120_000);
});
