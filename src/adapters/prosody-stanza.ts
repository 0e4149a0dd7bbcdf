// Prosody's stored stanzas and values, from both storages into one model: util/stanza.lua's preserialized
// tables (`{ name, attr, [1..n] = child | text }`, files) and util/json.lua's JSON with `__array` / `__hash`
// (SQL), turned into ltx Elements and LuaTables. https://prosody.im/doc/developers/util/stanza
import { Element } from '../xml/element.js';
import { LuaBytes, LuaTable, type LuaKey, type LuaValue } from './prosody-lua-literal.js';

/** A stored value that is not what it must be: the caller rejects the record with this line. */
export class ProsodyDataError extends Error {
  override name = 'ProsodyDataError';
  constructor(
    readonly code: string,
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

const NS_XML = 'http://www.w3.org/XML/1998/namespace';
/** XML 1.0 Char: what an element may hold. Prosody's parser (expat) never let anything else in. */
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function textOf(value: LuaValue, what: string, line: number): string {
  if (typeof value === 'string') {
    if (NOT_XML_CHAR.test(value)) {
      throw new ProsodyDataError('invalid-xml-char', `${what} holds a character XML cannot carry (U+${value.match(NOT_XML_CHAR)![0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()})`, line);
    }
    return value;
  }
  if (value instanceof LuaBytes) throw new ProsodyDataError('invalid-utf8', `${what} is not valid UTF-8 (line ${value.line})`, value.line);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new ProsodyDataError('malformed-stanza', `${what} is a ${value instanceof LuaTable ? 'table' : typeof value}, not a string`, line);
}

/**
 * A preserialized stanza table → an Element. Attribute keys `ns\1name` (and the older `ns|name`) become a
 * prefixed attribute with its own xmlns declaration, as Prosody's own serializer writes them.
 * `skipAttrs` drops storage-only attributes (Prosody's `stamp`, `stamp_legacy`) on the top element.
 */
export function elementFromTable(table: LuaTable, skipAttrs?: ReadonlySet<string>, parentNs?: string): Element {
  const name = table.get('name');
  if (typeof name !== 'string' || name === '' || !/^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?$/.test(name)) {
    throw new ProsodyDataError('malformed-stanza', `a stored element has no valid name (${name instanceof LuaBytes ? 'invalid UTF-8' : JSON.stringify(name ?? null)})`, table.line);
  }
  const attrs: Record<string, string> = {};
  const attr = table.get('attr');
  if (attr !== undefined) {
    if (!(attr instanceof LuaTable)) throw new ProsodyDataError('malformed-stanza', `<${name}> has attr that is not a table`, table.line);
    let nsid = 0;
    for (const [key, value] of attr.map) {
      if (typeof key !== 'string') continue; // util.stanza ignores non-string attribute keys
      if (skipAttrs?.has(key)) continue;
      // util.stanza's serializer leaves out an xmlns equal to the parent's own: so do files, like SQL rows.
      if (key === 'xmlns' && parentNs !== undefined && value === parentNs) continue;
      const text = textOf(value, `attribute ${JSON.stringify(key)} of <${name}>`, attr.line);
      const sep = key.includes('\u0001') ? '\u0001' : key.includes('|') ? '|' : undefined;
      if (sep === undefined) {
        attrs[key] = text;
        continue;
      }
      const at = key.indexOf(sep);
      const ns = key.slice(0, at);
      const local = key.slice(at + 1);
      if (ns === NS_XML) attrs[`xml:${local}`] = text;
      else {
        nsid++;
        attrs[`xmlns:ns${nsid}`] = ns;
        attrs[`ns${nsid}:${local}`] = text;
      }
    }
  }
  const el = new Element(name, sortedAttributes(attrs));
  for (const child of table.array()) {
    if (child instanceof LuaTable) {
      const c = elementFromTable(child, undefined, str(attr instanceof LuaTable ? attr.get('xmlns') : undefined));
      c.parent = el;
      el.children.push(c);
    } else if (typeof child === 'string') {
      el.children.push(textOf(child, `text in <${name}>`, table.line));
    } else if (child instanceof LuaBytes) {
      throw new ProsodyDataError('invalid-utf8', `text in <${name}> is not valid UTF-8 (line ${child.line})`, child.line);
    }
    // util.stanza.deserialize ignores children that are neither tables nor strings.
  }
  return el;
}

function str(value: LuaValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// util/json.lua: a table with string keys and an array part writes the array as "__array"; keys that are
// not strings go to "__hash": [k1, v1, k2, v2, …]; a pure array is a JSON array; an empty table is {}.

/** JSON as Prosody wrote it → the LuaTable the file storage would have held. */
export function luaFromJson(value: unknown, line = 0): LuaValue | undefined {
  if (value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) {
    const t = new LuaTable(line);
    value.forEach((v, i) => {
      const lv = luaFromJson(v, line);
      if (lv !== undefined) t.map.set(i + 1, lv);
    });
    return t;
  }
  if (typeof value === 'object') {
    const t = new LuaTable(line);
    const obj = value as Record<string, unknown>;
    for (const [k, v] of Object.entries(obj)) {
      if (k === '__array' || k === '__hash') continue;
      const lv = luaFromJson(v, line);
      if (lv !== undefined) t.map.set(k, lv);
    }
    if (Array.isArray(obj.__array)) {
      obj.__array.forEach((v, i) => {
        const lv = luaFromJson(v, line);
        if (lv !== undefined) t.map.set(i + 1, lv);
      });
    }
    if (Array.isArray(obj.__hash)) {
      const h = obj.__hash;
      for (let i = 0; i + 1 < h.length; i += 2) {
        const k = h[i];
        const lv = luaFromJson(h[i + 1], line);
        if ((typeof k === 'string' || typeof k === 'number' || typeof k === 'boolean') && lv !== undefined) t.map.set(k as LuaKey, lv);
      }
    }
    return t;
  }
  return undefined;
}

/** Deep equality of two Lua values (tables by content), for de-duplicating and tests. */
export function luaEquals(a: LuaValue | undefined, b: LuaValue | undefined): boolean {
  if (a instanceof LuaTable && b instanceof LuaTable) {
    if (a.map.size !== b.map.size) return false;
    for (const [k, v] of a.map) if (!luaEquals(v, b.map.get(k))) return false;
    return true;
  }
  if (a instanceof LuaBytes && b instanceof LuaBytes) return a.bytes.equals(b.bytes);
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}

/**
 * Prosody keeps attributes in a Lua hash: their order in a file or an SQL row is an accident of the hash, not
 * data. Elements from either storage get their attributes in one canonical (sorted) order, so the same stanza
 * gives the same rows whichever storage it came from.
 */
export function sortedAttributes(attrs: Record<string, string>): Record<string, string> {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(attrs).sort()) sorted[key] = attrs[key]!;
  return sorted;
}

/** Applies sortedAttributes to an element and all its descendants (parsed SQL rows). */
export function sortAttributesDeep(el: Element): Element {
  el.attrs = sortedAttributes(el.attrs);
  for (const child of el.children) if (typeof child !== 'string') sortAttributesDeep(child);
  return el;
}
