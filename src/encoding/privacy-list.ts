// XEP-0016 privacy lists and XEP-0191 blocklists as MongooseIM 6.8's mod_privacy_rdbms stores them
// (privacy_list_data rows: t, value, action, ord, match_*) and as its mod_blocking writes a blocklist: a list
// named `blocking` of `jid`/`block` items matching everything, numbered from 1, made the default list.
// https://xmpp.org/extensions/xep-0016.html https://xmpp.org/extensions/xep-0191.html
// Facts: esl/MongooseIM src/privacy/mod_privacy_rdbms.erl (item_to_raw, encode_*), mod_blocking.erl
// (make_blocking_list_entry, set_order), mod_privacy.erl (parse_matches) @ 475087c.
//
// In → Out (privacyItemRow):
//   {type none, action deny, order 5, matches []}            → t n, value '', action d, ord 5, match_all true
//   {type jid, value 'Bob@Example.com/R', allow, [message]}  → t j, value 'bob@example.com/R', match_message true
//   {type subscription, value 'both', deny, [presence-in]}   → t s, value 'both', match_presence_in true
import { JidError, formatJid, parseJid } from '../jid.js';
import type { PrivacyItem } from '../records.js';

/** The list mod_blocking reads and writes as the user's XEP-0191 blocklist. */
export const BLOCKING_LIST = 'blocking';

/**
 * A source privacy list that happens to be named `blocking` is renamed to this: under that name MongooseIM
 * would serve its items as the XEP-0191 blocklist (and overwrite them on the next block command).
 */
export const RENAMED_BLOCKING_LIST = 'blocking (privacy list)';

/**
 * What happens to a user who has both a XEP-0191 blocklist and a default privacy list (plan shows it).
 * MongooseIM holds one default list; mod_blocking makes `blocking` the default on every block command.
 */
export const BLOCKLIST_DEFAULT_RULE =
  `a user with both a XEP-0191 blocklist and a default privacy list gets the blocklist (list "${BLOCKING_LIST}") as the default list, as MongooseIM's mod_blocking does on every block command; the former default list is kept under its name, not active by default (the user can make it active again with XEP-0016)`;

/** MongooseIM's `ord` column is a signed INT. */
const MAX_ORDER = 2 ** 31 - 1;

/** One privacy_list_data row without its list id. */
export interface PrivacyItemRow {
  t: 'n' | 'j' | 'g' | 's';
  value: string;
  action: 'a' | 'd' | 'b';
  ord: number;
  match_all: boolean;
  match_iq: boolean;
  match_message: boolean;
  match_presence_in: boolean;
  match_presence_out: boolean;
}

const TYPE_CODES: Record<PrivacyItem['type'], PrivacyItemRow['t']> = { none: 'n', jid: 'j', group: 'g', subscription: 's' };
const ACTION_CODES: Record<PrivacyItem['action'], PrivacyItemRow['action']> = { allow: 'a', deny: 'd', block: 'b' };
const SUBSCRIPTIONS: ReadonlySet<string> = new Set(['none', 'both', 'from', 'to']);

export class PrivacyItemError extends Error {
  override name = 'PrivacyItemError';
}

/**
 * A JID as mod_privacy keeps it: jid:to_lower of the parsed JID, as text. The resource is refused rather than
 * trimmed when resourceprep refuses it: a rule must match the JID it names, or none.
 */
export function privacyJid(raw: string): string {
  try {
    return formatJid(parseJid(raw, { resource: 'strict' }));
  } catch (err) {
    if (err instanceof JidError) throw new PrivacyItemError(`JID ${JSON.stringify(raw)}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** One XEP-0016 item → its row; throws PrivacyItemError for a value MongooseIM could not read back. */
export function privacyItemRow(item: PrivacyItem, ord: number = item.order): PrivacyItemRow {
  const t = TYPE_CODES[item.type];
  const action = ACTION_CODES[item.action];
  if (!t) throw new PrivacyItemError(`item type ${JSON.stringify(item.type)} is not none, jid, group or subscription`);
  if (!action) throw new PrivacyItemError(`item action ${JSON.stringify(item.action)} is not allow, deny or block`);
  if (!Number.isInteger(ord) || ord < 0 || ord > MAX_ORDER) throw new PrivacyItemError(`item order ${ord} is not an integer from 0 to ${MAX_ORDER}`);
  let value: string;
  switch (item.type) {
    case 'none':
      value = ''; // encode_value(none, _) -> <<>>
      break;
    case 'jid':
      value = privacyJid(item.value);
      break;
    case 'group':
      value = item.value;
      break;
    case 'subscription':
      if (!SUBSCRIPTIONS.has(item.value)) throw new PrivacyItemError(`subscription item value ${JSON.stringify(item.value)} is not none, both, from or to`);
      value = item.value;
      break;
  }
  const kinds = new Set(item.matches);
  // parse_matches: an item naming no stanza kind matches all of them, and then names none.
  const all = kinds.size === 0;
  return {
    t, value, action, ord,
    match_all: all,
    match_iq: kinds.has('iq'),
    match_message: kinds.has('message'),
    match_presence_in: kinds.has('presence-in'),
    match_presence_out: kinds.has('presence-out'),
  };
}

/**
 * A list's items → rows in processing order. MongooseIM keys items by (list, ord): when the source repeats an
 * order (which XEP-0016 forbids but some stores keep), the items are renumbered 1..N in their processing order
 * (by order, then source order), which keeps what the list decides.
 */
export function privacyListRows(items: readonly PrivacyItem[]): PrivacyItemRow[] {
  const sorted = items.map((item, i) => ({ item, i })).sort((a, b) => a.item.order - b.item.order || a.i - b.i);
  const unique = new Set(items.map((item) => item.order)).size === items.length;
  return sorted.map(({ item }, i) => privacyItemRow(item, unique ? item.order : i + 1));
}

/**
 * A XEP-0191 blocklist → the rows of MongooseIM's `blocking` list: each JID (prepped, duplicates once) a
 * `jid`/`block` item matching everything, ord 1..N in the given order.
 */
export function blocklistRows(blocked: readonly string[]): PrivacyItemRow[] {
  const jids = [...new Set(blocked.map(privacyJid))];
  return jids.map((value, i) => ({
    t: 'j', value, action: 'b', ord: i + 1,
    match_all: true, match_iq: false, match_message: false, match_presence_in: false, match_presence_out: false,
  }));
}
