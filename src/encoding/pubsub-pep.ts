// PEP items as MongooseIM ≥ 6.8.0's PEP-only mod_pubsub stores them (mod_pubsub_backend_rdbms, esl/MongooseIM
// 475087c): pubsub_node (service_domain, service_user, node_id, access_model ENUM('open','presence'),
// max_items NULL = infinity), pubsub_item (…, item_id, publisher_domain/user/resource, payload = exml:to_binary of
// the single child of <item>, published_at µs). The module supports only the `open` and `presence` access models.
// https://github.com/esl/MongooseIM/blob/master/src/pubsub/mod_pubsub_backend_rdbms.erl
import { NS_BOOKMARKS, NS_BOOKMARKS2 } from '../xml/namespaces.js';

export type PepAccessModel = 'open' | 'presence';

/**
 * Nodes that XEPs require to be `whitelist` (owner-only): private data. MongooseIM's mod_pubsub has no whitelist,
 * so writing them would show them to every contact with a presence subscription: they are never written as PEP.
 * Bookmarks are XEP-0048 private XML in MongooseIM (mod_private), the form its clients read.
 */
const PRIVATE_NODES: ReadonlyMap<string, string> = new Map([
  [NS_BOOKMARKS2, 'XEP-0402 bookmarks'],
  [NS_BOOKMARKS, 'XEP-0223 bookmarks'],
  ['urn:xmpp:mds:displayed:0', 'XEP-0490 displayed markers'],
  ['urn:xmpp:pubsub:private:0', 'private PEP storage'],
]);

/** OMEMO device lists and bundles must be fetchable by anyone who wants to start an encrypted chat (XEP-0384). */
const OPEN_NODE_PREFIXES = ['eu.siacs.conversations.axolotl.', 'urn:xmpp:omemo:2:', 'urn:xmpp:omemo:1:'];
const OPEN_NODES = new Set(['eu.siacs.conversations.axolotl.devicelist', 'urn:xmpp:omemo:2:devices', 'urn:xmpp:omemo:2:bundles']);

/**
 * What a node becomes in MongooseIM. In → Out: `urn:xmpp:bookmarks:1` → private (not written, why);
 * `eu.siacs.conversations.axolotl.bundles:42` → open; `http://jabber.org/protocol/nick` → presence (the PEP
 * default, XEP-0163 §4.1, and mod_pubsub's default_node_config; a source node that was `open` becomes visible to
 * fewer, never to more).
 */
export function pepNodeAccess(node: string): { access: PepAccessModel } | { privateData: string } {
  const what = PRIVATE_NODES.get(node);
  if (what) return { privateData: what };
  if (OPEN_NODES.has(node) || OPEN_NODE_PREFIXES.some((p) => node.startsWith(p))) return { access: 'open' };
  return { access: 'presence' };
}

/** Column widths of mod_pubsub's tables: every key and JID part is varchar(125). */
export const PUBSUB_KEY_WIDTH = 125;
