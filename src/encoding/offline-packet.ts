// MongooseIM `offline_message.packet`: the stored message as XML text (mod_offline_rdbms:record_to_row/3 writes
// exml:to_binary of what mod_offline:store_packet/4 keeps after jlib:remove_delay_tags/1).
// https://github.com/esl/MongooseIM/blob/6.8.0/src/offline/mod_offline.erl
// https://github.com/esl/MongooseIM/blob/6.8.0/src/offline/mod_offline_rdbms.erl
import { cloneElement, removeChildren, serializeXml, type Element } from '../xml/element.js';
import { NS_CLIENT, NS_DELAY, NS_DELAY_LEGACY } from '../xml/namespaces.js';

const NS_SERVER = 'jabber:server';

/**
 * The `packet` column for one offline message. In → Out:
 * - Direct children `<delay xmlns='urn:xmpp:delay'/>` (XEP-0203) and `<x xmlns='jabber:x:delay'/>` (XEP-0091) are
 *   removed, as the server removes them before storing; when it delivers the message it appends its own
 *   `<delay stamp=timestamp>Offline Storage</delay>`. Delays nested deeper (a forwarded carbon) stay, as there.
 * - A top-level `xmlns` of `jabber:client` or `jabber:server` is removed. The server stores stanzas as routed,
 *   which carry none (the s2s listener strips it; TCP clients do not send it), and delivers the stored element
 *   unchanged into the client's stream, where an explicit `jabber:server` would be wrong. Any other `xmlns` stays.
 * - Everything else (attributes, children, text) is kept; `from` and `to` are rewritten at delivery from the
 *   row's `from_jid` and the recipient, so their stored values do not matter.
 *
 * The input is not modified.
 */
export function offlinePacket(stanza: Element): string {
  return serializeXml(offlinePacketElement(stanza));
}

/** offlinePacket before serialisation: a cleaned copy of the stanza. */
export function offlinePacketElement(stanza: Element): Element {
  const copy = cloneElement(stanza);
  removeChildren(copy, isDelay);
  const xmlns = copy.attrs.xmlns;
  if (xmlns === NS_CLIENT || xmlns === NS_SERVER) delete copy.attrs.xmlns;
  return copy;
}

// The server matches the element name and an explicit xmlns attribute, exactly as here.
function isDelay(child: Element): boolean {
  return (child.name === 'delay' && child.attrs.xmlns === NS_DELAY) || (child.name === 'x' && child.attrs.xmlns === NS_DELAY_LEGACY);
}
