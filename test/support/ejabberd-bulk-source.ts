// A large ejabberd SQL source generated in the database itself (INSERT … SELECT generate_series): ejabberd's own
// multi-host PostgreSQL schema (Debian's /usr/share/ejabberd/sql/pg.new.sql) filled with accounts (SCRAM, carried
// over without hashing), rosters with groups, vCards, private XML, last activity, MUC nick registrations, offline
// messages, and an archive of personal
// chats (both directions, ties of equal microseconds inside one archive, multi-byte text, markup, origin-ids) and
// room messages. Deterministic: the same sizes give the same rows. Read by `ejabberd+pg:` with keyset seeks, so a
// resumed run starts where it stopped at once, which keeps many killed-and-resumed runs fast.
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import pg from 'pg';
import { loadPgSchema, schemaFile } from '../fixtures/ejabberd/helpers.js';

export const BULK_DOMAIN = 'example.test';
export const BULK_MUC = `conference.${BULK_DOMAIN}`;

export interface BulkSourceSize {
  /** Archived messages in all (personal archives and rooms). */
  messages: number;
  /** Accounts; every personal archive belongs to one of them. */
  users: number;
  /** Rooms with an archive; about 5 % of the messages are theirs. Default 10. */
  rooms?: number;
}

/** What was generated, per ejabberd table. */
export interface BulkSourceCounts {
  users: number;
  rosterusers: number;
  rostergroups: number;
  vcard: number;
  private_storage: number;
  last: number;
  muc_registered: number;
  spool: number;
  archive: number;
  roomMessages: number;
}

/** SCRAM-SHA-1 keys of one password, as ejabberd stores them (base64, 4096 iterations). */
function scramSha1(password: string): { stored: string; server: string; salt: string } {
  const salt = createHash('sha256').update(`salt:${password}`).digest().subarray(0, 16);
  const salted = pbkdf2Sync(password, salt, 4096, 20, 'sha1');
  const clientKey = createHmac('sha1', salted).update('Client Key').digest();
  return {
    stored: createHash('sha1').update(clientKey).digest('base64'),
    server: createHmac('sha1', salted).update('Server Key').digest('base64'),
    salt: salt.toString('base64'),
  };
}

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Loads ejabberd's schema into the (empty) database at `url` and generates the rows. */
export async function seedBulkEjabberd(url: string, size: BulkSourceSize): Promise<BulkSourceCounts> {
  const { messages, users } = size;
  const rooms = size.rooms ?? 10;
  const roomMessages = Math.floor(messages / 20);
  const chatMessages = messages - roomMessages;
  if (users < 4 || chatMessages < users) throw new Error('seedBulkEjabberd: at least 4 users and a message per user');
  await loadPgSchema(url, schemaFile('pg.new.sql'));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const exec = (sql: string): Promise<unknown> => client.query(sql);
  const scram = scramSha1('torture-password');
  const user = (expr: string): string => `'u' || lpad((${expr})::text, 5, '0')`;
  try {
    await exec(`INSERT INTO users (username, server_host, password, serverkey, salt, iterationcount, created_at)
      SELECT ${user('i')}, ${lit(BULK_DOMAIN)}, ${lit(scram.stored)}, ${lit(scram.server)}, ${lit(scram.salt)}, 4096,
             timestamp '2023-01-01 00:00:00' + i * interval '1 minute'
      FROM generate_series(0, ${users - 1}) i`);
    // Three contacts each (the next users), subscriptions and asks in every combination ejabberd writes.
    await exec(`INSERT INTO rosterusers (username, server_host, jid, nick, subscription, ask, askmessage, server, subscribe, type)
      SELECT ${user('i')}, ${lit(BULK_DOMAIN)}, ${user(`(i + k) % ${users}`)} || '@' || ${lit(BULK_DOMAIN)},
             CASE WHEN k = 1 THEN 'Friend ' || i ELSE '' END,
             (ARRAY['B', 'T', 'F', 'N'])[1 + (i + k) % 4], (ARRAY['N', 'N', 'O', 'I'])[1 + (i * k) % 4], '', 'N', '', 'item'
      FROM generate_series(0, ${users - 1}) i, generate_series(1, 3) k`);
    await exec(`INSERT INTO rostergroups (username, server_host, jid, grp)
      SELECT ${user('i')}, ${lit(BULK_DOMAIN)}, ${user(`(i + k) % ${users}`)} || '@' || ${lit(BULK_DOMAIN)}, g
      FROM generate_series(0, ${users - 1}) i, generate_series(1, 2) k, unnest(ARRAY['Friends', 'Fründe ✓']) g
      WHERE (i + k) % 3 <> 0`);
    await exec(`INSERT INTO vcard (username, server_host, vcard)
      SELECT ${user('i')}, ${lit(BULK_DOMAIN)},
             '<vCard xmlns=''vcard-temp''><FN>User ' || i || ' Ünïcødé</FN><NICKNAME>n' || i || '</NICKNAME><EMAIL><USERID>u' || i || '@mail.test</USERID></EMAIL></vCard>'
      FROM generate_series(0, ${users - 1}, 5) i`);
    await exec(`INSERT INTO private_storage (username, server_host, namespace, data)
      SELECT ${user('i')}, ${lit(BULK_DOMAIN)}, 'storage:bookmarks',
             '<storage xmlns=''storage:bookmarks''><conference jid=''room' || (i % ${rooms}) || '@' || ${lit(BULK_MUC)} || ''' autojoin=''true''/></storage>'
      FROM generate_series(0, ${users - 1}, 7) i`);
    await exec(`INSERT INTO last (username, server_host, seconds, state)
      SELECT ${user('i')}, ${lit(BULK_DOMAIN)}, (1690000000 + i * 60)::text, CASE WHEN i % 2 = 0 THEN '' ELSE 'gone fishing ' || i END
      FROM generate_series(0, ${users - 1}, 3) i`);
    // Nicks registered with the MUC service (MongooseIM's muc_registered).
    await exec(`INSERT INTO muc_registered (jid, host, server_host, nick)
      SELECT ${user('i')} || '@' || ${lit(BULK_DOMAIN)}, ${lit(BULK_MUC)}, ${lit(BULK_DOMAIN)}, 'nick' || i
      FROM generate_series(0, ${users - 1}, 4) i`);
    // Offline messages with the <delay from=vhost> ejabberd adds, in seq (delivery) order.
    await exec(`INSERT INTO spool (username, server_host, xml)
      SELECT ${user('i')}, ${lit(BULK_DOMAIN)},
             '<message xmlns=''jabber:client'' from=''' || ${user(`(i + 1) % ${users}`)} || '@' || ${lit(BULK_DOMAIN)} || '/r'' to=''' || ${user('i')} || '@' || ${lit(BULK_DOMAIN)} || ''' type=''chat'' id=''off' || i || '-' || k || '''><body>offline ' || k || ' &lt;&amp;&gt; ü</body><delay xmlns=''urn:xmpp:delay'' from=''' || ${lit(BULK_DOMAIN)} || ''' stamp=''2023-06-0' || k || 'T10:00:00.000000Z''/></message>'
      FROM generate_series(0, ${users - 1}, 10) i, generate_series(1, 2) k
      ORDER BY i, k`);
    // Personal archives: message n belongs to user n % users; three consecutive messages of one archive share
    // a microsecond (ties MongooseIM's ids must break the same way on every run); every other one outgoing.
    await exec(`INSERT INTO archive (username, server_host, timestamp, peer, bare_peer, xml, txt, kind, nick)
      SELECT ${user(`n % ${users}`)}, ${lit(BULK_DOMAIN)}, 1690000000000000 + (n / ${3 * users}) * 1000,
             ${user(`(n + 1) % ${users}`)} || '@' || ${lit(BULK_DOMAIN)} || '/res' || (n % 3),
             ${user(`(n + 1) % ${users}`)} || '@' || ${lit(BULK_DOMAIN)},
             '<message xmlns=''jabber:client'' from=''' ||
               CASE WHEN n % 2 = 0 THEN ${user(`n % ${users}`)} || '@' || ${lit(BULK_DOMAIN)} || '/home'
                    ELSE ${user(`(n + 1) % ${users}`)} || '@' || ${lit(BULK_DOMAIN)} || '/res' || (n % 3) END ||
               ''' to=''' ||
               CASE WHEN n % 2 = 0 THEN ${user(`(n + 1) % ${users}`)} || '@' || ${lit(BULK_DOMAIN)} || '/res' || (n % 3)
                    ELSE ${user(`n % ${users}`)} || '@' || ${lit(BULK_DOMAIN)} || '/home' END ||
               ''' type=''chat'' id=''m' || n || '''><body>message ' || n || ' — grüße &lt;b&gt; &amp; 🙂 ' || repeat('x', n % 97) || '</body>' ||
               CASE WHEN n % 4 = 0 THEN '<origin-id xmlns=''urn:xmpp:sid:0'' id=''o' || n || '''/>' ELSE '' END || '</message>',
             'message ' || n, 'chat', ''
      FROM generate_series(0, ${chatMessages - 1}) n`);
    // Room archives: username is the room's bare JID, peer the sender's real JID, nick the occupant's nick.
    if (roomMessages > 0) {
      await exec(`INSERT INTO archive (username, server_host, timestamp, peer, bare_peer, xml, txt, kind, nick)
        SELECT 'room' || (n % ${rooms}) || '@' || ${lit(BULK_MUC)}, ${lit(BULK_DOMAIN)}, 1690000000000000 + (n / ${2 * rooms}) * 1000,
               ${user(`n % ${users}`)} || '@' || ${lit(BULK_DOMAIN)} || '/r', ${user(`n % ${users}`)} || '@' || ${lit(BULK_DOMAIN)},
               '<message xmlns=''jabber:client'' from=''' || ${user(`n % ${users}`)} || '@' || ${lit(BULK_DOMAIN)} || '/r'' to=''room' || (n % ${rooms}) || '@' || ${lit(BULK_MUC)} || ''' type=''groupchat'' id=''g' || n || '''><body>room message ' || n || ' ñ</body></message>',
               'room message ' || n, 'groupchat', 'nick' || (n % ${users})
        FROM generate_series(0, ${roomMessages - 1}) n`);
    }
    await exec('ANALYZE');
    const count = async (table: string): Promise<number> => Number((await client.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n);
    return {
      users: await count('users'),
      rosterusers: await count('rosterusers'),
      rostergroups: await count('rostergroups'),
      vcard: await count('vcard'),
      private_storage: await count('private_storage'),
      last: await count('last'),
      muc_registered: await count('muc_registered'),
      spool: await count('spool'),
      archive: await count('archive'),
      roomMessages,
    };
  } finally {
    await client.end();
  }
}
