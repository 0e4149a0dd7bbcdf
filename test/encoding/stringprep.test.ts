// The three stringprep profiles MongooseIM runs through processone/stringprep (src/encoding/stringprep.ts).
// Every expected value below is the NIF's own answer: processone/stringprep 1.0.33's c_src built locally against
// OTP 25's erl_nif.h and called as stringprep:nameprep/1, nodeprep/1 and resourceprep/1 on each input (null where
// it returned `error`). The hashes of the last test come from the same NIF run on every code point.
import { describe, expect, it } from 'vitest';
import { nameprep, nodeprep, resourceprep, type Prepared } from '../../src/encoding/stringprep.js';

const out = (result: Prepared): string | null => (typeof result === 'string' ? result : null);

// In → nameprep, nodeprep, resourceprep.
const TABLE: Array<[string, string, string | null, string | null, string | null]> = [
  ['empty', '', '', '', ''],
  ['ASCII letters fold, space allowed except in nodeprep', 'Hello World', 'hello world', null, 'Hello World'],
  ['sharp s folds to ss', 'Straße', 'strasse', 'strasse', 'Straße'],
  ['capital and final sigma both fold to σ', 'ΟΔΟΣ οδος', 'οδοσ οδοσ', null, 'ΟΔΟΣ οδος'],
  ['dotted capital I keeps its dot as a combining mark', '\u0130stanbul', 'i\u0307stanbul', 'i\u0307stanbul', '\u0130stanbul'],
  ['titlecase digraph ǅ: folded, or split by NFKC', '\u01c5emal', 'd\u017eemal', 'd\u017eemal', 'D\u017eemal'],
  ['full-width letters', 'ＡＢＣ', 'abc', 'abc', 'ABC'],
  ['full-width commercial at becomes @', 'a＠b', 'a@b', null, 'a@b'],
  ['mathematical and black-letter letters', 'ℌ𝐞𝐥𝐥𝐨', 'hello', 'hello', 'Hello'],
  ['roman numeral twelve', '\u216b', 'xii', 'xii', 'XII'],
  ['Kelvin and Angstrom signs', '\u212a \u212b', 'k \u00e5', null, 'K \u00c5'],
  ['ligature ffi', '\ufb03', 'ffi', 'ffi', 'ffi'],
  ['circled digit', '①', '1', '1', '1'],
  ['soft hyphen removed', 'co\u00adop', 'coop', 'coop', 'coop'],
  ['zero-width joiner, variation selector, BOM removed', 'a\u200db\ufe0fc\ufeff', 'abc', 'abc', 'abc'],
  ['only mapped-to-nothing characters', '\u00ad\u200b', '', '', ''],
  ['no-break space becomes a space', 'a\u00a0b', 'a b', null, 'a b'],
  ['ASCII control', 'a\u0001b', 'a\u0001b', null, null],
  ['DEL', 'a\u007fb', 'a\u007fb', null, null],
  ['quote', 'a"b', 'a"b', null, 'a"b'],
  ['ampersand', 'a&b', 'a&b', null, 'a&b'],
  ['apostrophe', "a'b", "a'b", null, "a'b"],
  ['slash', 'a/b', 'a/b', null, 'a/b'],
  ['colon', 'a:b', 'a:b', null, 'a:b'],
  ['less-than', 'a<b', 'a<b', null, 'a<b'],
  ['greater-than', 'a>b', 'a>b', null, 'a>b'],
  ['at', 'a@b', 'a@b', null, 'a@b'],
  ['backslash and the other ASCII punctuation', 'a\\b!#$%()*+,;=?[]^_`{|}~', 'a\\b!#$%()*+,;=?[]^_`{|}~', 'a\\b!#$%()*+,;=?[]^_`{|}~', 'a\\b!#$%()*+,;=?[]^_`{|}~'],
  ['Georgian capitals had no folding in Unicode 3.2', 'ႠႡ', 'ႠႡ', 'ႠႡ', 'ႠႡ'],
  ['Cherokee had no lower case in Unicode 3.2', 'ᎠᎡ', 'ᎠᎡ', 'ᎠᎡ', 'ᎠᎡ'],
  ['capital sharp s: unassigned in Unicode 3.2', '\u1e9e', null, null, null],
  ['emoji: unassigned in Unicode 3.2', 'Ann😀', null, null, null],
  ['a letter added after Unicode 3.2', 'a\u0560', null, null, null],
  ['private use', 'x\ue000', null, null, null],
  ['left-to-right mark', 'a\u200eb', null, null, null],
  ['right-to-left override', 'a\u202eb', null, null, null],
  ['line separator', 'a\u2028b', null, null, null],
  ['Hebrew alone', 'דוד', 'דוד', 'דוד', 'דוד'],
  ['Arabic alone', 'محمد', 'محمد', 'محمد', 'محمد'],
  ['right-to-left mixed with Latin letters', 'davidדוד', null, null, null],
  ['right-to-left ending with a European digit', 'محمد2', null, null, null],
  ['right-to-left between digits', '1דוד1', null, null, null],
  ['a Hebrew presentation form alone ends with a mark', '\ufb1d', null, null, null],
  ['the same form between Hebrew letters', 'א\ufb1dא', 'אי\u05b4א', 'אי\u05b4א', 'אי\u05b4א'],
  ['CJK compatibility ideograph with its Unicode 3.2 decomposition', '\u{2f868}', '\u{2136a}', '\u{2136a}', '\u{2136a}'],
  ['combining marks out of order: the NIF reorders one run at a time', 'a\u0302\u0301\u0323', '\u1ea5\u0323', '\u1ea5\u0323', '\u1ea5\u0323'],
  ['a precomposed letter followed by marks keeps its mark', 'e\u0301\u0307\u0323', '\u00e9\u0323\u0307', '\u00e9\u0323\u0307', '\u00e9\u0323\u0307'],
  ['e + combining acute composes', 'E\u0301ric', 'éric', 'éric', 'Éric'],
  ['Hangul jamo compose', '\u1100\u1161\u11a8', '\uac01', '\uac01', '\uac01'],
  ['an LV syllable swallows U+11A7', '\uac00\u11a7', '\uac00', '\uac00', '\uac00'],
  ['U+11A7 alone is unassigned', '\u11a7', null, null, null],
  ['Cyrillic', 'Дмитрий', 'дмитрий', 'дмитрий', 'Дмитрий'],
  ['CJK', '山田', '山田', '山田', '山田'],
];

describe('nameprep, nodeprep, resourceprep', () => {
  it.each(TABLE)('%s: %j', (_what, input, name, node, resource) => {
    expect([out(nameprep(input)), out(nodeprep(input)), out(resourceprep(input))]).toEqual([name, node, resource]);
  });

  it('refuses in ASCII exactly what the NIF refuses', () => {
    const refused = (prep: (v: string) => Prepared): number[] =>
      Array.from({ length: 128 }, (_, cp) => cp).filter((cp) => typeof prep(`a${String.fromCharCode(cp)}b`) !== 'string');
    const controls = [...Array.from({ length: 32 }, (_, cp) => cp), 0x7f];
    expect(refused(nameprep)).toEqual([]);
    expect(refused(nodeprep)).toEqual([...controls.slice(0, 32), 0x20, 0x22, 0x26, 0x27, 0x2f, 0x3a, 0x3c, 0x3e, 0x40, 0x7f]);
    expect(refused(resourceprep)).toEqual(controls);
  });

  it('refuses a lone surrogate (the NIF refuses one encoded as CESU-8 bytes)', () => {
    expect([out(nameprep('\ud800')), out(nodeprep('a\udfff')), out(resourceprep('a\ud800b'))]).toEqual([null, null, null]);
  });

  it('says which code point a profile refuses, and why', () => {
    expect(nodeprep('a b')).toEqual({ reason: 'contains U+0020 (space), which nodeprep forbids' });
    expect(nodeprep('a＠b')).toEqual({ reason: 'contains U+0040 ("@"), which nodeprep forbids' });
    expect(resourceprep('a\u0007')).toEqual({ reason: 'contains U+0007 (a control character), which resourceprep forbids' });
    expect(nameprep('Ann😀')).toEqual({ reason: 'contains U+1F600, which nameprep forbids or Unicode 3.2 did not assign' });
    expect(nodeprep('davidדוד')).toEqual({
      reason: 'mixes right-to-left text with left-to-right letters, or does not start and end with a right-to-left character',
    });
  });

  it('agrees with the NIF on every code point of planes 0–2 and 14, alone', () => {
    // FNV-1a over each output's UTF-16 code units and a U+0000 separator, U+FFFF for a refusal.
    const hashes = [0x811c9dc5, 0x811c9dc5, 0x811c9dc5];
    const refusals = [0, 0, 0];
    const profiles = [nameprep, nodeprep, resourceprep];
    for (let cp = 0; cp <= 0xe0fff; cp++) {
      if ((cp >= 0xd800 && cp <= 0xdfff) || (cp > 0x2ffff && cp < 0xe0000)) continue;
      const ch = String.fromCodePoint(cp);
      for (let k = 0; k < 3; k++) {
        const result = profiles[k]!(ch);
        if (typeof result !== 'string') refusals[k]!++;
        const text = `${typeof result === 'string' ? result : '\uffff'}\u0000`;
        let h = hashes[k]!;
        for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
        hashes[k] = h;
      }
    }
    expect(refusals).toEqual([103661, 103788, 103694]);
    expect(hashes.map((h) => h.toString(16))).toEqual(['c30f3ce6', '4cbc4237', '970f4bed']);
  });
});
