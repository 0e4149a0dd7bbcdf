// Domain renames (`--mapping FILE`): a TOML file that moves every JID of one XMPP domain (or MUC host) to
// another, applied as a pure transform over the canonical records (src/records.ts), after the source is
// read and before anything is encoded. Keys match the domain after nameprep (src/jid.ts), as MongooseIM
// keys its rows; JIDs of other domains, message bodies and e-mail addresses are never touched.
//
// File format (mappings/example.toml):
//   [domains]
//   "old.example" = "new.example"
//   "conference.old.example" = "muc.new.example"
//
// In → Out (renameJid with old.example → new.example):
//   `Alice@Old.Example/Phone` → `Alice@new.example/Phone` (only the domain changes; local part and resource as written)
//   `old.example`             → `new.example`               `bob@other.example` → unchanged
//   `sub.old.example`         → unchanged (every host is listed on its own, MUC hosts included)
//   `not a jid`               → unchanged
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { UsageError, errorMessage } from '../errors.js';
import { JidError, normaliseDomain, parseJid } from '../jid.js';
import type { BareJid, MigrationRecord } from '../records.js';
import { Element, cloneElement } from '../xml/element.js';

export interface DomainMapping {
  /** Old domain → new domain, both after nameprep. Never empty; never two old domains onto one new one. */
  readonly domains: ReadonlyMap<string, string>;
  /** A stable identity of the renames (sha256 of the sorted pairs), part of the checkpoint identity. */
  readonly fingerprint: string;
  /** Where it was read from, for messages. */
  readonly file: string;
}

/** Attributes that carry a JID on any element of a stanza: stanza from/to (nested forwards too), muc#user
 * items and invites, XEP-0033 addresses, XEP-0203 delay from, XEP-0359 stanza-id by, bookmark and direct
 * invite JIDs (XEP-0048, XEP-0249). A value is renamed only when it parses as a JID of a mapped domain. */
const JID_ATTRIBUTES = ['from', 'to', 'jid', 'by'] as const;
/** Attributes holding an `xmpp:` URI (RFC 5122): XEP-0372 references, XEP-0033 uri addresses. */
const URI_ATTRIBUTES = ['uri'] as const;
/** Elements whose text is a JID: vcard-temp's JABBERID (XEP-0054). E-mail USERID is mail, not XMPP: kept. */
const JID_TEXT_ELEMENTS = new Set(['JABBERID']);
/** Elements whose text is an `xmpp:` URI: vCard4 `<impp><uri>` (XEP-0292). */
const URI_TEXT_ELEMENTS = new Set(['uri']);
/** PEP nodes whose item ids are JIDs: XEP-0402 bookmarks (the room JID). */
const JID_ITEM_ID_NODES = new Set(['urn:xmpp:bookmarks:1']);

/** Reads and checks a mapping file; a UsageError names the file and the entry at fault. */
export async function loadDomainMapping(file: string): Promise<DomainMapping> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--mapping ${file}: cannot read it: ${errorMessage(err)}`, { cause: err });
  }
  return parseDomainMapping(text, file);
}

export function parseDomainMapping(text: string, file: string): DomainMapping {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`--mapping ${file}: not valid TOML: ${errorMessage(err)}`, { cause: err });
  }
  for (const key of Object.keys(doc)) {
    if (key !== 'domains') throw new UsageError(`--mapping ${file}: unknown key ${JSON.stringify(key)}; the file has one table, [domains], of "old.domain" = "new.domain" lines`);
  }
  const table = doc.domains;
  if (table === undefined || typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw new UsageError(`--mapping ${file}: no [domains] table; write "old.domain" = "new.domain" lines under [domains]`);
  }
  const domains = new Map<string, string>();
  const sourceOf = new Map<string, string>();
  for (const [rawOld, rawNew] of Object.entries(table as Record<string, unknown>)) {
    if (typeof rawNew !== 'string') throw new UsageError(`--mapping ${file}: ${JSON.stringify(rawOld)} must map to a domain name in quotes, not ${JSON.stringify(rawNew)}`);
    const from = domainIn(file, rawOld);
    const to = domainIn(file, rawNew);
    if (domains.has(from)) throw new UsageError(`--mapping ${file}: ${JSON.stringify(rawOld)} is listed twice (as ${from}, which is how MongooseIM spells it)`);
    const other = sourceOf.get(to);
    if (other !== undefined) {
      throw new UsageError(`--mapping ${file}: ${other} and ${from} both map to ${to}: merging domains would make alice@${other} and alice@${from} one account; rename them to distinct domains`);
    }
    if (from === to) continue;
    domains.set(from, to);
    sourceOf.set(to, from);
  }
  if (domains.size === 0) throw new UsageError(`--mapping ${file}: [domains] renames nothing; list "old.domain" = "new.domain" lines`);
  const pairs = [...domains].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const fingerprint = createHash('sha256').update(pairs.map(([a, b]) => `${a}\u0000${b}`).join('\n')).digest('hex').slice(0, 16);
  return { domains, fingerprint, file };
}

function domainIn(file: string, raw: string): string {
  try {
    const domain = normaliseDomain(raw);
    // A JID with a local part or resource is not a domain: `a@b` would fail nameprep, `b/r` would not.
    if (domain.includes('/') || domain.includes('@')) throw new JidError(`${JSON.stringify(raw)} is not a bare domain`);
    return domain;
  } catch (err) {
    if (err instanceof JidError) throw new UsageError(`--mapping ${file}: ${JSON.stringify(raw)} is not a domain: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The new domain of an already-normalised domain, or the domain itself. */
export function renameDomain(domain: string, mapping: DomainMapping): string {
  return mapping.domains.get(domain) ?? domain;
}

export function renameBare(jid: BareJid, mapping: DomainMapping): BareJid {
  const domain = mapping.domains.get(jid.domain);
  return domain === undefined ? jid : { local: jid.local, domain };
}

/**
 * A JID as text with its domain renamed when the domain (after nameprep) is mapped; the local part and the
 * resource stay as written. Text that is not a valid JID is returned unchanged: it is not ours to judge here
 * (the writer rejects what MongooseIM could not read).
 */
export function renameJid(raw: string, mapping: DomainMapping): string {
  let domain: string;
  try {
    domain = parseJid(raw).domain;
  } catch (err) {
    if (err instanceof JidError) return raw;
    throw err;
  }
  const renamed = mapping.domains.get(domain);
  if (renamed === undefined) return raw;
  // The same split jid:from_binary/1 makes (and parseJid accepted): local@domain/resource.
  const at = raw.indexOf('@');
  const slash = raw.indexOf('/');
  const hasLocal = at !== -1 && (slash === -1 || at < slash);
  const domainStart = hasLocal ? at + 1 : 0;
  const domainEnd = slash === -1 ? raw.length : slash;
  return `${raw.slice(0, domainStart)}${renamed}${raw.slice(domainEnd)}`;
}

/** An `xmpp:` URI (RFC 5122) with its JID renamed; anything else unchanged. */
export function renameXmppUri(uri: string, mapping: DomainMapping): string {
  if (!uri.startsWith('xmpp:')) return uri;
  const rest = uri.slice('xmpp:'.length);
  // xmpp://auth@host/… names the account to use, not the target: leave it alone.
  if (rest.startsWith('//')) return uri;
  const end = rest.search(/[?#]/);
  const jid = end === -1 ? rest : rest.slice(0, end);
  const renamed = renameJid(jid, mapping);
  return renamed === jid ? uri : `xmpp:${renamed}${end === -1 ? '' : rest.slice(end)}`;
}

/**
 * The element with every JID it carries renamed (JID_ATTRIBUTES, URI_ATTRIBUTES, JID_TEXT_ELEMENTS,
 * URI_TEXT_ELEMENTS, at any depth). Copy on write: the same element when nothing changed, otherwise a new
 * tree sharing the unchanged subtrees' copies; the input is never modified.
 */
export function renameInElement(el: Element, mapping: DomainMapping): Element {
  let attrs: Record<string, string> | undefined;
  for (const name of JID_ATTRIBUTES) {
    const value = el.attrs[name];
    if (typeof value !== 'string') continue;
    const renamed = renameJid(value, mapping);
    if (renamed !== value) (attrs ??= { ...el.attrs })[name] = renamed;
  }
  for (const name of URI_ATTRIBUTES) {
    const value = el.attrs[name];
    if (typeof value !== 'string') continue;
    const renamed = renameXmppUri(value, mapping);
    if (renamed !== value) (attrs ??= { ...el.attrs })[name] = renamed;
  }
  const textRename = JID_TEXT_ELEMENTS.has(el.name) ? renameJid : URI_TEXT_ELEMENTS.has(el.name) ? renameXmppUri : undefined;
  let children: Array<Element | string> | undefined;
  const renamedChildren = new Set<Element>();
  el.children.forEach((child, i) => {
    let next: Element | string;
    if (typeof child === 'string') {
      if (!textRename) return;
      const trimmed = child.trim();
      const renamed = textRename(trimmed, mapping);
      if (renamed === trimmed) return;
      next = child.replace(trimmed, renamed);
    } else {
      next = renameInElement(child, mapping);
      if (next === child) return;
      renamedChildren.add(next);
    }
    (children ??= [...el.children])[i] = next;
  });
  if (!attrs && !children) return el;
  const copy = new Element(el.name, attrs ?? { ...el.attrs });
  for (const child of children ?? el.children) {
    if (typeof child === 'string') copy.children.push(child);
    else {
      // An unchanged child belongs to the input: copy it, so the input's tree is left as it was.
      const c = renamedChildren.has(child) ? child : cloneElement(child);
      c.parent = copy;
      copy.children.push(c);
    }
  }
  return copy;
}

/**
 * The record with every JID of a mapped domain renamed: its owner (account, archive, room, MUC host), the
 * JIDs it refers to (roster contact, peer, sender, affiliations, privacy and block items) and the JIDs inside
 * the XML it stores (stanzas, vCard, private XML, PEP payloads). Pure: the input is never modified.
 */
export function renameRecordDomains(record: MigrationRecord, mapping: DomainMapping): MigrationRecord {
  const jid = (raw: string): string => renameJid(raw, mapping);
  const bare = (b: BareJid): BareJid => renameBare(b, mapping);
  const xml = (el: Element): Element => renameInElement(el, mapping);
  switch (record.kind) {
    case 'account':
      return { ...record, jid: bare(record.jid) };
    case 'roster-item':
      return { ...record, owner: bare(record.owner), contact: jid(record.contact) };
    case 'archived-message': {
      const renamed = { ...record, archive: { type: record.archive.type, jid: bare(record.archive.jid) }, remote: jid(record.remote), stanza: xml(record.stanza) };
      if (record.senderRealJid !== undefined) renamed.senderRealJid = jid(record.senderRealJid);
      return renamed;
    }
    case 'legacy-collection':
      return {
        ...record,
        owner: bare(record.owner),
        with: jid(record.with),
        entries: record.entries.map((e) => ({
          ...e,
          ...(e.jid !== undefined ? { jid: jid(e.jid) } : {}),
          ...(e.stanza !== undefined ? { stanza: xml(e.stanza) } : {}),
          ...(e.children !== undefined ? { children: e.children.map(xml) } : {}),
        })),
      };
    case 'vcard':
      return { ...record, owner: bare(record.owner), vcard: xml(record.vcard) };
    case 'private-xml':
      return { ...record, owner: bare(record.owner), element: xml(record.element) };
    case 'offline-message':
      return { ...record, owner: bare(record.owner), from: jid(record.from), stanza: xml(record.stanza) };
    case 'last-activity':
      return { ...record, owner: bare(record.owner) };
    case 'privacy-list':
      return { ...record, owner: bare(record.owner), items: record.items.map((item) => (item.type === 'jid' ? { ...item, value: jid(item.value) } : item)) };
    case 'blocklist':
      return { ...record, owner: bare(record.owner), blocked: record.blocked.map(jid) };
    case 'muc-room':
      return { ...record, room: bare(record.room), affiliations: record.affiliations.map((a) => ({ ...a, jid: jid(a.jid) })) };
    case 'muc-registration':
      return { ...record, mucHost: jid(record.mucHost), user: bare(record.user) };
    case 'pep-item':
      return {
        ...record,
        owner: bare(record.owner),
        itemId: JID_ITEM_ID_NODES.has(record.node) ? jid(record.itemId) : record.itemId,
        payload: xml(record.payload),
      };
  }
}

/**
 * The domain a record is stored under (its owner's, or the room's MUC host), for per-domain counts: what
 * `plan --mapping` shows before and after the renames.
 */
export function storedDomainOf(record: MigrationRecord): string {
  switch (record.kind) {
    case 'account':
      return record.jid.domain;
    case 'archived-message':
      return record.archive.jid.domain;
    case 'muc-room':
      return record.room.domain;
    case 'muc-registration':
      return record.user.domain;
    default:
      return record.owner.domain;
  }
}

/**
 * The user domains a record needs served by the target (MongooseIM's domain_settings under dynamic domains):
 * the owner's domain for user data. Rooms live on MUC hosts, which MongooseIM derives from its domains
 * (subdomain patterns), never registers: a room record needs none; a registered nick needs its user's domain.
 */
export function servedDomainOf(record: MigrationRecord): string | undefined {
  switch (record.kind) {
    case 'account':
      return record.jid.domain;
    case 'archived-message':
      return record.archive.type === 'user' ? record.archive.jid.domain : undefined;
    case 'muc-room':
      return undefined;
    case 'muc-registration':
      return record.user.domain;
    default:
      return record.owner.domain;
  }
}
