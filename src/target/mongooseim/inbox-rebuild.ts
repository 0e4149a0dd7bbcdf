// `--inbox`: fills MongooseIM's `inbox` table (mod_inbox_rdbms) from what the migration wrote, after the
// archive and offline streams are complete. Nothing rebuilds the inbox from MAM in MongooseIM itself, so clients
// of the inbox extension would otherwise start with an empty conversation list.
//
// One row per (owner, one-to-one peer): the conversation's last message that MongooseIM would have put in the
// inbox (src/encoding/inbox-entry.ts), its `id` attribute as msg_id, its XML as content, its time (µs) as
// timestamp; unread_count = the owner's offline messages from that peer newer than the owner's last message to
// the peer (MongooseIM counts +1 per incoming message and resets to 0 when the owner writes).
//
// Set-based, in bounded chunks of owners: the database picks each conversation's last message
// (GROUP BY user_id, remote_bare_jid → MAX(id), on the (user_id, remote_bare_jid, id) index), this module only
// turns those few rows into entries (the archived message is an Erlang term the database cannot read), then one
// multi-row INSERT per chunk writes the missing ones and an UPDATE each the few that changed. Memory is one chunk. Idempotent: a re-run computes the same rows and
// changes nothing. Resumable: progress after each chunk is kept in xmpp_migrate_meta; a killed rebuild resumes
// after the last chunk it finished, a finished one starts over (a later delta may have moved conversations on).
//
// Classic MUC rooms are not written: MongooseIM's mod_inbox keeps groupchat entries only for `groupchat`
// = ["muclight"] by default (storage-facts §1.1), and classic MUC entries only when "muc" is configured.
import type { Jid } from '../../jid.js';
import { formatJid } from '../../jid.js';
import type { BareJid } from '../../records.js';
import { shardOf } from '../../records.js';
import { decodeMamJid, type MamJidFormat } from '../../encoding/mam-jid.js';
import { decodeStoredMessage } from '../../encoding/exml-decode.js';
import { inboxContent, inboxMsgId, isOneToOneInboxMessage } from '../../encoding/inbox-entry.js';
import { parseJid } from '../../jid.js';
import { parseXml, type Element } from '../../xml/element.js';

/** Owners per chunk: a chunk's rows (one per conversation) and its offline messages are held at once. */
export const INBOX_CHUNK_OWNERS = 200;

/** Messages read per step when a conversation's last message is not an inbox message (a chat marker). */
const WALK_BACK_PAGE = 20;

/** `msg_id` is varchar(250). A row that cannot be stored is skipped and reported. */
const MAX_MSG_ID = 250;

/** One user who may own inbox entries: a `users` row, with its personal archive id when it has one. */
export interface InboxOwner {
  server: string;
  username: string;
  /** mam_server_user.id as decimal text; null without an archive. */
  archiveId: string | null;
}

/** A stored personal-archive message, as the database returns it. */
export interface StoredPmMessage {
  archiveId: string;
  /** mam_message.remote_bare_jid as stored (db_jid_format). */
  remoteBareJid: string;
  /** The MAM id as decimal text. */
  id: string;
  direction: string;
  fromJid: string;
  remoteResource: string;
  message: Buffer;
}

export interface StoredOfflineMessage {
  server: string;
  username: string;
  fromJid: string;
  /** µs as decimal text. */
  timestamp: string;
  packet: string;
}

export interface PresentInboxRow {
  lserver: string;
  luser: string;
  remoteBareJid: string;
  msgId: string | null;
  content: Buffer;
  /** µs as decimal text. */
  timestamp: string;
  unreadCount: number;
}

export interface InboxRow {
  luser: string;
  lserver: string;
  remoteBareJid: string;
  msgId: string;
  content: Buffer;
  /** µs. */
  timestamp: bigint;
  unreadCount: number;
}

/**
 * The inbox SQL of one dialect (src/target/postgres/postgres-inbox.ts, src/target/mysql/mysql-inbox.ts).
 * Every method is one or two statements over a bounded set of owners.
 */
export interface InboxSql {
  /** The most bytes `inbox.content` holds (MySQL's BLOB: 65535); undefined: no limit (PostgreSQL's bytea). */
  readonly maxContentBytes: number | undefined;
  /** Up to `limit` users after (server, username) `after`, in the database's (server, username) order. */
  owners(after: [server: string, username: string] | undefined, limit: number): Promise<InboxOwner[]>;
  /** Per (archive, remote_bare_jid) of one-to-one messages (is_groupchat false), the message with the greatest id. */
  lastMessages(archiveIds: string[]): Promise<StoredPmMessage[]>;
  /** Per (archive, remote_bare_jid), the greatest id of an outgoing message, as decimal text. */
  lastOutgoing(archiveIds: string[]): Promise<Array<{ archiveId: string; remoteBareJid: string; id: string }>>;
  /** One conversation's one-to-one messages with an id below `beforeId`, newest first. */
  messagesBefore(archiveId: string, remoteBareJid: string, beforeId: string, limit: number): Promise<StoredPmMessage[]>;
  /** The offline messages of these users. */
  offlineMessages(owners: Array<[server: string, username: string]>): Promise<StoredOfflineMessage[]>;
  /** The inbox rows present for these users. */
  presentEntries(owners: Array<[server: string, username: string]>): Promise<PresentInboxRow[]>;
  /** Inserts the rows (box `inbox`, muted_until 0), ignoring any whose key is present by then; returns rows inserted. */
  insert(rows: InboxRow[]): Promise<number>;
  /**
   * Brings a present row to `row`'s msg_id, content, timestamp and unread_count unless its timestamp is newer
   * (MongooseIM wrote a later message itself); a row in box `archive` whose timestamp is older goes back to
   * `inbox`, as mod_inbox's upsert moves it. box and muted_until are otherwise kept. Returns rows changed.
   */
  update(row: InboxRow): Promise<number>;
}

/** The tool's own state for resuming (xmpp_migrate_meta). */
export interface InboxMeta {
  readMeta(key: string): Promise<string | undefined>;
  writeMeta(key: string, value: string): Promise<void>;
}

export interface InboxRebuildOptions {
  /** Rebuild only the owners of shard `index` (1-based) of `count`, as `run --shard` splits them. */
  shard?: { index: number; count: number };
  /** Owners per chunk; default INBOX_CHUNK_OWNERS. */
  chunkOwners?: number;
  signal?: AbortSignal;
  /** Called after each chunk. */
  onChunk?: (progress: InboxRebuildSummary) => void;
}

export interface InboxRebuildSummary {
  /** Users looked at (of this shard). */
  owners: number;
  /** Conversations with an entry computed. */
  conversations: number;
  inserted: number;
  updated: number;
  /** Present rows that already held the computed entry, or a later one MongooseIM wrote itself. */
  unchanged: number;
  /** Entries not written, with why (a msg_id or content MongooseIM's columns cannot hold, an unreadable message). */
  skipped: Array<{ owner: string; peer: string; reason: string }>;
  /** Set when this rebuild resumed a killed one, after this owner. */
  resumedAfter?: string;
  /** false when stopped by the signal; the next rebuild resumes. */
  completed: boolean;
}

interface Progress {
  after?: [string, string];
  done: boolean;
}

interface Candidate {
  /** µs. */
  timestamp: bigint;
  stanza: Element;
  /** The sender's full JID (for a stored message without `from`). */
  sender: string;
}

interface Conversation {
  peer: string;
  last?: Candidate;
  /** µs of the owner's last message to the peer. */
  lastOutgoing?: bigint;
  offline: Candidate[];
}

const progressKey = (shard: InboxRebuildOptions['shard']): string => `inbox-rebuild/${shard ? `${shard.index}/${shard.count}` : 'all'}`;

export class InboxRebuilder {
  constructor(
    private readonly sql: InboxSql,
    private readonly meta: InboxMeta,
    private readonly jidFormat: MamJidFormat,
  ) {}

  async rebuild(options: InboxRebuildOptions = {}): Promise<InboxRebuildSummary> {
    const key = progressKey(options.shard);
    const stored = await this.meta.readMeta(key);
    const previous = stored === undefined ? undefined : (JSON.parse(stored) as Progress);
    let after = previous && !previous.done ? previous.after : undefined;
    const summary: InboxRebuildSummary = { owners: 0, conversations: 0, inserted: 0, updated: 0, unchanged: 0, skipped: [], completed: false };
    if (after) summary.resumedAfter = `${after[1]}@${after[0]}`;
    const limit = options.chunkOwners ?? INBOX_CHUNK_OWNERS;
    for (;;) {
      if (options.signal?.aborted) return summary;
      const page = await this.sql.owners(after, limit);
      if (page.length === 0) break;
      const owners = options.shard ? page.filter((o) => shardOf(`${o.username}@${o.server}`, options.shard!.count) === options.shard!.index - 1) : page;
      const rows = await this.chunk(owners, summary);
      if (rows.length > 0) await this.write(owners, rows, summary);
      summary.owners += owners.length;
      const last = page[page.length - 1]!;
      after = [last.server, last.username];
      await this.meta.writeMeta(key, JSON.stringify({ after, done: false } satisfies Progress));
      options.onChunk?.(summary);
      if (page.length < limit) break;
    }
    await this.meta.writeMeta(key, JSON.stringify({ done: true } satisfies Progress));
    summary.completed = true;
    return summary;
  }

  /** Inserts the missing rows in one statement, updates the few that differ; a row equal to ours is left alone. */
  private async write(owners: InboxOwner[], rows: InboxRow[], summary: InboxRebuildSummary): Promise<void> {
    const present = new Map<string, PresentInboxRow>();
    for (const p of await this.sql.presentEntries(owners.map((o) => [o.server, o.username]))) present.set(entryKey(p.lserver, p.luser, p.remoteBareJid), p);
    const missing: InboxRow[] = [];
    for (const row of rows) {
      const p = present.get(entryKey(row.lserver, row.luser, row.remoteBareJid));
      if (!p) missing.push(row);
      else if (p.msgId === row.msgId && p.content.equals(row.content) && BigInt(p.timestamp) === row.timestamp && Number(p.unreadCount) === row.unreadCount) summary.unchanged++;
      else if (BigInt(p.timestamp) > row.timestamp) summary.unchanged++; // MongooseIM wrote a later message itself
      else summary.updated += await this.sql.update(row);
    }
    if (missing.length > 0) summary.inserted += await this.sql.insert(missing);
  }

  /** The inbox rows of a chunk of owners. */
  private async chunk(owners: InboxOwner[], summary: InboxRebuildSummary): Promise<InboxRow[]> {
    const byArchive = new Map<string, InboxOwner>();
    for (const o of owners) if (o.archiveId !== null) byArchive.set(o.archiveId, o);
    const conversations = new Map<InboxOwner, Map<string, Conversation>>(owners.map((o) => [o, new Map()]));
    const conversation = (owner: InboxOwner, peer: string): Conversation => {
      const list = conversations.get(owner)!;
      let c = list.get(peer);
      if (!c) list.set(peer, (c = { peer, offline: [] }));
      return c;
    };
    const archiveIds = [...byArchive.keys()];
    if (archiveIds.length > 0) {
      for (const row of await this.sql.lastMessages(archiveIds)) {
        const owner = byArchive.get(row.archiveId)!;
        const ownerJid: BareJid = { local: owner.username, domain: owner.server };
        let peer: Jid;
        try {
          peer = decodeMamJid(this.jidFormat, ownerJid, row.remoteBareJid);
        } catch (err) {
          summary.skipped.push({ owner: bare(owner), peer: row.remoteBareJid, reason: `remote_bare_jid is not a ${this.jidFormat} JID: ${(err as Error).message}` });
          continue;
        }
        const c = conversation(owner, formatJid(peer));
        c.last = await this.lastInboxMessage(owner, row, summary, c.peer);
      }
      for (const row of await this.sql.lastOutgoing(archiveIds)) {
        const owner = byArchive.get(row.archiveId)!;
        let peer: Jid;
        try {
          peer = decodeMamJid(this.jidFormat, { local: owner.username, domain: owner.server }, row.remoteBareJid);
        } catch {
          continue; // reported above
        }
        conversation(owner, formatJid(peer)).lastOutgoing = BigInt(row.id) >> 8n;
      }
    }
    const byUser = new Map(owners.map((o) => [`${o.server}\u0000${o.username}`, o]));
    if (owners.length > 0) {
      for (const row of await this.sql.offlineMessages(owners.map((o) => [o.server, o.username]))) {
        const owner = byUser.get(`${row.server}\u0000${row.username}`);
        if (!owner) continue;
        let stanza: Element;
        let from: Jid;
        try {
          stanza = parseXml(row.packet);
          from = parseJid(row.fromJid);
        } catch (err) {
          summary.skipped.push({ owner: bare(owner), peer: row.fromJid, reason: `offline message not readable: ${(err as Error).message}` });
          continue;
        }
        if (!isOneToOneInboxMessage(stanza)) continue;
        conversation(owner, formatJid({ ...from, resource: '' })).offline.push({ timestamp: BigInt(row.timestamp), stanza, sender: formatJid(from) });
      }
    }
    const rows: InboxRow[] = [];
    for (const [owner, list] of conversations) {
      for (const c of list.values()) {
        const row = this.entry(owner, c, summary);
        if (row) rows.push(row);
      }
    }
    summary.conversations += rows.length;
    return rows;
  }

  /** The conversation's newest message that makes an inbox entry, walking back past chat markers and the like. */
  private async lastInboxMessage(owner: InboxOwner, newest: StoredPmMessage, summary: InboxRebuildSummary, peer: string): Promise<Candidate | undefined> {
    let page = [newest];
    for (;;) {
      for (const row of page) {
        let stanza: Element;
        try {
          stanza = decodeStoredMessage(row.message);
        } catch (err) {
          summary.skipped.push({ owner: bare(owner), peer, reason: `archived message ${row.id} not readable: ${(err as Error).message}` });
          continue;
        }
        if (!isOneToOneInboxMessage(stanza)) continue;
        return { timestamp: BigInt(row.id) >> 8n, stanza, sender: this.senderOf(owner, row) };
      }
      if (page.length === 0) return undefined;
      page = await this.sql.messagesBefore(newest.archiveId, newest.remoteBareJid, page[page.length - 1]!.id, WALK_BACK_PAGE);
      if (page.length === 0) return undefined;
    }
  }

  /** The sender's full JID: from_jid for the owner's own messages, the peer with its resource otherwise. */
  private senderOf(owner: InboxOwner, row: StoredPmMessage): string {
    const ownerJid: BareJid = { local: owner.username, domain: owner.server };
    if (row.direction === 'O') return formatJid(decodeMamJid(this.jidFormat, ownerJid, row.fromJid));
    const peer = decodeMamJid(this.jidFormat, ownerJid, row.remoteBareJid);
    return formatJid({ ...peer, resource: row.remoteResource });
  }

  private entry(owner: InboxOwner, c: Conversation, summary: InboxRebuildSummary): InboxRow | undefined {
    const newestOffline = c.offline.reduce<Candidate | undefined>((a, b) => (a === undefined || b.timestamp > a.timestamp ? b : a), undefined);
    let chosen = c.last;
    // An offline message the archive does not have (the source kept no MAM for it) is the conversation's last;
    // the archived copy of one it has (same id attribute) stays the entry.
    if (newestOffline && (!chosen || (newestOffline.timestamp > chosen.timestamp && !sameMessage(newestOffline.stanza, chosen.stanza)))) chosen = newestOffline;
    if (!chosen) return undefined;
    const since = c.lastOutgoing ?? -1n;
    const unreadCount = c.offline.filter((m) => m.timestamp > since).length;
    const msgId = inboxMsgId(chosen.stanza);
    const content = inboxContent(chosen.stanza, chosen.sender);
    if (Buffer.byteLength(msgId, 'utf8') > MAX_MSG_ID) {
      summary.skipped.push({ owner: bare(owner), peer: c.peer, reason: `message id is longer than inbox.msg_id's ${MAX_MSG_ID} characters` });
      return undefined;
    }
    const max = this.sql.maxContentBytes;
    if (max !== undefined && content.length > max) {
      summary.skipped.push({ owner: bare(owner), peer: c.peer, reason: `last message is ${content.length} bytes, more than inbox.content holds here (${max})` });
      return undefined;
    }
    if (c.peer.length > 250) {
      summary.skipped.push({ owner: bare(owner), peer: c.peer.slice(0, 64), reason: 'peer JID is longer than inbox.remote_bare_jid holds (250)' });
      return undefined;
    }
    return { luser: owner.username, lserver: owner.server, remoteBareJid: c.peer, msgId, content, timestamp: chosen.timestamp, unreadCount };
  }
}

function sameMessage(a: Element, b: Element): boolean {
  const id = a.attrs.id;
  return id !== undefined && id !== '' && id === b.attrs.id;
}

function entryKey(lserver: string, luser: string, remote: string): string {
  return `${lserver}\u0000${luser}\u0000${remote}`;
}

function bare(owner: InboxOwner): string {
  return `${owner.username}@${owner.server}`;
}
