// Openfire's stored codes and formats → canonical values (storage-facts §4, checked against
// igniterealtime/Openfire v5.1.1: roster/RosterItem, muc/Affiliation, muc/spi/MUCPersistenceManager, GroupJID).
import { createHash } from 'node:crypto';
import type { Ask, MucAffiliation, Subscription } from '../records.js';
import { Element, childElements } from '../xml/element.js';
import { appendChild, textElement } from './openfire-tigase-sql.js';

// ---------------------------------------------------------------------------------------------------------
// Roster: ofRoster.sub / ask / recv (RosterItem.SubType, AskType, RecvType).

/** SubType: −1 REMOVE (transient: the item is being deleted), 0 NONE, 1 TO, 2 FROM, 3 BOTH. */
const SUB_CODES: Record<number, Subscription | 'remove'> = { [-1]: 'remove', 0: 'none', 1: 'to', 2: 'from', 3: 'both' };
/** AskType: −1 NONE, 0 SUBSCRIBE (outbound request pending), 1 UNSUBSCRIBE. Note 0 is *subscribe*. */
const ASK_CODES: Record<number, 'none' | 'subscribe' | 'unsubscribe'> = { [-1]: 'none', 0: 'subscribe', 1: 'unsubscribe' };
/** RecvType: −1 NONE, 1 SUBSCRIBE (inbound request pending), 2 UNSUBSCRIBE. 0 is no code. */
const RECV_CODES: Record<number, 'none' | 'subscribe' | 'unsubscribe'> = { [-1]: 'none', 1: 'subscribe', 2: 'unsubscribe' };

export type RosterCodes =
  | { ok: true; subscription: Subscription; ask: Ask; remove: boolean; askUnsubscribe: boolean; recvUnsubscribe: boolean }
  | { ok: false; problem: string };

/**
 * Maps the three codes. MongooseIM has no pending-unsubscribe state: AskType UNSUBSCRIBE and RecvType
 * UNSUBSCRIBE become no pending request (the flags say so, for the inventory).
 */
export function rosterCodes(sub: number | undefined, ask: number | undefined, recv: number | undefined): RosterCodes {
  const s = sub === undefined ? undefined : SUB_CODES[sub];
  const a = ask === undefined ? undefined : ASK_CODES[ask];
  const r = recv === undefined ? undefined : RECV_CODES[recv];
  const problems: string[] = [];
  if (s === undefined) problems.push(`sub=${sub ?? 'NULL'} (expected -1, 0, 1, 2 or 3)`);
  if (a === undefined) problems.push(`ask=${ask ?? 'NULL'} (expected -1, 0 or 1)`);
  if (r === undefined) problems.push(`recv=${recv ?? 'NULL'} (expected -1, 1 or 2)`);
  if (s === undefined || a === undefined || r === undefined) return { ok: false, problem: `unknown roster code ${problems.join(', ')}` };
  const out = a === 'subscribe';
  const inbound = r === 'subscribe';
  return {
    ok: true,
    subscription: s === 'remove' ? 'none' : s,
    ask: out && inbound ? 'both' : out ? 'out' : inbound ? 'in' : 'none',
    remove: s === 'remove',
    askUnsubscribe: a === 'unsubscribe',
    recvUnsubscribe: r === 'unsubscribe',
  };
}

// ---------------------------------------------------------------------------------------------------------
// MUC.

/** ofMucAffiliation.affiliation (muc/Affiliation): 10 owner, 20 admin, 30 member, 40 outcast, 50 none. */
export const AFFILIATION_CODES: Record<number, MucAffiliation> = { 10: 'owner', 20: 'admin', 30: 'member', 40: 'outcast', 50: 'none' };

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

/** RFC 4648 base32hex, case-insensitive, '=' padding optional; undefined when not base32hex. */
function decodeBase32Hex(text: string): Buffer | undefined {
  const clean = text.toLowerCase().replace(/=+$/, '');
  if (clean === '' || ![...clean].every((c) => BASE32HEX.includes(c))) return undefined;
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const c of clean) {
    buffer = (buffer << 5) | BASE32HEX.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/**
 * Openfire's GroupJID: a user group affiliated as a whole, written `base32hex(group)@domain/md5hex(group)`.
 * Returns the group name, or undefined for an ordinary JID.
 */
export function openfireGroupName(local: string, resource: string): string | undefined {
  if (local === '' || !/^[0-9a-f]{32}$/i.test(resource)) return undefined;
  const bytes = decodeBase32Hex(local);
  if (!bytes) return undefined;
  const name = bytes.toString('utf8');
  return createHash('md5').update(name, 'utf8').digest('hex') === resource.toLowerCase() ? name : undefined;
}

export interface OpenfireRoomRow {
  naturalName: string;
  description: string | undefined;
  canChangeSubject: number;
  maxUsers: number;
  publicRoom: number;
  moderated: number;
  membersOnly: number;
  canInvite: number;
  roomPassword: string | undefined;
  canDiscoverJID: number;
  /** NULL (and 0) anyone, 1 participants, 2 moderators, 3 none; undefined before schema 23. */
  allowpm: number | undefined;
  subject: { text: string; author: string } | undefined;
}

/**
 * ofMucRoom → MongooseIM room options (mod_muc_rdbms keys, storage-facts §1.9). Rooms in ofMucRoom are the
 * persistent ones. `maxUsers` 0 means no room limit in Openfire, which MongooseIM cannot say per room: left out.
 * `allowpm` participants/moderators cannot be expressed either: private messages stay allowed.
 */
export function roomOptions(row: OpenfireRoomRow): Record<string, string | number | boolean> {
  const o: Record<string, string | number | boolean> = {};
  o.title = row.naturalName;
  o.description = row.description ?? '';
  const password = row.roomPassword ?? '';
  o.password_protected = password !== '';
  if (password !== '') o.password = password;
  if (row.subject) {
    o.subject = row.subject.text;
    o.subject_author = row.subject.author;
  }
  if (row.maxUsers > 0) o.max_users = row.maxUsers;
  o.persistent = true;
  o.public = row.publicRoom === 1;
  o.public_list = row.publicRoom === 1;
  o.moderated = row.moderated === 1;
  o.members_only = row.membersOnly === 1;
  o.allow_user_invites = row.canInvite === 1;
  o.allow_change_subj = row.canChangeSubject === 1;
  // canDiscoverJID = 1: anyone may see real JIDs (non-anonymous).
  o.anonymous = row.canDiscoverJID !== 1;
  o.allow_private_messages = row.allowpm !== 3;
  return o;
}

/**
 * ofMucRoom.subject: from schema 38 the subject-changing `<message>` stanza (author = its from resource),
 * before that (and where the 38 upgrade found no stanza) the subject text alone. undefined for a stanza whose
 * XML cannot be read.
 */
export function roomSubject(value: string | undefined, parse: (xml: string) => Element | undefined): { text: string; author: string } | undefined | 'malformed' {
  if (value === undefined || value === '') return undefined;
  if (!value.trim().startsWith('<message')) return { text: value, author: '' };
  const el = parse(value);
  if (!el || el.name !== 'message') return 'malformed';
  const from = el.attrs.from ?? '';
  const slash = from.indexOf('/');
  return { text: el.getChildText('subject') ?? '', author: slash === -1 ? '' : from.slice(slash + 1) };
}

/** A groupchat message rebuilt from an old ofMucConversationLog row that has no stanza column value. */
export function groupchatFromColumns(from: string, subject: string | undefined, body: string | undefined): Element {
  const message = new Element('message', { xmlns: 'jabber:client', type: 'groupchat', from });
  if (subject !== undefined) appendChild(message, textElement('subject', subject));
  if (body !== undefined) appendChild(message, textElement('body', body));
  return message;
}

/**
 * The stored copy as a room archive keeps it: `from` the occupant JID room/nick (never a real JID), type
 * groupchat, and no `to` (a broadcast copy is addressed to one occupant, whose real JID must not leak).
 */
export function asRoomMessage(stanza: Element, occupant: string): Element {
  const { to: _to, from: _from, ...attrs } = stanza.attrs;
  stanza.attrs = { ...attrs, from: occupant, type: 'groupchat' };
  return stanza;
}

/** `<status>` text of a stored presence, '' when none. */
export function presenceStatus(presence: Element): string {
  const status = childElements(presence).find((c) => c.name === 'status');
  return status ? status.getText() : '';
}
