// MongooseIM `vcard_search` row for a XEP-0054 vCard: mod_vcard:parse_vcard/3, whose l* columns come from
// jid:str_tolower/1, i.e. the stringprep NIF's tolower: nameprep (RFC 3491 profile of RFC 3454, Unicode 3.2).
// https://github.com/esl/MongooseIM/blob/6.8.0/src/vcard/mod_vcard.erl
// https://github.com/processone/stringprep/blob/1.0.33/c_src/stringprep.cpp
// https://www.rfc-editor.org/rfc/rfc3454 https://www.rfc-editor.org/rfc/rfc3491
import { RecordError } from '../errors.js';
import type { Element } from '../xml/element.js';

/** The value columns of `vcard_search`, in the order the server computes them. */
export const VCARD_SEARCH_FIELDS = ['fn', 'family', 'given', 'middle', 'nickname', 'bday', 'ctry', 'locality', 'email', 'orgname', 'orgunit'] as const;
export type VCardSearchField = (typeof VCARD_SEARCH_FIELDS)[number];
/** Column name → value: `fn` … `orgunit` as found in the vCard, `lfn` … `lorgunit` lower-cased; `''` when absent. */
export type VCardSearchRow = Record<VCardSearchField | `l${VCardSearchField}`, string>;

// Where each field is read: a path of child element names from the vCard, first match at each step.
const PATHS: Readonly<Record<VCardSearchField, readonly string[]>> = {
  fn: ['FN'],
  family: ['N', 'FAMILY'],
  given: ['N', 'GIVEN'],
  middle: ['N', 'MIDDLE'],
  nickname: ['NICKNAME'],
  bday: ['BDAY'],
  ctry: ['ADR', 'CTRY'],
  locality: ['ADR', 'LOCALITY'],
  email: ['EMAIL', 'USERID'],
  orgname: ['ORG', 'ORGNAME'],
  orgunit: ['ORG', 'ORGUNIT'],
};

/**
 * The `vcard_search` values for a `<vCard xmlns='vcard-temp'>` element, exactly as MongooseIM computes them when
 * the vCard is set. In → Out:
 * - Each value is the text directly inside the first element on its path (`N/FAMILY`, `ADR/CTRY`, …); `email` is
 *   `EMAIL/USERID`, or when that is empty the text directly inside `EMAIL`. Missing → `''`.
 * - Each l* value is the nameprep mapping of its value: case folding (`Straße` → `strasse`), NFKC (`ℌ𝐞𝐥𝐥𝐨` →
 *   `hello`), soft hyphens and zero-width joiners removed. `lnickname` first deletes the characters that are not
 *   alphanumeric, whitespace or punctuation under PCRE's POSIX classes (emoji, symbols such as `+`'s Unicode
 *   cousins), so an emoji nickname is accepted.
 *
 * Throws RecordError `vcard-search-invalid` when nameprep rejects a value, as the server then refuses the whole
 * vCard (`invalid_input`, nothing stored): a character unassigned in Unicode 3.2 (most emoji outside NICKNAME),
 * a private-use, control or bidi-control character, or right-to-left text mixed with left-to-right letters.
 */
export function vcardSearchFields(vcard: Element, options: VCardSearchOptions = { invalid: 'reject' }): VCardSearchRow {
  const row = {} as VCardSearchRow;
  for (const field of VCARD_SEARCH_FIELDS) {
    let value = textAt(vcard, PATHS[field]);
    if (field === 'email' && value === '') value = textAt(vcard, ['EMAIL']);
    const indexed = field === 'nickname' ? value.replace(NOT_ALNUM_SPACE_PUNCT, '') : value;
    let lowered = prepare(indexed);
    if (typeof lowered !== 'string' && options.invalid === 'index-what-nameprep-accepts') {
      // Keep the vCard itself byte for byte; index only the characters nameprep accepts ('' when bidi fails).
      const stripped = prepare([...indexed].filter((ch) => typeof prepare(ch) === 'string').join(''));
      lowered = typeof stripped === 'string' ? stripped : '';
    }
    if (typeof lowered !== 'string') {
      throw new RecordError(
        'vcard-search-invalid',
        `MongooseIM refuses this vCard: its ${PATHS[field].join('/')} ${JSON.stringify(value)} ${lowered.reason}; ` +
          'remove or change that value to migrate the vCard',
      );
    }
    row[field] = value;
    row[`l${field}`] = lowered;
  }
  return row;
}

export interface VCardSearchOptions {
  /**
   * What to do with a value nameprep rejects. `reject` (MongooseIM's own behaviour when a client sets the
   * vCard): throw RecordError. `index-what-nameprep-accepts`: index the value without the rejected characters,
   * so a migrated user keeps a vCard the server would have refused to store today.
   */
  invalid: 'reject' | 'index-what-nameprep-accepts';
}

/**
 * stringprep's `tolower`, which MongooseIM calls jid:str_tolower/1: nameprep, or `undefined` where it returns
 * `error`. Also usable for the lower-cased search terms the server compares with.
 */
export function stringprepLowercase(value: string): string | undefined {
  const result = prepare(value);
  return typeof result === 'string' ? result : undefined;
}

/** The first child element with this exact name, as exml_query:subelement/2 finds it. */
function childNamed(el: Element, name: string): Element | undefined {
  for (const child of el.children) {
    if (typeof child !== 'string') {
      if (child.name === name) return child;
    } else if (child === name) {
      // lists:keyfind on the tuple's second field also matches a text node with that content; the path then
      // ends there and the value is ''.
      return undefined;
    }
  }
  return undefined;
}

function textAt(root: Element, path: readonly string[]): string {
  let el: Element | undefined = root;
  for (const name of path) {
    el = childNamed(el, name);
    if (!el) return '';
  }
  return el.getText();
}

/**
 * Nameprep as the NIF computes it: map (B.1, B.2), NFKC, prohibit (A.1, C.*), check bidi (section 6).
 * One known difference: the NIF decomposes one level only and reorders combining marks incompletely, so for text
 * with two or more combining marks in non-canonical order (or after a compatibility decomposition) its l* value
 * keeps another mark order than this true NFKC. Acceptance is the same; only search recall on such text differs.
 */
function prepare(value: string): string | { reason: string } {
  // Printable and control ASCII are all allowed, never right-to-left, and fold to their lower case.
  if (!NON_ASCII.test(value)) return value.toLowerCase();
  let mapped = '';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (inRanges(PROHIBITED, cp)) return { reason: `contains U+${hex(cp)}, which nameprep forbids or Unicode 3.2 did not assign` };
    if (inRanges(MAPPED_TO_NOTHING, cp)) continue;
    const special = SPECIAL_MAPPINGS.get(cp);
    if (special !== undefined) mapped += special;
    else if (inRanges(UNCASED_IN_3_2, cp)) mapped += ch;
    else mapped += lowerCodePoints(lowerCodePoints(ch).normalize('NFKC'));
  }
  const prepped = mapped.normalize('NFKC');
  let hasRandAL = false;
  let hasL = false;
  for (const ch of prepped) {
    const cp = ch.codePointAt(0)!;
    if (inRanges(RAND_AL, cp)) hasRandAL = true;
    else if (inRanges(LEFT_TO_RIGHT, cp)) hasL = true;
  }
  if (hasRandAL) {
    const first = prepped.codePointAt(0)!;
    const last = [...prepped].pop()!.codePointAt(0)!;
    if (hasL || !inRanges(RAND_AL, first) || !inRanges(RAND_AL, last)) {
      return { reason: 'mixes right-to-left text with left-to-right letters, or does not start and end with a right-to-left character' };
    }
  }
  return prepped;
}

/** Per code point, so no context rule (final sigma) applies; nameprep maps Σ and ς to σ anyway. */
function lowerCodePoints(text: string): string {
  let out = '';
  for (const ch of text) out += ch.toLowerCase();
  return out;
}

function hex(cp: number): string {
  return cp.toString(16).toUpperCase().padStart(4, '0');
}

/** Packed `[start, end]` code point ranges: base-36 pairs of (gap after the previous range, length - 1). */
function decodeRanges(packed: string): Uint32Array {
  const tokens = packed.split(' ');
  const flat = new Uint32Array(tokens.length);
  let previousEnd = -1;
  for (let i = 0; i + 1 < tokens.length; i += 2) {
    const start = previousEnd + 1 + parseInt(tokens[i]!, 36);
    const end = start + parseInt(tokens[i + 1]!, 36);
    flat[i] = start;
    flat[i + 1] = end;
    previousEnd = end;
  }
  return flat;
}

function inRanges(flat: Uint32Array, cp: number): boolean {
  let lo = 0;
  let hi = flat.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < flat[2 * mid]!) hi = mid - 1;
    else if (cp > flat[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

function characterClass(flat: Uint32Array): string {
  const cp = (c: number): string => `\\u{${c.toString(16)}}`;
  let out = '';
  for (let i = 0; i < flat.length; i += 2) out += flat[i] === flat[i + 1] ? cp(flat[i]!) : `${cp(flat[i]!)}-${cp(flat[i + 1]!)}`;
  return out;
}

// The tables below were generated by running the stringprep NIF (processone/stringprep 1.0.33, the code of the
// 1.0.34 MongooseIM 6.8.0 pins) on every code point and comparing it with Node's own case mapping and NFKC, and
// RFC 3454's D.1/D.2 as Python's stringprep module has them; the bidi rule was checked against the NIF on every
// code point between right-to-left letters.

// Code points for which tolower returns error on their own: A.1 (unassigned in Unicode 3.2), C.1.2–C.9.
const PROHIBITED = decodeRanges(
  'e 0 35 v ap 0 i r 2m 1 1r g 28 f g 3 2 3 1 2 1 4 7 0 1 0 k 0 18 0 13 8 3r 0 1z 0 12 1 2 5 g w 12 1 7 0 13 0 2 ' +
  '5 h 0 n 0 a a r 4 5 m 1 d 1 2 1 0 q 4 m 9 3h 0 g 1 f 0 e 1 t 2 r 1g 1e 9a 3 0 1h 1 i 1 5 2 p f 3 0 8 1 2 1 m 0 ' +
  '7 0 1 2 4 1 1 0 7 1 2 1 3 8 1 3 2 0 5 1 l 6 1 1 6 3 2 1 m 0 7 0 2 0 2 0 2 1 1 0 5 3 2 1 3 a 4 0 1 6 f b 3 0 7 ' +
  '0 1 0 3 0 m 0 7 0 2 0 5 1 a 0 3 0 3 1 1 e 1 4 a g 3 0 8 1 2 1 m 0 7 0 2 1 4 1 8 2 2 1 3 7 2 3 2 0 3 3 b g 2 0 ' +
  '6 2 3 0 4 2 2 0 1 0 2 2 2 2 3 2 8 0 3 3 5 2 3 0 4 8 1 e c d 3 0 8 0 3 0 n 0 a 0 5 3 7 0 3 0 4 6 2 8 2 3 a h 2 ' +
  '0 8 0 3 0 n 0 a 0 5 3 7 0 3 0 4 6 2 6 1 0 2 3 a h 2 0 8 0 3 0 n 0 g 3 6 1 3 0 4 8 1 7 2 3 a h 2 0 i 2 o 0 9 0 ' +
  '1 1 7 2 1 3 6 0 1 0 8 h 3 b 1m 3 t 10 2 0 1 1 2 0 1 1 1 5 4 0 7 0 3 0 1 0 1 1 2 0 d 0 3 1 5 0 1 0 6 1 a 1 2 x ' +
  '20 0 y 5 r 3 8 0 10 0 f 1 1 1b y 0 5 0 2 0 7 2 4 5 q 1x 12 9 15 1 1 3 2i 4 1w 4 2a 5 7 0 1r 0 1 0 4 1 7 0 1 0 ' +
  '4 1 13 0 1 0 4 1 v 0 1 0 4 1 7 0 1 0 4 1 7 0 7 0 n 0 v 0 1 0 4 1 7 0 13 0 j 5 s y 2d b hi 9 s 2 29 e d 0 7 a n ' +
  '8 k b d 0 3 0 2 b 2l 2 a l e 1 a 5 2g 7 16 11x 4c 3 2i 5 m 1 6 1 12 1 6 1 8 0 1 0 1 0 1 0 v 1 1h 0 f 0 e 1 6 0 ' +
  'j 1 3 0 9 0 e 1 o 6 10 3 1 6 2 e 2 1 r g i t r k 1n 1 f 6 1d b fz 1c 13 o b k 4f 0 7o 1 2 0 2t 1 a 3a 4 0 4 1 ' +
  's 0 z 0 1 0 4 2 1 0 7 1 1g 2 o 0 e g s 3 ls ov q 0 2h b 5y 15 1s 0 2e 1 2v 4 14 3 2m 0 14 1j 19 2 10 c 17 2 25 ' +
  '3 1b 0 3b 3 2r 1 v 0 52u 21 g4m 2h wd 2 1j 1fc 8mc 2j 1kw 4xr 8e 1 1n 44 7 b 5 5 1 0 a 10 2r w 3s 2 1e 0 20 0 ' +
  'o 2 1z 1 2 f 1s 1 1i 13 d 2 g f 4 b n 1 a 0 j 0 4 3 1 0 3 0 1 0 1 0 1 0 1 0 1 0 3h 1 1 0 5a 2 6 1 6 1 6 1 3 2 ' +
  '7 0 7 ls v 0 4 b r 50 12 1 12 148h 6u 9 13 2 21 7 2r f5 2d 0 1z 0 2 1 1 1 2 1 4 0 c 0 1 0 4 0 2 0 1t 0 4 1 8 0 ' +
  '7 0 s 0 4 0 5 0 1 2 7 0 9e 3 82 3 1e 7wf wyf g14 f2 jp41',
);
// B.1: soft hyphen, combining grapheme joiner, Mongolian separators, zero-width (non-)joiners and space, word
// joiner, variation selectors, BOM.
const MAPPED_TO_NOTHING = Uint32Array.of(
  0xad, 0xad, 0x34f, 0x34f, 0x1806, 0x1806, 0x180b, 0x180d, 0x200b, 0x200d, 0x2060, 0x2060, 0xfe00, 0xfe0f, 0xfeff, 0xfeff,
);
// Where the NIF differs from Node's lower case + NFKC: case folding (ß → ss, ς → σ, iota subscripts), a few
// compatibility characters, and CJK compatibility ideographs whose NFKC Unicode later corrected.
const SPECIAL_MAPPINGS = new Map<number, string>(
  (
    '67:37.37 n9:qh oq:w.qh qq:qr s2:qr 680:64g.qh 681:64h.qh 682:64i.qh 683:64j.qh 684:64k.qh 685:64l.qh ' +
    '686:64m.qh 687:64n.qh 688:64g.qh 689:64h.qh 68a:64i.qh 68b:64j.qh 68c:64k.qh 68d:64l.qh 68e:64m.qh 68f:64n.qh ' +
    '68g:65c.qh 68h:65d.qh 68i:65e.qh 68j:65f.qh 68k:65g.qh 68l:65h.qh 68m:65i.qh 68n:65j.qh 68o:65c.qh 68p:65d.qh ' +
    '68q:65e.qh 68r:65f.qh 68s:65g.qh 68t:65h.qh 68u:65i.qh 68v:65j.qh 68w:674.qh 68x:675.qh 68y:676.qh 68z:677.qh ' +
    '690:678.qh 691:679.qh 692:67a.qh 693:67b.qh 694:674.qh 695:675.qh 696:676.qh 697:677.qh 698:678.qh 699:679.qh ' +
    '69a:67a.qh 69b:67b.qh 69e:67k.qh 69f:q9.qh 69g:q4.qh 69j:69i.qh 69o:q9.qh 69u:67o.qh 69v:qf.qh 69w:q6.qh ' +
    '69z:69y.qh 6a4:qf.qh 6b6:67w.qh 6b7:qx.qh 6b8:r2.qh 6bb:6ba.qh 6bg:qx.qh a86:1v.6qd.2z.2v 2l03:qr 2l1p:qr ' +
    '2l3b:qr 2l4x:qr 2l6j:qr 467c:2wyy 467o:isz 46cf:dd7 46e7:o8e 46gv:f9z'
  )
    .split(' ')
    .map((entry): [number, string] => {
      const [cp, to] = entry.split(':') as [string, string];
      return [parseInt(cp, 36), to.split('.').map((c) => String.fromCodePoint(parseInt(c, 36))).join('')];
    }),
);
// Letters Unicode 3.2 had no case folding for (Georgian capitals, Cherokee, U+04C0): kept as they are.
const UNCASED_IN_3_2 = decodeRanges(
  'xs 0 2cf 11 ka 2c 2m5 0 28 0',
);
// D.1 (right-to-left: R and AL) and D.2 (left-to-right: L), among code points that can reach the output.
const RAND_AL = decodeRanges(
  '14u 0 1 0 2 0 c 10 12 1b y 2 1 2s f 1 j m 1 q 2b 11 b 0 1c32 8 12 do k 4s 37 3w',
);
const LEFT_TO_RIGHT = decodeRanges(
  '1t p 6 p 1b 0 a 0 4 0 5 m 1 u 1 cg 2 6 e 1 e 4 9 0 3v 0 b 0 1 31 a 3m 7 73 op 1i 3 3 8 3 3 0 7 9 2 c h 1j 4 2 ' +
  '6 5 a a 4 b 2 6 a 1g 4 2 o m 2 2 e 1i 3 3 8 3 3 v i 1j 3 1 1 0 6 5 a p i 1o 1 b a 2q 7 3 r 2m 1 4 2 4 9 2z 5 6 ' +
  'a 33 8 2 6 2g 1 1 c 6 8 2p 1 1 9 9 9 1z 2 q 1 0 1 0 5 18 k 0 5 0 2 3 1e 7 1 2t 4 0 6 0 7 n 20 16i 5 35 e h 3 s ' +
  'e g f 1i 7 7 1 1 b 6 1 d 12 48 11z cc 1 0 3 a 3 b 4 c 5 a 38 0 d 0 3m 0 4 0 2 9 1 0 3 4 6 0 1 0 1 0 1 3 1 2 1 ' +
  '6 3 2 5 4 m z c2 1w q 0 7a 25 26z 2 p 8 7 4 2 4 4 2d 6 2 1 2h 1 93 s 28 f mh8 1gz fmf sp p 6 p b 3a mb 14rq 3 ' +
  '8 g 1 7 t 4 17f 7xy 1del',
);
// [[:alnum:][:space:][:punct:]] under PCRE 8.x with ucp, from OTP 25 (re:run on every code point).
const ALNUM_SPACE_PUNCT = decodeRanges(
  '9 4 i 2m 6 0 q 1 5 0 2 1 6 1 1 2 1 t 1 u 1 cp 4 b e 4 7 0 1 0 3l 4 1 1 2 5 6 4 1 0 1 j 1 2a 1 3u 8 4l 1 11 2 6 ' +
  '1 12 1 1 1f 0 1 0 2 0 2 0 9 q 5 4 k 1 1 1 d 0 2 18 l f 1 2s f 1 7 e 2 e 2 0 1 t t 2g b 0 e 16 9 1 1 3 5 l 4 0 ' +
  '9 0 3 0 7 e 1 o 5 0 1t i 29 1h 3 0 i 0 7 9 2 s 4 7 2 1 2 l 1 6 1 0 3 3 3 0 g 0 d 1 1 2 4 b 2 5 b 5 4 1 2 l 1 6 ' +
  '1 1 1 1 1 1 v 3 1 0 7 9 2 2 g 8 1 2 1 l 1 6 1 1 1 4 3 0 i 0 f 1 4 a k 7 2 1 2 l 1 6 1 1 1 4 3 0 u 1 1 2 4 9 1 ' +
  '6 b 0 1 5 3 2 1 3 3 1 1 0 1 1 3 1 3 2 3 b m 0 l c i 7 1 2 1 m 1 f 3 0 q 1 6 1 4 9 8 6 6 7 1 2 1 m 1 9 1 4 3 0 ' +
  'w 0 1 1 4 9 1 1 i 7 1 2 1 14 2 0 g 0 h 1 4 f 4 5 5 h 3 n 1 8 1 0 2 6 v 9 4 0 c 1b 1 1 c 6 8 c 11 1 1 0 2 1 1 0 ' +
  '2 0 6 3 1 6 1 2 1 0 1 0 2 1 1 3 1 1 9 0 2 4 1 0 9 9 2 3 w 0 3 e 1 0 b j 6 3 2 7 1 z o 0 2 4 1v 4 4 1 11 16 k m ' +
  '4 3 3 0 3 1 7 2 4 c c 0 1 9 6 11 1 0 5 0 2 ag 1 3 2 6 1 0 1 3 2 14 1 3 2 w 1 3 2 6 1 0 1 3 2 e 1 1k 1 3 2 1u 5 ' +
  's 3 f g 2c b ik 3 2g 7 c 1 3 e h 3 1 9 h e c 1 2 f 1f w 6 1 0 3 9 6 9 6 a 3 0 1 9 6 2f 8 14 1 0 5 1x a u 11 15 ' +
  '2 4 b 17 l 6 8 a 11 m 7 1i 17 9 6 9 6 d 2f 1a h 6 4 g y t d 1j m 13 n e 3 1e 1s 7 b 0 l 3 1 3 3 1 9 5b 1s 7p 2 ' +
  '5 2 11 2 5 2 7 1 0 1 0 1 0 1 u 2 1g 1 6 1 0 3 2 1 6 3 3 2 5 4 c 5 2 1 6 3 a 5 p 5 k 1 c 1 c g 1 2 5 3 c 3 1 1 ' +
  'c 2t 0 4 0 2 9 1 0 3 4 6 0 1 0 1 0 1 3 1 a 2 3 5 4 4 0 1 1l am 3 t 1 8l 1n 26 l h4 17 1d 1 v 9 b7 l 1r 3 w 1 ' +
  'ea 1a 1 1a 1 3o 6 3 3 1 5 18 1 0 5 0 2 1j 7 1 f m 9 6 1 6 1 6 1 6 1 6 1 6 1 6 1 6 x 1u cd 3 1 c 2 b 1 8 6 5 2 ' +
  '5 3 2d 6 2q 5 14 3 2l 3 3 a q 1h f w 9 u 7 1 e w 9 13 e 8w 52t 22 g5o 1f wc 1v 9n k 1a 4 0 a v 2 27 2 5 v 8 2 ' +
  '2u 2 3 1 t 2 1 1x a 1 2 1 3 1 m d 5 a 1j a 1d q b o 9 4 11 8 o o t 7 1a e c 1 a 4 6 1 o 1 14 n 2 1 7 4 9 2 q 3 ' +
  '0 3 1d 1 0 3 1 2 4 2 0 1 0 o f 5 4 c 5 2 5 2 5 9 6 1 6 1 16 1 3 4 1 2i y 8 0 4 9 6 8mb c m 4 1c 6is a5 2 2x 12 ' +
  '6 c 4 5 0 1 9 1 c 1 4 1 0 1 1 1 1 1 2z x a4 g 1r 2 1h 14 b k 9 m y 1 d 1 0 4 0 1 1 4 4 1 3q 4 2 1 5 1 f 3 u 1 ' +
  '0 1 q 1 0 1 2n 3 5 2 5 2 5 2 2 z b 1 p 1 i 1 1 1 e 2 d y 3e 5 2 4 18 c 1k h 1 6s s 3 1c g q 4 z c q 5 11 a t 1 ' +
  '10 4 d 16 4d 2 9 2e 13 8 1f b 0 40 8m 9 l a 7 48 5 2 0 1 17 1 1 3 0 2 m 1 v 2 11 8 8 28 r 3 q 5 0 1s 1j 6 1 1s ' +
  '0 f 3 1 2 1 q c 7 8 8 7 1r w 7 1 r 6 b 9 1h 3 s 2 q 5 p 7 3 c 6 28 20 ev u as 1g f 6 4 t j 18 b 1 1 3 e o 7 9 ' +
  '9 z f d c y 1 2 c 1b e 7 4 0 2 a 6 j b h 1 o c 5 36 1a h 9 b 7 2 1 2 l 1 6 1 1 1 4 3 0 v 4 7y 1b k 3 8 9 4m 1a ' +
  'i 8 1i 1b h 3 b 9 12 16 l 9 d2 2a c 0 cg 1k zr pk 2v 32 1 4 2a3 tq a8h fs 7 u 1 9 4 1 2o t 7 0 a 1b 7 4 4 4 b ' +
  '9 1 6 1 k 5 i og 1w b 0 1u c cps 1 2da 2y 5 c 3 8 7 9 5 0 4hs h 3y 2c 1 1y 1 1 2 0 2 1 2 3 1 b 1 0 1 6 1 1s 1 ' +
  '3 2 7 1 6 1 r 1 3 1 4 1 0 3 6 1 9f 2 o 1 o 1 u 1 o 1 u 1 o 1 u 1 o 1 u 1 o 1 7 2 1d 35s 5g 2 8 10w 3 1 q 1 1 1 ' +
  '0 2 0 1 9 1 3 1 0 1 0 6 0 4 0 1 0 1 0 1 2 1 1 1 0 2 0 1 0 1 0 1 0 1 0 1 1 1 0 2 3 1 6 1 3 1 3 1 0 1 9 1 g 5 2 ' +
  '1 4 1 g g4 c 2yb wye 15 378 b 65 cma f1',
);
const NOT_ALNUM_SPACE_PUNCT = new RegExp(`[^${characterClass(ALNUM_SPACE_PUNCT)}]`, 'gu');
const NON_ASCII = /[^\x00-\x7f]/;
