// PEP and bookmarks from the real Prosody 0.12.3 data into real PostgreSQL and MariaDB, row by row: PEP items
// (nick, avatar, vCard4) become MongooseIM 6.8 mod_pubsub rows (pubsub_node, pubsub_item); bookmarks, which
// mod_pubsub could not keep private (no whitelist access model), end up once per room in private XML
// storage:bookmarks (mod_private), and their PEP items are counted as skipped, never written.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { openMysql } from '../../src/target/mysql/mysql-database.js';
import { openPostgres } from '../../src/target/postgres/postgres-database.js';
import { parseXml } from '../../src/xml/element.js';
import { freshMysqlDatabase, freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';

const SOURCE = `prosody:${join(import.meta.dirname, '..', 'fixtures', 'prosody', 'real-0.12.3', 'data')}`;
const WHEN = '1796092665000000'; // the items' `when` in the Prosody files, in µs
const AVATAR = '4a5eb7171b58e08a6881721e3b43d5a44419a2be';

const DATABASES = [
  {
    name: 'PostgreSQL',
    fresh: freshPostgresDatabase,
    open: openPostgres,
    nodes: `SELECT service_domain, service_user, node_id, access_model::text AS access_model, max_items FROM pubsub_node ORDER BY 1, 2, 3`,
    items: `SELECT service_domain, service_user, node_id, item_id, publisher_domain, publisher_user, publisher_resource, payload, published_at::text AS published_at
            FROM pubsub_item ORDER BY 1, 2, 3, 4`,
  },
  {
    name: 'MariaDB',
    fresh: freshMysqlDatabase,
    open: openMysql,
    nodes: `SELECT service_domain, service_user, node_id, access_model, max_items FROM pubsub_node ORDER BY 1, 2, 3`,
    items: `SELECT service_domain, service_user, node_id, item_id, publisher_domain, publisher_user, publisher_resource, payload, CAST(published_at AS CHAR) AS published_at
            FROM pubsub_item ORDER BY 1, 2, 3, 4`,
  },
] as const;

let work: string;
const created: FreshDatabase[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-pep-'));
});

afterAll(async () => {
  for (const db of created) await db.drop();
  await rm(work, { recursive: true, force: true });
});

describe.each(DATABASES)('PEP and bookmarks from a real Prosody into $name', (database) => {
  let url: string;
  let summary: Record<string, any>;

  beforeAll(async () => {
    const fresh = await database.fresh(`pep_${database.name}`);
    created.push(fresh);
    url = fresh.url;
    let out = '';
    const io = { stdout: { write: (s: string) => void (out += s) }, stderr: { write: (s: string) => void process.stderr.write(s) } };
    expect(await main(['run', '--source', SOURCE, '--target', url, '--create-schema', '--json', '--reject-file', join(work, `${database.name}.ndjson`)], io)).toBe(0);
    summary = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>).find((e) => e.event === 'summary')!;
  }, 120_000);

  const query = async <T,>(sql: string): Promise<T[]> => {
    const db = await database.open(url);
    try {
      return (await db.query<T>(sql)).rows;
    } finally {
      await db.close();
    }
  };

  it('writes each PEP node once, with the access model its XEP asks for and no item limit', async () => {
    expect(await query(database.nodes)).toEqual([
      { service_domain: 'other.test', service_user: 'erin', node_id: 'urn:xmpp:avatar:data', access_model: 'presence', max_items: null },
      { service_domain: 'other.test', service_user: 'erin', node_id: 'urn:xmpp:avatar:metadata', access_model: 'presence', max_items: null },
      { service_domain: 'other.test', service_user: 'erin', node_id: 'urn:xmpp:vcard4', access_model: 'presence', max_items: null },
      { service_domain: 'other.test', service_user: 'frank', node_id: 'http://jabber.org/protocol/nick', access_model: 'presence', max_items: null },
    ]);
  });

  it('writes each item with the owner as publisher, the payload as XML text and the publish time in µs', async () => {
    const items = await query<Record<string, string>>(database.items);
    const at = (user: string, node: string, id: string) => ({ service_domain: 'other.test', service_user: user, node_id: node, item_id: id, publisher_domain: 'other.test', publisher_user: user, publisher_resource: '', published_at: WHEN });
    expect(items.map(({ payload: _payload, ...rest }) => rest)).toEqual([
      at('erin', 'urn:xmpp:avatar:data', AVATAR),
      at('erin', 'urn:xmpp:avatar:metadata', AVATAR),
      at('erin', 'urn:xmpp:vcard4', 'current'),
      at('frank', 'http://jabber.org/protocol/nick', 'current'),
    ]);
    const payloads = items.map((i) => parseXml(i.payload!));
    expect(payloads[0]!.attrs.xmlns).toBe('urn:xmpp:avatar:data');
    expect(payloads[0]!.getText()).toBe('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==');
    expect(payloads[1]!.getChild('info')!.attrs).toEqual({ bytes: '70', id: AVATAR, type: 'image/png' });
    expect(payloads[2]!.attrs.xmlns).toBe('urn:ietf:params:xml:ns:vcard-4.0');
    expect(payloads[2]!.getChild('fn')!.getChildText('text')).toBe('Erin Ötzi');
    expect(items[3]!.payload).toBe('<nick xmlns="http://jabber.org/protocol/nick">Frankie</nick>');
  });

  it('keeps bookmarks once per room in private XML storage:bookmarks, and none in PEP', async () => {
    const rows = await query<{ server: string; username: string; data: string }>(`SELECT server, username, data FROM private_storage WHERE namespace = 'storage:bookmarks' ORDER BY server, username`);
    expect(rows.map((r) => `${r.username}@${r.server}`)).toEqual(['alice@example.test', 'erin@other.test']);
    const rooms = rows.map((r) => parseXml(r.data).getChildren('conference').map((c) => c.attrs.jid).sort());
    expect(rooms).toEqual([
      ['open@conference.example.test', 'semi@conference.example.test'],
      ['open@conference.example.test', 'semi@conference.example.test'],
    ]);
    expect(await query(`SELECT node_id FROM pubsub_node WHERE node_id IN ('urn:xmpp:bookmarks:1', 'storage:bookmarks')`)).toEqual([]);
    // Four items written, the four bookmark items skipped and counted.
    expect(summary.kinds['pep-item']).toMatchObject({ read: 8, written: 4, skipped: 4, rejected: 0 });
  });

  it('changes nothing on a second run', async () => {
    const before = [await query(database.nodes), await query(database.items)];
    let out = '';
    const io = { stdout: { write: (s: string) => void (out += s) }, stderr: { write: (s: string) => void process.stderr.write(s) } };
    expect(await main(['run', '--source', SOURCE, '--target', url, '--json', '--reject-file', join(work, `${database.name}-2.ndjson`)], io)).toBe(0);
    expect([await query(database.nodes), await query(database.items)]).toEqual(before);
  }, 120_000);
});
