// Openfire and Tigase databases, as the project's fixtures create them in the test run's real PostgreSQL and
// MariaDB, migrated by the real CLI (in process) into fresh MongooseIM schemas on PostgreSQL, and the rows
// asserted one by one against the fixture's own source rows: accounts whose SCRAM data passes a client-proof
// check with the known passwords (Blowfish-decrypted ones included), roster codes and groups, vCards, private
// XML, offline messages, personal and room archives. Bad rows end in the reject report with table, key and
// reason, nothing else is missing, `verify` reports parity, and no secret reaches any output.
//
// Expectations are computed here from the source rows, with the servers' documented meanings (Openfire's
// RosterItem codes, Tigase's subscription names, MongooseIM's row formats), not read back through the adapters.
// The four migrations run concurrently (beforeAll); each test awaits its own.
import { inflateSync } from 'node:zlib';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SaxesParser } from 'saxes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErlangTerm } from '../../src/adapters/erlang-term-text.js';
import { encryptOpenfirePassword, type OpenfireKdf } from '../../src/adapters/openfire-blowfish.js';
import { main } from '../../src/cli/main.js';
import { decodeMamJid } from '../../src/encoding/mam-jid.js';
import { parsePassDetails } from '../../src/encoding/scram.js';
import { normalizeSearchText } from '../../src/encoding/search-body.js';
import type { ScramAlgorithm } from '../../src/records.js';
import { DEFAULT_TARGET_SETTINGS } from '../../src/target/mongooseim/target-settings.js';
import { freshMysqlDatabase, freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';
import { decodeEtf } from '../fixtures/ejabberd/etf-decode.js';
import { BLOWFISH_SALT, OTHER_PASSWORDS, PASSWORD_KEY, PASSWORDS as OPENFIRE_PASSWORDS, STAFF_GROUP_JID, cipherFor, loadOpenfire } from '../fixtures/openfire/data.js';
import { openfireHasTable } from '../fixtures/openfire/schema.js';
import { type Dialect, type FixtureDb, fixtureDb } from '../fixtures/openfire/sql-fixture.js';
import { scramAccepts } from '../fixtures/openfire/source-views.js';
import { PASSWORDS as TIGASE_PASSWORDS, loadTigase } from '../fixtures/tigase/data.js';
import type { TigaseProfile } from '../fixtures/tigase/schema.js';

type Row = Record<string, unknown>;
type MessageFormat = 'compressed-eterm' | 'eterm' | 'xml';
type JidFormat = 'mini' | 'rfc';

// ---------------------------------------------------------------------------------------------------------
// XML as plain trees: a strict parser (saxes, independent of the product's), the exml term reader, and one
// canonical text (attributes sorted, as exml's map keeps them) so a stored row and an expectation compare.

interface XNode {
  name: string;
  attrs: Record<string, string>;
  children: Array<XNode | string>;
}

/** The element, or undefined when the text is not well-formed XML. */
function parseTree(text: string): XNode | undefined {
  const parser = new SaxesParser({ xmlns: false });
  const stack: XNode[] = [];
  let root: XNode | undefined;
  let failed = false;
  parser.on('opentag', (tag) => {
    const node: XNode = { name: tag.name, attrs: { ...(tag.attributes as Record<string, string>) }, children: [] };
    if (stack.length > 0) stack[stack.length - 1]!.children.push(node);
    else root = node;
    stack.push(node);
  });
  parser.on('closetag', () => void stack.pop());
  const onText = (t: string): void => {
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(t);
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('error', () => void (failed = true));
  try {
    parser.write(text).close();
  } catch {
    failed = true;
  }
  return failed ? undefined : root;
}

function mustParse(text: string): XNode {
  const node = parseTree(text);
  if (!node) throw new Error(`fixture XML expected well-formed: ${text}`);
  return node;
}

const escText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escAttr = (s: string): string => escText(s).replace(/"/g, '&quot;');

function canon(node: XNode): string {
  const attrs = Object.keys(node.attrs)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((k) => ` ${k}="${escAttr(node.attrs[k]!)}"`)
    .join('');
  let inner = '';
  let text = '';
  for (const c of node.children) {
    if (typeof c === 'string') text += c;
    else {
      inner += escText(text) + canon(c);
      text = '';
    }
  }
  inner += escText(text);
  return inner === '' ? `<${node.name}${attrs}/>` : `<${node.name}${attrs}>${inner}</${node.name}>`;
}

function child(node: XNode, name: string, xmlns?: string): XNode | undefined {
  return node.children.find((c): c is XNode => typeof c !== 'string' && c.name === name && (xmlns === undefined || c.attrs.xmlns === xmlns));
}

function textOf(node: XNode): string {
  return node.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

function element(name: string, attrs: Record<string, string>, children: Array<XNode | string> = []): XNode {
  return { name, attrs, children };
}

const NS_CLIENT = 'jabber:client';
const NS_SID = 'urn:xmpp:sid:0';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

/** A stanza as MongooseIM stores it: no top-level jabber:client xmlns, no delays, no stanza-id of the archive itself. */
function stored(node: XNode, archive?: string): XNode {
  const attrs = { ...node.attrs };
  if (attrs.xmlns === NS_CLIENT) delete attrs.xmlns;
  const children = node.children.filter(
    (c) =>
      typeof c === 'string' ||
      !(
        (c.name === 'delay' && c.attrs.xmlns === 'urn:xmpp:delay') ||
        (c.name === 'x' && c.attrs.xmlns === 'jabber:x:delay') ||
        (archive !== undefined && c.name === 'stanza-id' && c.attrs.xmlns === NS_SID && c.attrs.by === archive)
      ),
  );
  return { name: node.name, attrs, children };
}

/** A room archive's copy: from the occupant, groupchat, no `to`, and the sender's real JID in a muc#user item. */
function roomCopy(node: XNode, room: string, nick: string, realJid: string): XNode {
  const { to: _to, ...attrs } = node.attrs;
  const base = stored({ ...node, attrs: { ...attrs, from: `${room}/${nick}`, type: 'groupchat' } }, room);
  base.children = base.children.filter((c) => typeof c === 'string' || !(c.name === 'x' && c.attrs.xmlns === NS_MUC_USER));
  base.children.push(element('x', { xmlns: NS_MUC_USER }, [element('item', { affiliation: 'none', jid: realJid, role: 'participant' })]));
  return base;
}

function originIdOf(node: XNode): string | null {
  return child(node, 'origin-id', NS_SID)?.attrs.id ?? null;
}

function searchBodyOf(node: XNode): string {
  const body = child(node, 'body');
  return normalizeSearchText(body ? textOf(body) : '');
}

/** exml record (ETF, zlib-compressed or not) → tree; checks the exml 4 shape MongooseIM ≥ 6.3.2 writes. */
function exmlTree(bytes: Buffer): XNode {
  expect(bytes[0]).toBe(131);
  const term = bytes[1] === 80 ? decodeEtf(Buffer.concat([Buffer.from([131]), inflateSync(bytes.subarray(6))])) : decodeEtf(bytes);
  const bin = (t: ErlangTerm | undefined): string => {
    if (t?.type !== 'binary') throw new Error(`expected a binary in the exml term, got ${JSON.stringify(t)}`);
    return t.bytes.toString('utf8');
  };
  const walk = (t: ErlangTerm): XNode | string => {
    if (t.type !== 'tuple' || t.items[0]?.type !== 'atom') throw new Error('not an exml record');
    if (t.items[0].name === 'xmlcdata') {
      expect(t.items[2]).toEqual({ type: 'atom', name: 'escaped' });
      return bin(t.items[1]);
    }
    expect(t.items[0].name).toBe('xmlel');
    const attrs = t.items[2]!;
    const kids = t.items[3]!;
    if (attrs.type !== 'map' || kids.type !== 'list') throw new Error('not an exml 4 element');
    return {
      name: bin(t.items[1]),
      attrs: Object.fromEntries(attrs.entries.map(([k, v]) => [bin(k), bin(v)])),
      children: kids.items.map(walk),
    };
  };
  const root = walk(term);
  if (typeof root === 'string') throw new Error('exml term is text');
  return root;
}

function storedMessage(bytes: Buffer, format: MessageFormat): string {
  if (format === 'xml') return canon(mustParse(bytes.toString('utf8')));
  if (format === 'eterm') expect(bytes[1], 'mam_message_eterm is never compressed').not.toBe(80);
  return canon(exmlTree(bytes));
}

// ---------------------------------------------------------------------------------------------------------
// JIDs, times, the rest of the vocabulary.

const bareOf = (jid: string): string => jid.split('/')[0]!.toLowerCase();
/** Lower-cased node and domain, resource as written (nodeprep/nameprep of the ASCII fixture JIDs). */
function normalFull(jid: string): string {
  const slash = jid.indexOf('/');
  return slash < 0 ? jid.toLowerCase() : `${jid.slice(0, slash).toLowerCase()}${jid.slice(slash)}`;
}
const VALID_BARE = /^[^@/\s"&'<>:]+@[a-z0-9.-]+$/i;
const localOf = (jid: string): string => jid.slice(0, jid.indexOf('@'));
const domainOf = (jid: string): string => jid.slice(jid.indexOf('@') + 1);

/** µs since the epoch → `YYYY-MM-DD HH:MM:SS.ffffff` (UTC). */
function microsText(micros: bigint): string {
  const iso = new Date(Number(micros / 1000n)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(micros % 1_000_000n).padStart(6, '0')}`;
}

/** Tigase's MySQL binary(16) stable ids are Tig_MA_UuidToOrdered's reordering (time_hi, time_mid, time_low, rest). */
function uuidFromOrdered(hex: string): string {
  const h = hex.toLowerCase();
  return `${h.slice(8, 16)}-${h.slice(4, 8)}-${h.slice(0, 4)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------------------------------------------------
// What a source should become.

interface ExpectedAccount {
  /** The password the stored SCRAM data must accept. */
  password: string;
  /** derived: hashed by the tool from a plaintext (a Blowfish-decrypted one included); kept: the source's SCRAM. */
  from: 'derived' | 'kept';
  /** kept: algorithm → the source's salt (base64) and iteration count. */
  kept?: Partial<Record<ScramAlgorithm, { salt: string; iterations: number }>>;
  /** users.created_at as `YYYY-MM-DD HH:MM:SS.ffffff`; null: the source has no creation time (the column's now()). */
  createdAt: string | null;
}

interface ExpectedArchived {
  archive: string;
  /** Source time in µs; messages of one archive at the same µs are stored at consecutive µs from it. */
  micros: bigint;
  row: Row;
}

interface ExpectedReject {
  stream: string;
  table: string;
  key: string;
  code: string;
}

interface Expected {
  users: Map<string, ExpectedAccount>;
  /** Accounts whose plaintext was recovered by decrypting ofUser.encryptedPassword (Openfire). */
  decrypted: string[];
  rosterusers: Row[];
  rostergroups: Row[];
  vcard: Row[];
  private_storage: Row[];
  offline_message: Row[];
  mam_message: ExpectedArchived[];
  mam_muc_message: ExpectedArchived[];
  /** MongooseIM rows of last activity, privacy lists (with their items), persistent rooms, affiliations, nicks. */
  last: Row[];
  privacy: ExpectedPrivacyList[];
  muc_rooms: Row[];
  muc_room_aff: Row[];
  muc_registered: Row[];
  rejects: ExpectedReject[];
  /** Streams whose rejects this test does not enumerate one by one (their rows are still asserted): shape only. */
  unwrittenStreams: string[];
}

interface ExpectedPrivacyList {
  server: string;
  username: string;
  name: string;
  isDefault: boolean;
  /** privacy_list_data in ord order: t, value, action, ord, the match_* columns that are true. */
  items: Row[];
}

// XEP-0016 <list> → MongooseIM's privacy_list_data (mod_privacy_rdbms: t n/j/g/s, action a/d, match_all when the
// item names no stanza kind), or undefined when an item is not valid XEP-0016 (the list is rejected).
const PRIVACY_T: Record<string, string> = { jid: 'j', group: 'g', subscription: 's' };
const MATCH_COLUMNS: Record<string, string> = { iq: 'match_iq', message: 'match_message', 'presence-in': 'match_presence_in', 'presence-out': 'match_presence_out' };
function privacyItems(list: XNode): Row[] | undefined {
  const items: Row[] = [];
  for (const c of list.children) {
    if (typeof c === 'string' || c.name !== 'item') continue;
    const { type, value, action, order } = c.attrs;
    if ((action !== 'allow' && action !== 'deny') || !/^\d+$/.test(order ?? '')) return undefined;
    const t = type === undefined ? 'n' : PRIVACY_T[type];
    if (!t) return undefined;
    const kinds = c.children.filter((k): k is XNode => typeof k !== 'string').map((k) => MATCH_COLUMNS[k.name]!);
    items.push({ t, value: t === 'n' ? '' : t === 'j' ? value!.toLowerCase() : value, action: action[0], ord: Number(order), match: kinds.length === 0 ? ['match_all'] : kinds.sort() });
  }
  return items.sort((a, b) => Number(a.ord) - Number(b.ord));
}

/** MongooseIM's muc_room_aff.aff (mod_muc_rdbms aff_atom2db). */
const MIM_AFF: Record<string, number> = { owner: 1, member: 2, admin: 3, outcast: 4 };

// MongooseIM rosterusers codes (mod_roster_rdbms): subscription B/T/F/N, ask O (owner asked), I (contact asked), B, N.
const SUB_LETTER = { none: 'N', to: 'T', from: 'F', both: 'B' } as const;
function askLetter(out: boolean, inbound: boolean): string {
  return out && inbound ? 'B' : out ? 'O' : inbound ? 'I' : 'N';
}

// Openfire RosterItem: sub -1 remove, 0 none, 1 to, 2 from, 3 both; ask -1 none, 0 subscribe, 1 unsubscribe;
// recv -1 none, 1 subscribe, 2 unsubscribe.
const OPENFIRE_SUB: Record<number, keyof typeof SUB_LETTER | 'remove'> = { [-1]: 'remove', 0: 'none', 1: 'to', 2: 'from', 3: 'both' };
const OPENFIRE_ASK = new Set([-1, 0, 1]);
const OPENFIRE_RECV = new Set([-1, 1, 2]);
/** Openfire 4.3 (schema 28) moved private XML from ofPrivate into whitelist PEP nodes, item 'current'. */
const PRIVATE_IN_PEP = 28;

// Accounts the fixture makes unmigratable on purpose, and why (the rest must all arrive).
const OPENFIRE_BAD_ACCOUNTS: Record<string, string> = {
  'bad user': 'invalid-jid', // a space in the node
  erin: 'no-credential', // encryptedPassword under another key, no SCRAM: unrecoverable (unrecoverable=skip)
  heidi: 'no-credential', // no password at all
  ivan: 'invalid-scram', // storedKey is not base64
};
const TIGASE_BAD_ACCOUNTS: Record<string, string> = {
  'bad user@example.com': 'invalid-jid',
  'dave@example.com': 'no-credential', // MD5-PASSWORD only
  'erin@example.com': 'invalid-scram', // SCRAM-SHA-256 value 'garbage'
  'frank@example.com': 'no-credential', // no credentials row
};

interface OpenfireSource {
  version: number;
  kdf: OpenfireKdf;
  domain: string;
  users: Row[];
  scram: Row[];
  roster: Row[];
  groups: Row[];
  vcards: Row[];
  privateRows: Row[];
  pep: Row[];
  offline: Row[];
  rooms: Row[];
  services: Row[];
  log: Row[];
  privacy: Row[];
  presence: Row[];
  affiliations: Row[];
  members: Row[];
}

async function rowsOf(db: FixtureDb, sql: string): Promise<Row[]> {
  return (await db.exec(sql)).map((r) => Object.fromEntries(Object.entries(r as Row).map(([k, v]) => [k.toLowerCase(), v])));
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

async function readOpenfire(db: FixtureDb, version: number, kdf: OpenfireKdf): Promise<OpenfireSource> {
  const q = (sql: string): Promise<Row[]> => rowsOf(db, sql);
  const [domainRow] = await q("SELECT propValue FROM ofProperty WHERE name = 'xmpp.domain'");
  return {
    version,
    kdf,
    domain: String(domainRow!.propvalue),
    users: await q('SELECT * FROM ofUser'),
    scram: openfireHasTable('ofUserScram', version) ? await q('SELECT * FROM ofUserScram') : [],
    roster: await q('SELECT * FROM ofRoster'),
    groups: await q('SELECT * FROM ofRosterGroups'),
    vcards: await q('SELECT * FROM ofVCard'),
    privateRows: openfireHasTable('ofPrivate', version) ? await q('SELECT * FROM ofPrivate') : [],
    pep: await q('SELECT i.serviceID AS service, i.nodeID AS node, i.id AS item, i.payload, n.accessModel AS access FROM ofPubsubItem i JOIN ofPubsubNode n ON n.serviceID = i.serviceID AND n.nodeID = i.nodeID'),
    offline: await q('SELECT * FROM ofOffline'),
    rooms: await q('SELECT * FROM ofMucRoom'),
    services: await q('SELECT * FROM ofMucService'),
    log: await q('SELECT * FROM ofMucConversationLog'),
    privacy: await q('SELECT * FROM ofPrivacyList'),
    presence: await q('SELECT * FROM ofPresence'),
    affiliations: await q('SELECT * FROM ofMucAffiliation'),
    members: await q('SELECT * FROM ofMucMember'),
  };
}

function expectOpenfire(s: OpenfireSource): Expected {
  const e = emptyExpected(['privacy', 'last', 'muc-rooms']);
  const domain = s.domain;
  const known: Record<string, string> = { ...OPENFIRE_PASSWORDS, frank: OTHER_PASSWORDS.frank };

  for (const u of s.users) {
    const username = String(u.username);
    if (username in OPENFIRE_BAD_ACCOUNTS) {
      e.rejects.push({ stream: 'accounts', table: 'ofUser', key: username, code: OPENFIRE_BAD_ACCOUNTS[username]! });
      continue;
    }
    const jid = `${username}@${domain}`;
    // ofUser.creationDate: epoch ms as CHAR(15); '0' when Openfire recorded none.
    const createdAt = BigInt(String(u.creationdate)) === 0n ? null : microsText(BigInt(String(u.creationdate)) * 1000n);
    const plain = str(u.plainpassword);
    const encrypted = str(u.encryptedpassword);
    const scram = s.version < 39 ? (u.storedkey ? [{ ...u, mechanism: 'SCRAM-SHA-1' }] : []) : s.scram.filter((r) => r.username === username);
    const password = known[username];
    // Openfire's Blowfish.encryptString output is hex(IV) + hex(ciphertext): re-encrypting the known plaintext
    // with that IV under the fixture's key tells whether the stored value decrypts to it.
    const decryptable =
      encrypted !== null && password !== undefined && /^[0-9a-f]{16}/i.test(encrypted) &&
      encryptOpenfirePassword(password, cipherFor(s.kdf), Buffer.from(encrypted.slice(0, 16), 'hex')) === encrypted;
    if (plain !== null) e.users.set(jid, { password: plain, from: 'derived', createdAt });
    else if (decryptable) {
      e.users.set(jid, { password: password!, from: 'derived', createdAt });
      e.decrypted.push(username);
    } else if (scram.length > 0 && password !== undefined) {
      e.users.set(jid, {
        password,
        from: 'kept',
        kept: Object.fromEntries(scram.map((r) => [scramAlgorithm(String(r.mechanism)), { salt: String(r.salt), iterations: Number(r.iterations) }])),
        createdAt,
      });
    } else {
      throw new Error(`fixture account ofUser ${username} has no expectation in this test`);
    }
  }

  for (const r of s.roster) {
    const id = Number(r.rosterid);
    const owner = String(r.username);
    const contact = String(r.jid);
    const [sub, ask, recv] = [Number(r.sub), Number(r.ask), Number(r.recv)];
    const at = { stream: 'rosters', table: 'ofRoster', key: `rosterID=${id}` };
    if (!(sub in OPENFIRE_SUB) || !OPENFIRE_ASK.has(ask) || !OPENFIRE_RECV.has(recv)) {
      e.rejects.push({ ...at, code: 'unknown-roster-code' });
      continue;
    }
    if (!VALID_BARE.test(contact)) {
      e.rejects.push({ ...at, code: 'invalid-jid' });
      continue;
    }
    const subscription = OPENFIRE_SUB[sub]!;
    if (subscription === 'remove') continue; // being removed in Openfire: not a roster item any more
    const stanza = s.version >= 33 && r.stanza ? parseTree(String(r.stanza)) : undefined;
    const status = stanza ? child(stanza, 'status') : undefined;
    const jid = contact.toLowerCase();
    e.rosterusers.push({
      server: domain, username: owner, jid, nick: str(r.nick) ?? '', subscription: SUB_LETTER[subscription],
      ask: askLetter(ask === 0, recv === 1), askmessage: status ? textOf(status) : '',
    });
    const groups = new Set(s.groups.filter((g) => Number(g.rosterid) === id).map((g) => String(g.groupname)));
    for (const grp of groups) e.rostergroups.push({ server: domain, username: owner, jid, grp });
  }

  for (const v of s.vcards) {
    const at = { stream: 'vcards', table: 'ofVCard', key: String(v.username) };
    const tree = parseTree(String(v.vcard));
    if (!tree) e.rejects.push({ ...at, code: 'malformed-xml' });
    else if (tree.name !== 'vCard' || tree.attrs.xmlns !== 'vcard-temp') e.rejects.push({ ...at, code: 'invalid-vcard' });
    else e.vcard.push({ username: String(v.username), server: domain, vcard: canon(tree) });
  }

  if (s.version < PRIVATE_IN_PEP) {
    for (const p of s.privateRows) {
      const at = { stream: 'private', table: 'ofPrivate', key: `${p.username} ${p.name} ${p.namespace}` };
      const tree = parseTree(String(p.privatedata));
      if (!tree) e.rejects.push({ ...at, code: 'malformed-xml' });
      else if (tree.attrs.xmlns !== p.namespace) e.rejects.push({ ...at, code: 'private-xml-namespace' });
      else e.private_storage.push({ server: domain, username: String(p.username), namespace: String(p.namespace), data: canon(tree) });
    }
  } else {
    for (const p of s.pep) {
      const service = String(p.service);
      if (p.access !== 'whitelist' || p.item !== 'current' || domainOf(service) !== domain) continue; // PEP proper, or not a local user
      const at = { stream: 'private', table: 'ofPubsubItem', key: `${service} ${p.node} ${p.item}` };
      const tree = parseTree(String(p.payload));
      if (!tree) e.rejects.push({ ...at, code: 'malformed-xml' });
      else if (tree.attrs.xmlns === p.node) e.private_storage.push({ server: domain, username: localOf(service), namespace: String(p.node), data: canon(tree) });
      // else: a whitelist node of other PEP data, not private storage
    }
  }

  for (const o of s.offline) {
    const at = { stream: 'offline', table: 'ofOffline', key: `${o.username} messageID=${o.messageid}` };
    const tree = parseTree(String(o.stanza));
    if (!tree) e.rejects.push({ ...at, code: 'malformed-xml' });
    else if (!tree.attrs.from) e.rejects.push({ ...at, code: 'invalid-jid' });
    else {
      e.offline_message.push({
        // ofOffline.creationDate: epoch ms as a zero-padded CHAR(15); MongooseIM: µs.
        timestamp: String(BigInt(String(o.creationdate)) * 1000n), expire: null, server: domain, username: String(o.username),
        from_jid: normalFull(tree.attrs.from), packet: canon(stored(tree)), permanent_fields: null,
      });
    }
  }

  const services = new Map(s.services.map((x) => [String(x.serviceid), String(x.subdomain)]));
  const rooms = new Map(s.rooms.map((x) => [String(x.roomid), services.has(String(x.serviceid)) ? `${String(x.name).toLowerCase()}@${services.get(String(x.serviceid))}.${domain}` : undefined]));
  for (const l of s.log) {
    const messageId = l.messageid === undefined || l.messageid === null ? null : String(l.messageid);
    const logTime = String(l.logtime);
    const at = { stream: 'muc-archives', table: 'ofMucConversationLog', key: `roomID=${l.roomid} logTime=${logTime}${messageId === null ? '' : ` messageID=${messageId}`}` };
    const room = rooms.get(String(l.roomid));
    if (!room) {
      e.rejects.push({ ...at, code: 'room-not-found' });
      continue;
    }
    const nick = String(l.nickname);
    let message: XNode;
    if (l.stanza) {
      const tree = parseTree(String(l.stanza));
      if (!tree) {
        e.rejects.push({ ...at, code: 'malformed-xml' });
        continue;
      }
      message = tree;
    } else {
      // Rows before schema 24 (and some after) have only the columns: the message is rebuilt from them.
      const parts = l.subject ? [element('subject', {}, [String(l.subject)])] : [element('body', {}, [String(l.body)])];
      message = element('message', { type: 'groupchat' }, parts);
    }
    const sender = String(l.sender);
    const copy = roomCopy(message, room, nick, normalFull(sender));
    e.mam_muc_message.push({
      archive: room,
      micros: BigInt(logTime) * 1000n,
      row: { room, sender: bareOf(sender), nick_name: nick, message: canon(copy), search_body: searchBodyOf(copy), origin_id: originIdOf(message) },
    });
  }

  // ofPresence: offlineDate in epoch ms (MongooseIM: Unix seconds), the <status> of the unavailable presence.
  for (const p of s.presence) {
    const presence = str(p.offlinepresence);
    const tree = presence === null || presence === '' ? undefined : parseTree(presence);
    if (presence !== null && presence !== '' && !tree) continue; // malformed: rejected
    const status = tree ? child(tree, 'status') : undefined;
    e.last.push({ server: domain, username: String(p.username), seconds: Math.floor(Number(p.offlinedate) / 1000), state: status ? textOf(status) : '' });
  }
  // ofPrivacyList: the list XML; isDefault 1 for the default list.
  for (const l of s.privacy) {
    const tree = parseTree(String(l.list));
    const items = tree?.name === 'list' ? privacyItems(tree) : undefined;
    if (items) e.privacy.push({ server: domain, username: String(l.username), name: String(l.name), isDefault: Number(l.isdefault) === 1, items });
  }
  // ofMucAffiliation codes 10 owner, 20 admin, 30 member, 40 outcast, 50 none; ofMucMember rows are members (loaded
  // after the affiliations, so they win) and carry the registered nick. A group JID or an unknown code is rejected.
  const OF_AFF: Record<number, string> = { 10: 'owner', 20: 'admin', 30: 'member', 40: 'outcast', 50: 'none' };
  for (const r of s.rooms) {
    const subdomain = services.get(String(r.serviceid));
    if (subdomain === undefined) continue; // a room of a deleted service: rejected
    const host = `${subdomain}.${domain}`;
    const roomName = String(r.name).toLowerCase();
    e.muc_rooms.push({ muc_host: host, room_name: roomName, title: String(r.naturalname) });
    const affs = new Map<string, string>();
    for (const a of s.affiliations.filter((x) => String(x.roomid) === String(r.roomid))) {
      const code = OF_AFF[Number(a.affiliation)];
      if (code !== undefined && String(a.jid) !== STAFF_GROUP_JID) affs.set(String(a.jid).toLowerCase(), code);
    }
    for (const m of s.members.filter((x) => String(x.roomid) === String(r.roomid))) {
      const jid = String(m.jid).toLowerCase();
      affs.set(jid, 'member');
      const nick = str(m.nickname);
      if (nick) e.muc_registered.push({ muc_host: host, luser: localOf(jid), lserver: domainOf(jid), nick });
    }
    for (const [jid, aff] of affs) {
      if (aff !== 'none') e.muc_room_aff.push({ room: `${roomName}@${host}`, luser: localOf(jid), lserver: domainOf(jid), resource: '', aff: MIM_AFF[aff] });
    }
  }
  return e;
}

function scramAlgorithm(mechanism: string): ScramAlgorithm {
  const m = /^SCRAM-SHA-(1|224|256|384|512)$/.exec(mechanism);
  if (!m) throw new Error(`not a SCRAM mechanism: ${mechanism}`);
  return `sha${m[1]}` as ScramAlgorithm;
}

function emptyExpected(unwrittenStreams: string[]): Expected {
  return {
    users: new Map(), decrypted: [], rosterusers: [], rostergroups: [], vcard: [], private_storage: [], offline_message: [],
    mam_message: [], mam_muc_message: [], last: [], privacy: [], muc_rooms: [], muc_room_aff: [], muc_registered: [], rejects: [], unwrittenStreams,
  };
}

// Tigase RosterElement subscription names: the MongooseIM subscription and whether a request is pending
// out (the owner asked) or in (the contact asked). Pre-approvals (RFC 6121 §3.4) have no MongooseIM column.
const TIGASE_SUBS: Record<string, [keyof typeof SUB_LETTER, boolean, boolean]> = {
  none: ['none', false, false],
  none_pending_out: ['none', true, false],
  none_pending_in: ['none', false, true],
  none_pending_out_in: ['none', true, true],
  to: ['to', false, false],
  to_pending_in: ['to', false, true],
  from: ['from', false, false],
  from_pending_out: ['from', true, false],
  both: ['both', false, false],
};

interface TigaseSource {
  profile: TigaseProfile;
  users: Row[];
  credentials: Row[];
  pairs: Row[];
  offline: Row[];
  mam: Row[];
  history: Row[];
  last: Row[];
  rooms: Row[];
  affiliations: Row[];
}

async function readTigase(db: FixtureDb, profile: TigaseProfile): Promise<TigaseSource> {
  const q = (sql: string): Promise<Row[]> => rowsOf(db, sql);
  const pgsql = db.dialect === 'pg';
  // Times as µs computed by the database itself, ids as canonical UUID text.
  const micros = (c: string): string => (pgsql ? `(extract(epoch from ${c}) * 1000000)::bigint::text` : `CAST(CAST(UNIX_TIMESTAMP(${c}) * 1000000 AS SIGNED) AS CHAR)`);
  const uuid = (c: string): string => (pgsql ? `${c}::text` : `LOWER(HEX(${c}))`);
  const fixUuid = (rows: Row[]): Row[] => (pgsql ? rows : rows.map((r) => ({ ...r, uuid: r.uuid === undefined ? undefined : uuidFromOrdered(String(r.uuid)) })));
  return {
    profile,
    users: await q(`SELECT uid, user_id, ${micros('acc_create_time')} AS created FROM tig_users`),
    credentials: await q('SELECT uid, username, mechanism, value FROM tig_user_credentials'),
    pairs: await q('SELECT p.pid, p.pkey, p.pval, n.node, u.user_id FROM tig_pairs p JOIN tig_nodes n ON n.nid = p.nid JOIN tig_users u ON u.uid = p.uid'),
    offline: await q(`SELECT msg_id, receiver, sender, message, ${micros('ts')} AS micros, ${micros('expired')} AS expired FROM tig_offline_messages`),
    mam: fixUuid(await q(`SELECT o.jid AS owner, m.msg, ${micros('m.ts')} AS micros, ${uuid('m.stable_id')} AS uuid FROM tig_ma_msgs m JOIN tig_ma_jids o ON o.jid_id = m.owner_id`)),
    history: fixUuid(
      await q(`SELECT room_jid, event_type, sender_jid, sender_nickname, body, msg, ${micros('ts')} AS micros${profile === '8.4' ? `, ${uuid('stable_id')} AS uuid` : ''} FROM tig_muc_room_history`),
    ),
    // Tigase 8.4 renamed last_login to last_used.
    last: await q(`SELECT user_id, ${micros(profile === '8.4' ? 'last_used' : 'last_login')} AS micros FROM tig_users WHERE ${profile === '8.4' ? 'last_used' : 'last_login'} IS NOT NULL`),
    rooms: await q('SELECT room_id, jid, config FROM tig_muc_rooms'),
    affiliations: await q(`SELECT room_id, jid, affiliation${profile === '8.4' ? ', nickname' : ''} FROM tig_muc_room_affiliations`),
  };
}

function expectTigase(s: TigaseSource): Expected {
  const e = emptyExpected(['privacy', 'last', 'muc-rooms']);
  const known: Record<string, string> = TIGASE_PASSWORDS;

  for (const u of s.users) {
    const userId = String(u.user_id);
    if (!userId.includes('@')) continue; // Tigase's own rows (db-properties)
    const key = `uid=${u.uid} (${userId})`;
    if (userId in TIGASE_BAD_ACCOUNTS) {
      e.rejects.push({ stream: 'accounts', table: 'tig_users', key, code: TIGASE_BAD_ACCOUNTS[userId]! });
      continue;
    }
    const jid = userId.toLowerCase();
    const createdAt = u.created === null ? null : microsText(BigInt(String(u.created)));
    // Only the 'default' credentials are the account's (others are app passwords).
    const creds = s.credentials.filter((c) => String(c.uid) === String(u.uid) && c.username === 'default');
    const plain = creds.find((c) => c.mechanism === 'PLAIN');
    const scram = creds.filter((c) => String(c.mechanism).startsWith('SCRAM-'));
    if (plain) e.users.set(jid, { password: String(plain.value), from: 'derived', createdAt });
    else if (scram.length > 0 && known[localOf(jid)] !== undefined) {
      const field = (value: string, name: string): string => value.split(',').find((f) => f.startsWith(`${name}=`))!.slice(name.length + 1);
      e.users.set(jid, {
        password: known[localOf(jid)]!,
        from: 'kept',
        kept: Object.fromEntries(scram.map((c) => [scramAlgorithm(String(c.mechanism)), { salt: field(String(c.value), 's'), iterations: Number(field(String(c.value), 'i')) }])),
        createdAt,
      });
    } else {
      throw new Error(`fixture account ${userId} has no expectation in this test`);
    }
  }

  for (const p of s.pairs) {
    const owner = String(p.user_id).toLowerCase();
    const [username, server] = [localOf(owner), domainOf(owner)];
    if (p.pkey === 'roster' && p.node === 'root') {
      const at = { stream: 'rosters', table: 'tig_pairs', key: `pid=${p.pid} (${p.user_id} roster)` };
      const roster = parseTree(`<roster>${String(p.pval)}</roster>`);
      if (!roster) {
        e.rejects.push({ ...at, code: 'malformed-roster' });
        continue;
      }
      const seen = new Set<string>();
      for (const c of roster.children) {
        if (typeof c === 'string') continue;
        const contact = String(c.attrs.jid);
        const subs = (c.attrs.subs ?? 'none').replace(/_pre_approved$/, '');
        if (subs === 'remove') continue; // Tigase keeps removed contacts flagged: not a roster item
        const state = TIGASE_SUBS[subs];
        if (!state) {
          e.rejects.push({ ...at, code: 'unknown-subscription' });
          continue;
        }
        if (!VALID_BARE.test(contact)) {
          e.rejects.push({ ...at, code: 'invalid-jid' });
          continue;
        }
        const jid = contact.toLowerCase();
        if (seen.has(jid)) {
          e.rejects.push({ ...at, code: 'duplicate-roster-item' });
          continue;
        }
        seen.add(jid);
        const [subscription, out, inbound] = state;
        e.rosterusers.push({ server, username, jid, nick: c.attrs.name ?? '', subscription: SUB_LETTER[subscription], ask: askLetter(out, inbound), askmessage: '' });
        for (const grp of new Set((c.attrs.groups ?? '').split(',').filter((g) => g !== ''))) e.rostergroups.push({ server, username, jid, grp });
      }
    } else if (p.pkey === 'vCard' && p.node === 'vcard-temp') {
      const at = { stream: 'vcards', table: 'tig_pairs', key: `pid=${p.pid} (${p.user_id} vCard)` };
      const tree = parseTree(String(p.pval));
      if (!tree) e.rejects.push({ ...at, code: 'malformed-xml' });
      else if (tree.name !== 'vCard' || tree.attrs.xmlns !== 'vcard-temp') e.rejects.push({ ...at, code: 'invalid-vcard' });
      else e.vcard.push({ username, server, vcard: canon(tree) });
    } else if (p.node === 'jabber:iq:private') {
      // Tigase keys private XML by element name + namespace, e.g. storagestorage:bookmarks.
      const at = { stream: 'private', table: 'tig_pairs', key: `pid=${p.pid} (${p.user_id} private)` };
      const tree = parseTree(String(p.pval));
      if (!tree) e.rejects.push({ ...at, code: 'malformed-xml' });
      else if (!tree.attrs.xmlns || `${tree.name}${tree.attrs.xmlns}` !== p.pkey) e.rejects.push({ ...at, code: 'private-xml-namespace' });
      else e.private_storage.push({ server, username, namespace: tree.attrs.xmlns, data: canon(tree) });
    }
  }

  for (const o of s.offline) {
    const at = { stream: 'offline', table: 'tig_offline_messages', key: `msg_id=${o.msg_id}` };
    const tree = parseTree(String(o.message));
    if (!tree) e.rejects.push({ ...at, code: 'malformed-xml' });
    else if (tree.name === 'presence') continue; // a stored subscription request: the roster keeps it as pending
    else if (tree.name !== 'message') e.rejects.push({ ...at, code: 'unexpected-element' });
    else {
      const receiver = String(o.receiver).toLowerCase();
      e.offline_message.push({
        timestamp: String(o.micros), expire: str(o.expired), server: domainOf(receiver), username: localOf(receiver),
        from_jid: normalFull(tree.attrs.from ?? String(o.sender)), packet: canon(stored(tree)), permanent_fields: null,
      });
    }
  }

  for (const m of s.mam) {
    const owner = String(m.owner).toLowerCase();
    const at = { stream: 'archives', table: 'tig_ma_msgs', key: `owner=${m.owner} stable_id=${m.uuid}` };
    const tree = parseTree(String(m.msg));
    if (!tree) {
      e.rejects.push({ ...at, code: 'malformed-xml' });
      continue;
    }
    if (tree.attrs.type === 'groupchat') continue; // not kept in personal archives (pm.archive_groupchats = false)
    // Addressed to the owner: received; otherwise sent, from the owner's resource.
    const incoming = bareOf(tree.attrs.to ?? '') === owner;
    const peer = normalFull(incoming ? tree.attrs.from! : tree.attrs.to!);
    const copy = stored(tree, owner);
    e.mam_message.push({
      archive: owner,
      micros: BigInt(String(m.micros)),
      row: {
        owner, direction: incoming ? 'I' : 'O', from_jid: incoming ? peer : normalFull(tree.attrs.from ?? owner), remote_bare_jid: bareOf(peer),
        remote_resource: peer.includes('/') ? peer.slice(peer.indexOf('/') + 1) : '', message: canon(copy), search_body: searchBodyOf(copy),
        origin_id: originIdOf(tree), is_groupchat: false,
      },
    });
  }

  for (const h of s.history) {
    const micros = BigInt(String(h.micros));
    const at = {
      stream: 'muc-archives', table: 'tig_muc_room_history',
      key: `room=${h.room_jid} ts=${microsText(micros)}${s.profile === '8.4' ? ` stable_id=${h.uuid}` : ''}`,
    };
    if (Number(h.event_type) !== 1) {
      e.rejects.push({ ...at, code: 'unsupported-event' });
      continue;
    }
    const room = String(h.room_jid).toLowerCase();
    const nick = String(h.sender_nickname);
    let message: XNode;
    if (h.msg) {
      const tree = parseTree(String(h.msg));
      if (!tree) {
        e.rejects.push({ ...at, code: 'malformed-xml' });
        continue;
      }
      message = tree;
    } else {
      message = element('message', { type: 'groupchat' }, [element('body', {}, [String(h.body)])]);
    }
    const sender = String(h.sender_jid);
    const copy = roomCopy(message, room, nick, normalFull(sender));
    e.mam_muc_message.push({
      archive: room,
      micros,
      row: { room, sender: bareOf(sender), nick_name: nick, message: canon(copy), search_body: searchBodyOf(copy), origin_id: originIdOf(message) },
    });
  }

  // tig_users.last_used (last_login before 8.4): the last login, the closest Tigase keeps; no status.
  for (const u of s.last) {
    const userId = String(u.user_id);
    if (!userId.includes('@') || !VALID_BARE.test(userId)) continue;
    const jid = userId.toLowerCase();
    e.last.push({ server: domainOf(jid), username: localOf(jid), seconds: Number(BigInt(String(u.micros)) / 1_000_000n), state: '' });
  }
  // Privacy lists: tig_pairs 'privacy-list' under privacy/<name>, the default's name in privacy's 'default-list'.
  for (const p of s.pairs.filter((x) => x.pkey === 'privacy-list')) {
    const owner = String(p.user_id).toLowerCase();
    const tree = parseTree(String(p.pval));
    const items = tree?.name === 'list' ? privacyItems(tree) : undefined;
    if (!items) continue; // rejected
    const name = String(tree!.attrs.name);
    const isDefault = s.pairs.some((d) => d.pkey === 'default-list' && d.node === 'privacy' && String(d.user_id).toLowerCase() === owner && d.pval === name);
    e.privacy.push({ server: domainOf(owner), username: localOf(owner), name, isDefault, items });
  }
  // tig_muc_rooms: only rooms whose configuration form says persistent; affiliations by name ('none' is none,
  // unknown names are rejected); 8.4's affiliation nickname is the registered nick.
  for (const r of s.rooms) {
    const form = r.config === null ? undefined : parseTree(String(r.config));
    const persistent = form?.children.some((f) => typeof f !== 'string' && f.attrs.var === 'muc#roomconfig_persistentroom' && ['1', 'true'].includes(textOf(f).trim()));
    if (!persistent) continue;
    const room = String(r.jid).toLowerCase();
    e.muc_rooms.push({ muc_host: domainOf(room), room_name: localOf(room) });
    for (const a of s.affiliations.filter((x) => String(x.room_id) === String(r.room_id))) {
      const jid = String(a.jid).toLowerCase();
      const affiliation = String(a.affiliation);
      if (affiliation in MIM_AFF) e.muc_room_aff.push({ room, luser: localOf(jid), lserver: domainOf(jid), resource: '', aff: MIM_AFF[affiliation] });
      const nick = str(a.nickname);
      if (nick && (affiliation in MIM_AFF || affiliation === 'none')) e.muc_registered.push({ muc_host: domainOf(room), luser: localOf(jid), lserver: domainOf(jid), nick });
    }
  }
  return e;
}

// ---------------------------------------------------------------------------------------------------------
// One migration: fixture source, `run` into a fresh MongooseIM PostgreSQL database, `verify`, the target rows.

interface Scenario {
  title: string;
  scheme: 'openfire' | 'tigase';
  dialect: Dialect;
  load(db: FixtureDb): Promise<void>;
  read(db: FixtureDb): Promise<Expected>;
  sourceOptions: Record<string, string>;
  messageFormat: MessageFormat;
  jidFormat: JidFormat;
  /** Secrets of this source: none may appear in any output or in the reject file. */
  secrets: string[];
}

interface RejectLine {
  stream: string;
  kind?: string;
  code: string;
  reason: string;
  location?: { source?: string; table?: string; key?: string };
  record?: Row;
  excerpt?: string;
}

interface Migrated {
  expected: Expected;
  sourceUrl: string;
  targetUrl: string;
  exitCode: number;
  outputs: string[];
  rejectText: string;
  rejectMode: number;
  rejects: RejectLine[];
  verifyCode: number;
  verify: Row;
  target: Record<string, Row[]>;
  ms: Record<string, number>;
}

// admin's password is 'admin', which is also its user name: every other known password must stay out of sight.
const OPENFIRE_SECRET_PASSWORDS = Object.values(OPENFIRE_PASSWORDS).filter((p) => p !== 'admin');

const SCENARIOS: Scenario[] = [
  {
    // Newest schema, the PBKDF2 key derivation, and the passwordKey stored encrypted in ofProperty, so the
    // operator passes it on the command line.
    title: 'Openfire schema 40 on PostgreSQL (PBKDF2 Blowfish key, passwordKey given as an option)',
    scheme: 'openfire',
    dialect: 'pg',
    load: (db) => loadOpenfire(db, 40, { kdf: 'pbkdf2', encryptedProperty: true }),
    read: async (db) => expectOpenfire(await readOpenfire(db, 40, 'pbkdf2')),
    sourceOptions: { 'blowfish-salt': BLOWFISH_SALT, 'password-key': PASSWORD_KEY },
    messageFormat: 'compressed-eterm',
    jidFormat: 'mini',
    secrets: [PASSWORD_KEY, ...OPENFIRE_SECRET_PASSWORDS, ...Object.values(OTHER_PASSWORDS)],
  },
  {
    // Openfire 4.0's schema: SCRAM in ofUser, ofPrivate, no ofRoster.stanza, a log without messageID/stanza.
    title: 'Openfire schema 22 on MariaDB (SHA-1 Blowfish key from ofProperty)',
    scheme: 'openfire',
    dialect: 'mysql',
    load: (db) => loadOpenfire(db, 22, { kdf: 'sha1' }),
    read: async (db) => expectOpenfire(await readOpenfire(db, 22, 'sha1')),
    sourceOptions: {},
    messageFormat: 'xml',
    jidFormat: 'mini',
    secrets: [PASSWORD_KEY, ...OPENFIRE_SECRET_PASSWORDS, ...Object.values(OTHER_PASSWORDS)],
  },
  {
    title: 'Tigase 8.4 on PostgreSQL',
    scheme: 'tigase',
    dialect: 'pg',
    load: (db) => loadTigase(db, '8.4'),
    read: async (db) => expectTigase(await readTigase(db, '8.4')),
    sourceOptions: {},
    messageFormat: 'compressed-eterm',
    jidFormat: 'mini',
    secrets: [...Object.values(TIGASE_PASSWORDS), 'app-password'],
  },
  {
    title: 'Tigase 8.0 on MariaDB',
    scheme: 'tigase',
    dialect: 'mysql',
    load: (db) => loadTigase(db, '8.0'),
    read: async (db) => expectTigase(await readTigase(db, '8.0')),
    sourceOptions: {},
    messageFormat: 'eterm',
    jidFormat: 'rfc',
    secrets: [...Object.values(TIGASE_PASSWORDS), 'app-password'],
  },
];

let work: string;
const databases: FreshDatabase[] = [];
const migrations = new Map<string, Promise<Migrated>>();

function capture(): { io: Parameters<typeof main>[1]; text: () => string } {
  let out = '';
  return { io: { stdout: { write: (s: string) => void (out += s) }, stderr: { write: (s: string) => void (out += s) } }, text: () => out };
}

async function targetRows(url: string): Promise<Record<string, Row[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const q = async (sql: string): Promise<Row[]> => (await client.query(sql)).rows as Row[];
  try {
    return {
      users: await q(
        `SELECT username, server, password, pass_details, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.US') AS created_at,
                abs(extract(epoch from (created_at - now()::timestamp))) < 86400 AS created_now FROM users ORDER BY server, username`,
      ),
      rosterusers: await q('SELECT server, username, jid, nick, subscription, ask, askmessage FROM rosterusers'),
      rostergroups: await q('SELECT server, username, jid, grp FROM rostergroups'),
      vcard: await q('SELECT username, server, vcard FROM vcard'),
      vcard_search: await q('SELECT username, lusername, server, fn, lfn FROM vcard_search'),
      private_storage: await q('SELECT server, username, namespace, data FROM private_storage'),
      offline_message: await q('SELECT timestamp::text AS timestamp, expire::text AS expire, server, username, from_jid, packet, permanent_fields FROM offline_message ORDER BY id'),
      mam_message: await q(
        `SELECT m.id::text AS id, u.user_name, u.server, m.from_jid, m.remote_bare_jid, m.remote_resource, m.direction::text AS direction, m.message,
                m.search_body, m.origin_id, m.is_groupchat FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id ORDER BY m.id`,
      ),
      mam_muc_message: await q(
        `SELECT m.id::text AS id, r.user_name || '@' || r.server AS room, s.user_name || '@' || s.server AS sender, m.nick_name, m.message, m.search_body, m.origin_id
         FROM mam_muc_message m JOIN mam_server_user r ON r.id = m.room_id JOIN mam_server_user s ON s.id = m.sender_id ORDER BY m.id`,
      ),
      last: await q('SELECT server, username, seconds, state FROM last'),
      privacy_list: await q(
        `SELECT l.server, l.username, l.name, d.name IS NOT NULL AS is_default,
                coalesce((SELECT json_agg(json_build_object('t', i.t, 'value', i.value, 'action', i.action, 'ord', i.ord, 'match', array_remove(ARRAY[
                   CASE WHEN i.match_all THEN 'match_all' END, CASE WHEN i.match_iq THEN 'match_iq' END, CASE WHEN i.match_message THEN 'match_message' END,
                   CASE WHEN i.match_presence_in THEN 'match_presence_in' END, CASE WHEN i.match_presence_out THEN 'match_presence_out' END], NULL)) ORDER BY i.ord)
                  FROM privacy_list_data i WHERE i.id = l.id), '[]') AS items
         FROM privacy_list l LEFT JOIN privacy_default_list d ON d.server = l.server AND d.username = l.username AND d.name = l.name`,
      ),
      muc_rooms: await q('SELECT muc_host, room_name, options::text AS options FROM muc_rooms'),
      muc_room_aff: await q(`SELECT r.room_name || '@' || r.muc_host AS room, a.luser, a.lserver, a.resource, a.aff FROM muc_room_aff a JOIN muc_rooms r ON r.id = a.room_id`),
      muc_registered: await q('SELECT muc_host, luser, lserver, nick FROM muc_registered'),
    };
  } finally {
    await client.end();
  }
}

async function migrate(scenario: Scenario, index: number): Promise<Migrated> {
  const ms: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    ms[name] = Math.round(now - t);
    t = now;
  };
  const source = scenario.dialect === 'pg' ? await freshPostgresDatabase(`${scenario.scheme}_src`) : await freshMysqlDatabase(`${scenario.scheme}_src`);
  databases.push(source);
  const target = await freshPostgresDatabase(`${scenario.scheme}_mim`);
  databases.push(target);
  const db = await fixtureDb(scenario.dialect, source.url);
  let expected: Expected;
  try {
    await scenario.load(db);
    expected = await scenario.read(db);
  } finally {
    await db.close();
  }
  lap('load');

  const sourceArgs = ['--source', `${scenario.scheme}+${scenario.dialect}:${source.url}`, ...Object.entries(scenario.sourceOptions).flatMap(([k, v]) => ['--source-option', `${k}=${v}`])];
  // MongooseIM's defaults are not passed, so the default settings are what those runs exercise.
  const targetArgs = [
    '--target', target.url,
    ...(scenario.messageFormat === DEFAULT_TARGET_SETTINGS.messageFormat ? [] : ['--message-format', scenario.messageFormat]),
    ...(scenario.jidFormat === DEFAULT_TARGET_SETTINGS.pmJidFormat ? [] : ['--jid-format', scenario.jidFormat]),
  ];
  const rejectFile = join(work, `rejects-${index}.ndjson`);
  const run = capture();
  const exitCode = await main(['run', ...sourceArgs, ...targetArgs, '--create-schema', '--quiet', '--reject-file', rejectFile], run.io);
  lap('run');
  const verify = capture();
  const verifyCode = await main(['verify', ...sourceArgs, ...targetArgs, '--json'], verify.io);
  lap('verify');
  const rejectText = await readFile(rejectFile, 'utf8').catch(() => '');
  const rejectMode = rejectText === '' ? 0 : (await stat(rejectFile)).mode & 0o777;
  const lines = verify.text().trim().split('\n');
  const rows = await targetRows(target.url);
  lap('read target');
  return {
    expected,
    sourceUrl: source.url,
    targetUrl: target.url,
    exitCode,
    outputs: [run.text(), verify.text()],
    rejectText,
    rejectMode,
    rejects: rejectText.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as RejectLine),
    verifyCode,
    verify: (() => {
      try {
        return JSON.parse(lines[lines.length - 1]!) as Row;
      } catch {
        return { unparsed: verify.text() };
      }
    })(),
    target: rows,
    ms,
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-of-tig-'));
  SCENARIOS.forEach((scenario, i) => {
    const p = migrate(scenario, i);
    p.catch(() => undefined); // reported by the scenario's own tests
    migrations.set(scenario.title, p);
  });
});

afterAll(async () => {
  await Promise.allSettled([...migrations.values()]);
  // XMIG_SCENARIO_TIMINGS=1 prints where each migration's time went (load, run, verify, read target).
  if (process.env.XMIG_SCENARIO_TIMINGS) {
    for (const [title, p] of migrations) process.stderr.write(`${title}: ${JSON.stringify((await p.catch(() => ({ ms: 'failed' }))).ms)}\n`);
  }
  await Promise.allSettled(databases.map((d) => d.drop()));
  if (work) await rm(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------
// The assertions, the same for every source.

const sortRows = (rows: Row[]): Row[] => [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

function jidText(jid: { local: string; domain: string; resource: string }): string {
  return `${jid.local === '' ? '' : `${jid.local}@`}${jid.domain}${jid.resource === '' ? '' : `/${jid.resource}`}`;
}

/** Stored archive rows next to the expectation: each µs is its source time, or just above it when times collide. */
function checkArchive(actual: Array<{ archive: string; id: string; row: Row }>, expected: ExpectedArchived[], label: string): void {
  const ids = new Set<string>();
  const byMessage = new Map<string, ExpectedArchived[]>();
  for (const e of expected) byMessage.set(`${e.archive} ${e.row.message}`, [...(byMessage.get(`${e.archive} ${e.row.message}`) ?? []), e]);
  expect(actual.map((a) => `${a.archive} ${a.row.message}`).sort(), `${label}: the stored messages`).toEqual(expected.map((e) => `${e.archive} ${e.row.message}`).sort());
  for (const a of actual) {
    const id = BigInt(a.id);
    expect(id & 255n, `${label}: MAM id node byte (--mam-node default 0)`).toBe(0n);
    ids.add(`${a.archive} ${id}`);
    const candidates = byMessage.get(`${a.archive} ${a.row.message}`)!;
    const e = candidates.shift()!;
    expect(a.row, `${label}: ${a.row.message}`).toEqual(e.row);
    const sameTime = expected.filter((x) => x.archive === e.archive && x.micros === e.micros).length;
    const micros = id >> 8n;
    expect(micros >= e.micros && micros < e.micros + BigInt(sameTime), `${label}: ${a.row.message} at µs ${micros}, source ${e.micros} (${sameTime} at that µs)`).toBe(true);
  }
  expect(ids.size, `${label}: ids unique per archive`).toBe(actual.length);
}

describe.each(SCENARIOS)('$title migrated into MongooseIM on PostgreSQL', (scenario) => {
  const migrated = (): Promise<Migrated> => migrations.get(scenario.title)!;

  it('finishes with exit code 3 (rejects) and reports every bad row with table, key and reason; nothing else is missing', async () => {
    const m = await migrated();
    expect(m.exitCode, m.outputs[0]).toBe(3);
    expect(m.outputs[0]).toContain(`${m.rejects.length} record(s) rejected`);
    expect(m.rejectMode, 'reject report mode').toBe(0o600);
    for (const r of m.rejects) {
      expect(r.location?.table, JSON.stringify(r)).toEqual(expect.any(String));
      expect(r.location?.key, JSON.stringify(r)).toEqual(expect.any(String));
      expect(r.reason.length, JSON.stringify(r)).toBeGreaterThan(10);
      expect(r.location?.source, 'the source as displayed, password masked').toMatch(new RegExp(`^${scenario.scheme}\\+${scenario.dialect}:\\w+://[^:]+:\\*\\*\\*@`));
    }
    const view = (r: { stream: string; table?: string; key?: string; code: string }): string => `${r.stream} | ${r.table} | ${r.key} | ${r.code}`;
    const written = m.rejects.filter((r) => !m.expected.unwrittenStreams.includes(r.stream));
    expect(written.map((r) => view({ ...r, ...r.location })).sort()).toEqual(m.expected.rejects.map(view).sort());
    // The ones the issue names, present in every fixture: an unknown roster code / a malformed roster string,
    // and a password that cannot be recovered.
    const codes = new Set(m.rejects.map((r) => r.code));
    expect(codes).toContain(scenario.scheme === 'openfire' ? 'unknown-roster-code' : 'malformed-roster');
    expect(codes).toContain('no-credential');
  });

  it('stores accounts whose SCRAM data passes a client proof with the known passwords (decrypted ones included)', async () => {
    const m = await migrated();
    const users = m.target.users!;
    expect(users.map((u) => `${u.username}@${u.server}`).sort()).toEqual([...m.expected.users.keys()].sort());
    if (scenario.scheme === 'openfire') expect(m.expected.decrypted.length, 'the fixture has Blowfish-encrypted passwords to recover').toBeGreaterThan(0);
    for (const u of users) {
      const jid = `${u.username}@${u.server}`;
      const e = m.expected.users.get(jid)!;
      expect(u.password, `${jid}: no plaintext stored (password.format = scram)`).toBe('');
      if (e.createdAt === null) expect(u.created_now, `${jid}: created_at defaults to now()`).toBe(true);
      else expect(u.created_at, `${jid}: created_at from the source`).toBe(e.createdAt);
      const details = parsePassDetails(String(u.pass_details));
      expect(details.format).toBe('multi');
      if (e.from === 'derived') {
        expect(details.hashes.map((h) => h.algorithm), `${jid}: every configured hash`).toEqual(DEFAULT_TARGET_SETTINGS.passwordHashes);
        expect(details.iterations).toBe(DEFAULT_TARGET_SETTINGS.scramIterations);
      } else {
        const kept = Object.fromEntries(details.hashes.map((h) => [h.algorithm, { salt: h.salt.toString('base64'), iterations: h.iterations }]));
        expect(kept, `${jid}: the source's SCRAM data, unchanged`).toEqual(e.kept);
      }
      for (const hash of details.hashes) {
        expect(scramAccepts(hash, e.password), `${jid} ${hash.algorithm} accepts the known password`).toBe(true);
        expect(scramAccepts(hash, `${e.password}x`), `${jid} ${hash.algorithm} refuses another`).toBe(false);
      }
    }
  });

  it('writes rosterusers with the right subscription and ask codes, and rostergroups', async () => {
    const m = await migrated();
    expect(sortRows(m.target.rosterusers!)).toEqual(sortRows(m.expected.rosterusers));
    expect(sortRows(m.target.rostergroups!)).toEqual(sortRows(m.expected.rostergroups));
    // The fixture covers the codes: every subscription and every pending state.
    const codes = new Set(m.target.rosterusers!.map((r) => `${r.subscription}${r.ask}`));
    for (const code of scenario.scheme === 'openfire' ? ['BN', 'NO', 'NI', 'FO', 'TI', 'NB'] : ['BN', 'NO', 'NI', 'NB', 'TI', 'FO', 'TN', 'FN', 'NN']) expect(codes).toContain(code);
  });

  it('writes vCards (with their search rows), private XML and offline messages', async () => {
    const m = await migrated();
    const canonical = (rows: Row[], column: string): Row[] => sortRows(rows.map((r) => ({ ...r, [column]: canon(mustParse(String(r[column]))) })));
    expect(canonical(m.target.vcard!, 'vcard')).toEqual(sortRows(m.expected.vcard));
    expect(m.expected.vcard.length).toBeGreaterThan(0);
    expect(sortRows(m.target.vcard_search!.map((r) => ({ username: r.username, server: r.server, fn: r.fn })))).toEqual(
      sortRows(m.expected.vcard.map((v) => ({ username: v.username, server: v.server, fn: textOf(child(mustParse(String(v.vcard)), 'FN')!) }))),
    );
    expect(canonical(m.target.private_storage!, 'data')).toEqual(sortRows(m.expected.private_storage));
    expect(m.expected.private_storage.length).toBeGreaterThan(0);
    // Offline messages: µs timestamps, each user's in delivery (id) order, delays and the stream namespace gone
    // from the packet.
    const offline: Row[] = m.target.offline_message!.map((r) => ({ ...r, packet: canon(mustParse(String(r.packet))) }));
    expect(sortRows(offline)).toEqual(sortRows(m.expected.offline_message));
    expect(offline.length).toBeGreaterThan(0);
    for (const owner of new Set(offline.map((r) => `${r.username}@${r.server}`))) {
      const times = offline.filter((r) => `${r.username}@${r.server}` === owner).map((r) => BigInt(String(r.timestamp)));
      expect([...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), `${owner}'s offline messages in time order`).toEqual(times);
    }
  });

  it('writes personal archives (direction, peer, µs time, origin id, stanza) and room archives (nick, sender)', async () => {
    const m = await migrated();
    const userRows = m.target.mam_message!.map((r) => {
      const owner = { local: String(r.user_name), domain: String(r.server) };
      const jid = (stored: unknown): string => (scenario.jidFormat === 'rfc' ? String(stored) : jidText(decodeMamJid('mini', owner, String(stored))));
      const remoteBare = jid(r.remote_bare_jid);
      return {
        archive: `${owner.local}@${owner.domain}`,
        id: String(r.id),
        row: {
          owner: `${owner.local}@${owner.domain}`, direction: r.direction, from_jid: jid(r.from_jid), remote_bare_jid: remoteBare,
          remote_resource: r.remote_resource, message: storedMessage(r.message as Buffer, scenario.messageFormat), search_body: r.search_body,
          origin_id: r.origin_id, is_groupchat: r.is_groupchat,
        },
      };
    });
    if (scenario.scheme === 'tigase') expect(m.expected.mam_message.length).toBeGreaterThan(0);
    checkArchive(userRows, m.expected.mam_message, 'mam_message');
    if (scenario.jidFormat === 'mini' && userRows.length > 0) {
      // mam_jid_mini stores the owner's own JID relative to it (the outgoing from_jid is just "/resource").
      expect(m.target.mam_message!.some((r) => r.direction === 'O' && String(r.from_jid).startsWith('/'))).toBe(true);
    }

    const roomRows = m.target.mam_muc_message!.map((r) => ({
      archive: String(r.room),
      id: String(r.id),
      row: {
        room: r.room, sender: r.sender, nick_name: r.nick_name, message: storedMessage(r.message as Buffer, scenario.messageFormat),
        search_body: r.search_body, origin_id: r.origin_id,
      },
    }));
    expect(m.expected.mam_muc_message.length).toBeGreaterThan(0);
    checkArchive(roomRows, m.expected.mam_muc_message, 'mam_muc_message');
  });

  it('writes last activity, privacy lists and the default one, persistent rooms with their affiliations, and registered nicks', async () => {
    const m = await migrated();
    const t = m.target;
    expect(sortRows(t.last!)).toEqual(sortRows(m.expected.last));
    expect(m.expected.last.length).toBeGreaterThan(0);
    const lists = t.privacy_list!.map((r) => ({ server: r.server, username: r.username, name: r.name, isDefault: r.is_default, items: r.items }));
    expect(sortRows(lists)).toEqual(sortRows(m.expected.privacy as unknown as Row[]));
    expect(m.expected.privacy.some((l) => l.isDefault && l.items.length > 0)).toBe(true);
    const rooms = t.muc_rooms!.map((r) => ({ muc_host: r.muc_host, room_name: r.room_name, options: JSON.parse(String(r.options)) as Row }));
    expect(sortRows(rooms.map((r) => ({ muc_host: r.muc_host, room_name: r.room_name })))).toEqual(sortRows(m.expected.muc_rooms.map((r) => ({ muc_host: r.muc_host, room_name: r.room_name }))));
    expect(rooms.length).toBeGreaterThan(0);
    for (const room of rooms) {
      // Only persistent rooms live in muc_rooms; Openfire's naturalName is the title.
      expect(room.options.persistent, `${room.room_name} persistent`).toBe(true);
      const title = m.expected.muc_rooms.find((r) => r.room_name === room.room_name && r.muc_host === room.muc_host)?.title;
      if (title !== undefined) expect(room.options.title).toBe(title);
    }
    expect(sortRows(t.muc_room_aff!)).toEqual(sortRows(m.expected.muc_room_aff));
    expect(m.expected.muc_room_aff.length).toBeGreaterThan(0);
    expect(sortRows(t.muc_registered!)).toEqual(sortRows(m.expected.muc_registered));
  });

  it('passes verify: every archive with the same count, times and content, every kind with its rows', async () => {
    const m = await migrated();
    expect(m.verifyCode, m.outputs[1]).toBe(0);
    const archives = new Set([...m.expected.mam_message, ...m.expected.mam_muc_message].map((a) => a.archive));
    const messages = m.expected.mam_message.length + m.expected.mam_muc_message.length;
    expect(m.verify).toMatchObject({ parity: true, differences: [], archivesCompared: archives.size, messagesInSource: messages, messagesInTarget: messages, extraArchivesInTarget: 0 });
    const counts: Record<string, number> = {
      account: m.expected.users.size,
      'roster-item': m.expected.rosterusers.length,
      vcard: m.expected.vcard.length,
      'private-xml': m.expected.private_storage.length,
      'offline-message': m.expected.offline_message.length,
      'last-activity': m.expected.last.length,
      'privacy-list': m.expected.privacy.length,
      // Neither server has a XEP-0191 store of its own: a blocking client's JIDs are items of a privacy list.
      blocklist: 0,
      'muc-room': m.expected.muc_rooms.length,
      'muc-registration': m.expected.muc_registered.length,
      // Neither adapter reads PEP proper (Openfire's non-whitelist nodes and Tigase's pubsub tables are listed as
      // "cannot provide" by plan): verify compares the kind, with nothing on either side.
      'pep-item': 0,
    };
    const kinds = m.verify.kinds as Array<{ kind: string; source: number; targetRows: number }>;
    expect(Object.fromEntries(kinds.map((k) => [k.kind, k.source]))).toEqual(counts);
    // A blocklist is a row of privacy_list too: its kind shows that table's rows.
    expect(Object.fromEntries(kinds.map((k) => [k.kind, k.targetRows]))).toEqual({ ...counts, blocklist: counts['privacy-list'] });
  });

  it('shows no secret in the output of run and verify or in the reject report', async () => {
    const m = await migrated();
    const text = [...m.outputs, m.rejectText].join('\n');
    expect(text).toContain('no-credential');
    for (const secret of scenario.secrets) expect(text, 'a secret leaked').not.toContain(secret);
    const password = new URL(m.sourceUrl).password;
    if (password) expect(text).not.toContain(`:${password}@`);
  });
});
