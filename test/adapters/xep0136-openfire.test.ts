// The Openfire Monitoring plugin archive on PostgreSQL and MariaDB, with hand-inserted rows (1:1 with and
// without a stanza, a remote party, a legacy row with an unsplit full JID, room messages, a MUC private
// message, ties within a millisecond, bad rows), read by the adapter and migrated into MongooseIM's schema.
import { afterAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/adapters/index.js';
import type { SourceAdapter, SourceItem } from '../../src/adapters/source-adapter.js';
import { OPENFIRE_PERSONAL_STREAM, OPENFIRE_ROOM_STREAM } from '../../src/adapters/xep0136-openfire.js';
import { UsageError } from '../../src/errors.js';
import type { ArchivedMessageRecord } from '../../src/records.js';
import { freshMysqlDatabase, freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';
import { migrateToFreshTarget } from '../fixtures/xep0136/mam-target.js';
import { openfireMonitoringSchema } from '../fixtures/xep0136/openfire-monitoring-schema.js';
import { seedDb, type Dialect } from '../fixtures/xep0136/seed-db.js';

const databases: FreshDatabase[] = [];
afterAll(async () => {
  for (const db of databases) await db.drop();
});

const T0 = 1_704_110_400_123; // 2024-01-01T12:00:00.123Z in epoch ms

async function seeded(dialect: Dialect): Promise<string> {
  const fresh = dialect === 'pg' ? await freshPostgresDatabase('src_openfire') : await freshMysqlDatabase('src_openfire');
  databases.push(fresh);
  const seed = await seedDb(dialect, fresh.url);
  for (const statement of openfireMonitoringSchema(dialect)) await seed.exec(statement);
  const conversation = (conversationID: number, room: string | null, isExternal = 0): Promise<void> =>
    seed.insert('ofConversation', { conversationID, roomID: room ? 1 : null, room, isExternal, startDate: T0 - 1, lastActivity: T0 + 1000, messageCount: 3 });
  const participant = (conversationID: number, bareJID: string, jidResource: string, nickname: string | null): Promise<void> =>
    seed.insert('ofConParticipant', { conversationID, joinedDate: T0 - 1, leftDate: null, bareJID, jidResource, nickname });
  const message = (row: Record<string, unknown>): Promise<void> =>
    seed.insert('ofMessageArchive', { messageID: null, fromJIDResource: null, toJIDResource: null, stanza: null, body: null, isPMforJID: null, ...row });

  await conversation(1, null);
  await participant(1, 'alice@example.com', 'phone', null);
  await participant(1, 'bob@example.com', 'pc', null);
  await message({ messageID: 101, conversationID: 1, fromJID: 'alice@example.com', fromJIDResource: 'phone', toJID: 'bob@example.com', sentDate: T0, body: 'hi bob',
    stanza: `<message xmlns="jabber:client" from="alice@example.com/phone" to="bob@example.com" type="chat" id="a1"><body>hi bob</body><origin-id xmlns="urn:xmpp:sid:0" id="o-a1"/></message>` });
  await message({ messageID: 103, conversationID: 1, fromJID: 'bob@example.com', fromJIDResource: 'pc', toJID: 'alice@example.com', toJIDResource: 'phone', sentDate: T0 + 500, body: 'tie' });
  await message({ messageID: 102, conversationID: 1, fromJID: 'bob@example.com', fromJIDResource: 'pc', toJID: 'alice@example.com', toJIDResource: 'phone', sentDate: T0 + 500, body: 'hi alice' });
  await message({ messageID: 109, conversationID: 1, fromJID: 'alice@example.com', fromJIDResource: 'phone', toJID: 'bob@example.com', sentDate: -5, body: 'bad time' });
  await message({ messageID: 110, conversationID: 1, fromJID: 'alice@example.com', fromJIDResource: 'phone', toJID: 'bob@example.com', sentDate: T0 + 700 });
  await conversation(2, null, 1);
  await message({ messageID: 104, conversationID: 2, fromJID: 'kate@other.org', fromJIDResource: 'x', toJID: 'alice@example.com', sentDate: T0 + 200, body: 'from remote' });
  await conversation(3, null);
  // A legacy row: no messageID, the full JID unsplit in fromJID.
  await message({ conversationID: 3, fromJID: 'bob@example.com/laptop', toJID: 'alice@example.com', sentDate: T0 + 1000, body: 'legacy' });
  await conversation(4, 'lobby@conference.example.com');
  await participant(4, 'alice@example.com', 'phone', 'Alice');
  await participant(4, 'bob@example.com', 'pc', 'Bobby');
  await message({ messageID: 105, conversationID: 4, fromJID: 'alice@example.com', fromJIDResource: 'phone', toJID: 'lobby@conference.example.com', toJIDResource: 'Alice', sentDate: T0 + 300, body: 'hello room', stanza: '' });
  await message({ messageID: 106, conversationID: 4, fromJID: 'kate@other.org', fromJIDResource: 'x', toJID: 'lobby@conference.example.com', toJIDResource: 'Kate', sentDate: T0 + 400, body: 'kate here',
    stanza: `<message from="kate@other.org/x" to="lobby@conference.example.com" type="groupchat" id="k1"><body>kate here</body></message>` });
  await message({ messageID: 107, conversationID: 4, fromJID: 'alice@example.com', fromJIDResource: 'phone', toJID: 'lobby@conference.example.com', toJIDResource: 'Alice', isPMforJID: 'bob@example.com', sentDate: T0 + 600, body: 'psst' });
  await message({ messageID: 108, conversationID: 4, fromJID: 'bob@example.com', fromJIDResource: 'pc', toJID: 'lobby@conference.example.com', sentDate: T0 + 800, body: 'no nick' });
  await seed.close();
  return fresh.url;
}

async function readAll(source: SourceAdapter, stream: string, after?: string): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source.read(stream, after)) items.push(item);
  return items;
}

function line(item: SourceItem): string {
  if ('reject' in item) return `reject ${item.reject.code} ${item.reject.location?.key}`;
  const r = item.record as ArchivedMessageRecord;
  return `${r.archive.jid.local} ${r.timestamp} ${r.direction ?? r.senderNick} ${r.remote} ${r.stanza.getChildText('body')}`;
}

const at = (ms: number, extraMicros = 0): string => {
  const micros = BigInt(ms) * 1000n + BigInt(extraMicros);
  return `${new Date(Number(micros / 1000n)).toISOString().slice(0, 19)}.${String(micros % 1_000_000n).padStart(6, '0')}Z`;
};

for (const dialect of ['pg', 'mysql'] as const) {
  describe(`Openfire Monitoring archive on ${dialect === 'pg' ? 'PostgreSQL' : 'MariaDB'}`, () => {
    it('copies each row into every local party\'s archive, rooms into room archives, in time order, and migrates exactly', async () => {
      const url = await seeded(dialect);
      const scheme = dialect === 'pg' ? 'openfire-monitoring+pg' : 'openfire-monitoring+mysql';
      await expect(openSource(`${scheme}:${url}`, { settings: {} })).rejects.toBeInstanceOf(UsageError);
      const source = await openSource(`${scheme}:${url}`, { settings: { domain: 'example.com' } });
      let personalRows: string[] = [];
      try {
        const migrated = await migrateToFreshTarget(source);
        personalRows = migrated.personal;
        expect(migrated.personal).toEqual([
          `alice@example.com ${at(T0)} out bob@example.com hi bob`,
          `alice@example.com ${at(T0 + 200)} in kate@other.org/x from remote`,
          `alice@example.com ${at(T0 + 500)} in bob@example.com/pc hi alice`,
          `alice@example.com ${at(T0 + 500, 1)} in bob@example.com/pc tie`,
          `alice@example.com ${at(T0 + 600)} out lobby@conference.example.com/Bobby psst`,
          `alice@example.com ${at(T0 + 1000)} in bob@example.com/laptop legacy`,
          `bob@example.com ${at(T0)} in alice@example.com/phone hi bob`,
          `bob@example.com ${at(T0 + 500)} out alice@example.com/phone hi alice`,
          `bob@example.com ${at(T0 + 500, 1)} out alice@example.com/phone tie`,
          `bob@example.com ${at(T0 + 600)} in lobby@conference.example.com/Alice psst`,
          `bob@example.com ${at(T0 + 1000)} out alice@example.com legacy`,
        ]);
        expect(migrated.rooms).toEqual([
          `lobby@conference.example.com ${at(T0 + 300)} Alice alice@example.com hello room`,
          `lobby@conference.example.com ${at(T0 + 400)} Kate kate@other.org kate here`,
        ]);
        expect(migrated.rejects.entries.map((r) => [r.code, r.location?.table, r.location?.key])).toEqual([
          ['invalid-time', 'ofMessageArchive', 'messageID=109'],
          ['empty-row', 'ofMessageArchive', 'messageID=110'],
          ['room-message-without-nick', 'ofMessageArchive', 'messageID=108'],
        ]);

        const personal = await readAll(source, OPENFIRE_PERSONAL_STREAM);
        const records = personal.filter((i): i is { record: ArchivedMessageRecord; cursor: string } => 'record' in i).map((i) => i.record);
        // The kept stanza stays (with its origin-id); a row without one gets a message built from its body;
        // a PM the recipient gets comes from the occupant JID, never the sender's real JID.
        expect(records[0]!.stanza.toString()).toBe('<message xmlns="jabber:client" from="alice@example.com/phone" to="bob@example.com" type="chat" id="a1"><body>hi bob</body><origin-id xmlns="urn:xmpp:sid:0" id="o-a1"/></message>');
        expect(records[0]!.originId).toBe('o-a1');
        expect(records[2]!.stanza.toString()).toBe('<message from="bob@example.com/pc" to="alice@example.com/phone" type="chat"><body>hi alice</body></message>');
        expect(records.find((r) => r.archive.jid.local === 'bob' && r.direction === 'in' && r.remote.startsWith('lobby'))!.stanza.toString()).toBe(
          '<message from="lobby@conference.example.com/Alice" to="bob@example.com" type="chat"><body>psst</body><x xmlns="http://jabber.org/protocol/muc#user"/></message>',
        );
        // Resume at every item gives exactly the rest of the stream.
        for (let i = 0; i < personal.length; i++) {
          expect((await readAll(source, OPENFIRE_PERSONAL_STREAM, personal[i]!.cursor)).map(line)).toEqual(personal.slice(i + 1).map(line));
        }
        const rooms = await readAll(source, OPENFIRE_ROOM_STREAM);
        expect(rooms.map(line)).toEqual([
          `lobby ${BigInt(T0 + 300) * 1000n} Alice lobby@conference.example.com/Alice hello room`,
          `lobby ${BigInt(T0 + 400) * 1000n} Kate lobby@conference.example.com/Kate kate here`,
          'reject room-message-without-nick messageID=108',
        ]);
        expect((rooms[1] as { record: ArchivedMessageRecord }).record.stanza.attrs.from).toBe('lobby@conference.example.com/Kate');

        const inventory = await source.inventory();
        expect(inventory.counts['archived-message']).toBe(11); // rows (each 1:1 row lands in up to two archives)
        expect(inventory.owners['archived-message']).toBe(3);
        expect(inventory.notes.join('\n')).toMatch(/1 legacy row/);
      } finally {
        await source.close();
      }

      // Pages of 1, 2 and 3 rows: every millisecond boundary, the 500 ms tie included, seeks to exactly the same rows.
      for (const pageRows of ['1', '2', '3']) {
        const paged = await openSource(`${scheme}:${url}`, { settings: { domain: 'example.com', 'page-rows': pageRows, rooms: 'skip' } });
        try {
          expect(paged.streams().map((s) => s.name)).toEqual([OPENFIRE_PERSONAL_STREAM]);
          const again = await migrateToFreshTarget(paged);
          expect(again.personal).toEqual(personalRows);
          expect(again.rooms).toEqual([]);
        } finally {
          await paged.close();
        }
      }
    });
  });
}
