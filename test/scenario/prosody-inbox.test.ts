// `run --inbox`: the real Prosody 0.12.3 data (archives of five users, two offline messages waiting for carol)
// migrated into real PostgreSQL and MariaDB. Every one-to-one conversation gets one inbox row pointing at its
// last message (msg_id, timestamp, content as MongooseIM's mod_inbox_rdbms writes them); unread counts are
// the offline messages waiting; a second run changes nothing; a rebuild stopped half-way resumes and ends with
// the same rows.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/adapters/index.js';
import { main } from '../../src/cli/main.js';
import { encodeMamJid } from '../../src/encoding/mam-jid.js';
import { parseJid, formatJid } from '../../src/jid.js';
import { bareJidString, type ArchivedMessageRecord, type OfflineMessageRecord } from '../../src/records.js';
import { openTarget } from '../../src/target/open-target.js';
import { DEFAULT_TARGET_SETTINGS } from '../../src/target/mongooseim/target-settings.js';
import { parseXml, type Element } from '../../src/xml/element.js';
import { openMysql } from '../../src/target/mysql/mysql-database.js';
import { openPostgres } from '../../src/target/postgres/postgres-database.js';
import { freshMysqlDatabase, freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';

const SOURCE = `prosody:${join(import.meta.dirname, '..', 'fixtures', 'prosody', 'real-0.12.3', 'data')}`;

interface Expected {
  owner: string;
  peer: string;
  last: { timestamp: bigint; stanza: Element; sender: string; outgoing: boolean };
  unread: number;
}

interface InboxRow {
  luser: string;
  lserver: string;
  remote_bare_jid: string;
  msg_id: string;
  box: string;
  content: string;
  timestamp: string;
  muted_until: string;
  unread_count: string;
}

const DATABASES = [
  {
    name: 'PostgreSQL',
    fresh: freshPostgresDatabase,
    open: openPostgres,
    inbox: `SELECT luser, lserver, remote_bare_jid, msg_id, box, convert_from(content, 'UTF8') AS content, timestamp::text AS timestamp,
                   muted_until::text AS muted_until, unread_count::text AS unread_count FROM inbox ORDER BY lserver, luser, remote_bare_jid`,
    lastId: `SELECT max(m.id)::text AS id FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id WHERE u.server = $1 AND u.user_name = $2 AND m.remote_bare_jid = $3`,
  },
  {
    name: 'MariaDB',
    fresh: freshMysqlDatabase,
    open: openMysql,
    inbox: `SELECT luser, lserver, remote_bare_jid, msg_id, box, CONVERT(content USING utf8mb4) AS content, CAST(timestamp AS CHAR) AS timestamp,
                   CAST(muted_until AS CHAR) AS muted_until, CAST(unread_count AS CHAR) AS unread_count FROM inbox ORDER BY lserver, luser, remote_bare_jid`,
    lastId: `SELECT CAST(max(m.id) AS CHAR) AS id FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id WHERE u.server = ? AND u.user_name = ? AND m.remote_bare_jid = ?`,
  },
] as const;

let work: string;
let expected: Map<string, Expected>;
const created: FreshDatabase[] = [];

/** What the test itself calls an inbox message: a chat or normal message with a body and no chat marker. */
function inboxWorthy(stanza: Element): boolean {
  const type = stanza.attrs.type ?? 'normal';
  if (stanza.name !== 'message' || (type !== 'chat' && type !== 'normal')) return false;
  const children = stanza.children.filter((c): c is Element => typeof c !== 'string');
  if (children.some((c) => c.attrs.xmlns === 'urn:xmpp:chat-markers:0')) return false;
  return children.some((c) => c.name === 'body') && !children.some((c) => c.name === 'delay' || c.name === 'result');
}

/** The source's conversations, computed from the adapter's records alone. */
async function expectedConversations(): Promise<Map<string, Expected>> {
  const adapter = await openSource(SOURCE, { settings: {} });
  const messages: ArchivedMessageRecord[] = [];
  const offline: OfflineMessageRecord[] = [];
  try {
    for (const stream of adapter.streams()) {
      for await (const item of adapter.read(stream.name)) {
        if (!('record' in item)) continue;
        const record = item.record;
        if (record.kind === 'archived-message' && record.archive.type === 'user') messages.push(record);
        if (record.kind === 'offline-message') offline.push(record);
      }
    }
  } finally {
    await adapter.close();
  }
  const conversations = new Map<string, Expected>();
  const lastOut = new Map<string, bigint>();
  const at = (owner: string, peer: string): string => `${owner} ${peer}`;
  for (const m of messages) {
    const owner = bareJidString(m.archive.jid);
    const peer = formatJid({ ...parseJid(m.remote), resource: '' });
    const key = at(owner, peer);
    if (m.direction === 'out') lastOut.set(key, m.timestamp);
    if (!inboxWorthy(m.stanza)) continue;
    const current = conversations.get(key);
    // Records of one archive come in archive order; equal times keep it.
    if (!current || m.timestamp >= current.last.timestamp) {
      const sender = m.stanza.attrs.from ?? (m.direction === 'out' ? owner : m.remote);
      conversations.set(key, { owner, peer, last: { timestamp: m.timestamp, stanza: m.stanza, sender, outgoing: m.direction === 'out' }, unread: 0 });
    }
  }
  for (const o of offline) {
    const owner = bareJidString(o.owner);
    const peer = formatJid({ ...parseJid(o.from), resource: '' });
    const key = at(owner, peer);
    if (!inboxWorthy(o.stanza)) continue;
    let c = conversations.get(key);
    if (!c) conversations.set(key, (c = { owner, peer, last: { timestamp: o.timestamp, stanza: o.stanza, sender: o.from, outgoing: false }, unread: 0 }));
    if (o.timestamp > (lastOut.get(key) ?? -1n)) c.unread++;
  }
  return conversations;
}

async function runWithInbox(url: string, hint: string): Promise<{ code: number; summary: Record<string, any> }> {
  let out = '';
  const io = { stdout: { write: (s: string) => void (out += s) }, stderr: { write: (s: string) => void process.stderr.write(s) } };
  const code = await main(['run', '--source', SOURCE, '--target', url, '--create-schema', '--inbox', '--json', '--reject-file', join(work, `${hint}.ndjson`)], io);
  const summary = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>).find((e) => e.event === 'summary')!;
  return { code, summary };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-inbox-'));
  expected = await expectedConversations();
}, 60_000);

afterAll(async () => {
  for (const db of created) await db.drop();
  await rm(work, { recursive: true, force: true });
});

describe.each(DATABASES)('run --inbox from a real Prosody into $name', (database) => {
  let url: string;
  let firstRows: InboxRow[];

  const rows = async (): Promise<InboxRow[]> => {
    const db = await database.open(url);
    try {
      return (await db.query<InboxRow>(database.inbox)).rows.map((r) => ({ ...r, msg_id: r.msg_id ?? '' }));
    } finally {
      await db.close();
    }
  };

  beforeAll(async () => {
    const fresh = await database.fresh(`inbox_${database.name}`);
    created.push(fresh);
    url = fresh.url;
  });

  it('writes one row per conversation, pointing at its last message, unread = the offline messages waiting', async () => {
    const { code, summary } = await runWithInbox(url, `${database.name}-1`);
    expect(code).toBe(0);
    expect(summary.inbox.completed).toBe(true);
    expect(summary.inbox.skipped).toEqual([]);
    firstRows = await rows();
    // The data has conversations and waiting messages to check at all.
    expect(expected.size).toBeGreaterThanOrEqual(4);
    expect([...expected.values()].reduce((n, c) => n + c.unread, 0)).toBe(2);
    expect(firstRows.map((r) => `${r.luser}@${r.lserver} ${r.remote_bare_jid}`).sort()).toEqual([...expected.keys()].sort());
    expect(summary.inbox.inserted).toBe(expected.size);

    const db = await database.open(url);
    try {
      for (const row of firstRows) {
        const want = expected.get(`${row.luser}@${row.lserver} ${row.remote_bare_jid}`)!;
        const where = `${row.luser}@${row.lserver} with ${row.remote_bare_jid}`;
        expect(row.box, where).toBe('inbox');
        expect(row.muted_until, where).toBe('0');
        expect(row.msg_id, where).toBe(want.last.stanza.attrs.id ?? '');
        expect(Number(row.unread_count), where).toBe(want.unread);
        // The stored time is the message's; MAM ids spread equal source seconds over following µs.
        const ts = BigInt(row.timestamp);
        expect(ts - want.last.timestamp >= 0n && ts - want.last.timestamp < 1_000_000n, `${where}: ${ts} vs ${want.last.timestamp}`).toBe(true);
        // The conversation's newest archived message is the one the entry points at.
        const mini = encodeMamJid('mini', { local: row.luser, domain: row.lserver }, parseJid(row.remote_bare_jid));
        const { rows: last } = await db.query<{ id: string | null }>(database.lastId, [row.lserver, row.luser, mini]);
        expect(BigInt(last[0]!.id!) >> 8n, where).toBe(ts);
        // content: the message as XML, with its body and a from (mod_inbox_utils:fill_from_attr/2).
        const content = parseXml(row.content);
        expect(content.name, where).toBe('message');
        expect(content.getChildText('body'), where).toBe(want.last.stanza.getChildText('body'));
        expect(formatJid(parseJid(content.attrs.from!)), where).toBe(formatJid(parseJid(want.last.sender)));
      }
    } finally {
      await db.close();
    }
    // carol's two waiting messages, one from each sender.
    expect(firstRows.filter((r) => r.luser === 'carol').map((r) => [r.remote_bare_jid, r.unread_count])).toEqual(
      expect.arrayContaining([['alice@example.test', '1'], ['bob@example.test', '1']]),
    );
  }, 120_000);

  it('changes nothing on a second run', async () => {
    const { code, summary } = await runWithInbox(url, `${database.name}-2`);
    expect(code).toBe(0);
    expect(summary.inbox).toMatchObject({ inserted: 0, updated: 0, unchanged: expected.size, completed: true });
    expect(await rows()).toEqual(firstRows);
  }, 120_000);

  it('resumes a rebuild stopped half-way and converges to the same rows', async () => {
    const target = await openTarget(url, { settings: { ...DEFAULT_TARGET_SETTINGS }, createSchema: false, dryRun: false, lock: false });
    try {
      const db = await database.open(url);
      try {
        await db.query('DELETE FROM inbox');
        // A row a user has since archived and muted keeps those properties.
        await db.query(`INSERT INTO inbox (luser, lserver, remote_bare_jid, msg_id, box, content, timestamp, muted_until, unread_count)
                        VALUES ('carol', 'example.test', 'bob@example.test', 'old', 'archive', ${database.name === 'PostgreSQL' ? "'\\x3c6d6573736167652f3e'::bytea" : "X'3c6d6573736167652f3e'"}, 1, 7, 0)`);
      } finally {
        await db.close();
      }
      const stop = new AbortController();
      let chunks = 0;
      const first = await target.rebuildInbox!({ chunkOwners: 2, signal: stop.signal, onChunk: () => void (++chunks === 2 && stop.abort()) });
      expect(first.completed).toBe(false);
      const partial = await rows();
      expect(partial.length).toBeGreaterThan(0);
      expect(partial.length).toBeLessThan(firstRows.length);
      const second = await target.rebuildInbox!({ chunkOwners: 2 });
      expect(second.completed).toBe(true);
      expect(second.resumedAfter).toBeDefined();
      expect(second.inserted + first.inserted + first.updated + second.updated).toBe(firstRows.length);
    } finally {
      await target.close();
    }
    const after = await rows();
    // The archived, muted row came back to the inbox (its message is newer, as mod_inbox does) and stays muted.
    const carolBob = after.find((r) => r.luser === 'carol' && r.remote_bare_jid === 'bob@example.test')!;
    expect(carolBob.box).toBe('inbox');
    expect(carolBob.muted_until).toBe('7');
    expect(after.map((r) => ({ ...r, muted_until: '0' }))).toEqual(firstRows);
  }, 120_000);
});
