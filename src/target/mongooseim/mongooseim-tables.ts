// The MongooseIM tables the writer fills and how: the columns it supplies, the key that makes a row "already
// present", which values are bytes. Data only, the same for every dialect (storage-facts §1).
import { BLOCKING_LIST } from '../../encoding/privacy-list.js';
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
  /**
   * How a delta run (`run --delta`) brings present rows up to the source's current state. 'update': a row
   * whose key is present gets the staged values of its other columns (not `nowIfNull` ones left NULL).
   * `{ replaceSetBy }`: the rows sharing those columns with a staged row are replaced by the staged set (the
   * groups of one roster item). A set must come from one record (its rows share a batch): a set spread over
   * records could be split across batches, and the second batch would delete what the first wrote.
   * Absent: present rows are kept as they are (archives, offline messages).
   */
  refresh?: 'update' | { replaceSetBy: string[] };
  /**
   * The table numbers its rows with this serial column, which other tables refer to (privacy_list.id,
   * muc_rooms.id). The writer never supplies it: inside the batch's transaction it looks up which keys are
   * present, inserts the missing rows, then reads the ids by key. Committed ids never change; a rolled-back
   * batch only leaves a gap in the sequence. Main rows may name their kind in `mainKind` (lists and
   * blocklists share privacy_list); otherwise `mainOf` counts them.
   */
  serialId?: string;
  /**
   * The rows refer to a `serialId` row written earlier in the same batch: `column` takes the id of the
   * `table` row whose key (in that table's key order) the row carries in its `via` property.
   */
  parent?: { table: string; column: string; via: string };
  /**
   * Among rows of one key, the one whose `column` holds `value` wins: over the rows before it in the batch,
   * and over a present row (which takes its values). Others never replace it. The blocklist as the default
   * privacy list, whichever record comes first (src/encoding/privacy-list.ts, BLOCKLIST_DEFAULT_RULE).
   */
  prefer?: { column: string; value: string };
}

const spec = (s: TableSpec): TableSpec => s;

/** Every table the writer stages, in write order (one transaction covers them all). */
export const WRITER_TABLES: readonly TableSpec[] = [
  spec({ name: 'users', columns: ['username', 'server', 'password', 'pass_details', 'created_at'], key: ['server', 'username'], nowIfNull: ['created_at'], mainOf: 'account', refresh: 'update' }),
  spec({ name: 'rosterusers', columns: ['server', 'username', 'jid', 'nick', 'subscription', 'ask', 'askmessage'], key: ['server', 'username', 'jid'], mainOf: 'roster-item', refresh: 'update' }),
  spec({ name: 'rostergroups', columns: ['server', 'username', 'jid', 'grp'], key: ['server', 'username', 'jid', 'grp'], refresh: { replaceSetBy: ['server', 'username', 'jid'] } }),
  spec({ name: 'vcard', columns: ['username', 'server', 'vcard'], key: ['server', 'username'], mainOf: 'vcard', refresh: 'update' }),
  spec({
    name: 'vcard_search',
    columns: ['username', 'lusername', 'server', 'fn', 'lfn', 'family', 'lfamily', 'given', 'lgiven', 'middle', 'lmiddle', 'nickname', 'lnickname', 'bday', 'lbday', 'ctry', 'lctry', 'locality', 'llocality', 'email', 'lemail', 'orgname', 'lorgname', 'orgunit', 'lorgunit'],
    key: ['server', 'lusername'],
    refresh: 'update',
  }),
  spec({ name: 'private_storage', columns: ['server', 'username', 'namespace', 'data'], key: ['server', 'username', 'namespace'], mainOf: 'private-xml', refresh: 'update' }),
  spec({ name: 'last', columns: ['server', 'username', 'seconds', 'state'], key: ['server', 'username'], mainOf: 'last-activity', refresh: 'update' }),
  // Lists before their items and the default-list row (a record's rows come in this order too). A list row
  // has nothing but its key to refresh; its items are replaced as a set.
  spec({ name: 'privacy_list', columns: ['server', 'username', 'name'], key: ['server', 'username', 'name'], mainOf: 'privacy-list', serialId: 'id' }),
  spec({
    name: 'privacy_list_data',
    columns: ['id', 't', 'value', 'action', 'ord', 'match_all', 'match_iq', 'match_message', 'match_presence_in', 'match_presence_out'],
    key: ['id', 'ord'],
    parent: { table: 'privacy_list', column: 'id', via: 'list' },
    refresh: { replaceSetBy: ['id'] },
  }),
  spec({ name: 'privacy_default_list', columns: ['server', 'username', 'name'], key: ['server', 'username'], prefer: { column: 'name', value: BLOCKING_LIST }, refresh: 'update' }),
  spec({ name: 'muc_rooms', columns: ['muc_host', 'room_name', 'options'], key: ['muc_host', 'room_name'], mainOf: 'muc-room', serialId: 'id', refresh: 'update' }),
  // No key in MongooseIM (store_room deletes and re-inserts a room's set): one row per affiliated JID here.
  spec({ name: 'muc_room_aff', columns: ['room_id', 'luser', 'lserver', 'resource', 'aff'], key: ['room_id', 'luser', 'lserver', 'resource'], parent: { table: 'muc_rooms', column: 'room_id', via: 'room' }, refresh: { replaceSetBy: ['room_id'] } }),
  spec({ name: 'muc_registered', columns: ['muc_host', 'luser', 'lserver', 'nick'], key: ['muc_host', 'luser', 'lserver'], mainOf: 'muc-registration', refresh: 'update' }),
  // PEP (MongooseIM ≥ 6.8.0 mod_pubsub): the node before its items (foreign key); a present node keeps its
  // configuration, a present item takes the source's current payload on a delta run.
  spec({ name: 'pubsub_node', columns: ['service_domain', 'service_user', 'node_id', 'access_model', 'max_items'], key: ['service_domain', 'service_user', 'node_id'] }),
  spec({
    name: 'pubsub_item',
    columns: ['service_domain', 'service_user', 'node_id', 'item_id', 'publisher_domain', 'publisher_user', 'publisher_resource', 'payload', 'published_at'],
    key: ['service_domain', 'service_user', 'node_id', 'item_id'],
    mainOf: 'pep-item',
    refresh: 'update',
  }),
  spec({ name: 'offline_message', columns: ['timestamp', 'expire', 'server', 'username', 'from_jid', 'packet', 'permanent_fields'], key: ['server', 'username', 'timestamp', 'from_jid', 'packet'], binary: ['permanent_fields'], mainOf: 'offline-message', serialOrder: true }),
  spec({ name: 'mam_message', columns: ['id', 'user_id', 'from_jid', 'remote_bare_jid', 'remote_resource', 'direction', 'message', 'search_body', 'origin_id', 'is_groupchat'], key: ['user_id', 'id'], binary: ['message'], mainOf: 'archived-message', mamOwner: 'user_id' }),
  spec({ name: 'mam_muc_message', columns: ['id', 'room_id', 'sender_id', 'nick_name', 'message', 'search_body', 'origin_id'], key: ['room_id', 'id'], binary: ['message'], mainOf: 'archived-message', mamOwner: 'room_id' }),
];

/**
 * The tool's own table of archived-message fingerprints (`--merge-archives`), staged like a writer table:
 * which archive (`tbl` 'u' personal, 'r' room; `owner` its mam_server_user id), the MAM id, the fingerprint
 * (src/encoding/archive-fingerprint.ts), and the migration that wrote it.
 */
export const FINGERPRINT_TABLE: TableSpec = { name: 'xmpp_migrate_fingerprints', columns: ['tbl', 'owner', 'id', 'fp', 'migration'], key: ['tbl', 'owner', 'fp', 'id', 'migration'] };

export const WRITER_TABLE: Readonly<Record<string, TableSpec>> = Object.fromEntries(WRITER_TABLES.map((t) => [t.name, t]));

export const stagingName = (table: string): string => `xm_stage_${table}`;

/** The staging column holding a row's position in its batch (tables with `serialOrder`). */
export const STAGING_ORDER = 'xm_seq';

/** The columns of a table's staging table: its own, then the batch position where order matters. */
export function stagingColumns(spec: TableSpec): string[] {
  return spec.serialOrder ? [...spec.columns, STAGING_ORDER] : spec.columns;
}
