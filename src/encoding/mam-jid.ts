// MongooseIM db_jid_format codecs (mam_jid_mini, mam_jid_rfc) for the MAM JID columns.
// https://github.com/esl/MongooseIM/blob/6.8.0/src/mam/mod_mam_utils.erl
import { RecordError } from '../errors.js';
import { JidError, formatJid, parseJid } from '../jid.js';
import type { Jid } from '../jid.js';
import type { BareJid } from '../records.js';

/**
 * MongooseIM's `db_jid_format`: 'mini' = mam_jid_mini (PM default), 'rfc' = mam_jid_rfc (MUC default).
 * mam_jid_rfc_trust writes the JID unprepped; from already normalised JIDs that is the same text as 'rfc'.
 */
export type MamJidFormat = 'mini' | 'rfc';

/** The column text of `jid` (already normalised by parseJid) in `owner`'s archive. */
export function encodeMamJid(format: MamJidFormat, owner: BareJid, jid: Jid): string {
  return format === 'mini' ? encodeMamJidMini(owner, jid) : encodeMamJidRfc(jid);
}

/** Reverses encodeMamJid; throws RecordError `invalid-mam-jid` for text it would not have written. */
export function decodeMamJid(format: MamJidFormat, owner: BareJid, stored: string): Jid {
  return format === 'mini' ? decodeMamJidMini(owner, stored) : decodeMamJidRfc(stored);
}

/**
 * mam_jid_mini, the PM default: the JID written relative to the archive owner U@S, parts lower-cased
 * (resources as resourceprep leaves them). Clauses in the order jid_to_opt_binary tries them:
 *
 * | JID     | stored  |   | JID     | stored  |
 * |---------|---------|---|---------|---------|
 * | S       | `:`     |   | V@S/R   | `V/R`   |
 * | U@S     | ``      |   | V@T     | `T:V`   |
 * | U@S/R   | `/R`    |   | T       | `T:`    |
 * | V@S     | `V`     |   | V@T/R   | `T@V/R` |
 * | S/R     | `:/R`   |   | T/R     | `T@/R`  |
 */
export function encodeMamJidMini(owner: BareJid, jid: Jid): string {
  if (jid.domain === owner.domain) {
    if (jid.local === '' && jid.resource === '') return ':';
    if (jid.local === owner.local) return jid.resource === '' ? '' : `/${jid.resource}`;
    if (jid.resource === '') return jid.local;
    return jid.local === '' ? `:/${jid.resource}` : `${jid.local}/${jid.resource}`;
  }
  // Another domain: the domain comes first, then `:` (bare) or `@` (full).
  return jid.resource === '' ? `${jid.domain}:${jid.local}` : `${jid.domain}@${jid.local}/${jid.resource}`;
}

/**
 * Reverses encodeMamJidMini as expand_minified_jid does: `''` is the owner, a leading `/` the owner's
 * resource, otherwise the first of `@`, `/`, `:` tells the form (nodeprep and nameprep forbid all three,
 * so the first one is never inside a localpart or domain). A value encodeMamJidMini would not write
 * (upper case, `T@V` without a resource, …) is refused rather than guessed.
 */
export function decodeMamJidMini(owner: BareJid, stored: string): Jid {
  const jid = parseExpanded(expandMamJidMini(owner, stored), stored);
  if (encodeMamJidMini(owner, jid) !== stored) throw invalidMini(stored, 'it is not in the form MongooseIM writes');
  return jid;
}

function expandMamJidMini(owner: BareJid, stored: string): string {
  const ownerBare = owner.local === '' ? owner.domain : `${owner.local}@${owner.domain}`;
  if (stored === '') return ownerBare;
  if (stored.startsWith('/')) return `${ownerBare}${stored}`;
  const at = firstSeparator(stored);
  if (at === -1) return `${stored}@${owner.domain}`;
  const head = stored.slice(0, at);
  const tail = stored.slice(at + 1);
  switch (stored[at]) {
    case ':':
      if (head === '') return tail === '' ? owner.domain : tail.startsWith('/') ? `${owner.domain}${tail}` : bad(stored);
      return tail === '' ? head : `${tail}@${head}`;
    case '@': {
      if (tail.startsWith('/')) return `${head}${tail}`;
      const slash = tail.indexOf('/');
      if (slash === -1) return bad(stored);
      return `${tail.slice(0, slash)}@${head}${tail.slice(slash)}`;
    }
    default:
      return `${head}@${owner.domain}/${tail}`;
  }
}

function firstSeparator(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '@' || c === '/' || c === ':') return i;
  }
  return -1;
}

function bad(stored: string): never {
  throw invalidMini(stored, 'no mam_jid_mini form matches it');
}

function invalidMini(stored: string, why: string): RecordError {
  return new RecordError('invalid-mam-jid', `${JSON.stringify(stored)} is not a mam_jid_mini JID: ${why}`);
}

function parseExpanded(expanded: string, stored: string): Jid {
  try {
    return parseJid(expanded);
  } catch (err) {
    if (err instanceof JidError) {
      throw new RecordError('invalid-mam-jid', `stored JID ${JSON.stringify(stored)} does not decode to a valid JID: ${err.message}`, undefined, {
        cause: err,
      });
    }
    throw err;
  }
}

/** mam_jid_rfc, the MUC default: the prepped, lower-cased JID (jid:to_binary(jid:to_lower(J))). */
export function encodeMamJidRfc(jid: Jid): string {
  return formatJid(jid);
}

/** Refuses text that is not already in the normalised form encodeMamJidRfc writes. */
export function decodeMamJidRfc(stored: string): Jid {
  const jid = parseExpanded(stored, stored);
  if (formatJid(jid) !== stored) {
    throw new RecordError('invalid-mam-jid', `${JSON.stringify(stored)} is not a mam_jid_rfc JID: MongooseIM writes it prepped and lower-cased`);
  }
  return jid;
}
