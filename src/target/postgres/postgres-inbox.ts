// The inbox rebuild's SQL on PostgreSQL and PGlite (contract: src/target/mongooseim/inbox-rebuild.ts).
import type { SqlSession } from '../sql-database.js';
import type { InboxOwner, InboxRow, InboxSql, PresentInboxRow, StoredOfflineMessage, StoredPmMessage } from '../mongooseim/inbox-rebuild.js';

const PM_COLUMNS = `m.user_id::text AS "archiveId", m.remote_bare_jid AS "remoteBareJid", m.id::text AS id, m.direction,
  m.from_jid AS "fromJid", m.remote_resource AS "remoteResource", m.message`;

export class PostgresInboxSql implements InboxSql {
  readonly maxContentBytes = undefined;

  constructor(private readonly db: SqlSession) {}

  async owners(after: [string, string] | undefined, limit: number): Promise<InboxOwner[]> {
    const { rows } = await this.db.query<InboxOwner>(
      `SELECT u.server, u.username, m.id::text AS "archiveId"
       FROM users u LEFT JOIN mam_server_user m ON m.server = u.server AND m.user_name = u.username
       ${after ? 'WHERE (u.server, u.username) > ($2, $3)' : ''}
       ORDER BY u.server, u.username LIMIT $1`,
      after ? [limit, after[0], after[1]] : [limit],
    );
    return rows;
  }

  async lastMessages(archiveIds: string[]): Promise<StoredPmMessage[]> {
    const { rows } = await this.db.query<StoredPmMessage>(
      `SELECT ${PM_COLUMNS} FROM mam_message m
       JOIN (SELECT user_id, max(id) AS id FROM mam_message WHERE user_id = ANY($1::bigint[]) AND NOT is_groupchat GROUP BY user_id, remote_bare_jid) l
         ON m.user_id = l.user_id AND m.id = l.id`,
      [archiveIds],
    );
    return rows;
  }

  async lastOutgoing(archiveIds: string[]): Promise<Array<{ archiveId: string; remoteBareJid: string; id: string }>> {
    const { rows } = await this.db.query<{ archiveId: string; remoteBareJid: string; id: string }>(
      `SELECT user_id::text AS "archiveId", remote_bare_jid AS "remoteBareJid", max(id)::text AS id FROM mam_message
       WHERE user_id = ANY($1::bigint[]) AND NOT is_groupchat AND direction = 'O' GROUP BY user_id, remote_bare_jid`,
      [archiveIds],
    );
    return rows;
  }

  async messagesBefore(archiveId: string, remoteBareJid: string, beforeId: string, limit: number): Promise<StoredPmMessage[]> {
    const { rows } = await this.db.query<StoredPmMessage>(
      `SELECT ${PM_COLUMNS} FROM mam_message m
       WHERE m.user_id = $1 AND m.remote_bare_jid = $2 AND m.id < $3 AND NOT m.is_groupchat ORDER BY m.id DESC LIMIT $4`,
      [archiveId, remoteBareJid, beforeId, limit],
    );
    return rows;
  }

  async offlineMessages(owners: Array<[string, string]>): Promise<StoredOfflineMessage[]> {
    const { rows } = await this.db.query<StoredOfflineMessage>(
      `SELECT o.server, o.username, o.from_jid AS "fromJid", o.timestamp::text AS timestamp, o.packet
       FROM offline_message o JOIN unnest($1::text[], $2::text[]) AS w(server, username) ON o.server = w.server AND o.username = w.username`,
      [owners.map((o) => o[0]), owners.map((o) => o[1])],
    );
    return rows;
  }

  async presentEntries(owners: Array<[string, string]>): Promise<PresentInboxRow[]> {
    const { rows } = await this.db.query<PresentInboxRow>(
      `SELECT i.lserver, i.luser, i.remote_bare_jid AS "remoteBareJid", i.msg_id AS "msgId", i.content,
              i.timestamp::text AS timestamp, i.unread_count AS "unreadCount"
       FROM inbox i JOIN unnest($1::text[], $2::text[]) AS w(server, username) ON i.lserver = w.server AND i.luser = w.username`,
      [owners.map((o) => o[0]), owners.map((o) => o[1])],
    );
    return rows;
  }

  async insert(rows: InboxRow[]): Promise<number> {
    const { rowCount } = await this.db.query(
      `INSERT INTO inbox (luser, lserver, remote_bare_jid, msg_id, box, content, timestamp, muted_until, unread_count)
       SELECT luser, lserver, remote_bare_jid, msg_id, 'inbox', decode(content, 'hex'), timestamp, 0, unread_count
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::int[])
         AS r(luser, lserver, remote_bare_jid, msg_id, content, timestamp, unread_count)
       ON CONFLICT DO NOTHING`,
      [
        rows.map((r) => r.luser),
        rows.map((r) => r.lserver),
        rows.map((r) => r.remoteBareJid),
        rows.map((r) => r.msgId),
        // as hex text: PGlite and pg agree on text arrays, not on arrays of bytes
        rows.map((r) => r.content.toString('hex')),
        rows.map((r) => r.timestamp.toString()),
        rows.map((r) => r.unreadCount),
      ],
    );
    return rowCount;
  }

  async update(row: InboxRow): Promise<number> {
    const { rowCount } = await this.db.query(
      `UPDATE inbox SET msg_id = $4, content = $5, unread_count = $7,
         box = CASE WHEN box = 'archive' AND timestamp < $6 THEN 'inbox' ELSE box END, timestamp = $6
       WHERE lserver = $1 AND luser = $2 AND remote_bare_jid = $3 AND timestamp <= $6`,
      [row.lserver, row.luser, row.remoteBareJid, row.msgId, row.content, row.timestamp.toString(), row.unreadCount],
    );
    return rowCount;
  }
}
