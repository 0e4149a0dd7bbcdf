// The stanza a MongooseIM MAM row holds, from what a source archive kept (XEP-0313, XEP-0359; storage-facts §1.5.6).
// https://github.com/esl/MongooseIM/blob/6.8.0/src/mam/mod_mam_utils.erl
import { RecordError } from '../errors.js';
import { formatJid, parseJid } from '../jid.js';
import { bareJidString } from '../records.js';
import type { Jid } from '../jid.js';
import type { MucAffiliation, SourceLocation } from '../records.js';
import {
  NS_CLIENT,
  NS_DELAY,
  NS_DELAY_LEGACY,
  NS_FORWARD,
  NS_MAM,
  NS_MAM_TMP,
  NS_MUC_USER,
  NS_SID,
} from '../xml/namespaces.js';
import { Element, cloneElement, removeChildren } from '../xml/element.js';

// Older MAM namespaces still found in exports and stored results.
const NS_MAM_0 = 'urn:xmpp:mam:0';
const NS_MAM_1 = 'urn:xmpp:mam:1';
const MAM_NAMESPACES = new Set([NS_MAM, NS_MAM_1, NS_MAM_0, NS_MAM_TMP]);
// Stream namespaces a stored stanza may carry at the top; MongooseIM forces jabber:client on every read.
const NS_SERVER = 'jabber:server';
const NS_COMPONENT = 'jabber:component:accept';
const STREAM_NAMESPACES = new Set([NS_CLIENT, NS_SERVER, NS_COMPONENT]);
// Attributes Prosody adds to stored stanzas (storage-facts §3.3), never part of the stanza.
const SOURCE_ONLY_ATTRS = ['stamp', 'stamp_legacy'];

export type MucRole = 'moderator' | 'participant' | 'visitor' | 'none';

export interface PreparedStanza {
  /** A new element; the input is never modified. */
  stanza: Element;
  /** `<origin-id xmlns='urn:xmpp:sid:0' id>` of the stored stanza, for the origin_id column; absent → NULL. */
  originId?: string;
  /** `<forwarded><delay stamp>` of an unwrapped MAM result, as written; the adapter decides what it means. */
  wrapperStamp?: string;
}

export interface MucUserItemOptions {
  /** At send time. Default 'none': sources rarely record it, and no MongooseIM code reads it back. */
  affiliation?: MucAffiliation;
  /** At send time. Default 'participant': the least role that may always speak, even in a moderated room. */
  role?: MucRole;
}

/**
 * Returns the element to store for one archived message of `archive`, the owner's or the room's bare JID
 * (normalised, as bareJidString writes it):
 *
 * 1. Unwraps a MAM result: `<message><result xmlns='urn:xmpp:mam:*'><forwarded>`, a bare `<result>`, or a bare
 *    `<forwarded xmlns='urn:xmpp:forward:0'>` (XEP-0227 exports), keeping the stamp of the wrapper's delay.
 * 2. On the stanza's own top level, removes `<delay xmlns='urn:xmpp:delay'>`, `<x xmlns='jabber:x:delay'>`, and
 *    `<stanza-id xmlns='urn:xmpp:sid:0'>` / `<archived xmlns='urn:xmpp:mam:tmp'>` whose `by` is the archive
 *    (ids of other entities stay, as MongooseIM keeps them), and Prosody's `stamp` / `stamp_legacy` attributes.
 * 3. Removes a top-level `xmlns` of jabber:client (or jabber:server, jabber:component:accept). MongooseIM stores the
 *    element as the exml stream parser hands it over, which carries no xmlns (the namespace is the stream's
 *    default), and sets xmlns='jabber:client' on every MAM read (mod_mam_utils:maybe_set_client_xmlns), so dropping
 *    it loses nothing and matches native rows; the GraphQL API, which returns stored stanzas unchanged, then also
 *    agrees with native rows. Any other top-level xmlns is kept as data.
 * 4. Reads origin-id as mod_mam_utils:get_origin_id does: the first `<origin-id xmlns='urn:xmpp:sid:0'>` child,
 *    its `id` (`''` stays `''`); the element stays in the stanza.
 *
 * Room archives then add the sender with withMucUserItem when the real JID is known.
 * Throws RecordError `mam-result-without-message` for a wrapper with no stanza inside, and `archive-not-message`
 * when the stored stanza is not a `<message>`.
 */
export function prepareArchivedStanza(input: Element, archive: string, location?: SourceLocation): PreparedStanza {
  const { message, wrapperStamp } = unwrap(input, location);
  if (message.name !== 'message') {
    throw new RecordError(
      'archive-not-message',
      `an archived stanza is a <${message.name}>, but MAM stores only <message> stanzas`,
      location,
    );
  }
  const stanza = cloneElement(message);
  removeChildren(stanza, (child) => isArchiveOnly(child, archive));
  for (const attr of SOURCE_ONLY_ATTRS) delete stanza.attrs[attr];
  const xmlns = stanza.attrs.xmlns;
  if (xmlns !== undefined && STREAM_NAMESPACES.has(xmlns)) delete stanza.attrs.xmlns;

  const result: PreparedStanza = { stanza };
  const originId = originIdOf(stanza);
  if (originId !== undefined) result.originId = originId;
  if (wrapperStamp !== undefined) result.wrapperStamp = wrapperStamp;
  return result;
}

/**
 * What mod_mam_muc stores for a room message (mod_mam_utils:replace_x_user_element): every
 * `<x xmlns='http://jabber.org/protocol/muc#user'>` child removed, then
 * `<x xmlns='…muc#user'><item affiliation jid role/></x>` appended last, `jid` the sender's real JID (full when
 * known). Returns a new element. MongooseIM writes the JID as the sender's session spells it; this writes the
 * normalised form, which every reader (packet_to_x_user_jid, then a bare comparison) treats alike.
 */
export function withMucUserItem(stanza: Element, realJid: Jid, options: MucUserItemOptions = {}): Element {
  const copy = cloneElement(stanza);
  removeChildren(copy, (child) => child.name === 'x' && child.attrs.xmlns === NS_MUC_USER);
  // Attribute order affiliation, jid, role: the order exml prints its (sorted) map in, so the XML text
  // format of mam_message_xml matches native rows too.
  const item = new Element('item', {
    affiliation: options.affiliation ?? 'none',
    jid: formatJid(realJid),
    role: options.role ?? 'participant',
  });
  const x = new Element('x', { xmlns: NS_MUC_USER });
  item.parent = x;
  x.children.push(item);
  x.parent = copy;
  copy.children.push(x);
  return copy;
}

function unwrap(input: Element, location: SourceLocation | undefined): { message: Element; wrapperStamp?: string } {
  let forwarded: Element | undefined;
  if (input.name === 'forwarded' && input.attrs.xmlns === NS_FORWARD) {
    forwarded = input;
  } else {
    const result = isMamResult(input) ? input : input.name === 'message' ? input.children.find(isMamResultNode) : undefined;
    if (result === undefined) return { message: input };
    forwarded = findChild(result, 'forwarded', NS_FORWARD);
    if (forwarded === undefined) throw emptyWrapper(location);
  }
  const message = forwarded.children.find(
    (c): c is Element => typeof c !== 'string' && (c.name === 'message' || c.name === 'presence' || c.name === 'iq'),
  );
  if (message === undefined) throw emptyWrapper(location);
  const stamp = findChild(forwarded, 'delay', NS_DELAY)?.attrs.stamp;
  return stamp === undefined ? { message } : { message, wrapperStamp: stamp };
}

function isMamResult(el: Element): boolean {
  return el.name === 'result' && MAM_NAMESPACES.has(el.attrs.xmlns ?? '');
}

function isMamResultNode(node: Element | string): node is Element {
  return typeof node !== 'string' && isMamResult(node);
}

function emptyWrapper(location: SourceLocation | undefined): RecordError {
  return new RecordError(
    'mam-result-without-message',
    'a MAM result has no <forwarded xmlns="urn:xmpp:forward:0"> with a stanza inside; nothing to archive',
    location,
  );
}

function findChild(el: Element, name: string, xmlns: string): Element | undefined {
  for (const c of el.children) {
    if (typeof c !== 'string' && c.name === name && c.attrs.xmlns === xmlns) return c;
  }
  return undefined;
}

function isArchiveOnly(child: Element, archiveJid: string): boolean {
  const ns = child.attrs.xmlns;
  switch (child.name) {
    case 'delay':
      return ns === NS_DELAY;
    case 'x':
      return ns === NS_DELAY_LEGACY;
    case 'stanza-id':
      return ns === NS_SID && isArchive(child.attrs.by, archiveJid);
    case 'archived':
      return ns === NS_MAM_TMP && isArchive(child.attrs.by, archiveJid);
    default:
      return false;
  }
}

/** `by` names the archive when it is the archive's bare JID after prepping; an unparsable `by` is another entity's. */
function isArchive(by: string | undefined, archiveJid: string): boolean {
  if (by === undefined) return false;
  if (by === archiveJid) return true;
  try {
    const jid = parseJid(by);
    return jid.resource === '' && bareJidString(jid) === archiveJid;
  } catch {
    return false;
  }
}

function originIdOf(stanza: Element): string | undefined {
  const origin = findChild(stanza, 'origin-id', NS_SID);
  return origin?.attrs.id;
}
