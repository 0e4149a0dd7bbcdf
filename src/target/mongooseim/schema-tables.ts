// The MongooseIM 6.8 tables xmpp-migrate creates and checks, and the columns it needs in each: the same
// list for every dialect (storage-facts §1). The DDL per dialect is in schema-pg.ts and schema-mysql.ts.

/** Every table this module creates and checks. */
export type MongooseImTable =
  | 'users'
  | 'last'
  | 'rosterusers'
  | 'rostergroups'
  | 'roster_version'
  | 'vcard'
  | 'vcard_search'
  | 'privacy_default_list'
  | 'privacy_list'
  | 'privacy_list_data'
  | 'private_storage'
  | 'mam_server_user'
  | 'mam_message'
  | 'mam_muc_message'
  | 'mam_config'
  | 'offline_message'
  | 'muc_rooms'
  | 'muc_room_aff'
  | 'muc_registered'
  | 'inbox'
  | 'domain_settings'
  | 'domain_events'
  | 'pubsub_node'
  | 'pubsub_item'
  | 'pubsub_subscription';

export const VCARD_SEARCH_FIELDS = [
  'fn', 'family', 'given', 'middle', 'nickname', 'bday', 'ctry', 'locality', 'email', 'orgname', 'orgunit',
] as const;

/**
 * The columns the writer inserts into or reads back, per table. Columns it leaves to their defaults
 * (`created_at` except in `users`, serial ids it never supplies) are not required, so an older but
 * compatible schema passes.
 */
export const REQUIRED_COLUMNS: Record<MongooseImTable, string[]> = {
  users: ['username', 'server', 'password', 'pass_details', 'created_at'],
  last: ['server', 'username', 'seconds', 'state'],
  rosterusers: ['server', 'username', 'jid', 'nick', 'subscription', 'ask', 'askmessage'],
  rostergroups: ['server', 'username', 'jid', 'grp'],
  roster_version: ['server', 'username', 'version'],
  vcard: ['username', 'server', 'vcard'],
  vcard_search: ['username', 'lusername', 'server', ...VCARD_SEARCH_FIELDS.flatMap((f) => [f, `l${f}`])],
  privacy_default_list: ['server', 'username', 'name'],
  privacy_list: ['server', 'username', 'name', 'id'],
  privacy_list_data: [
    'id', 't', 'value', 'action', 'ord',
    'match_all', 'match_iq', 'match_message', 'match_presence_in', 'match_presence_out',
  ],
  private_storage: ['server', 'username', 'namespace', 'data'],
  mam_server_user: ['id', 'server', 'user_name'],
  mam_message: [
    'id', 'user_id', 'from_jid', 'remote_bare_jid', 'remote_resource',
    'direction', 'message', 'search_body', 'origin_id', 'is_groupchat',
  ],
  mam_muc_message: ['id', 'room_id', 'sender_id', 'nick_name', 'message', 'search_body', 'origin_id'],
  mam_config: ['user_id', 'remote_jid', 'behaviour'],
  offline_message: ['timestamp', 'expire', 'server', 'username', 'from_jid', 'packet', 'permanent_fields'],
  muc_rooms: ['id', 'muc_host', 'room_name', 'options'],
  muc_room_aff: ['room_id', 'luser', 'lserver', 'resource', 'aff'],
  muc_registered: ['muc_host', 'luser', 'lserver', 'nick'],
  inbox: [
    'luser', 'lserver', 'remote_bare_jid', 'msg_id', 'box', 'content', 'timestamp', 'muted_until', 'unread_count',
  ],
  domain_settings: ['domain', 'host_type', 'status'],
  domain_events: ['domain'],
  pubsub_node: ['service_domain', 'service_user', 'node_id', 'access_model', 'max_items'],
  pubsub_item: [
    'service_domain', 'service_user', 'node_id', 'item_id',
    'publisher_domain', 'publisher_user', 'publisher_resource', 'payload', 'published_at',
  ],
  pubsub_subscription: [
    'service_domain', 'service_user', 'node_id', 'subscriber_domain', 'subscriber_user', 'subscriber_resource',
  ],
};

/**
 * What of `tables` is missing, given the (table, column) pairs information_schema lists: the comparison both
 * dialects' schema checks share (only the catalogue query differs).
 */
export function missingFromCatalogue(
  tables: readonly MongooseImTable[],
  columns: ReadonlyArray<{ table_name: string; column_name: string }>,
): { missingTables: string[]; missingColumns: Array<{ table: string; column: string }> } {
  const present = new Set(columns.map((c) => `${c.table_name}.${c.column_name}`));
  const presentTables = new Set(columns.map((c) => c.table_name));
  const report: { missingTables: string[]; missingColumns: Array<{ table: string; column: string }> } = { missingTables: [], missingColumns: [] };
  for (const table of tables) {
    if (!presentTables.has(table)) {
      report.missingTables.push(table);
      continue;
    }
    for (const column of REQUIRED_COLUMNS[table]) {
      if (!present.has(`${table}.${column}`)) report.missingColumns.push({ table, column });
    }
  }
  return report;
}
