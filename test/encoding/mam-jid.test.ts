// mam_jid_mini and mam_jid_rfc, as tables: storage-facts §1.5.2 and the clauses of MongooseIM 6.8.0
// mod_mam_utils:jid_to_opt_binary / expand_minified_jid.
import { describe, expect, it } from 'vitest';
import {
  decodeMamJid,
  decodeMamJidMini,
  decodeMamJidRfc,
  encodeMamJid,
  encodeMamJidMini,
  encodeMamJidRfc,
} from '../../src/encoding/mam-jid.js';
import { RecordError } from '../../src/errors.js';
import { formatJid, parseJid } from '../../src/jid.js';
import type { BareJid } from '../../src/records.js';

const ALICE: BareJid = { local: 'alice', domain: 'example.com' };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof RecordError ? err.code : (err as Error).name;
  }
  return undefined;
}

describe('mam_jid_mini (owner alice@example.com)', () => {
  // [JID, stored], in the order the server tries its clauses.
  const TABLE: Array<[string, string]> = [
    ['example.com', ':'],
    ['alice@example.com', ''],
    ['alice@example.com/phone', '/phone'],
    ['bob@example.com', 'bob'],
    ['example.com/bot', ':/bot'],
    ['bob@example.com/pc', 'bob/pc'],
    ['kate@other.org', 'other.org:kate'],
    ['other.org', 'other.org:'],
    ['kate@other.org/x', 'other.org@kate/x'],
    ['other.org/x', 'other.org@/x'],
    // Resources keep their case and may hold any of the separators.
    ['alice@example.com/Phone:1@home/a', '/Phone:1@home/a'],
    ['bob@example.com/a/b:c@d', 'bob/a/b:c@d'],
    ['kate@other.org/x/y@z:w', 'other.org@kate/x/y@z:w'],
    // jid:from_binary/1 refuses example.com/a@b (an @ within 8 bytes of the /); the @ here is further on.
    ['example.com/resource@b', ':/resource@b'],
    // Same localpart on another domain is another user.
    ['alice@other.org', 'other.org:alice'],
    ['alice@other.org/phone', 'other.org@alice/phone'],
    // Subdomains are other domains.
    ['conference.example.com', 'conference.example.com:'],
    ['room@conference.example.com/nick', 'conference.example.com@room/nick'],
    // Non-ASCII parts, lower-cased by nodeprep/nameprep before encoding.
    ['Zoë@Example.com/Téléphone', 'zoë/Téléphone'],
    ['ÉMILE@Bücher.example', 'bücher.example:émile'],
  ];

  it.each(TABLE)('encodes %s as %j', (jid, stored) => {
    expect(encodeMamJidMini(ALICE, parseJid(jid))).toBe(stored);
    expect(encodeMamJid('mini', ALICE, parseJid(jid))).toBe(stored);
  });

  it.each(TABLE)('decodes the stored form of %s back to it', (jid, stored) => {
    expect(formatJid(decodeMamJidMini(ALICE, stored))).toBe(formatJid(parseJid(jid)));
    expect(formatJid(decodeMamJid('mini', ALICE, stored))).toBe(formatJid(parseJid(jid)));
  });

  it('round-trips the JIDs of MongooseIM own jid_to_opt_binary test (owner alice@room)', () => {
    const owner: BareJid = { local: 'alice', domain: 'room' };
    for (const jid of ['alice@room', 'alice@room/computer', 'alice@street/mobile', 'bob@room', 'bob@room/mobile', 'bob@street', 'bob@street/mobile']) {
      expect(formatJid(decodeMamJidMini(owner, encodeMamJidMini(owner, parseJid(jid))))).toBe(jid);
    }
  });

  it.each([
    ['T@V without a resource (the server crashes on it)', 'other.org@kate'],
    ['a colon with nothing before it but a user after it', ':kate'],
    ['upper case, which the server never writes', 'Bob'],
    ['an upper-case domain', 'Other.org:kate'],
    ['a domain nameprep refuses (unassigned in Unicode 3.2)', 'other\u{1f600}.org:kate'],
    ['a T:V form whose user holds a slash', 'other.org:kate/x'],
    ['an empty resource', 'bob/'],
  ])('refuses %s (RecordError invalid-mam-jid)', (_what, stored) => {
    expect(codeOf(() => decodeMamJidMini(ALICE, stored))).toBe('invalid-mam-jid');
  });
});

describe('mam_jid_rfc', () => {
  it.each([
    ['Kate@Other.ORG/Phone', 'kate@other.org/Phone'],
    ['alice@example.com', 'alice@example.com'],
    ['example.com', 'example.com'],
    ['conference.example.com/bot', 'conference.example.com/bot'],
  ])('stores %s as %s and reads it back', (raw, stored) => {
    expect(encodeMamJidRfc(parseJid(raw))).toBe(stored);
    expect(encodeMamJid('rfc', ALICE, parseJid(raw))).toBe(stored);
    expect(formatJid(decodeMamJidRfc(stored))).toBe(stored);
    expect(formatJid(decodeMamJid('rfc', ALICE, stored))).toBe(stored);
  });

  it.each([
    ['a mini form', 'other.org@/x'],
    ['upper case', 'Kate@other.org'],
    ['an empty string', ''],
  ])('refuses %s (RecordError invalid-mam-jid)', (_what, stored) => {
    expect(codeOf(() => decodeMamJidRfc(stored))).toBe('invalid-mam-jid');
  });
});
