// MongooseIM MAM `search_body` column: mod_mam_utils:packet_to_search_body/2 and normalize_search_text/2.
// https://github.com/esl/MongooseIM/blob/6.8.0/src/mam/mod_mam_utils.erl
import type { Element } from '../xml/element.js';

/**
 * The `search_body` value of a message: normalizeSearchText of the character data of its first `<body>` child,
 * `''` when there is none. `xml:lang` variants after the first are ignored, as the server ignores them.
 *
 * Callers must honour the target's `mod_mam` `full_text_search` option: when it is `false` the server writes
 * `''` into `search_body` and never reads the body, so the writer must store `''` instead of calling this.
 */
export function searchBodyOf(stanza: Element): string {
  return normalizeSearchText(firstBodyText(stanza));
}

/** The direct text of the first child element named `body` (any namespace, no prefix), as exml_query:path finds it. */
export function firstBodyText(stanza: Element): string {
  for (const child of stanza.children) {
    if (typeof child === 'string') {
      // exml finds a child with lists:keyfind on the tuple's second field, which for a text node is its content:
      // a text node that reads exactly "body" before the element is found instead, and the server indexes ''.
      if (child === 'body') return '';
    } else if (child.name === 'body') {
      return child.getText();
    }
  }
  return '';
}

/**
 * Normalises text exactly as MongooseIM stores it in `search_body` (word separator `' '`), as Erlang/OTP 25 with
 * PCRE 8.x computes it:
 * 1. `string:lowercase`: per code point, full mappings (`İ` → `i̇`), no final-sigma rule (`ΣΑΣ` → `σασ`).
 * 2. Runs of `, .:;-?!` become one space. In that class `;-?` is a range, so the set is `, .:;<=>?!`.
 * 3. One `re:replace` with three alternatives, tried in order at each position: a run of characters that are
 *    neither word characters (`\p{L}`, `\p{N}`, `_`) nor a space is deleted (hyphens, apostrophes, tabs,
 *    newlines, emoji, combining marks); at the very start, a run of whitespace is deleted; a run of whitespace
 *    that reaches the end is deleted.
 * 4. Runs of spaces become one space.
 *
 * The server runs three regular expressions; this runs them as one scan, because it runs once per archived
 * message. The oracle test checks it against Erlang on every code point and on the edge cases.
 */
export function normalizeSearchText(text: string): string {
  const s = lowercaseLikeErlang(text);
  const n = s.length;
  // Step 3's third alternative: from `tail` on, everything is whitespace once step 2 has made separators spaces.
  let tail = n;
  while (tail > 0 && (BMP_CLASS[s.charCodeAt(tail - 1)]! & (SEPARATOR | WHITESPACE)) !== 0) tail--;
  let out = '';
  let lastIsSpace = false;
  let i = 0;
  while (i < n) {
    const unit = s.charCodeAt(i);
    const kind = unit < 0xd800 || unit > 0xdfff ? BMP_CLASS[unit]! & (WORD | SEPARATOR) : astralKindAt(s, i);
    if (kind === WORD) {
      let j = unit < 0xd800 || unit > 0xdfff ? i + 1 : i + 2;
      while (j < n) {
        const next = s.charCodeAt(j);
        if (next < 0xd800 || next > 0xdfff) {
          if ((BMP_CLASS[next]! & WORD) === 0) break;
          j++;
        } else if (astralKindAt(s, j) === WORD) {
          j += 2;
        } else {
          break;
        }
      }
      out += s.slice(i, j);
      lastIsSpace = false;
      i = j;
    } else if (kind === SEPARATOR) {
      if (i === 0) {
        // Second alternative: leading whitespace, including tabs and the like that follow the first space.
        while (i < n && (BMP_CLASS[s.charCodeAt(i)]! & (SEPARATOR | WHITESPACE)) !== 0) i++;
        continue;
      }
      if (i >= tail) break;
      while (i < n && BMP_CLASS[s.charCodeAt(i)] === SEPARATOR) i++;
      // Step 4: a space right after a kept space collapses into it.
      if (!lastIsSpace) out += ' ';
      lastIsSpace = true;
    } else {
      // First alternative: a run of other characters goes, without leaving a space.
      i++;
      while (i < n) {
        const next = s.charCodeAt(i);
        if (next < 0xd800 || next > 0xdfff) {
          if ((BMP_CLASS[next]! & (WORD | SEPARATOR)) !== OTHER) break;
          i++;
        } else if (astralKindAt(s, i) === OTHER) {
          i += 1;
        } else {
          break;
        }
      }
    }
  }
  return out;
}

/** Erlang's string:lowercase: JavaScript's mappings, minus the final-sigma rule and the newer Unicode ones. */
function lowercaseLikeErlang(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  // toLowerCase applies no context rule but final sigma, so mapping every capital sigma first removes it.
  if (!ERLANG_UNCASED.test(text)) return text.replace(CAPITAL_SIGMA, 'σ').toLowerCase();
  let out = '';
  for (const ch of text) out += ERLANG_UNCASED.test(ch) ? ch : ch.replace(CAPITAL_SIGMA, 'σ').toLowerCase();
  return out;
}

/** Packed `[start, end]` code point ranges: base-36 pairs of (gap after the previous range, length - 1). */
function decodeRanges(packed: string): Array<[number, number]> {
  const tokens = packed.split(' ');
  const ranges: Array<[number, number]> = [];
  let previousEnd = -1;
  for (let i = 0; i + 1 < tokens.length; i += 2) {
    const start = previousEnd + 1 + parseInt(tokens[i]!, 36);
    const end = start + parseInt(tokens[i + 1]!, 36);
    ranges.push([start, end]);
    previousEnd = end;
  }
  return ranges;
}

function characterClass(ranges: Array<[number, number]>): string {
  const cp = (c: number): string => `\\u{${c.toString(16)}}`;
  return ranges.map(([start, end]) => (start === end ? cp(start) : `${cp(start)}-${cp(end)}`)).join('');
}

// Generated from OTP 25 (`re:run([C], "^\\w$", [unicode, ucp])` for every code point C). PCRE 8.x carries older
// Unicode tables than Node, so letters added since (e.g. U+0560) are not word characters there and the server
// deletes them; pinning the table also keeps the word test identical across Node versions. The oracle test sweeps every
// code point against erl, so any drift fails the build.
const PCRE_WORD_RANGES =
  '1c 9 7 p 4 0 1 p 1b 0 7 1 1 0 3 1 1 2 1 m 1 u 1 cp 4 b e 4 7 0 1 0 3l 4 1 1 2 3 1 0 6 0 1 2 1 0 1 j 1 2a 1 3u ' +
  '8 4l 1 11 2 0 7 12 20 q 5 2 19 16 l 9 4 1 1 2q 1 0 f 1 7 e 2 0 g 0 1 t t 2g b 0 e 16 9 1 4 0 5 l 4 0 9 0 3 0 n ' +
  'o 1z i 29 1h 3 0 i 0 7 9 4 9 1 f 4 7 2 1 2 l 1 6 1 0 3 3 3 0 g 0 d 1 1 2 4 b 2 5 b 5 4 1 2 l 1 6 1 1 1 1 1 1 v ' +
  '3 1 0 7 9 2 2 g 8 1 2 1 l 1 6 1 1 1 4 3 0 i 0 f 1 4 9 l 7 2 1 2 l 1 6 1 1 1 4 3 0 u 1 1 2 4 9 1 6 b 0 1 5 3 2 ' +
  '1 3 3 1 1 0 1 1 3 1 3 2 3 b m 0 l c i 7 1 2 1 m 1 f 3 0 q 1 6 1 4 9 8 6 6 7 1 2 1 m 1 9 1 4 3 0 w 0 1 1 4 9 1 ' +
  '1 i 7 1 2 1 14 2 0 g 0 h 1 4 f 4 5 5 h 3 n 1 8 1 0 2 6 v 9 h 1b 1 1 c 6 9 9 13 1 1 0 2 1 1 0 2 0 6 3 1 6 1 2 1 ' +
  '0 1 0 2 1 1 3 1 1 9 0 2 4 1 0 9 9 2 3 w 0 v j c 7 1 z r 4 37 16 k a 6 5 4 3 3 0 3 1 7 2 4 c c 0 1 9 6 11 1 0 5 ' +
  '0 2 16 1 98 1 3 2 6 1 0 1 3 2 14 1 3 2 w 1 3 2 6 1 0 1 3 2 e 1 1k 1 3 2 1u e j 3 f g 2c c h7 2 g 1 p 5 22 3 a ' +
  '7 c 1 3 e h e h e c 1 2 f 1f z 0 4 0 3 9 6 9 m 9 6 2f 8 14 1 0 5 1x a u 13 13 2 4 b 17 l 6 8 a 11 m 9 1g 17 9 ' +
  '6 9 d 0 2l 1a h 6 4 9 15 t d 1j q z s 9 3 1c 2z 3 1 3 3 1 9 5b 1s 7p 2 5 2 11 2 5 2 7 1 0 1 0 1 0 1 u 2 1g 1 6 ' +
  '1 0 3 2 1 6 3 3 2 5 4 c 5 2 1 6 37 1 2 5 5 a 6 c 2t 0 4 0 2 9 1 0 3 4 6 0 1 0 1 0 1 3 1 a 2 3 5 4 4 0 1 1l k6 ' +
  '1n 26 l hi t vg 1a 1 1a 1 3o 6 3 3 1 9 0 2 11 1 0 5 0 2 1j 7 0 g m 9 6 1 6 1 6 1 6 1 6 1 6 1 6 1 6 28 0 d1 2 p ' +
  '8 7 4 2 4 4 2d 6 2 1 2h 1 3 5 14 3 2l 3 3 a q 1h f w 9 u 7 1 e w 9 13 e 8w 52t 22 g5o 1f wc 1v 19 2 7g 3 r k ' +
  '1a g u 2 27 13 8 2 2u 2 3 1 t 2 1 1x a 1 2 1 3 1 m d 5 a 1f e 1d s 9 o 5 3 0 4 11 a m p s 7 1a s a 6 4 1 o 1 ' +
  '14 n 2 1 7 4 9 6 m 3 0 3 1d 1 0 3 1 2 4 2 0 1 0 o 2 2 a 7 2 c 5 2 5 2 5 9 6 1 6 1 16 1 3 4 1 2i y d 9 6 8mb c ' +
  'm 4 1c 6is a5 2 2x 12 6 c 4 5 0 1 9 1 c 1 4 1 0 1 1 1 1 1 2z x a2 i 1r 2 1h 14 b 38 4 1 3q j 9 7 p 6 p b 2g 3 ' +
  '5 2 5 2 5 2 2 z b 1 p 1 i 1 1 1 e 2 d y 3e c 18 c 1k h 1 6s s 3 1c g q 4 z c q 5 11 a t 2 z 4 7 1 4 16 4d 2 9 ' +
  '2e 13 8 1f 4c 8m 9 l a 7 48 5 2 0 1 17 1 1 3 0 2 m 2 u 2 11 8 8 28 r 4 p 1y 1j 6 1 1s 0 f 3 1 2 1 q c 7 o u 1 ' +
  'v w 7 1 r 6 4 g 1h a l 2 q 5 p n 6 28 20 ev u as 1g q t j 18 w o 7 9 9 z f 9 g y 3 0 c 1b e 3 b a 6 j b h 1 o ' +
  '3o 1a h 9 b 7 2 1 2 l 1 6 1 1 1 4 3 0 v 4 7y 1b k 1 1 0 8 9 4m 1a 29 1b k 0 b 9 12 16 l 9 d2 2a c 0 cg 1k zr ' +
  'pk 2v 32 2a9 tq a8h fs 7 u 1 9 2u t i 1b g 3 c 9 1 6 1 k 5 i og 1w b 0 1u c cps 1 2da 2y 5 c 3 8 7 9 4hy h 3y ' +
  '2c 1 1y 1 1 2 0 2 1 2 3 1 b 1 0 1 6 1 1s 1 3 2 7 1 6 1 r 1 3 1 4 1 0 3 6 1 9f 2 o 1 o 1 u 1 o 1 u 1 o 1 u 1 o ' +
  '1 u 1 o 1 7 2 1d 35s 5g 2 8 10w 3 1 q 1 1 1 0 2 0 1 9 1 3 1 0 1 0 6 0 4 0 1 0 1 0 1 2 1 1 1 0 2 0 1 0 1 0 1 0 ' +
  '1 0 1 1 1 0 2 3 1 6 1 3 1 3 1 0 1 9 1 g 5 2 1 4 1 g g4 c 2yb wye 15 378 b 65 cma f1';
// Code points Node lower-cases but OTP 25's string:lowercase (Unicode 14) leaves alone. Same oracle test.
const ERLANG_UNCASED_RANGES = '5mx 0 ri9 1 1 0 3 0 1 0 5 0 1 0 k1f l j7e o';

const NON_ASCII = /[^\x00-\x7f]/;
const CAPITAL_SIGMA = /Σ/g;
const ERLANG_UNCASED = new RegExp(`[${characterClass(decodeRanges(ERLANG_UNCASED_RANGES))}]`, 'u');

// Character kinds after lower-casing. WHITESPACE is a flag on OTHER characters (PCRE's \s); the separators of
// step 2, space included, all turn into spaces, which are whitespace too.
const OTHER = 0;
const WORD = 1;
const SEPARATOR = 2;
const WHITESPACE = 4;
const WORD_RANGES = decodeRanges(PCRE_WORD_RANGES);
const ASTRAL_WORD_RANGES = WORD_RANGES.filter(([, end]) => end > 0xffff);
const BMP_CLASS = buildBmpClasses();

function buildBmpClasses(): Uint8Array {
  const classes = new Uint8Array(0x10000);
  for (const [start, end] of WORD_RANGES) classes.fill(WORD, start, Math.min(end, 0xffff) + 1);
  for (const ch of ', .:;<=>?!') classes[ch.charCodeAt(0)] = SEPARATOR;
  // PCRE's \s with ucp: \p{Z}, \h and \v. Unlike JavaScript's \s it has U+0085 and U+180E and lacks U+FEFF.
  for (const ch of '\t\n\v\f\r\u0085\u00a0\u1680\u180e\u2028\u2029\u202f\u205f\u3000') classes[ch.charCodeAt(0)] = WHITESPACE;
  classes.fill(WHITESPACE, 0x2000, 0x200b);
  // Surrogates are looked up as code points by astralKindAt.
  classes.fill(OTHER, 0xd800, 0xe000);
  return classes;
}

/** The kind of the code point at a surrogate: a pair is one code point, a lone surrogate is never a word. */
function astralKindAt(s: string, i: number): number {
  const cp = s.codePointAt(i)!;
  if (cp <= 0xffff) return OTHER;
  // Binary search: few messages have astral letters, so a table for them would cost more than it saves.
  let lo = 0;
  let hi = ASTRAL_WORD_RANGES.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [start, end] = ASTRAL_WORD_RANGES[mid]!;
    if (cp < start) hi = mid - 1;
    else if (cp > end) lo = mid + 1;
    else return WORD;
  }
  return OTHER;
}
