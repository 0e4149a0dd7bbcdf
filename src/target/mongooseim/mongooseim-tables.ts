// The MongooseIM tables the writer fills and how: the columns it supplies, the key that makes a row "already
// present", which values are bytes. Data only, the same for every dialect (storage-facts §1).
import type { RecordKind } from '../../records.js';

export interface TableSpec {
  /** The real table; its staging table is `xm_stage_<name>`. */
  name: string;
  /** Columns supplied, in staging and insert order. */
  columns: string[];
  /** Columns identifying a row: a row whose key is present is "already present", never written twice. */
  key: string[];
  /** Columns whose staged value may be NULL and then take the database's current time. */
  nowIfNull?: string[];
  /** Columns whose values are bytes (Buffer), not text: bulk formats encode them differently. */
  binary?: string[];
  /** The record kind whose main row lives here. */
  mainOf?: RecordKind;
  /**
   * The table numbers its rows itself (a serial id) and readers rely on that order (offline messages with
   * equal timestamps are delivered by id): rows are inserted in batch order, carried in a staging column.
   */
  serialOrder?: boolean;
  /**
   * MAM tables: ids are unique per archive by construction, so the primary key (owner, id) alone decides;
   * a different message already at an id moves to the next free µs. Names the owner column.
   */
  mamOwner?: 'user_id' | 'room_id';
}

const spec = (s: TableSpec): TableSpec => s;

/** Every table the writer stages, in write order (one transaction covers them all). */
export const WRITER_TABLES: readonly TableSpec[] = [
  spec({ name: 'users', columns: ['username', 'server', 'password', 'pass_details', 'created_at'], key: ['server', 'username'], nowIfNull: ['created_at'], mainOf: 'account' }),
  spec({ name: 'rosterusers', columns: ['server', 'username', 'jid', 'nick', 'subscription', 'ask', 'askmessage'], key: ['server', 'username', 'jid'], mainOf: 'roster-item' }),
  spec({ name: 'rostergroups', columns: ['server', 'username', 'jid', 'grp'], key: ['server', 'username', 'jid', 'grp'] }),
  spec({ name: 'vcard', columns: ['username', 'server', 'vcard'], key: ['server', 'username'], mainOf: 'vcard' }),
  spec({
    name: 'vcard_search',
    columns: ['username', 'lusername', 'server', 'fn', 'lfn', 'family', 'lfamily', 'given', 'lgiven', 'middle', 'lmiddle', 'nickname', 'lnickname', 'bday', 'lbday', 'ctry', 'lctry', 'locality', 'llocality', 'email', 'lemail', 'orgname', 'lorgname', 'orgunit', 'lorgunit'],
    key: ['server', 'lusername'],
  }),
  spec({ name: 'private_storage', columns: ['server', 'username', 'namespace', 'data'], key: ['server', 'username', 'namespace'], mainOf: 'private-xml' }),
  spec({ name: 'offline_message', columns: ['timestamp', 'expire', 'server', 'username', 'from_jid', 'packet', 'permanent_fields'], key: ['server', 'username', 'timestamp', 'from_jid', 'packet'], binary: ['permanent_fields'], mainOf: 'offline-message', serialOrder: true }),
  spec({ name: 'mam_message', columns: ['id', 'user_id', 'from_jid', 'remote_bare_jid', 'remote_resource', 'direction', 'message', 'search_body', 'origin_id', 'is_groupchat'], key: ['user_id', 'id'], binary: ['message'], mainOf: 'archived-message', mamOwner: 'user_id' }),
  spec({ name: 'mam_muc_message', columns: ['id', 'room_id', 'sender_id', 'nick_name', 'message', 'search_body', 'origin_id'], key: ['room_id', 'id'], binary: ['message'], mainOf: 'archived-message', mamOwner: 'room_id' }),
];

export const WRITER_TABLE: Readonly<Record<string, TableSpec>> = Object.fromEntries(WRITER_TABLES.map((t) => [t.name, t]));

export const stagingName = (table: string): string => `xm_stage_${table}`;

/** The staging column holding a row's position in its batch (tables with `serialOrder`). */
export const STAGING_ORDER = 'xm_seq';

/** The columns of a table's staging table: its own, then the batch position where order matters. */
export function stagingColumns(spec: TableSpec): string[] {
  return spec.serialOrder ? [...spec.columns, STAGING_ORDER] : spec.columns;
}
