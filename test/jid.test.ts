// JIDs as MongooseIM reads them (src/jid.ts). Every expected value is the answer of MongooseIM's own jid module
// (esl/mongoose_jid 2.2.3, what MongooseIM 6.8.0 pins) running on the real stringprep NIF (processone/stringprep
// 1.0.33's c_src built locally against OTP 25's erl_nif.h): jid:from_binary/1 for parseJid, jid:nodeprep/1 and
// jid:nameprep/1 for normaliseLocal and normaliseDomain; null where it returned `error`. The few places where
// src/jid.ts is deliberately stricter are in their own table, with MongooseIM's answer beside them.
import { describe, expect, it } from 'vitest';
import { JidError, formatJid, lowerCodePoints, normaliseDomain, normaliseJid, normaliseLocal, parseBareJid, parseJid } from '../src/jid.js';

type Parts = [local: string, domain: string, resource: string];

function parts(raw: string): Parts | null {
  try {
    const jid = parseJid(raw, { resource: 'strict' });
    return [jid.local, jid.domain, jid.resource];
  } catch (err) {
    if (err instanceof JidError) return null;
    throw err;
  }
}

function refusedBy(normalise: (text: string) => string, text: string): string | null {
  try {
    return normalise(text);
  } catch (err) {
    if (err instanceof JidError) return null;
    throw err;
  }
}

// In → [local, domain, resource], or null when MongooseIM refuses the JID.
const PARSE: Array<[string, Parts | null]> = [
  // Case and the stringprep mappings: nodeprep and nameprep fold, resourceprep keeps case.
  ['alice@example.com', ['alice', 'example.com', '']],
  ['Alice@Example.COM/Phone', ['alice', 'example.com', 'Phone']],
  ['a@b/Res ource', ['a', 'b', 'Res ource']],
  ['Straße@Example.DE', ['strasse', 'example.de', '']],
  ['co\u00adop@example.com', ['coop', 'example.com', '']],
  ['x\u00ad@example.com', ['x', 'example.com', '']],
  ['a@b/\u00ad', ['a', 'b', '']],
  ['\u01c5emal@example.com/\u01c5', ['d\u017eemal', 'example.com', 'D\u017e']],
  ['ΟΔΟΣ@example.gr', ['οδοσ', 'example.gr', '']],
  ['οδος@example.gr', ['οδοσ', 'example.gr', '']],
  ['\u0130stanbul@example.com/\u0130', ['i\u0307stanbul', 'example.com', '\u0130']],
  ['ＡＢＣ@ｅｘａｍｐｌｅ.com/ＡＢＣ', ['abc', 'example.com', 'ABC']],
  ['user@bücher.example', ['user', 'bücher.example', '']],
  ['user@пример.рф', ['user', 'пример.рф', '']],
  ['example.com/abcdef＠g', ['', 'example.com', 'abcdef@g']],
  // What the profiles refuse.
  ['😀@example.com', null],
  ['alice@example.com/📱', null],
  ['room@conference.example.com/Ann 🌸', null],
  ['user@example😀.com', null],
  ['user@exa\u200emple.com', null],
  ['a b@example.com', null],
  ['a\u00a0b@example.com', null],
  ['a＠b@example.com', null],
  ['alice@example.com/a\u0007', null],
  // Bidi: right-to-left alone is fine, mixed or ending with a digit is not.
  ['דוד@example.com', ['דוד', 'example.com', '']],
  ['alice@example.com/דוד', ['alice', 'example.com', 'דוד']],
  ['davidדוד@example.com', null],
  ['דוד1@example.com', null],
  // Nameprep has no STD3 rules, and MongooseIM checks nothing else in a domain.
  ['user@exa mple.com', ['user', 'exa mple.com', '']],
  ['user@example.com.', ['user', 'example.com.', '']],
  ['user@other..org', ['user', 'other..org', '']],
  ['user@a"b', ['user', 'a"b', '']],
  // Splitting.
  ['example.com', ['', 'example.com', '']],
  ['a@b/c@d/e', ['a', 'b', 'c@d/e']],
  ['a@b/', ['a', 'b', '']],
  ['example.com/', ['', 'example.com', '']],
  ['', null],
  ['a@b@c', null],
  ['@b', null],
  ['a@', null],
  ['a@/r', null],
  ['/r', null],
  // from_binary takes an @ up to 8 bytes past the first / as the end of a local part, which then holds a /.
  ['example.com/a@b', null],
  ['a/b@c', null],
  ['example.com/resource@b', ['', 'example.com', 'resource@b']],
  ['conf.example.com/nick@home', ['', 'conf.example.com', 'nick@home']],
  // Sizes: each part under 1024 bytes before and after preparation, the whole JID under 3071 bytes.
  ['a'.repeat(1023) + '@b', ['a'.repeat(1023), 'b', '']],
  ['a'.repeat(1024) + '@b', null],
  ['é'.repeat(511) + '@b', ['é'.repeat(511), 'b', '']],
  ['é'.repeat(512) + '@b', null],
  ['a@' + 'b'.repeat(1023), ['a', 'b'.repeat(1023), '']],
  ['a@' + 'b'.repeat(1024), null],
  ['a@b/' + 'r'.repeat(1023), ['a', 'b', 'r'.repeat(1023)]],
  ['a@b/' + 'r'.repeat(1024), null],
  ['\u00ad'.repeat(600) + 'a@b', null],
  ['\u01c5'.repeat(341) + '@b', ['d\u017e'.repeat(341), 'b', '']],
  ['\u01c5'.repeat(342) + '@b', null],
  ['a'.repeat(1023) + '@' + 'b'.repeat(1023) + '/' + 'r'.repeat(1022), ['a'.repeat(1023), 'b'.repeat(1023), 'r'.repeat(1022)]],
  ['a'.repeat(1023) + '@' + 'b'.repeat(1023) + '/' + 'r'.repeat(1023), null],
];

// In → MongooseIM's answer, which src/jid.ts refuses: the migration passes JIDs on as text, and these would not
// read back as the same JID.
const STRICTER: Array<[string, Parts]> = [
  ['\u00ad@example.com', ['', 'example.com', '']],
  ['a@\u00ad', ['a', '', '']],
  ['u@a＠b', ['u', 'a@b', '']],
  ['u@a／b/r', ['u', 'a/b', 'r']],
  ['example.com/ab＠c', ['', 'example.com', 'ab@c']],
];

describe('parseJid', () => {
  it.each(PARSE)('%j', (raw, expected) => {
    expect(parts(raw)).toEqual(expected);
  });

  it.each(STRICTER)('refuses %j, which MongooseIM reads as %j', (raw) => {
    expect(parts(raw)).toBeNull();
  });

  it('refuses in ASCII exactly the characters MongooseIM refuses in each part', () => {
    const refused = (jid: (ch: string) => string): number[] =>
      Array.from({ length: 128 }, (_, cp) => cp).filter((cp) => parts(jid(String.fromCharCode(cp))) === null);
    const controls = Array.from({ length: 32 }, (_, cp) => cp);
    expect(refused((ch) => `a${ch}b@example.com`)).toEqual([...controls, 0x20, 0x22, 0x26, 0x27, 0x2f, 0x3a, 0x3c, 0x3e, 0x40, 0x7f]);
    expect(refused((ch) => `u@a${ch}b`)).toEqual([0x40]);
    expect(refused((ch) => `u@example.com/a${ch}b`)).toEqual([...controls, 0x7f]);
  });

  it('says why', () => {
    expect(() => parseJid('a b@example.com')).toThrow('invalid JID "a b@example.com": the local part contains U+0020 (space), which nodeprep forbids');
    expect(() => parseJid('alice@example.com/📱', { resource: 'strict' })).toThrow(/the resource contains U\+1F4F1, which resourceprep forbids or Unicode 3\.2 did not assign/);
    expect(() => parseJid('davidדוד@example.com')).toThrow(/the local part mixes right-to-left text/);
    expect(() => parseJid('a@b@c')).toThrow(/a second @ before the resource/);
    expect(() => parseJid('example.com/a@b')).toThrow(/jid:from_binary\/1\) ends the local part at an @ found up to 8 bytes after the first \//);
    expect(() => parseJid('a'.repeat(1024) + '@b')).toThrow(/the local part is longer than 1023 bytes/);
    expect(() => parseJid('\u01c5'.repeat(342) + '@b')).toThrow(/the prepared local part is longer than 1023 bytes/);
    expect(() => parseJid('\u00ad@example.com')).toThrow(/the local part "\u00ad" prepares to nothing/);
    expect(() => parseJid('')).toThrow(JidError);
  });
});

describe('normaliseLocal, normaliseDomain, normaliseJid, parseBareJid', () => {
  it.each([
    ['Straße', 'strasse'],
    ['ALICE', 'alice'],
    ['\u01c5', 'd\u017e'],
    ['a b', null],
    ['a@b', null],
    ['a'.repeat(1023), 'a'.repeat(1023)],
    ['a'.repeat(1024), null],
    // jid:nodeprep/1 gives <<>> for these two; a user name is never empty.
    ['', null],
    ['\u00ad', null],
  ])('normaliseLocal(%j) → %j', (local, expected) => {
    expect(refusedBy(normaliseLocal, local)).toBe(expected);
  });

  it.each([
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com.'],
    ['Bücher.Example', 'bücher.example'],
    ['exa mple.com', 'exa mple.com'],
    ['b'.repeat(1023), 'b'.repeat(1023)],
    ['b'.repeat(1024), null],
    ['', null],
    // jid:nameprep/1 gives <<"a@b">> and <<>>; src/jid.ts is stricter, as for parseJid.
    ['a@b', null],
    ['\u00ad', null],
  ])('normaliseDomain(%j) → %j', (domain, expected) => {
    expect(refusedBy(normaliseDomain, domain)).toBe(expected);
  });

  it('formats what it parses', () => {
    expect(normaliseJid('Alice@Example.COM/Phone')).toBe('alice@example.com/Phone');
    expect(normaliseJid('Straße@Example.DE/Büro')).toBe('strasse@example.de/Büro');
    expect(normaliseJid('Example.COM/bot')).toBe('example.com/bot');
    expect(parseBareJid('Alice@Example.COM/Phone')).toEqual({ local: 'alice', domain: 'example.com' });
    for (const [raw, expected] of PARSE) if (expected) expect(parts(formatJid(parseJid(raw)))).toEqual(expected);
  });

  it('keeps lowerCodePoints: one code point at a time, no final-sigma rule', () => {
    expect(lowerCodePoints('ΟΔΟΣ \u0130')).toBe('οδοσ i\u0307');
  });
});

describe('resources resourceprep refuses, by default', () => {
  it.each([
    ['alice@example.com/📱', 'alice', 'example.com', ''],
    ['room@conference.example.com/Ann 🌸', 'room', 'conference.example.com', 'Ann '],
    ['bob@example.com/desk\u0007top', 'bob', 'example.com', 'desktop'],
  ])('keeps only the characters it accepts: %s', (raw, local, domain, resource) => {
    expect(parseJid(raw)).toEqual({ local, domain, resource });
  });

  it('still refuses a local part or domain MongooseIM refuses', () => {
    expect(() => parseJid('😀@example.com')).toThrow(JidError);
  });
});
