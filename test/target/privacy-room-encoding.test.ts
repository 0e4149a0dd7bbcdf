// Record → row decisions for privacy lists and rooms that need no database: what MongooseIM could not read back
// is refused with the reason, never written.
import { describe, expect, it } from 'vitest';
import { RecordError } from '../../src/errors.js';
import type { MigrationRecord, PrivacyItem } from '../../src/records.js';
import { mucRoomOptionsJson } from '../../src/encoding/muc-room-options.js';
import { privacyListRows } from '../../src/encoding/privacy-list.js';
import { MongooseimRowEncoder } from '../../src/target/mongooseim/row-encoder.js';
import { DEFAULT_TARGET_SETTINGS } from '../../src/target/mongooseim/target-settings.js';

const encoder = new MongooseimRowEncoder({ ...DEFAULT_TARGET_SETTINGS, origin: {} }, Buffer.alloc(32));
const location = { source: 'test', key: 'case' };
const owner = { local: 'alice', domain: 'example.com' };
const item = (i: Partial<PrivacyItem>): PrivacyItem => ({ type: 'none', value: '', action: 'deny', order: 1, matches: [], ...i });

describe('records MongooseIM could not read back are rejected with the reason', () => {
  it.each<[string, MigrationRecord, RegExp]>([
    ['a subscription item with an unknown value', { kind: 'privacy-list', owner, name: 'l', isDefault: false, items: [item({ type: 'subscription', value: 'maybe' })], location }, /subscription item value "maybe"/],
    ['a jid item that is no JID', { kind: 'privacy-list', owner, name: 'l', isDefault: false, items: [item({ type: 'jid', value: 'a@b@c' })], location }, /privacy list "l" of alice@example.com: JID "a@b@c"/],
    ['an order past a signed INT', { kind: 'privacy-list', owner, name: 'l', isDefault: false, items: [item({ order: 2 ** 31 })], location }, /item order 2147483648/],
    ['a list without a name', { kind: 'privacy-list', owner, name: '', isDefault: false, items: [], location }, /empty name/],
    ['a blocked JID that is no JID', { kind: 'blocklist', owner, blocked: ['@nowhere'], location }, /the blocklist of alice@example.com/],
    ['last activity before 1970', { kind: 'last-activity', owner, seconds: -1, status: '', location }, /-1 is not Unix seconds/],
    ['an empty registered nick', { kind: 'muc-registration', mucHost: 'conference.example.com', user: owner, nick: '', location }, /empty nick/],
    ['a room option MongooseIM does not read', { kind: 'muc-room', room: { local: 'r', domain: 'conference.example.com' }, options: { logging: true }, affiliations: [], location }, /room option logging is not one/],
    ['a room option of the wrong type', { kind: 'muc-room', room: { local: 'r', domain: 'conference.example.com' }, options: { max_users: 0 }, affiliations: [], location }, /max_users = 0 is not a positive integer/],
  ])('%s', async (_, record, reason) => {
    const encoded = Promise.resolve().then(() => encoder.encode(record));
    await expect(encoded).rejects.toThrow(RecordError);
    await expect(encoded).rejects.toThrow(reason);
  });
});

describe('privacy items and room options as MongooseIM stores them', () => {
  it('keeps the source orders when they are unique and renumbers in processing order when they repeat', () => {
    expect(privacyListRows([item({ order: 7 }), item({ order: 3, action: 'allow' })]).map((r) => [r.ord, r.action])).toEqual([[3, 'a'], [7, 'd']]);
    expect(privacyListRows([item({ order: 2 }), item({ order: 2, action: 'allow' }), item({ order: 1, type: 'group', value: 'G' })]).map((r) => [r.ord, r.t, r.action])).toEqual([[1, 'g', 'd'], [2, 'n', 'd'], [3, 'n', 'a']]);
  });

  it('writes options in the order make_opts writes them, persistent when the record does not say', () => {
    expect(mucRoomOptionsJson({ max_users: 5, title: 'T', anonymous: true })).toBe('{"title":"T","persistent":true,"anonymous":true,"max_users":5}');
    expect(mucRoomOptionsJson({ persistent: false })).toBe('{"persistent":false}');
  });
});
