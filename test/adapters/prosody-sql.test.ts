// The Prosody SQL adapter: the real Prosody 0.12.3 data copied into Prosody's SQL storage by Prosody's own
// prosody-migrator, on the test PostgreSQL, MariaDB and SQLite, must give exactly the file adapter's records;
// plus SQL-only shapes (__hash JSON, bad rows, the old mod_mam_sql schema) and resumption from every cursor.
import { createRequire } from 'node:module';
import { chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/adapters/index.js';
import { prosodyFilesAdapter } from '../../src/adapters/prosody-files.js';
import { prosodySqlAdapter } from '../../src/adapters/prosody-sql.js';
import type { SourceAdapter, SourceItem } from '../../src/adapters/source-adapter.js';
import { main } from '../../src/cli/main.js';
import { SourceError } from '../../src/errors.js';
import type { MigrationRecord } from '../../src/records.js';
import { freshMysqlDatabase, freshPostgresDatabase, mysqlServer, postgresServer, type FreshDatabase } from '../support/databases.js';
import { asSortedLines, itemView, readAllStreams, readStream, recordsOf } from '../fixtures/prosody/canonical.js';
import { migrateToSql } from '../fixtures/prosody/migrator.js';

const REAL = join(import.meta.dirname, '..', 'fixtures', 'prosody', 'real-0.12.3', 'data');
const work = mkdtempSync(join(tmpdir(), 'xmig-prosody-sql-'));
chmodSync(work, 0o777); // prosody-migrator runs as user prosody and writes the SQLite file here
const databases: FreshDatabase[] = [];
afterAll(async () => {
  await Promise.allSettled(databases.map((d) => d.drop()));
  rmSync(work, { recursive: true, force: true });
});

interface Target {
  name: string;
  url: () => string;
}
const targets: Record<string, string> = {};

let fileStreams: Map<string, SourceItem[]>;
let fileRecords: MigrationRecord[];

beforeAll(async () => {
  fileStreams = await readAllStreams(await prosodyFilesAdapter.open(REAL, { settings: {} }));
  fileRecords = [...fileStreams.values()].flatMap(recordsOf);
  const pg = await freshPostgresDatabase('prosody');
  const my = await freshMysqlDatabase('prosody');
  databases.push(pg, my);
  const pgServer = postgresServer();
  const myServer = mysqlServer();
  const sqlite = join(work, 'prosody.sqlite');
  await Promise.all([
    migrateToSql(REAL, { driver: 'PostgreSQL', database: pg.name, username: pgServer.user, password: pgServer.password, host: pgServer.host, port: pgServer.port }),
    migrateToSql(REAL, { driver: 'MySQL', database: my.name, username: myServer.user, password: myServer.password, host: myServer.host, port: myServer.port }),
    migrateToSql(REAL, { driver: 'SQLite3', database: sqlite }),
  ]);
  targets.PostgreSQL = pg.url;
  targets.MariaDB = my.url;
  targets.SQLite = `sqlite:${sqlite}`;
}, 120_000);

async function open(kind: string): Promise<SourceAdapter> {
  return prosodySqlAdapter.open(targets[kind]!, { settings: {} });
}

describe.each(['PostgreSQL', 'MariaDB', 'SQLite'])('Prosody SQL storage on %s, filled by prosody-migrator', (kind) => {
  it('emits exactly the records of the file storage it was copied from, and no reject', async () => {
    const source = await open(kind);
    try {
      const streams = await readAllStreams(source);
      const rejects = [...streams.values()].flat().filter((i) => 'reject' in i);
      expect(rejects.map(itemView)).toEqual([]);
      for (const [name, items] of fileStreams) {
        expect(asSortedLines(recordsOf(streams.get(name)!)), name).toEqual(asSortedLines(recordsOf(items)));
      }
      expect(fileRecords.length).toBeGreaterThan(50);
    } finally {
      await source.close();
    }
  });

  it('keeps each archive together and in sort_id order, which is the file order', async () => {
    const source = await open(kind);
    try {
      const sql = recordsOf(await readStream(source, 'archives')).filter((r) => r.kind === 'archived-message');
      const file = recordsOf(fileStreams.get('archives')!).filter((r) => r.kind === 'archived-message');
      const ids = (rs: MigrationRecord[], owner: string): string[] => rs.flatMap((r) => (r.kind === 'archived-message' && `${r.archive.jid.local}@${r.archive.jid.domain}` === owner ? [r.sourceId!] : []));
      for (const owner of ['alice@example.test', 'bob@example.test', 'erin@other.test']) expect(ids(sql, owner)).toEqual(ids(file, owner));
    } finally {
      await source.close();
    }
  });

  it('returns exactly the remaining items after every cursor, with cursors increasing as strings', async () => {
    const source = await open(kind);
    try {
      for (const stream of source.streams()) {
        const full = await readStream(source, stream.name);
        const cursors = full.map((i) => i.cursor);
        expect([...cursors].sort()).toEqual(cursors);
        for (let k = 0; k < full.length; k++) {
          const rest = await readStream(source, stream.name, full[k]!.cursor);
          expect(rest.map((i) => [i.cursor, itemView(i)]), `${stream.name} after ${full[k]!.cursor}`).toEqual(full.slice(k + 1).map((i) => [i.cursor, itemView(i)]));
        }
      }
    } finally {
      await source.close();
    }
  });

  it('inventories the same counts as the file storage', async () => {
    const source = await open(kind);
    try {
      const inventory = await source.inventory();
      const fileInventory = await (await prosodyFilesAdapter.open(REAL, { settings: {} })).inventory();
      expect(inventory.counts).toEqual(fileInventory.counts);
      expect(inventory.credentials).toEqual(fileInventory.credentials);
      expect(inventory.archiveSpan).toEqual(fileInventory.archiveSpan);
    } finally {
      await source.close();
    }
  });
});

describe('Prosody SQL specifics', () => {
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => { exec(sql: string): void; prepare(sql: string): { run(...p: unknown[]): void }; close(): void };

  function sqliteWith(rows: Array<[string, string, string, string, string, string]>, archive: Array<[string, string, string, string, number, string, string, string]> = []): string {
    const file = join(work, `hand-${Math.random().toString(36).slice(2)}.sqlite`);
    const db = new Database(file);
    db.exec('CREATE TABLE prosody (host TEXT NOT NULL, user TEXT NOT NULL, store TEXT NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL)');
    db.exec('CREATE TABLE prosodyarchive (sort_id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, user TEXT NOT NULL, store TEXT NOT NULL, key TEXT NOT NULL, "when" INTEGER NOT NULL, "with" TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO prosody VALUES (?, ?, ?, ?, ?, ?)');
    for (const r of rows) insert.run(...r);
    const insertArchive = db.prepare('INSERT INTO prosodyarchive (host, user, store, key, "when", "with", type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const r of archive) insertArchive.run(...r);
    db.close();
    return file;
  }

  it('reads __hash / __array JSON, REAL times, and rejects rows Prosody could not read back, naming table and key', async () => {
    const file = sqliteWith(
      [
        ['h.test', 'u', 'accounts', 'password', 'string', 'pw'],
        ['h.test', 'u', 'roster', '', 'json', '{"__hash":[false,{"version":3,"pending":{"fan@h.test":true}}]}'],
        ['h.test', 'u', 'roster', 'friend@h.test', 'json', '{"subscription":"both","groups":{"G":true},"name":"F"}'],
        ['h.test', 'u', 'vcard', 'name', 'string', 'vCard'],
        ['h.test', 'u', 'vcard', 'attr', 'json', '{"xmlns":"vcard-temp"}'],
        ['h.test', 'u', 'vcard', '', 'json', '[{"name":"FN","attr":{},"__array":["Ü"]}]'],
        ['h.test', 'v', 'roster', 'x@h.test', 'json', '{"subscription":"both","when":inf}'],
      ],
      [
        ['h.test', 'u', 'archive', 'k1', 1704110400.25, 'friend@h.test', 'xml', "<message to='friend@h.test' type='chat'><body>a &amp; b</body></message>"],
        ['h.test', 'u', 'archive', 'k2', 1704110401, 'friend@h.test', 'xml', '<message><body>unclosed'],
      ],
    );
    const source = await openSource(`prosody+sql:sqlite:${file}`, { settings: {} });
    try {
      const users = await readStream(source, 'users');
      expect(users.map(itemView)).toEqual([
        { ask: 'none', askMessage: '', contact: 'friend@h.test', groups: ['G'], kind: 'roster-item', name: 'F', owner: { domain: 'h.test', local: 'u' }, subscription: 'both' },
        { ask: 'in', askMessage: '', contact: 'fan@h.test', groups: [], kind: 'roster-item', name: '', owner: { domain: 'h.test', local: 'u' }, subscription: 'none' },
        { reject: 'malformed-value', message: expect.stringMatching(/^table prosody key "h\.test v roster": roster of v@h\.test: row key "x@h\.test": invalid JSON/) },
        { kind: 'vcard', owner: { domain: 'h.test', local: 'u' }, vcard: '<vCard xmlns="vcard-temp"><FN>"Ü"</FN></vCard>' },
      ]);
      const archives = await readStream(source, 'archives');
      expect(archives.map(itemView)).toEqual([
        expect.objectContaining({ kind: 'archived-message', timestamp: '1704110400250000n', direction: 'out', remote: 'friend@h.test', sourceId: 'k1', stanza: '<message to="friend@h.test" type="chat" xmlns="jabber:client"><body>"a & b"</body></message>' }),
        { reject: 'malformed-xml', message: expect.stringMatching(/^table prosodyarchive key "sort_id=2": the stored stanza is not well-formed XML/) },
      ]);
    } finally {
      await source.close();
    }
  });

  it('refuses the old community mod_mam_sql archive table with the reason', async () => {
    const file = join(work, 'old-mam.sqlite');
    const db = new Database(file);
    db.exec('CREATE TABLE prosody (host TEXT, user TEXT, store TEXT, key TEXT, type TEXT, value TEXT)');
    db.exec('CREATE TABLE prosodyarchive (id INTEGER PRIMARY KEY, host TEXT, user TEXT, store TEXT, "when" INTEGER, "with" TEXT, resource TEXT, stanza TEXT)');
    db.close();
    const err = await openSource(`prosody+sql:sqlite:${file}`, { settings: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).message).toMatch(/old community mod_mam_sql/);
  });

  it('never shows the database password', async () => {
    const source = await openSource(`prosody+sql:${targets.PostgreSQL}`, { settings: {} });
    try {
      const password = new URL(targets.PostgreSQL!).password;
      expect(source.displayName).not.toContain(password);
      expect(source.displayName).toMatch(/^prosody\+sql:postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\//);
      expect(source.capabilities.resume).toBe('seek');
    } finally {
      await source.close();
    }
    const bad = new URL(targets.PostgreSQL!);
    bad.password = 'wrong-secret-password';
    const err = await openSource(`prosody+sql:${bad.toString()}`, { settings: {} }).catch((e: unknown) => e);
    expect((err as Error).message).not.toContain('wrong-secret-password');
  });
});

// Community mod_archive (XEP-0136) collections sharing the `archive` store with mod_mam: the hand-written
// ann@modarchive.test holds two overlapping collections, newest first, between two mod_mam messages. Both
// storages emit the archive whole in time order; migrated through the CLI, the MAM ids give the exact times.
describe('Prosody mod_archive collections in the archive store, files and SQL', () => {
  const HAND_HOST = join(import.meta.dirname, '..', 'fixtures', 'prosody', 'handwritten', 'data', 'modarchive%2etest');
  const data = join(work, 'modarchive-data');
  // µs after 2010-01-01T12:00:00Z; ties 1 µs apart: the mod_mam message first, then collections in list order.
  // Peers as MongooseIM stores them (remote_bare_jid, encoded relative to the owner).
  const T = 1_262_347_200_000_000n;
  const EXPECTED = [
    [T - 10_000_000n, 'I', 'example.org:carol', 'c1 first'],
    [T, 'I', 'example.org:bob', 'mam noon'],
    [T + 1n, 'O', 'example.org:bob', 'c2 first'],
    [T + 2n, 'O', 'example.org:carol', 'c1 second'],
    [T + 3n, 'I', 'example.org:carol', 'c1 burst'],
    [T + 30_000_000n, 'O', 'example.org:dave', 'mam later'],
    [T + 30_000_001n, 'I', 'example.org:bob', 'c2 second'],
    [T + 35_000_000n, 'O', 'example.org:carol', 'c1 last'],
  ];
  const view = (items: SourceItem[]): string[] => items.map((i) => {
    if ('reject' in i) return `reject ${i.reject.code}`;
    const r = i.record;
    if (r.kind === 'archived-message') return `mam ${r.timestamp} ${r.remote}`;
    if (r.kind === 'legacy-collection') return `slice ${r.with} ${r.entries.map((e) => `${e.utc}:${e.body}`).join('|')}${r.startsCollection ? ' first' : ''}`;
    return r.kind;
  });
  const FILE_ORDER = [
    `slice carol@example.org ${T - 10_000_000n}:c1 first first`,
    `mam ${T} bob@example.org/pc`,
    `slice bob@example.org ${T}:c2 first first`,
    `slice carol@example.org ${T}:c1 second|${T}:c1 burst`,
    `mam ${T + 30_000_000n} dave@example.org`,
    `slice bob@example.org ${T + 30_000_000n}:c2 second`,
    `slice carol@example.org ${T + 35_000_000n}:c1 last`,
  ];
  let sqlUrl: string;

  beforeAll(async () => {
    cpSync(HAND_HOST, join(data, 'modarchive%2etest'), { recursive: true });
    const db = await freshPostgresDatabase('prosody_modarchive');
    databases.push(db);
    const server = postgresServer();
    await migrateToSql(data, { driver: 'PostgreSQL', database: db.name, username: server.user, password: server.password, host: server.host, port: server.port });
    sqlUrl = db.url;
  }, 120_000);

  it('emits the archive in time order from the files, and exactly the same from SQL, resumable from every cursor', async () => {
    for (const location of [data, sqlUrl]) {
      const source = location === data ? await prosodyFilesAdapter.open(data, { settings: {} }) : await prosodySqlAdapter.open(sqlUrl, { settings: {} });
      try {
        const full = await readStream(source, 'archives');
        expect(view(full), location).toEqual(FILE_ORDER);
        const cursors = full.map((i) => i.cursor);
        expect([...cursors].sort()).toEqual(cursors);
        for (let k = 0; k < full.length; k++) {
          const rest = await readStream(source, 'archives', full[k]!.cursor);
          expect(rest.map((i) => [i.cursor, itemView(i)])).toEqual(full.slice(k + 1).map((i) => [i.cursor, itemView(i)]));
        }
      } finally {
        await source.close();
      }
    }
  });

  it.each(['files', 'SQL'])('migrates through the CLI from %s into PostgreSQL with MAM ids of the exact times, and verifies parity', async (kind) => {
    const source = kind === 'files' ? `prosody:${data}` : `prosody+sql:${sqlUrl}`;
    const db = await freshPostgresDatabase(`mongooseim_modarchive_${kind.toLowerCase()}`);
    databases.push(db);
    const quiet = { stdout: { write: () => undefined }, stderr: { write: (s: string) => void process.stderr.write(s) } };
    expect(await main(['run', '--source', source, '--target', db.url, '--create-schema', '--quiet', '--reject-file', join(work, `modarchive-${kind}.ndjson`)], quiet)).toBe(0);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const rows = (await client.query(`SELECT m.id::text AS id, m.direction::text AS direction, m.remote_bare_jid, m.search_body FROM mam_message m ORDER BY m.id`)).rows as Array<{ id: string; direction: string; remote_bare_jid: string; search_body: string }>;
      expect(rows.map((r) => [BigInt(r.id) >> 8n, r.direction, r.remote_bare_jid, r.search_body])).toEqual(EXPECTED);
    } finally {
      await client.end();
    }
    let out = '';
    expect(await main(['verify', '--source', source, '--target', db.url, '--json'], { ...quiet, stdout: { write: (s: string) => void (out += s) } })).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ parity: true, differences: [] });
  }, 60_000);
});
