// Prosody internal file storage (storage = "internal", util/datamanager.lua): the data directory, read
// without executing anything. https://prosody.im/doc/storage · shared/docs/storage-facts.md §3.1–§3.5
//
// Layout: <data>/<enc(host)>/<store>/<enc(user)>.dat (key-value) or .list (archive), host-level
// <data>/<enc(host)>/<store>.dat. Streams walk hosts, then groups of stores, then users, all in sorted order of
// their encoded names; a .list file is cut into items without parsing, so a resumed read skips what it has
// already delivered without building it.
import { type Dirent } from 'node:fs';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SourceError, UsageError } from '../errors.js';
import type { BareJid } from '../records.js';
import { bareJidString } from '../records.js';
import { LuaLiteralParser, LuaSyntaxError, LuaTable, parseDat, scanStatement, type LuaValue } from './prosody-lua-literal.js';
import {
  FIXED_GROUPS,
  PROSODY_KINDS,
  PROSODY_STREAMS,
  buildUnit,
  decodePathPart,
  isKnownStore,
  isPepNodeStore,
  pepGroup,
  type GroupDef,
  type UnitReader,
} from './prosody-layout.js';
import { ModArchiveBuffer, ProsodyRecords, type ArchiveItem, type Produced, type Where } from './prosody-records.js';
import { ProsodyDataError } from './prosody-stanza.js';
import { ProsodySignals, inventoryFrom } from './prosody-inventory.js';
import type { SourceAdapter, SourceAdapterDefinition, SourceInventory, SourceItem, SourceOptions, StreamInfo } from './source-adapter.js';

const CHUNK_BYTES = 1 << 20;
/** Names Prosody writes: encoded host, user and store names. Anything else in the directory is not its data. */
const ENCODED_NAME = /^[A-Za-z0-9%_]+$/;

// ---------------------------------------------------------------------------------------------------------
// Cursors: `host!group!user!PP!IIIIIIIII` with host and user as their encoded file names, the group key,
// the part (store of the group) and the item (1-based). '!' sorts before every character of the names, so
// string order is read order.

interface Position {
  host: string;
  group: string;
  user: string;
  part: number;
  index: number;
}

function encodeCursor(p: Position): string {
  return `${p.host}!${p.group}!${p.user}!${String(p.part).padStart(2, '0')}!${String(p.index).padStart(9, '0')}`;
}

function decodeCursor(cursor: string): Position {
  const m = /^([A-Za-z0-9%_]+)!([A-Za-z0-9%_]+)!([A-Za-z0-9%_]+)!(\d{2})!(\d{9})$/.exec(cursor);
  if (!m) throw new UsageError(`cursor ${JSON.stringify(cursor)} was not produced by the prosody file source`);
  return { host: m[1]!, group: m[2]!, user: m[3]!, part: Number(m[4]), index: Number(m[5]) };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------
// .list files: items found by scanStatement, parsed one at a time.

export interface ListEntry {
  index: number;
  line: number;
  table?: LuaTable;
  error?: LuaSyntaxError;
  /** The file cannot be read past this entry (truncated, or a string that never closes). */
  fatal?: boolean;
}

/** The items of a .list file, strictly after item `after` (those are skipped without being parsed). */
export async function* readListFile(file: string, after = 0): AsyncGenerator<ListEntry> {
  const handle = await open(file, 'r');
  try {
    let buf: Buffer = Buffer.alloc(0);
    let pos = 0;
    let line = 1;
    let index = 0;
    let eof = false;
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    const more = async (): Promise<void> => {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, null);
      const rest = buf.subarray(pos);
      if (bytesRead === 0) {
        eof = true;
        // A final comment or line without a line break ends here.
        buf = Buffer.concat([rest, Buffer.from('\n')]);
      } else buf = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
      pos = 0;
    };
    await more();
    for (;;) {
      const r = scanStatement(buf, pos, line);
      if (r.kind === 'end') {
        if (eof) return;
        pos = buf.length;
        await more();
        continue;
      }
      if (r.kind === 'incomplete') {
        if (!eof) {
          // Keep the partial statement and read on.
          pos = r.start;
          line = r.line;
          await more();
          continue;
        }
        index++;
        if (index > after) yield { index, line: r.line, error: new LuaSyntaxError(`the file ends inside the item that starts here (cut off?)`, r.line), fatal: true };
        return;
      }
      if (r.kind === 'broken') {
        index++;
        if (index > after) yield { index, line: r.line, error: new LuaSyntaxError(`${r.reason}; the rest of the file cannot be split into items`, r.line), fatal: true };
        return;
      }
      const span = r.span;
      index++;
      pos = span.end;
      line = span.line + span.lines;
      if (index <= after) continue;
      try {
        const parser = new LuaLiteralParser(buf, span.start, span.end, span.line);
        const table = parser.parseItem();
        if (!table || !parser.atEnd()) throw new LuaSyntaxError('expected exactly one item(…) statement', parser.currentLine);
        yield { index, line: span.line, table };
      } catch (err) {
        if (!(err instanceof LuaSyntaxError)) throw err;
        yield { index, line: span.line, error: err };
      }
    }
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------------------

interface HostDir {
  enc: string;
  host: string;
  dir: string;
  /** decoded store name → directory name */
  stores: Map<string, string>;
}

class ProsodyFileSource implements SourceAdapter {
  readonly displayName: string;
  readonly capabilities = { resume: 'skip' as const, delta: 'scan' as const, kinds: PROSODY_KINDS };
  private readonly records: ProsodyRecords;

  constructor(private readonly root: string) {
    this.displayName = `prosody:${root}`;
    this.records = new ProsodyRecords(this.displayName);
  }

  streams(): StreamInfo[] {
    return PROSODY_STREAMS;
  }

  read(stream: string, after?: string): AsyncIterable<SourceItem> {
    if (!PROSODY_STREAMS.some((s) => s.name === stream)) {
      throw new UsageError(`the prosody source has no stream ${JSON.stringify(stream)}: ${PROSODY_STREAMS.map((s) => s.name).join(', ')}`);
    }
    return this.readStream(stream, after === undefined ? undefined : decodeCursor(after), new ProsodySignals());
  }

  async inventory(): Promise<SourceInventory> {
    const signals = new ProsodySignals();
    await this.scanHosts(signals);
    const streams = PROSODY_STREAMS.map((s) => ({ name: s.name, items: this.readStream(s.name, undefined, signals) }));
    return inventoryFrom(`Prosody internal file storage in ${this.root}`, streams, signals);
  }

  async close(): Promise<void> {
    // Every read opens and closes its own files.
  }

  private async dirents(dir: string): Promise<Dirent[]> {
    try {
      return await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return [];
      throw new SourceError('unreadable-directory', `cannot list ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async hosts(signals?: ProsodySignals): Promise<HostDir[]> {
    const out: HostDir[] = [];
    for (const d of (await this.dirents(this.root)).sort((a, b) => cmp(a.name, b.name))) {
      if (!d.isDirectory()) continue;
      if (d.name === '_global' || !ENCODED_NAME.test(d.name)) {
        signals?.note(`directory ${d.name} in the data directory is not a host's data: not read`);
        continue;
      }
      const host = decodePathPart(d.name);
      if (host === undefined) {
        signals?.note(`directory ${d.name}: its decoded name is not UTF-8: not read`);
        continue;
      }
      const dir = join(this.root, d.name);
      const stores = new Map<string, string>();
      for (const s of await this.dirents(dir)) {
        if (s.isDirectory()) {
          const store = decodePathPart(s.name);
          if (store !== undefined) stores.set(store, s.name);
        } else if (s.isFile() && s.name.endsWith('.dat')) {
          const store = decodePathPart(s.name.slice(0, -4));
          if (store !== undefined) signals?.hostStore(host, store);
        }
      }
      out.push({ enc: d.name, host, dir, stores });
    }
    return out;
  }

  private async scanHosts(signals: ProsodySignals): Promise<void> {
    for (const h of await this.hosts(signals)) {
      for (const [store, dirName] of h.stores) {
        signals.store(h.host, store);
        if (!isKnownStore(store)) signals.note(`${h.host}: store ${store} is not read (unknown to this adapter)`);
        if (store === 'archive' || store === 'archive2' || store === 'muc_log' || store === 'offline') {
          for (const f of await this.dirents(join(h.dir, dirName))) if (f.name.endsWith('.lidx')) signals.lidx++;
        }
      }
    }
  }

  private groups(stream: string, h: HostDir): GroupDef[] {
    const groups = FIXED_GROUPS.filter((g) => g.stream === stream);
    if (stream === 'users') {
      for (const [store, dirName] of h.stores) if (isPepNodeStore(store)) groups.push(pepGroup(store, dirName));
    }
    return groups.sort((a, b) => cmp(a.key, b.key));
  }

  private ext(group: GroupDef, store: string): string {
    return group.list || store.startsWith('pep_') ? '.list' : '.dat';
  }

  private async users(h: HostDir, group: GroupDef): Promise<string[]> {
    const users = new Set<string>();
    for (const store of group.stores) {
      const dirName = h.stores.get(store);
      if (dirName === undefined) continue;
      const ext = this.ext(group, store);
      for (const f of await this.dirents(join(h.dir, dirName))) {
        if (!f.isFile() || !f.name.endsWith(ext)) continue;
        const name = f.name.slice(0, -ext.length);
        if (ENCODED_NAME.test(name)) users.add(name);
      }
    }
    return [...users].sort(cmp);
  }

  private file(h: HostDir, store: string, userEnc: string, ext: string): string | undefined {
    const dirName = h.stores.get(store);
    return dirName === undefined ? undefined : join(h.dir, dirName, `${userEnc}${ext}`);
  }

  private unreadable(file: string, err: unknown, key?: string): Produced {
    if (err instanceof LuaSyntaxError) {
      return this.records.reject('malformed-file', `not Prosody data: ${err.reason}; nothing of this file is migrated`, { file, line: err.line }, key);
    }
    if (err instanceof ProsodyDataError) return this.records.reject(err.code, err.message, { file, line: err.line ?? 1 }, key);
    throw err;
  }

  private async readDat(file: string): Promise<{ value: LuaValue; where: Where } | undefined> {
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SourceError('unreadable-file', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    const value = parseDat(buf);
    if (value === undefined) return undefined;
    return { value, where: { file, line: value instanceof LuaTable ? value.line : 1 } };
  }

  private itemOf(file: string, entry: ListEntry, key: string): { item: ArchiveItem } | { reject: Produced } {
    if (entry.error) {
      const reason = entry.fatal ? entry.error.reason : `not a Prosody archive item: ${entry.error.reason}`;
      return { reject: this.records.reject(entry.fatal ? 'truncated-file' : 'malformed-item', reason, { file, line: entry.error.line }, key) };
    }
    const where = { file, line: entry.line };
    try {
      return { item: this.records.itemFromTable(entry.table!, where) };
    } catch (err) {
      return { reject: this.records.fromError(err, where, key, entry.table) };
    }
  }

  private reader(h: HostDir, userEnc: string, key: string): UnitReader {
    return {
      keyval: async (store) => {
        const file = this.file(h, store, userEnc, '.dat');
        return file === undefined ? undefined : this.readDat(file);
      },
      list: async (store) => {
        const file = this.file(h, store, userEnc, '.list');
        const items: ArchiveItem[] = [];
        const rejects: Produced[] = [];
        if (file === undefined) return { items, rejects };
        try {
          await stat(file);
        } catch {
          return { items, rejects };
        }
        for await (const entry of readListFile(file)) {
          const r = this.itemOf(file, entry, key);
          if ('item' in r) items.push(r.item);
          else rejects.push(r.reject);
        }
        return { items, rejects };
      },
    };
  }

  private async *readStream(stream: string, resume: Position | undefined, signals: ProsodySignals): AsyncGenerator<SourceItem> {
    const records = this.records;
    for (const h of await this.hosts()) {
      if (resume && cmp(h.enc, resume.host) < 0) continue;
      for (const group of this.groups(stream, h)) {
        const sameHost = resume !== undefined && h.enc === resume.host;
        if (sameHost && cmp(group.key, resume.group) < 0) continue;
        for (const userEnc of await this.users(h, group)) {
          const here = sameHost && group.key === resume!.group ? cmp(userEnc, resume!.user) : 1;
          if (here < 0) continue;
          const from = here === 0 ? resume! : undefined;
          const at = (part: number, index: number): string => encodeCursor({ host: h.enc, group: group.key, user: userEnc, part, index });
          const user = decodePathPart(userEnc) ?? userEnc;
          const firstFile = this.file(h, group.stores.find((s) => h.stores.has(s))!, userEnc, this.ext(group, group.stores[0]!)) ?? h.dir;
          const owner = records.owner(h.host, user, { file: firstFile });
          if (!('local' in owner)) {
            if (!from) yield withCursor(owner, at(0, 1));
            continue;
          }
          if (!group.list) {
            const produced = await this.keyvalUnit(group, h, userEnc, owner, signals);
            for (let i = 0; i < produced.length; i++) {
              if (from && i + 1 <= from.index) continue;
              signals.produced(produced[i]!);
              yield withCursor(produced[i]!, at(0, i + 1));
            }
            continue;
          }
          let nonAnonymous = false;
          if (stream === 'muc-archives') nonAnonymous = await this.roomIsNonAnonymous(h, userEnc, owner);
          for (let part = 0; part < group.stores.length; part++) {
            if (from && part < from.part) continue;
            const store = group.stores[part]!;
            const file = this.file(h, store, userEnc, '.list');
            if (file === undefined) continue;
            try {
              await stat(file);
            } catch {
              continue;
            }
            const key = bareJidString(owner);
            let count = 0;
            if (stream === 'archives' && store === 'archive' && (await mayHoldModArchive(file))) {
              // Community mod_archive collections share this store: the whole archive, in time order. Cursors
              // then count the items emitted (the detection gives the same answer on resume).
              const buffer = new ModArchiveBuffer(records, owner);
              for await (const entry of readListFile(file)) {
                count++;
                const r = this.itemOf(file, entry, key);
                if (!buffer.add('item' in r ? r.item : r.reject, { file, line: entry.line })) break;
              }
              const produced = buffer.finish();
              for (let i = 0; i < produced.length; i++) {
                if (from && part === from.part && i + 1 <= from.index) continue;
                signals.produced(produced[i]!);
                yield withCursor(produced[i]!, at(part, i + 1));
              }
              signals.listSize(stream, store, count);
              continue;
            }
            for await (const entry of readListFile(file, from && part === from.part ? from.index : 0)) {
              count++;
              const r = this.itemOf(file, entry, key);
              let produced: Produced | undefined;
              if ('reject' in r) produced = r.reject;
              else produced = this.records.listItem(stream, store, owner, r.item, nonAnonymous, signals);
              if (produced === undefined) continue;
              signals.produced(produced);
              yield withCursor(produced, at(part, entry.index));
            }
            signals.listSize(stream, store, count);
          }
        }
      }
    }
  }


  private async keyvalUnit(group: GroupDef, h: HostDir, userEnc: string, owner: BareJid, signals: ProsodySignals): Promise<Produced[]> {
    const key = bareJidString(owner);
    if (group.key === '1config') {
      const file = this.file(h, 'config', userEnc, '.dat')!;
      let data: { value: LuaValue; where: Where } | undefined;
      try {
        data = await this.readDat(file);
      } catch (err) {
        return [this.unreadable(file, err, key)];
      }
      if (!data) return [];
      const result = this.records.room(owner, data.value, data.where);
      signals.room(result, data.value);
      return result.produced;
    }
    return buildUnit(this.records, group, owner, this.reader(h, userEnc, key), (store, err) =>
      this.unreadable(this.file(h, store, userEnc, this.ext(group, store)) ?? h.dir, err, key));
  }

  /** The room's whois, as Prosody decides at read time whether to show real JIDs. */
  private async roomIsNonAnonymous(h: HostDir, userEnc: string, room: BareJid): Promise<boolean> {
    const file = this.file(h, 'config', userEnc, '.dat');
    if (file === undefined) return false;
    try {
      const data = await this.readDat(file);
      const options = data?.value instanceof LuaTable ? data.value.get('_data') : undefined;
      return options instanceof LuaTable && options.get('whois') === 'anyone';
    } catch {
      void room;
      return false;
    }
  }
}

/**
 * Whether a .list file may hold a community mod_archive collection (an item named "chat"), by a scan of its
 * bytes without parsing: Prosody writes element names as plain quoted strings (`name = "chat"` or
 * `["name"] = "chat"`), and a body that contains that text has its quotes escaped, so no collection is missed.
 * A false positive only means the archive is read whole and emitted in time order.
 */
export async function mayHoldModArchive(file: string): Promise<boolean> {
  const pattern = /(?:\bname|\["name"\])\s*=\s*"chat"/;
  const handle = await open(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let tail = '';
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) return false;
      const text = tail + chunk.toString('latin1', 0, bytesRead);
      if (pattern.test(text)) return true;
      tail = text.slice(-64);
    }
  } finally {
    await handle.close();
  }
}

function withCursor(p: Produced, cursor: string): SourceItem {
  if ('record' in p) return { record: p.record, cursor };
  return p.excerpt === undefined ? { reject: p.reject, cursor } : { reject: p.reject, cursor, excerpt: p.excerpt };
}

export const prosodyFilesAdapter: SourceAdapterDefinition = {
  schemes: ['prosody'],
  summary: 'Prosody internal file storage: the data directory (0.9 to 13.0 files)',
  example: 'prosody:/var/lib/prosody',
  async open(location: string, options: SourceOptions): Promise<SourceAdapter> {
    const unknown = Object.keys(options.settings);
    if (unknown.length > 0) throw new UsageError(`unknown prosody source option ${JSON.stringify(unknown[0])}: the file source has no options`);
    if (location === '') throw new UsageError('prosody needs the data directory: prosody:/var/lib/prosody');
    try {
      const info = await stat(location);
      if (!info.isDirectory()) throw new UsageError(`prosody:${location} is not a directory (expected Prosody's data_path)`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new SourceError('not-found', `cannot open prosody:${location}: ${(err as Error).message}`, { cause: err });
    }
    return new ProsodyFileSource(location);
  },
};
