// Every MongooseIM row a migration wrote, in a form two databases can be compared by: archive owners as
// (server, user_name) instead of serial ids, offline messages in each recipient's id (delivery) order
// without the id, bytes as
// lower-case hex, ids and µs as decimal text, booleans as true/false. created_at columns default to now()
// and are left out. PostgreSQL and MySQL/MariaDB give the same JSON lines for the same data (the MySQL
// client, src/target/mysql/mysql-database.ts, returns booleans and VARBINARY text as `pg` does).
interface Queryable {
  query(sql: string): Promise<{ rows: unknown[] }>;
}

export type DumpFlavour = 'postgres' | 'mysql';

const VCARD_SEARCH = `SELECT username, lusername, server, fn, lfn, family, lfamily, given, lgiven, middle, lmiddle, nickname, lnickname,
                             bday, lbday, ctry, lctry, locality, llocality, email, lemail, orgname, lorgname, orgunit, lorgunit FROM vcard_search`;

/** The query of each MongooseIM table the writer fills (see the header for the row form). */
export const QUERIES: Record<DumpFlavour, Record<string, string>> = {
  postgres: {
    users: `SELECT username, server, password, pass_details FROM users`,
    rosterusers: `SELECT server, username, jid, nick, subscription, ask, askmessage FROM rosterusers`,
    rostergroups: `SELECT server, username, jid, grp FROM rostergroups`,
    vcard: `SELECT username, server, vcard FROM vcard`,
    vcard_search: VCARD_SEARCH,
    private_storage: `SELECT server, username, namespace, data FROM private_storage`,
    offline_message: `SELECT timestamp::text, expire::text, server, username, from_jid, packet, encode(permanent_fields, 'hex') AS permanent_fields FROM offline_message ORDER BY server, username, id`,
    mam_message: `SELECT m.id::text, u.server, u.user_name, m.from_jid, m.remote_bare_jid, m.remote_resource, m.direction::text, encode(m.message, 'hex') AS message, m.search_body, m.origin_id, m.is_groupchat
                  FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id`,
    mam_muc_message: `SELECT m.id::text, r.server, r.user_name, s.server AS sender_server, s.user_name AS sender, m.nick_name, encode(m.message, 'hex') AS message, m.search_body, m.origin_id
                      FROM mam_muc_message m JOIN mam_server_user r ON r.id = m.room_id JOIN mam_server_user s ON s.id = m.sender_id`,
  },
  mysql: {
    users: `SELECT username, server, password, pass_details FROM users`,
    rosterusers: `SELECT server, username, jid, nick, subscription, ask, askmessage FROM rosterusers`,
    rostergroups: `SELECT server, username, jid, grp FROM rostergroups`,
    vcard: `SELECT username, server, vcard FROM vcard`,
    vcard_search: VCARD_SEARCH,
    private_storage: `SELECT server, username, namespace, data FROM private_storage`,
    // packet is a MEDIUMBLOB holding the XML text as UTF-8.
    offline_message: `SELECT CAST(timestamp AS CHAR) AS timestamp, CAST(expire AS CHAR) AS expire, server, username, from_jid, CONVERT(packet USING utf8mb4) AS packet, LOWER(HEX(permanent_fields)) AS permanent_fields FROM offline_message ORDER BY server, username, id`,
    mam_message: `SELECT CAST(m.id AS CHAR) AS id, u.server, u.user_name, m.from_jid, m.remote_bare_jid, m.remote_resource, m.direction, LOWER(HEX(m.message)) AS message, m.search_body, m.origin_id, m.is_groupchat
                  FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id`,
    mam_muc_message: `SELECT CAST(m.id AS CHAR) AS id, r.server, r.user_name, s.server AS sender_server, s.user_name AS sender, m.nick_name, LOWER(HEX(m.message)) AS message, m.search_body, m.origin_id
                      FROM mam_muc_message m JOIN mam_server_user r ON r.id = m.room_id JOIN mam_server_user s ON s.id = m.sender_id`,
  },
};

/** Table → rows as JSON strings; sorted, except offline messages whose order is their delivery order. */
export async function dumpMongooseim(db: Queryable, flavour: DumpFlavour = 'postgres'): Promise<Record<string, string[]>> {
  const dump: Record<string, string[]> = {};
  for (const [table, sql] of Object.entries(QUERIES[flavour])) {
    const { rows } = await db.query(sql);
    const lines = (rows as Array<Record<string, unknown>>).map((row) => JSON.stringify(row));
    dump[table] = table === 'offline_message' ? lines : lines.sort();
  }
  return dump;
}
