// The inbox rebuild's SQL on MySQL and MariaDB (contract: src/target/mongooseim/inbox-rebuild.ts). inbox.content
// is a BLOB there: 65535 bytes at most.
import type { SqlSession } from '../sql-database.js';
import type { InboxOwner, InboxRow, InboxSql, PresentInboxRow, StoredOfflineMessage, StoredPmMessage } from '../mongooseim/inbox-rebuild.js';

const PM_COLUMNS = `CAST(m.user_id AS CHAR) AS archiveId, m.remote_bare_jid AS remoteBareJid, CAST(m.id AS CHAR) AS id, m.direction,
  m.from_jid AS fromJid, m.remote_resource AS remoteResource, m.message`;

const MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

const marks = (n: number, each: string): string => Array.from({ length: n }, () => each).join(', ');

export class MysqlInboxSql implements InboxSql {
  readonly maxContentBytes = 65_535;

  constructor(private readonly db: SqlSession) {}

  async owners(after: [string, string] | undefined, limit: number): Promise<InboxOwner[]> {
    const { rows } = await this.db.query<InboxOwner>(
      `SELECT u.server, u.username, CAST(m.id AS CHAR) AS archiveId
       FROM users u LEFT JOIN mam_server_user m ON m.server = u.server AND m.user_name = u.username
       ${after ? 'WHERE u.server > ? OR (u.server = ? AND u.username > ?)' : ''}
       ORDER BY u.server, u.username LIMIT ?`,
      after ? [after[0], after[0], after[1], limit] : [limit],
    );
    return rows;
  }

  async lastMessages(archiveIds: string[]): Promise<StoredPmMessage[]> {
    const { rows } = await this.db.query<StoredPmMessage>(
      `SELECT ${PM_COLUMNS} FROM mam_message m
       JOIN (SELECT user_id, MAX(id) AS id FROM mam_message WHERE user_id IN (${marks(archiveIds.length, '?')}) AND is_groupchat = 0
             GROUP BY user_id, remote_bare_jid) l
         ON m.user_id = l.user_id AND m.id = l.id`,
      archiveIds,
    );
    return rows;
  }

  async lastOutgoing(archiveIds: string[]): Promise<Array<{ archiveId: string; remoteBareJid: string; id: string }>> {
    const { rows } = await this.db.query<{ archiveId: string; remoteBareJid: string; id: string }>(
      `SELECT CAST(user_id AS CHAR) AS archiveId, remote_bare_jid AS remoteBareJid, CAST(MAX(id) AS CHAR) AS id FROM mam_message
       WHERE user_id IN (${marks(archiveIds.length, '?')}) AND is_groupchat = 0 AND direction = 'O' GROUP BY user_id, remote_bare_jid`,
      archiveIds,
    );
    return rows;
  }

  async messagesBefore(archiveId: string, remoteBareJid: string, beforeId: string, limit: number): Promise<StoredPmMessage[]> {
    const { rows } = await this.db.query<StoredPmMessage>(
      `SELECT ${PM_COLUMNS} FROM mam_message m
       WHERE m.user_id = ? AND m.remote_bare_jid = ? AND m.id < ? AND m.is_groupchat = 0 ORDER BY m.id DESC LIMIT ?`,
      [archiveId, remoteBareJid, beforeId, limit],
    );
    return rows;
  }

  async offlineMessages(owners: Array<[string, string]>): Promise<StoredOfflineMessage[]> {
    const { rows } = await this.db.query<StoredOfflineMessage>(
      `SELECT server, username, from_jid AS fromJid, CAST(timestamp AS CHAR) AS timestamp, packet
       FROM offline_message WHERE (server, username) IN (${marks(owners.length, '(?, ?)')})`,
      owners.flat(),
    );
    return rows.map((r) => ({ ...r, packet: Buffer.isBuffer(r.packet) ? (r.packet as Buffer).toString('utf8') : r.packet }));
  }

  async presentEntries(owners: Array<[string, string]>): Promise<PresentInboxRow[]> {
    const { rows } = await this.db.query<PresentInboxRow>(
      `SELECT lserver, luser, remote_bare_jid AS remoteBareJid, msg_id AS msgId, content,
              CAST(timestamp AS CHAR) AS timestamp, unread_count AS unreadCount
       FROM inbox WHERE (lserver, luser) IN (${marks(owners.length, '(?, ?)')})`,
      owners.flat(),
    );
    return rows;
  }

  async insert(rows: InboxRow[]): Promise<number> {
    // Statements kept well under max_allowed_packet (MySQL and MariaDB default to 16 MiB or more); a present
    // key is a no-op update (counted 0), so a value that does not fit still fails in the strict session.
    let inserted = 0;
    for (let start = 0; start < rows.length; ) {
      let end = start;
      let bytes = 0;
      while (end < rows.length && (end === start || bytes + rows[end]!.content.length < MAX_STATEMENT_BYTES)) bytes += rows[end++]!.content.length + 512;
      const part = rows.slice(start, end);
      const { rowCount } = await this.db.query(
        `INSERT INTO inbox (luser, lserver, remote_bare_jid, msg_id, box, content, timestamp, muted_until, unread_count)
         VALUES ${marks(part.length, "(?, ?, ?, ?, 'inbox', ?, ?, 0, ?)")}
         ON DUPLICATE KEY UPDATE luser = luser`,
        part.flatMap((r) => [r.luser, r.lserver, r.remoteBareJid, r.msgId, r.content, r.timestamp.toString(), r.unreadCount]),
      );
      inserted += rowCount;
      start = end;
    }
    return inserted;
  }

  async update(row: InboxRow): Promise<number> {
    // MySQL assigns left to right with the new values: box is decided before timestamp changes.
    const { rowCount } = await this.db.query(
      `UPDATE inbox SET msg_id = ?, content = ?, unread_count = ?,
         box = CASE WHEN box = 'archive' AND timestamp < ? THEN 'inbox' ELSE box END, timestamp = ?
       WHERE lserver = ? AND luser = ? AND remote_bare_jid = ? AND timestamp <= ?`,
      [row.msgId, row.content, row.unreadCount, row.timestamp.toString(), row.timestamp.toString(), row.lserver, row.luser, row.remoteBareJid, row.timestamp.toString()],
    );
    return rowCount;
  }
}
