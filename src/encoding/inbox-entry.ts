// MongooseIM's inbox (mod_inbox, ESL extension `erlang-solutions.com:xmpp:inbox:0`): which messages make an
// inbox entry, and what an entry row holds. Facts from esl/MongooseIM 475087c (6.8.0 storage code):
// - src/inbox/mod_inbox.erl should_be_stored_in_inbox/6: mod_mam_utils:is_archivable_message(mod_inbox, …, true)
//   and not an inbox-update message (a child in NS_ESL_INBOX_CONVERSATION);
// - src/mam/mod_mam_utils.erl is_archivable_message/4: type normal, chat or groupchat; a <body>, a store hint, a
//   chat marker or a retraction; no <result>, <delay> or no-store hint;
// - src/inbox/mod_inbox_utils.erl maybe_write_to_inbox/6: messages with a chat marker never become the entry
//   (a `displayed` marker only resets the unread count); fill_from_attr/2 sets `from` to the sender when absent;
//   get_msg_id/1: the message's `id` attribute, `<<>>` without one;
// - src/inbox/mod_inbox_rdbms.erl set_inbox/6: content = exml:to_binary(Packet) (XML text), box `inbox`,
//   timestamp = mongoose_acc:timestamp (µs), unread_count 0 on the sender's own row, +1 per incoming message.
// https://github.com/esl/MongooseIM/blob/master/src/inbox/mod_inbox_utils.erl
import { childElements, cloneElement, type Element } from '../xml/element.js';
import { NS_HINTS } from '../xml/namespaces.js';

export const NS_ESL_INBOX_CONVERSATION = 'erlang-solutions.com:xmpp:inbox:0#conversation';
export const NS_CHAT_MARKERS = 'urn:xmpp:chat-markers:0';
const NS_FASTEN = 'urn:xmpp:fasten:0';
const NS_RETRACT = 'urn:xmpp:message-retract:0';
const NS_ESL_RETRACT = 'urn:esl:message-retract-by-stanza-id:0';
const CHAT_MARKERS = new Set(['received', 'displayed', 'acknowledged']);

/** mod_inbox's default box for a written entry. */
export const INBOX_BOX = 'inbox';

/**
 * Would MongooseIM have written this one-to-one message into an inbox entry? In → Out:
 * `<message type='chat'><body>hi</body></message>` → true; a chat marker (`<displayed xmlns=chat-markers id>`)
 * → false; `type='groupchat'` or `error` → false (one-to-one entries only); `<message><delay/>…` → false;
 * a body with `<no-store xmlns='urn:xmpp:hints'/>` → false; `<store xmlns='urn:xmpp:hints'/>` alone → true.
 */
export function isOneToOneInboxMessage(el: Element): boolean {
  if (el.name !== 'message') return false;
  const type = el.attrs.type ?? 'normal';
  if (type !== 'normal' && type !== 'chat') return false;
  const children = childElements(el);
  if (children.some(isChatMarker)) return false;
  if (children.some((c) => c.attrs.xmlns === NS_ESL_INBOX_CONVERSATION)) return false;
  const body = children.some((c) => c.name === 'body');
  const store = children.some((c) => c.name === 'store' && c.attrs.xmlns === NS_HINTS);
  const retract = children.some(isRetraction);
  const result = children.some((c) => c.name === 'result');
  const delay = children.some((c) => c.name === 'delay');
  const noStore = children.some((c) => c.name === 'no-store' && c.attrs.xmlns === NS_HINTS);
  return (body || store || retract) && !(result || delay || noStore);
}

// mongoose_chat_markers:is_chat_marker_element/1: the name, the chat-markers xmlns and an id.
function isChatMarker(c: Element): boolean {
  return CHAT_MARKERS.has(c.name) && c.attrs.xmlns === NS_CHAT_MARKERS && c.attrs.id !== undefined;
}

// mod_mam_utils:get_retract_id/1: <apply-to xmlns=fasten id><retract xmlns=message-retract(-by-stanza-id)/>.
function isRetraction(c: Element): boolean {
  if (c.name !== 'apply-to' || c.attrs.xmlns !== NS_FASTEN || c.attrs.id === undefined) return false;
  const retract = c.getChild('retract');
  return retract !== undefined && (retract.attrs.xmlns === NS_RETRACT || retract.attrs.xmlns === NS_ESL_RETRACT);
}

/** The `msg_id` column: the message's `id` attribute, '' without one (get_msg_id/1). */
export function inboxMsgId(el: Element): string {
  return el.attrs.id ?? '';
}

/**
 * The `content` column: the message as XML text, `from` set to the sender's full JID when the stored message
 * has none (fill_from_attr/2).
 */
export function inboxContent(el: Element, sender: string): Buffer {
  let stanza = el;
  if (stanza.attrs.from === undefined || stanza.attrs.from === null) {
    stanza = cloneElement(el);
    stanza.attrs.from = sender;
  }
  return Buffer.from(stanza.toString(), 'utf8');
}

