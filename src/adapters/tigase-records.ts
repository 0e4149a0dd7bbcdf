// Tigase's stored formats → canonical values (storage-facts §5, checked against tigase/tigase-server
// RosterElement, RosterAbstract.SubscriptionType, auth/credentials/entries, and tigase-muc RoomConfig at the
// commits of storage-facts §0).
import type { Ask, MucAffiliation, ScramAlgorithm, ScramHash, Subscription } from '../records.js';
import { Element, childElements } from '../xml/element.js';
import { SCRAM_KEY_BYTES, scramKeysFromSalted, scramProblem, strictBase64 } from './openfire-tigase-sql.js';

// ---------------------------------------------------------------------------------------------------------
// Roster: `<contact jid subs name groups …/>` elements (RosterElement), subs = SubscriptionType names.

/** SubscriptionType: the RFC 6121 state; `*_pre_approved` has no MongooseIM column and loses the pre-approval. */
const SUBS: Record<string, { subscription: Subscription; ask: Ask; preApproved?: true } | 'remove'> = {
  none: { subscription: 'none', ask: 'none' },
  none_pending_out: { subscription: 'none', ask: 'out' },
  none_pending_in: { subscription: 'none', ask: 'in' },
  none_pending_out_in: { subscription: 'none', ask: 'both' },
  to: { subscription: 'to', ask: 'none' },
  to_pending_in: { subscription: 'to', ask: 'in' },
  from: { subscription: 'from', ask: 'none' },
  from_pending_out: { subscription: 'from', ask: 'out' },
  both: { subscription: 'both', ask: 'none' },
  remove: 'remove',
  none_pre_approved: { subscription: 'none', ask: 'none', preApproved: true },
  none_pending_out_pre_approved: { subscription: 'none', ask: 'out', preApproved: true },
  to_pre_approved: { subscription: 'to', ask: 'none', preApproved: true },
};

export type TigaseSubs = { subscription: Subscription; ask: Ask; preApproved?: true } | 'remove' | undefined;

/** A missing `subs` means none (RosterElement); undefined for a name Tigase does not have. */
export function tigaseSubs(subs: string | undefined): TigaseSubs {
  return SUBS[subs ?? 'none'];
}

/** `groups` is comma-separated (RosterElement splits on ','); empty names are dropped, duplicates kept once. */
export function tigaseGroups(groups: string | undefined): string[] {
  const out: string[] = [];
  if (groups === undefined || groups.trim() === '') return out;
  for (const g of groups.split(',')) if (g !== '' && !out.includes(g)) out.push(g);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Credentials: tig_user_credentials.value per mechanism.

const SCRAM_MECHANISMS: Record<string, ScramAlgorithm> = { 'SCRAM-SHA-1': 'sha1', 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-512': 'sha512' };
export const MD5_MECHANISMS = new Set(['MD5-PASSWORD', 'MD5-USERID-PASSWORD', 'MD5-USERNAME-PASSWORD']);

export function scramAlgorithmOf(mechanism: string): ScramAlgorithm | undefined {
  return SCRAM_MECHANISMS[mechanism];
}

/**
 * `s=<b64 salt>,i=<iterations>,t=<b64 StoredKey>,e=<b64 ServerKey>`, or the older `p=<b64 SaltedPassword>` in
 * place of t/e, from which the keys are derived (ScramCredentialsEntry.Decoder). Problems never quote values.
 */
export function parseTigaseScram(algorithm: ScramAlgorithm, value: string): { hash: ScramHash; derived: boolean } | { problem: string } {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== 1) return { problem: 'is not a list of x=value fields' };
    fields.set(part.slice(0, 1), part.slice(2));
  }
  const salt = strictBase64(fields.get('s'));
  const iterationsText = fields.get('i') ?? '';
  const iterations = /^\d{1,10}$/.test(iterationsText) ? Number(iterationsText) : NaN;
  if (!salt) return { problem: 'has no base64 salt (s=)' };
  if (!Number.isInteger(iterations)) return { problem: 'has no iteration count (i=)' };
  let storedKey = strictBase64(fields.get('t'));
  let serverKey = strictBase64(fields.get('e'));
  let derived = false;
  if (!storedKey || !serverKey) {
    const salted = strictBase64(fields.get('p'));
    if (!salted) return { problem: 'has neither t= and e= (StoredKey, ServerKey) nor p= (SaltedPassword) in base64' };
    if (salted.length !== SCRAM_KEY_BYTES[algorithm]) return { problem: `p= (SaltedPassword) is not ${SCRAM_KEY_BYTES[algorithm]} bytes` };
    ({ storedKey, serverKey } = scramKeysFromSalted(algorithm, salted));
    derived = true;
  }
  const hash: ScramHash = { algorithm, iterations, salt, storedKey, serverKey };
  const problem = scramProblem(hash);
  return problem ? { problem } : { hash, derived };
}

// ---------------------------------------------------------------------------------------------------------
// MUC (tigase-muc): rooms configured by a jabber:x:data form of muc#roomconfig_* fields.

const NS_DATA = 'jabber:x:data';

/** The values of each field of a stored `<x xmlns='jabber:x:data'>` form. */
export function formFields(form: Element): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const field of childElements(form)) {
    if (field.name !== 'field' || field.attrs.var === undefined) continue;
    fields.set(
      field.attrs.var,
      childElements(field)
        .filter((c) => c.name === 'value')
        .map((c) => c.getText()),
    );
  }
  return fields;
}

export function isDataForm(el: Element): boolean {
  return el.name === 'x' && el.attrs.xmlns === NS_DATA;
}

function flag(fields: Map<string, string[]>, name: string, fallback: boolean): boolean {
  const value = fields.get(name)?.[0];
  if (value === undefined || value === '') return fallback;
  return value === '1' || value === 'true';
}

/**
 * tigase-muc room config → MongooseIM room options (mod_muc_rdbms keys, storage-facts §1.9), with RoomConfig's
 * defaults for fields the form leaves out. `muc#roomconfig_allowpm` participants/moderators cannot be said in
 * MongooseIM: private messages stay allowed.
 */
export function tigaseRoomOptions(
  fields: Map<string, string[]>,
  row: { name: string | undefined; subject: string | undefined; subjectNick: string | undefined },
): Record<string, string | number | boolean> {
  const one = (name: string): string | undefined => fields.get(name)?.[0];
  const o: Record<string, string | number | boolean> = {};
  o.title = one('muc#roomconfig_roomname') ?? row.name ?? '';
  o.description = one('muc#roomconfig_roomdesc') ?? '';
  const secret = one('muc#roomconfig_roomsecret') ?? '';
  o.password_protected = flag(fields, 'muc#roomconfig_passwordprotectedroom', false) && secret !== '';
  if (o.password_protected) o.password = secret;
  if (row.subject !== undefined && row.subject !== '') {
    o.subject = row.subject;
    o.subject_author = row.subjectNick ?? '';
  }
  const maxUsers = one('muc#roomconfig_maxusers') ?? '';
  if (/^\d{1,9}$/.test(maxUsers) && Number(maxUsers) > 0) o.max_users = Number(maxUsers);
  o.persistent = flag(fields, 'muc#roomconfig_persistentroom', false);
  const isPublic = flag(fields, 'muc#roomconfig_publicroom', true);
  o.public = isPublic;
  o.public_list = isPublic;
  o.moderated = flag(fields, 'muc#roomconfig_moderatedroom', false);
  o.members_only = flag(fields, 'muc#roomconfig_membersonly', false);
  o.allow_user_invites = flag(fields, 'muc#roomconfig_allowinvites', true);
  o.allow_change_subj = flag(fields, 'muc#roomconfig_changesubject', false);
  // whois: moderators (default) is semi-anonymous; anyone sees real JIDs.
  o.anonymous = (one('muc#roomconfig_whois') ?? 'moderators') !== 'anyone';
  o.allow_private_messages = (one('muc#roomconfig_allowpm') ?? 'anyone') !== 'none';
  return o;
}

export const TIGASE_AFFILIATIONS = new Set<MucAffiliation>(['owner', 'admin', 'member', 'outcast', 'none']);

// ---------------------------------------------------------------------------------------------------------
// UUIDs: MySQL stores tig_ma_msgs.stable_id (and tig_muc_room_history.stable_id) as binary(16) reordered
// g3‖g2‖g1‖g4‖g5 of the canonical g1-g2-g3-g4-g5 (Tig_MA_UuidToOrdered).

/** The canonical, lower-case UUID of the reordered MySQL bytes given as hex. */
export function uuidFromOrderedHex(hex: string): string | undefined {
  const h = hex.toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(h)) return undefined;
  return `${h.slice(8, 16)}-${h.slice(4, 8)}-${h.slice(0, 4)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The reordered MySQL bytes (as hex) of a canonical UUID. */
export function orderedHexFromUuid(uuid: string): string {
  const u = uuid.toLowerCase();
  return u.slice(14, 18) + u.slice(9, 13) + u.slice(0, 8) + u.slice(19, 23) + u.slice(24);
}
