// MongooseIM `rosterusers.subscription` and `.ask` one-letter codes (RFC 6121 roster state).
// https://github.com/esl/MongooseIM/blob/6.8.0/src/roster/mod_roster_rdbms.erl (encode_/decode_subscription, _ask)
import { RecordError } from '../errors.js';
import type { Ask, Subscription } from '../records.js';

export type SubscriptionCode = 'B' | 'T' | 'F' | 'N';
/** `S` and `U` are read by the server for old rows but never written by it or by us. */
export type AskCode = 'O' | 'I' | 'B' | 'N';

const SUBSCRIPTION_CODES: Readonly<Record<Subscription, SubscriptionCode>> = { both: 'B', to: 'T', from: 'F', none: 'N' };
const ASK_CODES: Readonly<Record<Ask, AskCode>> = { out: 'O', in: 'I', both: 'B', none: 'N' };

const SUBSCRIPTIONS: Readonly<Record<string, Subscription>> = { B: 'both', T: 'to', F: 'from', N: 'none' };
// The legacy codes map to the state the server acts on: `S` (subscribe) is shown to the client as a pending
// outbound request like `O`; `U` (unsubscribe) is shown as nothing pending.
const ASKS: Readonly<Record<string, Ask>> = { O: 'out', I: 'in', B: 'both', N: 'none', S: 'out', U: 'none' };

/** `both` → `B`, `to` → `T` (the owner sees the contact), `from` → `F` (the contact sees the owner), `none` → `N`. */
export function subscriptionCode(subscription: Subscription): SubscriptionCode {
  return SUBSCRIPTION_CODES[subscription];
}

/** `out` → `O` (the owner's request is pending), `in` → `I` (the contact asked), `both` → `B`, `none` → `N`. */
export function askCode(ask: Ask): AskCode {
  return ASK_CODES[ask];
}

/** The reverse of subscriptionCode, for verification. Throws RecordError `roster-code` on a code the server rejects. */
export function subscriptionFromCode(code: string): Subscription {
  const subscription = Object.hasOwn(SUBSCRIPTIONS, code) ? SUBSCRIPTIONS[code] : undefined;
  if (!subscription) throw unknownCode('subscription', code, 'B, T, F or N');
  return subscription;
}

/** The reverse of askCode, for verification; also reads the legacy `S` (as `out`) and `U` (as `none`). */
export function askFromCode(code: string): Ask {
  const ask = Object.hasOwn(ASKS, code) ? ASKS[code] : undefined;
  if (!ask) throw unknownCode('ask', code, 'O, I, B or N (or the legacy S, U)');
  return ask;
}

/**
 * Whether the owner's roster shows the item. A `none` + `in` row is a stranger's pending request: the server keeps
 * it out of roster results and offers it again as a subscribe presence at login (mod_roster:get_user_roster).
 */
export function isRosterContact(subscription: Subscription, ask: Ask): boolean {
  return !(subscription === 'none' && ask === 'in');
}

function unknownCode(column: string, code: string, expected: string): RecordError {
  return new RecordError(
    'roster-code',
    `rosterusers.${column} is ${JSON.stringify(code)}; MongooseIM only reads ${expected} and fails on this row`,
  );
}
