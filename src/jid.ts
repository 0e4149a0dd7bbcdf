// JIDs (RFC 6122): parsing and normalisation to the lower-cased form MongooseIM and ejabberd key rows by.
// The stringprep profiles are approximated by NFKC + per-code-point lower-casing plus the prohibited
// characters of nodeprep; that agrees with nodeprep/nameprep for every JID seen in practice and rejects
// what MongooseIM would refuse. https://www.rfc-editor.org/rfc/rfc6122
import type { BareJid } from './records.js';

export interface Jid {
  local: string;
  domain: string;
  resource: string;
}

export class JidError extends Error {
  override name = 'JidError';
}

// nodeprep (RFC 3920 appendix A.5) forbids these in localparts, besides spaces and controls.
const NODE_FORBIDDEN = /["&'/:<>@\s\u0000-\u001f\u007f]/u;
const DOMAIN_FORBIDDEN = /[\s"&'/:<>@\\\u0000-\u001f\u007f]/u;
const MAX_PART_BYTES = 1023;

/** Lower-cases one code point at a time, so no context rule (final sigma) applies. */
export function lowerCodePoints(text: string): string {
  let out = '';
  for (const ch of text) out += ch.toLowerCase();
  return out;
}

function prepLocal(local: string, raw: string): string {
  const prepped = lowerCodePoints(local.normalize('NFKC'));
  if (NODE_FORBIDDEN.test(prepped)) throw new JidError(`invalid JID ${JSON.stringify(raw)}: the local part has a forbidden character`);
  if (Buffer.byteLength(prepped) > MAX_PART_BYTES) throw new JidError(`invalid JID ${JSON.stringify(raw)}: the local part is longer than 1023 bytes`);
  return prepped;
}

function prepDomain(domain: string, raw: string): string {
  let prepped = lowerCodePoints(domain.normalize('NFKC'));
  if (prepped.endsWith('.')) prepped = prepped.slice(0, -1);
  if (prepped === '') throw new JidError(`invalid JID ${JSON.stringify(raw)}: no domain`);
  if (DOMAIN_FORBIDDEN.test(prepped)) throw new JidError(`invalid JID ${JSON.stringify(raw)}: the domain has a forbidden character`);
  if (prepped.split('.').some((label) => label === '')) throw new JidError(`invalid JID ${JSON.stringify(raw)}: the domain has an empty label`);
  if (Buffer.byteLength(prepped) > MAX_PART_BYTES) throw new JidError(`invalid JID ${JSON.stringify(raw)}: the domain is longer than 1023 bytes`);
  return prepped;
}

function prepResource(resource: string, raw: string): string {
  const prepped = resource.normalize('NFKC');
  if (/[\u0000-\u001f\u007f]/u.test(prepped)) throw new JidError(`invalid JID ${JSON.stringify(raw)}: the resource has a control character`);
  if (Buffer.byteLength(prepped) > MAX_PART_BYTES) throw new JidError(`invalid JID ${JSON.stringify(raw)}: the resource is longer than 1023 bytes`);
  return prepped;
}

/** Parses and normalises a JID; throws JidError with the reason when it is not valid. */
export function parseJid(raw: string): Jid {
  if (raw === '') throw new JidError('invalid JID "": empty');
  const slash = raw.indexOf('/');
  const bare = slash === -1 ? raw : raw.slice(0, slash);
  const resource = slash === -1 ? '' : raw.slice(slash + 1);
  const at = bare.lastIndexOf('@');
  const local = at === -1 ? '' : bare.slice(0, at);
  const domain = at === -1 ? bare : bare.slice(at + 1);
  if (at !== -1 && local === '') throw new JidError(`invalid JID ${JSON.stringify(raw)}: empty local part before @`);
  if (slash !== -1 && resource === '') throw new JidError(`invalid JID ${JSON.stringify(raw)}: empty resource after /`);
  return {
    local: local === '' ? '' : prepLocal(local, raw),
    domain: prepDomain(domain, raw),
    resource: resource === '' ? '' : prepResource(resource, raw),
  };
}

export function parseBareJid(raw: string): BareJid {
  const { local, domain } = parseJid(raw);
  return { local, domain };
}

export function formatJid(jid: Jid): string {
  const bare = jid.local === '' ? jid.domain : `${jid.local}@${jid.domain}`;
  return jid.resource === '' ? bare : `${bare}/${jid.resource}`;
}

export function bareOf(jid: Jid): BareJid {
  return { local: jid.local, domain: jid.domain };
}

export function sameBare(a: BareJid, b: BareJid): boolean {
  return a.local === b.local && a.domain === b.domain;
}

/** Normalises a JID string; throws JidError when invalid. */
export function normaliseJid(raw: string): string {
  return formatJid(parseJid(raw));
}

/** Normalises a localpart alone (usernames in files and tables). */
export function normaliseLocal(local: string): string {
  if (local === '') throw new JidError('invalid user name "": empty');
  return prepLocal(local, local);
}

export function normaliseDomain(domain: string): string {
  return prepDomain(domain, domain);
}
