// Our MongooseIM 6.8 PostgreSQL DDL, loaded into a real PostgreSQL 15 and into PGlite, compared fact by fact
// with esl/MongooseIM: priv/pg.sql @ 6.8.0 and shared/docs/storage-facts.md §1 (tables below written from
// those, not from our DDL), and the schema check run against complete and broken schemas.
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MONGOOSEIM_PG_DDL,
  REQUIRED_COLUMNS,
  checkPgSchema,
  createPgSchema,
  type MongooseImTable,
} from '../../src/target/mongooseim/schema-pg.js';
import type { SqlQueryable } from '../../src/target/sql-queryable.js';
import { freshPostgresDatabase } from '../support/databases.js';
import { isSelected, type DialectName } from './target-dialects.js';

type Nullable = 'NULL' | 'NOT NULL';
/** [table, column, type, null, default]: `serial`/`bigserial` stand for the integer type + its sequence. */
type ColumnFact = [string, string, string, Nullable, (string | null)?];

const NOW = 'now()';
const vcardSearchFields = ['fn', 'family', 'given', 'middle', 'nickname', 'bday', 'ctry', 'locality', 'email', 'orgname', 'orgunit'];

const COLUMN_FACTS: ColumnFact[] = [
  ['users', 'username', 'varchar(250)', 'NOT NULL'],
  ['users', 'server', 'varchar(250)', 'NOT NULL'],
  ['users', 'password', 'text', 'NOT NULL'],
  ['users', 'pass_details', 'text', 'NULL'],
  ['users', 'created_at', 'timestamp', 'NOT NULL', NOW],

  ['last', 'server', 'varchar(250)', 'NOT NULL'],
  ['last', 'username', 'varchar(250)', 'NOT NULL'],
  ['last', 'seconds', 'integer', 'NOT NULL'],
  ['last', 'state', 'text', 'NOT NULL'],

  ['rosterusers', 'server', 'varchar(250)', 'NOT NULL'],
  ['rosterusers', 'username', 'varchar(250)', 'NOT NULL'],
  ['rosterusers', 'jid', 'text', 'NOT NULL'],
  ['rosterusers', 'nick', 'text', 'NOT NULL'],
  ['rosterusers', 'subscription', 'char(1)', 'NOT NULL'],
  ['rosterusers', 'ask', 'char(1)', 'NOT NULL'],
  ['rosterusers', 'askmessage', 'text', 'NOT NULL'],
  ['rosterusers', 'created_at', 'timestamp', 'NOT NULL', NOW],
  ['rostergroups', 'server', 'varchar(250)', 'NOT NULL'],
  ['rostergroups', 'username', 'varchar(250)', 'NOT NULL'],
  ['rostergroups', 'jid', 'text', 'NOT NULL'],
  ['rostergroups', 'grp', 'text', 'NOT NULL'],
  ['roster_version', 'server', 'varchar(250)', 'NOT NULL'],
  ['roster_version', 'username', 'varchar(250)', 'NOT NULL'],
  ['roster_version', 'version', 'text', 'NOT NULL'],

  ['vcard', 'username', 'varchar(150)', 'NOT NULL'],
  ['vcard', 'server', 'varchar(100)', 'NOT NULL'],
  ['vcard', 'vcard', 'text', 'NOT NULL'],
  ['vcard', 'created_at', 'timestamp', 'NOT NULL', NOW],
  ['vcard_search', 'username', 'varchar(150)', 'NOT NULL'],
  ['vcard_search', 'lusername', 'varchar(100)', 'NOT NULL'],
  ['vcard_search', 'server', 'varchar(250)', 'NOT NULL'],
  ...vcardSearchFields.flatMap((f): ColumnFact[] => [
    ['vcard_search', f, 'text', 'NOT NULL'],
    ['vcard_search', `l${f}`, 'text', 'NOT NULL'],
  ]),

  ['privacy_default_list', 'server', 'varchar(250)', 'NOT NULL'],
  ['privacy_default_list', 'username', 'varchar(250)', 'NOT NULL'],
  ['privacy_default_list', 'name', 'text', 'NOT NULL'],
  ['privacy_list', 'server', 'varchar(250)', 'NOT NULL'],
  ['privacy_list', 'username', 'varchar(250)', 'NOT NULL'],
  ['privacy_list', 'name', 'text', 'NOT NULL'],
  ['privacy_list', 'id', 'serial', 'NOT NULL'],
  ['privacy_list', 'created_at', 'timestamp', 'NOT NULL', NOW],
  ['privacy_list_data', 'id', 'bigint', 'NOT NULL'],
  ['privacy_list_data', 't', 'char(1)', 'NOT NULL'],
  ['privacy_list_data', 'value', 'text', 'NOT NULL'],
  ['privacy_list_data', 'action', 'char(1)', 'NOT NULL'],
  ['privacy_list_data', 'ord', 'integer', 'NOT NULL'],
  ...['match_all', 'match_iq', 'match_message', 'match_presence_in', 'match_presence_out'].map(
    (c): ColumnFact => ['privacy_list_data', c, 'boolean', 'NOT NULL'],
  ),

  ['private_storage', 'server', 'varchar(250)', 'NOT NULL'],
  ['private_storage', 'username', 'varchar(250)', 'NOT NULL'],
  ['private_storage', 'namespace', 'varchar(250)', 'NOT NULL'],
  ['private_storage', 'data', 'text', 'NOT NULL'],
  ['private_storage', 'created_at', 'timestamp', 'NOT NULL', NOW],

  ['mam_server_user', 'id', 'serial', 'NOT NULL'],
  ['mam_server_user', 'server', 'varchar(250)', 'NOT NULL'],
  ['mam_server_user', 'user_name', 'varchar(250)', 'NOT NULL'],
  ['mam_message', 'id', 'bigint', 'NOT NULL'],
  ['mam_message', 'user_id', 'integer', 'NOT NULL'],
  ['mam_message', 'from_jid', 'varchar(250)', 'NOT NULL'],
  ['mam_message', 'remote_bare_jid', 'varchar(250)', 'NOT NULL'],
  ['mam_message', 'remote_resource', 'varchar(250)', 'NOT NULL'],
  ['mam_message', 'direction', 'enum mam_direction', 'NOT NULL'],
  ['mam_message', 'message', 'bytea', 'NOT NULL'],
  ['mam_message', 'search_body', 'text', 'NULL'],
  ['mam_message', 'origin_id', 'varchar', 'NULL'],
  ['mam_message', 'is_groupchat', 'boolean', 'NOT NULL'], // no default on a fresh schema
  ['mam_muc_message', 'id', 'bigint', 'NOT NULL'],
  ['mam_muc_message', 'room_id', 'integer', 'NOT NULL'],
  ['mam_muc_message', 'sender_id', 'integer', 'NOT NULL'],
  ['mam_muc_message', 'nick_name', 'varchar(250)', 'NOT NULL'],
  ['mam_muc_message', 'message', 'bytea', 'NOT NULL'],
  ['mam_muc_message', 'search_body', 'text', 'NULL'],
  ['mam_muc_message', 'origin_id', 'varchar', 'NULL'],
  ['mam_config', 'user_id', 'integer', 'NOT NULL'],
  ['mam_config', 'remote_jid', 'varchar(250)', 'NOT NULL'],
  ['mam_config', 'behaviour', 'enum mam_behaviour', 'NOT NULL'],

  ['offline_message', 'id', 'serial', 'NOT NULL'],
  ['offline_message', 'timestamp', 'bigint', 'NOT NULL'],
  ['offline_message', 'expire', 'bigint', 'NULL'],
  ['offline_message', 'server', 'varchar(250)', 'NOT NULL'],
  ['offline_message', 'username', 'varchar(250)', 'NOT NULL'],
  ['offline_message', 'from_jid', 'varchar(250)', 'NOT NULL'],
  ['offline_message', 'packet', 'text', 'NOT NULL'],
  ['offline_message', 'permanent_fields', 'bytea', 'NULL'],

  ['muc_rooms', 'id', 'bigserial', 'NOT NULL'],
  ['muc_rooms', 'muc_host', 'varchar(250)', 'NOT NULL'],
  ['muc_rooms', 'room_name', 'varchar(250)', 'NOT NULL'],
  ['muc_rooms', 'options', 'json', 'NOT NULL'],
  ['muc_room_aff', 'room_id', 'bigint', 'NOT NULL'],
  ['muc_room_aff', 'luser', 'varchar(250)', 'NOT NULL'],
  ['muc_room_aff', 'lserver', 'varchar(250)', 'NOT NULL'],
  ['muc_room_aff', 'resource', 'varchar(250)', 'NOT NULL'],
  ['muc_room_aff', 'aff', 'smallint', 'NOT NULL'],
  ['muc_registered', 'muc_host', 'varchar(250)', 'NOT NULL'],
  ['muc_registered', 'luser', 'varchar(250)', 'NOT NULL'],
  ['muc_registered', 'lserver', 'varchar(250)', 'NOT NULL'],
  ['muc_registered', 'nick', 'varchar(250)', 'NOT NULL'],

  ['inbox', 'luser', 'varchar(250)', 'NOT NULL'],
  ['inbox', 'lserver', 'varchar(250)', 'NOT NULL'],
  ['inbox', 'remote_bare_jid', 'varchar(250)', 'NOT NULL'],
  ['inbox', 'msg_id', 'varchar(250)', 'NULL'],
  ['inbox', 'box', 'varchar(64)', 'NOT NULL', "'inbox'::character varying"],
  ['inbox', 'content', 'bytea', 'NOT NULL'],
  ['inbox', 'timestamp', 'bigint', 'NOT NULL'],
  ['inbox', 'muted_until', 'bigint', 'NULL', '0'], // nullable upstream; write 0, never NULL
  ['inbox', 'unread_count', 'integer', 'NOT NULL'],

  ['domain_settings', 'id', 'bigserial', 'NOT NULL'],
  ['domain_settings', 'domain', 'varchar(250)', 'NOT NULL'],
  ['domain_settings', 'host_type', 'varchar(250)', 'NOT NULL'],
  ['domain_settings', 'status', 'smallint', 'NOT NULL', '1'],
  ['domain_events', 'id', 'bigserial', 'NOT NULL'],
  ['domain_events', 'domain', 'varchar(250)', 'NOT NULL'],

  ['pubsub_node', 'service_domain', 'varchar(125)', 'NOT NULL'],
  ['pubsub_node', 'service_user', 'varchar(125)', 'NOT NULL'],
  ['pubsub_node', 'node_id', 'varchar(125)', 'NOT NULL'],
  ['pubsub_node', 'access_model', 'enum pubsub_node_access_model', 'NOT NULL'],
  ['pubsub_node', 'max_items', 'bigint', 'NULL'],
  ...['service_domain', 'service_user', 'node_id', 'item_id', 'publisher_domain', 'publisher_user', 'publisher_resource'].map(
    (c): ColumnFact => ['pubsub_item', c, 'varchar(125)', 'NOT NULL'],
  ),
  ['pubsub_item', 'payload', 'text', 'NOT NULL'],
  ['pubsub_item', 'published_at', 'bigint', 'NOT NULL'],
  ...['service_domain', 'service_user', 'node_id', 'subscriber_domain', 'subscriber_user', 'subscriber_resource'].map(
    (c): ColumnFact => ['pubsub_subscription', c, 'varchar(125)', 'NOT NULL'],
  ),
];

/** [table, kind, columns, references]: every PK, UNIQUE and FK constraint upstream declares on these tables. */
const CONSTRAINT_FACTS: Array<[string, 'PRIMARY KEY' | 'UNIQUE' | 'FOREIGN KEY', string, string?]> = [
  ['users', 'PRIMARY KEY', 'server,username'],
  ['last', 'PRIMARY KEY', 'server,username'],
  ['rosterusers', 'PRIMARY KEY', 'server,username,jid'],
  ['rostergroups', 'PRIMARY KEY', 'server,username,jid,grp'],
  ['roster_version', 'PRIMARY KEY', 'server,username'],
  ['vcard', 'PRIMARY KEY', 'server,username'],
  ['vcard_search', 'PRIMARY KEY', 'server,lusername'],
  ['privacy_default_list', 'PRIMARY KEY', 'server,username'],
  ['privacy_list', 'PRIMARY KEY', 'server,username,name'],
  ['privacy_list', 'UNIQUE', 'id'],
  ['privacy_list_data', 'PRIMARY KEY', 'id,ord'],
  ['privacy_list_data', 'FOREIGN KEY', 'id', 'privacy_list(id) ON DELETE CASCADE'],
  ['private_storage', 'PRIMARY KEY', 'server,username,namespace'],
  ['mam_server_user', 'PRIMARY KEY', 'id'],
  ['mam_message', 'PRIMARY KEY', 'user_id,id'],
  ['mam_muc_message', 'PRIMARY KEY', 'room_id,id'],
  ['mam_config', 'PRIMARY KEY', 'user_id,remote_jid'],
  ['offline_message', 'PRIMARY KEY', 'id'],
  ['muc_rooms', 'PRIMARY KEY', 'muc_host,room_name'],
  ['muc_rooms', 'UNIQUE', 'id'],
  ['muc_room_aff', 'FOREIGN KEY', 'room_id', 'muc_rooms(id) ON DELETE NO ACTION'],
  ['muc_registered', 'PRIMARY KEY', 'muc_host,luser,lserver'],
  ['inbox', 'PRIMARY KEY', 'lserver,luser,remote_bare_jid'],
  ['domain_settings', 'PRIMARY KEY', 'domain'],
  ['domain_settings', 'UNIQUE', 'id'],
  ['domain_events', 'PRIMARY KEY', 'id'],
  ['pubsub_node', 'PRIMARY KEY', 'service_domain,service_user,node_id'],
  ['pubsub_item', 'PRIMARY KEY', 'service_domain,service_user,node_id,item_id'],
  [
    'pubsub_item', 'FOREIGN KEY', 'service_domain,service_user,node_id',
    'pubsub_node(service_domain,service_user,node_id) ON DELETE CASCADE',
  ],
  [
    'pubsub_subscription', 'PRIMARY KEY',
    'service_domain,service_user,node_id,subscriber_domain,subscriber_user,subscriber_resource',
  ],
  [
    'pubsub_subscription', 'FOREIGN KEY', 'service_domain,service_user,node_id',
    'pubsub_node(service_domain,service_user,node_id) ON DELETE CASCADE',
  ],
];

/** [index, table, unique, columns, predicate]: the secondary indexes (MongooseIM's queries rely on them). */
const INDEX_FACTS: Array<[string, string, boolean, string, string?]> = [
  ['i_last_server_seconds', 'last', false, 'server,seconds'],
  ...vcardSearchFields.map((f): [string, string, boolean, string] => [`i_vcard_search_l${f}`, 'vcard_search', false, `l${f}`]),
  ['i_mam_server_user_name', 'mam_server_user', true, 'server,user_name'],
  ['i_mam_message_username_jid_id', 'mam_message', false, 'user_id,remote_bare_jid,id'],
  ['i_mam_message_username_jid_origin_id', 'mam_message', false, 'user_id,remote_bare_jid,origin_id'],
  ['i_mam_muc_message_sender_id', 'mam_muc_message', false, 'sender_id'],
  ['i_mam_muc_message_room_id_sender_id_origin_id', 'mam_muc_message', false, 'room_id,sender_id,origin_id'],
  ['i_offline_message', 'offline_message', false, 'server,username,id'],
  ['i_muc_room_aff_id', 'muc_room_aff', false, 'room_id'],
  ['i_inbox_timestamp', 'inbox', false, 'lserver,luser,timestamp'],
  ['i_inbox_us_box', 'inbox', false, 'lserver,luser,box'],
  ['i_inbox_box', 'inbox', false, 'box', "((box)::text = 'bin'::text)"],
  ['i_domain_events_domain', 'domain_events', false, 'domain'],
  ['i_pubsub_item_published_at', 'pubsub_item', false, 'service_domain,service_user,node_id,published_at'],
  ['i_pubsub_subscription_subscriber', 'pubsub_subscription', false, 'subscriber_domain,subscriber_user'],
];

const ENUM_FACTS: Record<string, string[]> = {
  mam_direction: ['I', 'O'],
  mam_behaviour: ['A', 'N', 'R'],
  pubsub_node_access_model: ['open', 'presence'],
};

const TABLES = Object.keys(REQUIRED_COLUMNS) as MongooseImTable[];

interface Target {
  db: SqlQueryable;
  close(): Promise<void>;
}

const targets: Array<{ name: string; dialect: DialectName; open(): Promise<Target> }> = [
  {
    name: 'PostgreSQL 15',
    dialect: 'postgres',
    async open() {
      const database = await freshPostgresDatabase('schema_pg');
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      return {
        db: client,
        async close() {
          await client.end();
          await database.drop();
        },
      };
    },
  },
  {
    name: 'PGlite',
    dialect: 'pglite',
    async open() {
      const db = await PGlite.create();
      return { db, close: () => db.close() };
    },
  },
];

/** information_schema's view of a column, rendered in the notation of COLUMN_FACTS. */
async function columnFacts(db: SqlQueryable): Promise<ColumnFact[]> {
  const { rows } = await db.query(
    `SELECT table_name, column_name, data_type, udt_name, character_maximum_length AS len,
            is_nullable, column_default
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY ($1::text[])
      ORDER BY table_name, ordinal_position`,
    [TABLES],
  );
  return rows.map((r): ColumnFact => {
    const isSerial = typeof r.column_default === 'string' && r.column_default.startsWith('nextval(');
    let type: string;
    if (r.data_type === 'character varying') type = r.len === null ? 'varchar' : `varchar(${r.len})`;
    else if (r.data_type === 'character') type = `char(${r.len})`;
    else if (r.data_type === 'timestamp without time zone') type = 'timestamp';
    else if (r.data_type === 'USER-DEFINED') type = `enum ${r.udt_name}`;
    else if (isSerial) type = r.data_type === 'bigint' ? 'bigserial' : 'serial';
    else type = r.data_type;
    const fact: ColumnFact = [r.table_name, r.column_name, type, r.is_nullable === 'YES' ? 'NULL' : 'NOT NULL'];
    if (r.column_default !== null && !isSerial) fact.push(r.column_default);
    return fact;
  });
}

const byKey = <T extends unknown[]>(a: T, b: T): number => JSON.stringify(a).localeCompare(JSON.stringify(b));

// XMIG_TEST_DIALECTS selects among them, as for the writer's matrix; describe.each needs one case at least.
const selected = targets.filter((t) => isSelected(t.dialect));

describe.runIf(selected.length > 0).each(selected.length > 0 ? selected : targets)('MongooseIM 6.8 DDL on $name', ({ open }) => {
  let target: Target;
  beforeAll(async () => {
    target = await open();
    await createPgSchema(target.db);
  });
  afterAll(async () => {
    await target?.close();
  });

  it('passes the schema check', async () => {
    expect(await checkPgSchema(target.db)).toEqual({ missingTables: [], missingColumns: [] });
  });

  it('has exactly the upstream columns, types, nullability and defaults', async () => {
    expect((await columnFacts(target.db)).sort(byKey)).toEqual([...COLUMN_FACTS].sort(byKey));
  });

  it('has the upstream primary keys, unique constraints and foreign keys', async () => {
    const { rows } = await target.db.query(
      `SELECT c.conrelid::regclass::text AS tbl, c.contype,
              (SELECT string_agg(a.attname, ',' ORDER BY k.n)
                 FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS cols,
              CASE WHEN c.contype = 'f' THEN
                c.confrelid::regclass::text || '(' ||
                (SELECT string_agg(a.attname, ',' ORDER BY k.n)
                   FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, n)
                   JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) || ') ON DELETE ' ||
                CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'a' THEN 'NO ACTION' ELSE c.confdeltype::text END
              END AS refs
         FROM pg_constraint c
        WHERE c.connamespace = current_schema()::regnamespace AND c.contype IN ('p', 'u', 'f')`,
    );
    const kinds: Record<string, string> = { p: 'PRIMARY KEY', u: 'UNIQUE', f: 'FOREIGN KEY' };
    const actual = rows.map((r) => (r.refs ? [r.tbl, kinds[r.contype], r.cols, r.refs] : [r.tbl, kinds[r.contype], r.cols]));
    expect(actual.sort(byKey)).toEqual([...CONSTRAINT_FACTS].sort(byKey));
  });

  it('has the upstream secondary indexes', async () => {
    const { rows } = await target.db.query(
      `SELECT i.relname AS name, t.relname AS tbl, x.indisunique AS uniq,
              (SELECT string_agg(a.attname, ',' ORDER BY k.n)
                 FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
                 JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum) AS cols,
              pg_get_expr(x.indpred, x.indrelid) AS pred
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relnamespace = current_schema()::regnamespace AND NOT x.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`,
    );
    const actual = rows.map((r) => (r.pred ? [r.name, r.tbl, r.uniq, r.cols, r.pred] : [r.name, r.tbl, r.uniq, r.cols]));
    expect(actual.sort(byKey)).toEqual([...INDEX_FACTS].sort(byKey));
  });

  it('has the upstream enum types and labels, in order', async () => {
    const { rows } = await target.db.query(
      `SELECT t.typname AS name, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE t.typnamespace = current_schema()::regnamespace
        GROUP BY t.typname`,
    );
    expect(Object.fromEntries(rows.map((r) => [r.name, r.labels.split(',')]))).toEqual(ENUM_FACTS);
  });

  it('requires only columns the DDL creates', () => {
    const created = new Set(COLUMN_FACTS.map(([table, column]) => `${table}.${column}`));
    const required = TABLES.flatMap((table) => REQUIRED_COLUMNS[table].map((column) => `${table}.${column}`));
    expect(required.filter((key) => !created.has(key))).toEqual([]);
    expect(new Set(COLUMN_FACTS.map(([table]) => table))).toEqual(new Set(TABLES));
  });

  it('can be applied twice', async () => {
    await createPgSchema(target.db);
    expect(await checkPgSchema(target.db)).toEqual({ missingTables: [], missingColumns: [] });
  });

  describe('on an incomplete schema', () => {
    // A second schema of the same database, first on the search_path: checkPgSchema looks at current_schema().
    beforeAll(async () => {
      await target.db.query('CREATE SCHEMA broken');
      await target.db.query('SET search_path TO broken');
    });
    afterAll(async () => {
      await target.db.query('SET search_path TO public');
      await target.db.query('DROP SCHEMA broken CASCADE');
    });

    it('reports every table missing on an empty schema', async () => {
      expect(await checkPgSchema(target.db)).toEqual({ missingTables: TABLES, missingColumns: [] });
    });

    it('reports exactly the dropped table and columns', async () => {
      for (const statement of MONGOOSEIM_PG_DDL) await target.db.query(statement);
      await target.db.query('DROP TABLE inbox');
      await target.db.query('ALTER TABLE mam_message DROP COLUMN is_groupchat');
      await target.db.query('ALTER TABLE users DROP COLUMN pass_details');
      expect(await checkPgSchema(target.db)).toEqual({
        missingTables: ['inbox'],
        missingColumns: [
          { table: 'users', column: 'pass_details' },
          { table: 'mam_message', column: 'is_groupchat' },
        ],
      });
    });

    it('checks only the tables asked for', async () => {
      expect(await checkPgSchema(target.db, ['users', 'rosterusers', 'inbox'])).toEqual({
        missingTables: ['inbox'],
        missingColumns: [{ table: 'users', column: 'pass_details' }],
      });
      expect(await checkPgSchema(target.db, ['rosterusers', 'mam_muc_message'])).toEqual({
        missingTables: [],
        missingColumns: [],
      });
    });
  });
});
