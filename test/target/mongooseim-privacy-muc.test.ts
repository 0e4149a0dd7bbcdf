// The MongooseIM writer for last activity, privacy lists, XEP-0191 blocklists, MUC rooms and nick registrations,
// as one matrix over real PostgreSQL 15, real MariaDB 10.11 and PGlite: rows as mod_last_rdbms, mod_privacy_rdbms,
// mod_blocking and mod_muc_rdbms read them, serial ids that a replay never changes, and the blocklist as the
// default list whichever record comes first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationRecord, PrivacyItem, SourceLocation } from '../../src/records.js';
import { DEFAULT_TARGET_SETTINGS, type TargetSettings } from '../../src/target/mongooseim/target-settings.js';
import { MongooseimSqlTarget } from '../../src/target/mongooseim/mongooseim-sql-target.js';
import type { MongooseimDialect } from '../../src/target/mongooseim/mongooseim-dialect.js';
import type { CheckpointKey } from '../../src/target/target.js';
import { selectedDialects, type DialectUnderTest } from './target-dialects.js';

const here: SourceLocation = { source: 'test', key: 'case' };
const settings: TargetSettings = { ...DEFAULT_TARGET_SETTINGS, origin: {} };
const key: CheckpointKey = { migration: 'm1', stream: 'users', shard: 'all' };
const user = (local: string) => ({ local, domain: 'example.com' });
const item = (i: Partial<PrivacyItem> & Pick<PrivacyItem, 'order'>): PrivacyItem => ({ type: 'none', value: '', action: 'deny', matches: [], ...i });

type Row = Record<string, unknown>;

/** Booleans as 1/0 on MySQL, true/false on PostgreSQL: compared as booleans. */
const bool = (v: unknown): boolean => v === true || Number(v) === 1;

describe.each(selectedDialects())('MongooseIM writer for last, privacy, blocking and MUC rooms on $label', (d: DialectUnderTest) => {
  let dialect: MongooseimDialect;
  let cleanup: () => Promise<void>;
  let target: MongooseimSqlTarget;
  const query = async (sql: string): Promise<Row[]> => (await dialect.db.query<Row>(sql)).rows;
  const write = async (records: MigrationRecord[]) => {
    const batch = await Promise.all(records.map((r) => target.encode(r)));
    return target.write(batch, { key, cursor: 'c', completed: false, records: batch.length });
  };
  /** A user's lists: name → items in ord order, as mod_privacy_rdbms reads them back. */
  const listsOf = async (username: string): Promise<Record<string, Row[]>> => {
    const rows = await query(
      `SELECT l.name, d.t, d.value, d.action, d.ord, d.match_all, d.match_iq, d.match_message, d.match_presence_in, d.match_presence_out
         FROM privacy_list l LEFT JOIN privacy_list_data d ON d.id = l.id WHERE l.username = '${username}' ORDER BY l.name, d.ord`,
    );
    const out: Record<string, Row[]> = {};
    for (const r of rows) {
      const items = (out[String(r.name)] ??= []);
      if (r.t === null) continue;
      items.push({
        t: r.t, value: r.value, action: r.action, ord: Number(r.ord),
        match: ['match_all', 'match_iq', 'match_message', 'match_presence_in', 'match_presence_out'].filter((c) => bool(r[c])),
      });
    }
    return out;
  };
  const defaultOf = async (username: string): Promise<unknown> => (await query(`SELECT name FROM privacy_default_list WHERE username = '${username}'`))[0]?.name;

  beforeAll(async () => {
    ({ dialect, cleanup } = await d.open('privacy'));
    target = await MongooseimSqlTarget.open(dialect, { settings, createSchema: true });
    await target.beginStream(key);
  });
  afterAll(async () => {
    await cleanup();
  });

  it('writes last activity and registered nicks as mod_last and mod_muc read them, once', async () => {
    const records: MigrationRecord[] = [
      { kind: 'last-activity', owner: user('alice'), seconds: 1704110400, status: 'Gone fishing 🎣', location: here },
      { kind: 'last-activity', owner: user('bob'), seconds: 0, status: '', location: here },
      { kind: 'muc-registration', mucHost: 'conference.example.com', user: user('alice'), nick: 'Ali', location: here },
      { kind: 'muc-registration', mucHost: 'conference.example.com', user: { local: 'kate', domain: 'other.org' }, nick: 'K8', location: here },
    ];
    expect((await write(records)).written).toMatchObject({ 'last-activity': 2, 'muc-registration': 2 });
    const again = await write(records);
    expect(again.written).toMatchObject({ 'last-activity': 0, 'muc-registration': 0 });
    expect(again.present).toMatchObject({ 'last-activity': 2, 'muc-registration': 2 });
    expect(await query(`SELECT server, username, ${d.int('seconds')} AS seconds, state FROM last ORDER BY username`)).toEqual([
      { server: 'example.com', username: 'alice', seconds: 1704110400, state: 'Gone fishing 🎣' },
      { server: 'example.com', username: 'bob', seconds: 0, state: '' },
    ]);
    expect(await query('SELECT muc_host, luser, lserver, nick FROM muc_registered ORDER BY luser')).toEqual([
      { muc_host: 'conference.example.com', luser: 'alice', lserver: 'example.com', nick: 'Ali' },
      { muc_host: 'conference.example.com', luser: 'kate', lserver: 'other.org', nick: 'K8' },
    ]);
  });

  it('writes privacy lists item by item in MongooseIM codes, the default list, and ids a replay keeps', async () => {
    const carol = user('carol');
    const records: MigrationRecord[] = [
      {
        kind: 'privacy-list', owner: carol, name: 'public', isDefault: true, location: here,
        items: [
          item({ type: 'jid', value: 'Bob@Example.COM', action: 'allow', order: 1, matches: ['message', 'presence-in'] }),
          item({ type: 'group', value: 'Work Mates', action: 'deny', order: 2, matches: ['iq'] }),
          item({ type: 'subscription', value: 'none', action: 'deny', order: 3, matches: ['presence-out'] }),
          item({ type: 'none', value: 'ignored', action: 'allow', order: 10 }),
        ],
      },
      // Two items with one order: renumbered in processing order, which keeps what the list decides.
      { kind: 'privacy-list', owner: carol, name: 'invisible', isDefault: false, location: here, items: [item({ order: 5, action: 'deny', matches: ['presence-out'] }), item({ order: 5, type: 'jid', value: 'x@example.com', action: 'allow' })] },
      { kind: 'privacy-list', owner: carol, name: 'empty', isDefault: false, location: here, items: [] },
    ];
    const first = await write(records);
    expect(first.written).toMatchObject({ 'privacy-list': 3 });
    const ids = await query(`SELECT name, ${d.text('id')} AS id FROM privacy_list WHERE username = 'carol' ORDER BY name`);
    expect(await listsOf('carol')).toEqual({
      empty: [],
      invisible: [
        { t: 'n', value: '', action: 'd', ord: 1, match: ['match_presence_out'] },
        { t: 'j', value: 'x@example.com', action: 'a', ord: 2, match: ['match_all'] },
      ],
      public: [
        { t: 'j', value: 'bob@example.com', action: 'a', ord: 1, match: ['match_message', 'match_presence_in'] },
        { t: 'g', value: 'Work Mates', action: 'd', ord: 2, match: ['match_iq'] },
        { t: 's', value: 'none', action: 'd', ord: 3, match: ['match_presence_out'] },
        { t: 'n', value: '', action: 'a', ord: 10, match: ['match_all'] },
      ],
    });
    expect(await defaultOf('carol')).toBe('public');

    const again = await write(records);
    expect(again).toMatchObject({ written: { 'privacy-list': 0 }, present: { 'privacy-list': 3 } });
    expect(await query(`SELECT name, ${d.text('id')} AS id FROM privacy_list WHERE username = 'carol' ORDER BY name`)).toEqual(ids);
    expect(await query(`SELECT ${d.int('count(*)')} AS n FROM privacy_list_data d JOIN privacy_list l ON l.id = d.id WHERE l.username = 'carol'`)).toEqual([{ n: 6 }]);
  });

  it('stores a blocklist as the default list "blocking" of jid/block items matching everything', async () => {
    const records: MigrationRecord[] = [{ kind: 'blocklist', owner: user('dan'), blocked: ['Spam@Example.com', 'evil.org', 'troll@other.org/Phone', 'spam@example.com'], location: here }];
    expect((await write(records)).written).toMatchObject({ blocklist: 1 });
    expect(await listsOf('dan')).toEqual({
      blocking: [
        { t: 'j', value: 'spam@example.com', action: 'b', ord: 1, match: ['match_all'] },
        { t: 'j', value: 'evil.org', action: 'b', ord: 2, match: ['match_all'] },
        { t: 'j', value: 'troll@other.org/Phone', action: 'b', ord: 3, match: ['match_all'] },
      ],
    });
    expect(await defaultOf('dan')).toBe('blocking');
    expect(await write(records)).toMatchObject({ written: { blocklist: 0 }, present: { blocklist: 1 } });
  });

  it('makes the blocklist the default over a default privacy list, whichever comes first, in one batch or two', async () => {
    const both = (local: string): [MigrationRecord, MigrationRecord] => [
      { kind: 'privacy-list', owner: user(local), name: 'mine', isDefault: true, items: [item({ type: 'subscription', value: 'none', order: 1 })], location: here },
      { kind: 'blocklist', owner: user(local), blocked: ['spam@example.com'], location: here },
    ];
    const [listA, blockA] = both('erin');
    await write([listA, blockA]);
    const [listB, blockB] = both('fay');
    await write([blockB, listB]);
    const [listC, blockC] = both('gus');
    await write([listC]);
    expect(await defaultOf('gus')).toBe('mine');
    await write([blockC]);
    const [listD, blockD] = both('hal');
    await write([blockD]);
    await write([listD]);
    for (const who of ['erin', 'fay', 'gus', 'hal']) {
      expect(await defaultOf(who), who).toBe('blocking');
      expect(Object.keys(await listsOf(who)).sort(), who).toEqual(['blocking', 'mine']);
    }
    // Replayed in the other order: nothing moves.
    await write([listC, blockC, listD]);
    expect(await defaultOf('gus')).toBe('blocking');
    expect(await query(`SELECT ${d.int('count(*)')} AS n FROM privacy_default_list WHERE username IN ('erin', 'fay', 'gus', 'hal')`)).toEqual([{ n: 4 }]);
  });

  it('renames a source privacy list called "blocking", which MongooseIM would serve as the blocklist', async () => {
    await write([
      { kind: 'privacy-list', owner: user('ivy'), name: 'blocking', isDefault: true, items: [item({ type: 'group', value: 'Strangers', order: 1 })], location: here },
      { kind: 'blocklist', owner: user('ivy'), blocked: ['spam@example.com'], location: here },
    ]);
    expect(await listsOf('ivy')).toEqual({
      blocking: [{ t: 'j', value: 'spam@example.com', action: 'b', ord: 1, match: ['match_all'] }],
      'blocking (privacy list)': [{ t: 'g', value: 'Strangers', action: 'd', ord: 1, match: ['match_all'] }],
    });
    expect(await defaultOf('ivy')).toBe('blocking');
  });

  it('writes rooms with the options mod_muc_rdbms reads and their affiliations, ids a replay keeps', async () => {
    const rooms: MigrationRecord[] = [
      {
        kind: 'muc-room', room: { local: 'lobby', domain: 'conference.example.com' }, location: here,
        options: { max_users: 50, title: 'The Lobby 🛋', public: false, members_only: true, anonymous: false, subject: 'Welcome', subject_author: 'Ali', password_protected: false },
        affiliations: [
          { jid: 'Alice@Example.com', affiliation: 'owner' },
          { jid: 'bob@example.com', affiliation: 'admin' },
          { jid: 'kate@other.org', affiliation: 'member' },
          { jid: 'troll@other.org', affiliation: 'outcast' },
          { jid: 'nobody@example.com', affiliation: 'none' },
        ],
      },
      { kind: 'muc-room', room: { local: 'quiet', domain: 'conference.example.com' }, options: { persistent: true }, affiliations: [], location: here },
    ];
    expect((await write(rooms)).written).toMatchObject({ 'muc-room': 2 });
    const ids = await query(`SELECT room_name, ${d.text('id')} AS id FROM muc_rooms ORDER BY room_name`);
    const stored = await query('SELECT muc_host, room_name, options FROM muc_rooms ORDER BY room_name');
    // PostgreSQL's json and mysql2 hand back objects, MariaDB's JSON (LONGTEXT) text.
    const options = stored.map((r) => (typeof r.options === 'string' ? JSON.parse(r.options) : r.options));
    expect(options).toEqual([
      { title: 'The Lobby 🛋', public: false, persistent: true, members_only: true, password_protected: false, anonymous: false, max_users: 50, subject: 'Welcome', subject_author: 'Ali' },
      { persistent: true },
    ]);
    expect(stored.map((r) => [r.muc_host, r.room_name])).toEqual([['conference.example.com', 'lobby'], ['conference.example.com', 'quiet']]);
    const affs = async () => query(`SELECT r.room_name, a.luser, a.lserver, a.resource, ${d.int('a.aff')} AS aff FROM muc_room_aff a JOIN muc_rooms r ON r.id = a.room_id ORDER BY a.aff`);
    const expected = [
      { room_name: 'lobby', luser: 'alice', lserver: 'example.com', resource: '', aff: 1 },
      { room_name: 'lobby', luser: 'kate', lserver: 'other.org', resource: '', aff: 2 },
      { room_name: 'lobby', luser: 'bob', lserver: 'example.com', resource: '', aff: 3 },
      { room_name: 'lobby', luser: 'troll', lserver: 'other.org', resource: '', aff: 4 },
    ];
    expect(await affs()).toEqual(expected);

    expect(await write(rooms)).toMatchObject({ written: { 'muc-room': 0 }, present: { 'muc-room': 2 } });
    expect(await query(`SELECT room_name, ${d.text('id')} AS id FROM muc_rooms ORDER BY room_name`)).toEqual(ids);
    expect(await affs()).toEqual(expected);
  });

  it('keeps committed serial ids when a later batch is rolled back, and writes that batch on the next attempt', async () => {
    const room: MigrationRecord = { kind: 'muc-room', room: { local: 'later', domain: 'conference.example.com' }, options: {}, affiliations: [{ jid: 'alice@example.com', affiliation: 'owner' }], location: here };
    const list: MigrationRecord = { kind: 'privacy-list', owner: user('jay'), name: 'l', isDefault: false, items: [item({ order: 1 })], location: here };
    // A value the database refuses (a nick longer than muc_registered.nick's 250 characters slips past no check
    // here: the row is built by hand) rolls back the whole batch, parents included.
    const batch = [await target.encode(room), await target.encode(list)];
    const bad = { kind: 'muc-registration' as const, rows: [{ table: 'muc_registered', muc_host: 'conference.example.com', luser: 'x', lserver: 'example.com', nick: 'n'.repeat(300) }], bytes: 1 };
    await expect(target.write([...batch, bad], { key, cursor: 'bad', completed: false, records: 3 })).rejects.toThrow();
    expect(await query(`SELECT room_name FROM muc_rooms WHERE room_name = 'later'`)).toEqual([]);
    expect(await query(`SELECT name FROM privacy_list WHERE username = 'jay'`)).toEqual([]);
    const before = await query(`SELECT room_name, ${d.text('id')} AS id FROM muc_rooms WHERE room_name <> 'later' ORDER BY room_name`);
    expect((await target.write(batch, { key, cursor: 'good', completed: false, records: 2 })).written).toMatchObject({ 'muc-room': 1, 'privacy-list': 1 });
    expect(await query(`SELECT room_name, ${d.text('id')} AS id FROM muc_rooms WHERE room_name <> 'later' ORDER BY room_name`)).toEqual(before);
    expect(await query(`SELECT ${d.int('count(*)')} AS n FROM muc_room_aff a JOIN muc_rooms r ON r.id = a.room_id WHERE r.room_name = 'later'`)).toEqual([{ n: 1 }]);
    expect(await listsOf('jay')).toEqual({ l: [{ t: 'n', value: '', action: 'd', ord: 1, match: ['match_all'] }] });
  });
});
