// Stringprep (RFC 3454) as MongooseIM runs it: the processone/stringprep NIF behind jid:nodeprep/1, jid:nameprep/1,
// jid:resourceprep/1 and jid:str_tolower/1. Unicode 3.2 tables; unassigned code points are always refused.
// https://github.com/processone/stringprep/blob/1.0.33/c_src/stringprep.cpp (prep() and the nodeprep, nameprep, resourceprep NIFs)
// https://github.com/processone/stringprep/blob/1.0.33/tools/uni_parse.tcl (which RFC table sets which mask)
// https://www.rfc-editor.org/rfc/rfc3454 https://www.rfc-editor.org/rfc/rfc3491 https://www.rfc-editor.org/rfc/rfc3920#appendix-A
//
// The NIF's three profiles share one pipeline: map (B.1 always; B.2 case folding for nodeprep and nameprep),
// normalise (NFKC), then check every output code point against a mask and the whole output against the bidi rule
// (RFC 3454 section 6). The masks:
//   nameprep      A.1, C.1.2, C.2.2, C.3–C.9                      (ASCII space and controls allowed: no STD3 rules)
//   nodeprep      nameprep's + C.1.1 (space), C.2.1 (ASCII controls) and the eight ASCII characters " & ' / : < > @
//   resourceprep  nameprep's + C.2.1 (ASCII controls); no case folding, ASCII space allowed
// These are RFC 3491 (nameprep) and RFC 3920 appendices A (nodeprep) and B (resourceprep) exactly, with A.1 applied
// as for stored strings. None of them refuses the empty string; MongooseIM's jid module adds the empty-part and
// length checks (see src/jid.ts).

/** Why a profile refuses a string: the stringprep NIF returns `error`. */
export interface StringprepRejection {
  readonly reason: string;
}

/** The prepared string, or why the profile refuses it. */
export type Prepared = string | StringprepRejection;

/**
 * Nameprep (RFC 3491): the domain part of a JID, and jid:str_tolower/1 (the NIF's `tolower` is the same function).
 * In → Out: `Example.COM` → `example.com`, `Straße` → `strasse`, `ℌ𝐞𝐥𝐥𝐨` → `hello`, soft hyphen → removed,
 * `a b` → `a b` (ASCII space and controls are allowed), `Ann 😀` → rejected (unassigned in Unicode 3.2).
 */
export function nameprep(value: string): Prepared {
  if (!NON_ASCII.test(value)) return value.toLowerCase();
  return prepare(value, true, 'nameprep', undefined);
}

/**
 * Nodeprep (RFC 3920 appendix A): the local part of a JID. Nameprep plus ASCII space, ASCII controls and
 * `"&'/:<>@` refused — also when NFKC produces them (`＠`, no-break space, `℀`).
 */
export function nodeprep(value: string): Prepared {
  if (!NON_ASCII.test(value)) {
    const bad = NODE_FORBIDDEN_ASCII.exec(value);
    return bad ? forbidden(bad[0], 'nodeprep') : value.toLowerCase();
  }
  return prepare(value, true, 'nodeprep', NODE_FORBIDDEN_ASCII);
}

/**
 * Resourceprep (RFC 3920 appendix B): the resource part of a JID. No case folding (`Res ource` stays), B.1 removed,
 * NFKC, ASCII controls refused, ASCII space allowed.
 */
export function resourceprep(value: string): Prepared {
  if (!NON_ASCII.test(value)) {
    const bad = ASCII_CONTROL.exec(value);
    return bad ? forbidden(bad[0], 'resourceprep') : value;
  }
  return prepare(value, false, 'resourceprep', ASCII_CONTROL);
}

/** Lower-cases one code point at a time, so no context rule (final sigma) applies. */
export function lowerCodePoints(text: string): string {
  let out = '';
  for (const ch of text) out += ch.toLowerCase();
  return out;
}

/**
 * The shared pipeline. Mapping and the A.1/C.* check go per input code point through tables verified against the
 * NIF on every code point (a code point is refused exactly when the NIF refuses it in every context); the ASCII-only
 * prohibitions of nodeprep and resourceprep and the bidi rule are checked on the normalised output, as the NIF does.
 */
function prepare(value: string, fold: boolean, profile: string, asciiForbidden: RegExp | undefined): Prepared {
  const cache = fold ? FOLDED : UNFOLDED;
  let mapped = '';
  let jamoQuirk = false;
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      mapped += fold ? ch.toLowerCase() : ch;
      continue;
    }
    let to = cache.get(cp);
    if (to === undefined) {
      if (cache.size >= CACHE_LIMIT) cache.clear();
      to = mapCodePoint(cp, ch, fold);
      cache.set(cp, to);
    }
    if (to === null) {
      if (cp >= 0xd800 && cp <= 0xdfff) return { reason: `contains the lone surrogate U+${hex(cp)}, which ${profile} forbids (C.5)` };
      return { reason: `contains U+${hex(cp)}, which ${profile} forbids or Unicode 3.2 did not assign` };
    }
    // Unassigned in Unicode 3.2, yet the NIF's Hangul composition swallows it after an LV syllable.
    if (cp === UNASSIGNED_JAMO) jamoQuirk = true;
    mapped += to;
  }
  const prepped = normalise(mapped, jamoQuirk);
  if (jamoQuirk && prepped.includes(String.fromCharCode(UNASSIGNED_JAMO))) {
    return { reason: `contains U+${hex(UNASSIGNED_JAMO)}, which ${profile} forbids or Unicode 3.2 did not assign` };
  }
  if (asciiForbidden) {
    const bad = asciiForbidden.exec(prepped);
    if (bad) return forbidden(bad[0], profile);
  }
  // RFC 3454 section 6: with any R or AL code point, no L code point, and R or AL first and last.
  if (RAND_AL_CHAR.test(prepped)) {
    const first = prepped.codePointAt(0)!;
    const end = prepped.length - 1;
    const low = prepped.charCodeAt(end);
    const last = low >= 0xdc00 && low <= 0xdfff && end > 0 ? prepped.codePointAt(end - 1)! : low;
    if (LEFT_TO_RIGHT_CHAR.test(prepped) || !inRanges(RAND_AL, first) || !inRanges(RAND_AL, last)) {
      return { reason: 'mixes right-to-left text with left-to-right letters, or does not start and end with a right-to-left character' };
    }
  }
  return prepped;
}

/** What one code point from U+0080 on maps to before normalisation, or null when every profile refuses it. */
function mapCodePoint(cp: number, ch: string, fold: boolean): string | null {
  if (cp === UNASSIGNED_JAMO) return ch;
  if ((cp >= 0xd800 && cp <= 0xdfff) || inRanges(PROHIBITED, cp)) return null;
  if (inRanges(MAPPED_TO_NOTHING, cp)) return '';
  if (!fold) return DECOMPOSITION_3_2.get(cp) ?? ch;
  const special = SPECIAL_MAPPINGS.get(cp);
  if (special !== undefined) return special;
  if (inRanges(UNCASED_IN_3_2, cp)) return ch;
  return lowerCodePoints(lowerCodePoints(ch).normalize('NFKC'));
}

/**
 * NFKC as the NIF computes it. The NIF decomposes each code point fully, then reorders combining marks in a
 * single pass: a run starting at code point H takes the following marks whose combining class is lower than H's
 * and sorts them (stably) with H, so a mark never moves back past a mark emitted before H. It then composes as
 * NFC does, except that a mark is blocked only by the last mark it did not compose, not the highest. That differs
 * from true NFKC only when a base carries three or more marks (counting those inside a precomposed letter) out of
 * canonical order: `e`, U+05B4, U+0307, U+05B0 stays `e`, U+05B4, U+05B0, U+0307; `é` + U+0307 + U+0323 keeps the
 * é. Text without a combining mark of its own is plain NFKC: the marks inside each precomposed letter are
 * already in order and end at the next letter. One more quirk: an LV Hangul syllable absorbs a following U+11A7.
 */
function normalise(mapped: string, jamoQuirk: boolean): string {
  if (!jamoQuirk && !MARK.test(mapped)) return mapped.normalize('NFKC');
  // Full decomposition of each code point, without canonical reordering across code points.
  const cps: number[] = [];
  for (const ch of mapped) for (const d of ch.normalize('NFKD')) cps.push(d.codePointAt(0)!);
  const n = cps.length;
  const cls = cps.map(combiningClass);
  // The reordering pass.
  for (let head = 0; head < n; ) {
    const limit = cls[head]!;
    let end = head + 1;
    while (end < n && cls[end]! !== 0 && cls[end]! < limit) {
      for (let j = end; j > head && cls[j - 1]! > cls[j]!; j--) {
        [cps[j - 1], cps[j]] = [cps[j]!, cps[j - 1]!];
        [cls[j - 1], cls[j]] = [cls[j]!, cls[j - 1]!];
      }
      end++;
    }
    head = end;
  }
  // The composition pass.
  let out = '';
  for (let i = 0; i < n; ) {
    let starter = cps[i]!;
    let blocking = cls[i]!;
    let held = '';
    for (i++; i < n; i++) {
      const next = cps[i]!;
      const nextClass = cls[i]!;
      const composed = blocking === 0 || nextClass > blocking ? composePair(starter, next) : 0;
      if (composed !== 0) starter = composed;
      else if (nextClass === 0) break;
      else {
        held += String.fromCodePoint(next);
        blocking = nextClass;
      }
    }
    out += String.fromCodePoint(starter) + held;
  }
  return out;
}

/** The primary composite of `a` followed by `b` (the pair is its canonical decomposition), or 0. */
function composePair(a: number, b: number): number {
  // The NIF's Hangul rule takes trailing consonants from U+11A7 on, one too early: LV + U+11A7 gives LV.
  if (b === UNASSIGNED_JAMO) return a >= 0xac00 && a <= 0xd7a3 && (a - 0xac00) % 28 === 0 ? a : 0;
  const pair = String.fromCodePoint(a, b);
  const composed = pair.normalize('NFC');
  const cp = composed.codePointAt(0)!;
  if (composed.length !== (cp > 0xffff ? 2 : 1)) return 0;
  return composed.normalize('NFD') === String.fromCodePoint(a).normalize('NFD') + String.fromCodePoint(b).normalize('NFD') ? cp : 0;
}

function combiningClass(cp: number): number {
  if (cp < 0x300) return 0;
  let lo = 0;
  let hi = COMBINING_CLASSES.length / 3 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < COMBINING_CLASSES[3 * mid]!) hi = mid - 1;
    else if (cp > COMBINING_CLASSES[3 * mid + 1]!) lo = mid + 1;
    else return COMBINING_CLASSES[3 * mid + 2]!;
  }
  return 0;
}

function forbidden(ch: string, profile: string): StringprepRejection {
  const cp = ch.codePointAt(0)!;
  const shown = cp > 0x20 && cp < 0x7f ? ` (${JSON.stringify(ch)})` : cp === 0x20 ? ' (space)' : ' (a control character)';
  return { reason: `contains U+${hex(cp)}${shown}, which ${profile} forbids` };
}

function hex(cp: number): string {
  return cp.toString(16).toUpperCase().padStart(4, '0');
}

/** Packed `[start, end]` code point ranges: base-36 pairs of (gap after the previous range, length - 1). */
export function decodeRanges(packed: string): Uint32Array {
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

/** The inside of a `u`-flag regular expression character class matching the `[start, end]` pairs of `flat`. */
export function characterClass(flat: Uint32Array): string {
  const cp = (c: number): string => `\\u{${c.toString(16)}}`;
  let out = '';
  for (let i = 0; i < flat.length; i += 2) out += flat[i] === flat[i + 1] ? cp(flat[i]!) : `${cp(flat[i]!)}-${cp(flat[i + 1]!)}`;
  return out;
}

/** Whether `cp` is in one of the sorted `[start, end]` pairs of `flat`. */
export function inRanges(flat: Uint32Array, cp: number): boolean {
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

// The tables below were generated by running the stringprep NIF (processone/stringprep 1.0.33, the code of the
// 1.0.34 MongooseIM 6.8.0 pins) on every code point and comparing it with Node's own case mapping and NFKC, and
// RFC 3454's D.1/D.2 as Python's stringprep module has them; the bidi rule was checked against the NIF on every
// code point between right-to-left letters. For this module they were checked again against that NIF: all three
// profiles on every code point alone, after `a` and between two U+05D0, and on 2.4 million random strings of
// combining marks, jamo, presentation forms and mixed directions, with identical output.

// Code points from U+0080 on that every profile refuses in any context: A.1 (unassigned in Unicode 3.2), C.1.2,
// C.2.2, C.3–C.9, less those NFKC turns into ASCII (no-break and the other spaces become U+0020). Regenerated from
// the NIF (nameprep, nodeprep and resourceprep of each code point alone, after `a` and between two U+05D0): the
// Hebrew and Arabic presentation forms that decompose to a letter and a mark (U+FB1D, U+FE71, …) fail alone only
// through the bidi rule and are accepted between right-to-left letters, so they are not here.
const PROHIBITED = decodeRanges(
  '3k v ap 0 i r 2m 1 1r g 28 f g 3 2 3 1 2 1 4 7 0 1 0 k 0 18 0 13 8 3r 0 1z 0 12 1 2 5 g w 12 1 7 0 13 0 2 5 h 0 ' +
  'n 0 a a r 4 5 m 1 d 1 2 1 0 q 4 m 9 3h 0 g 1 f 0 e 1 t 2 r 1g 1e 9a 3 0 1h 1 i 1 5 2 p f 3 0 8 1 2 1 m 0 7 0 1 2 ' +
  '4 1 1 0 7 1 2 1 3 8 1 3 2 0 5 1 l 6 1 1 6 3 2 1 m 0 7 0 2 0 2 0 2 1 1 0 5 3 2 1 3 a 4 0 1 6 f b 3 0 7 0 1 0 3 0 ' +
  'm 0 7 0 2 0 5 1 a 0 3 0 3 1 1 e 1 4 a g 3 0 8 1 2 1 m 0 7 0 2 1 4 1 8 2 2 1 3 7 2 3 2 0 3 3 b g 2 0 6 2 3 0 4 2 ' +
  '2 0 1 0 2 2 2 2 3 2 8 0 3 3 5 2 3 0 4 8 1 e c d 3 0 8 0 3 0 n 0 a 0 5 3 7 0 3 0 4 6 2 8 2 3 a h 2 0 8 0 3 0 n 0 ' +
  'a 0 5 3 7 0 3 0 4 6 2 6 1 0 2 3 a h 2 0 8 0 3 0 n 0 g 3 6 1 3 0 4 8 1 7 2 3 a h 2 0 i 2 o 0 9 0 1 1 7 2 1 3 6 0 ' +
  '1 0 8 h 3 b 1m 3 t 10 2 0 1 1 2 0 1 1 1 5 4 0 7 0 3 0 1 0 1 1 2 0 d 0 3 1 5 0 1 0 6 1 a 1 2 x 20 0 y 5 r 3 8 0 ' +
  '10 0 f 1 1 1b y 0 5 0 2 0 7 2 4 5 q 1x 12 9 15 1 1 3 2i 4 1w 4 2a 5 7 0 1r 0 1 0 4 1 7 0 1 0 4 1 13 0 1 0 4 1 v ' +
  '0 1 0 4 1 7 0 1 0 4 1 7 0 7 0 n 0 v 0 1 0 4 1 7 0 13 0 j 5 s y 2d b hi 9 s 2 29 e d 0 7 a n 8 k b d 0 3 0 2 b 2l ' +
  '2 a l e 1 a 5 2g 7 16 11x 4c 3 2i 5 m 1 6 1 12 1 6 1 8 0 1 0 1 0 1 0 v 1 1h 0 f 0 e 1 6 0 j 1 3 0 9 0 e 1 o 6 10 ' +
  '3 1 6 2 e 2 1 r g i t r k 1n 1 f 6 1d b fz 1c 13 o b k 4f 0 7o 1 2 0 2t 1 a 3a 4 0 4 1 s 0 z 0 1 0 4 2 1 0 7 1 ' +
  '1g 2 o 0 e g s 3 ls ov q 0 2h b 5y 15 1s 0 2e 1 2v 4 14 3 2m 0 14 1j 19 2 10 c 17 2 25 3 1b 0 3b 3 2r 1 v 0 52u ' +
  '21 g4m 2h wd 2 1j 1fc 8mc 2j 1kw 4xr 8e 1 1n 44 7 b 5 4 q 0 5 0 1 0 2 0 2 0 30 w a5 f 1s 1 1i 13 d 2 g f 4 b n 1 ' +
  'a 0 j 0 4 3 5 0 3r 1 1 0 5a 2 6 1 6 1 6 1 3 2 7 0 7 ls v 0 4 b r 50 12 1 12 148h 6u 9 13 2 21 7 2r f5 2d 0 1z 0 ' +
  '2 1 1 1 2 1 4 0 c 0 1 0 4 0 2 0 1t 0 4 1 8 0 7 0 s 0 4 0 5 0 1 2 7 0 9e 3 82 3 1e 7wf wyf g14 f2 jp41',
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
// D.1 (right-to-left: R and AL) and D.2 (left-to-right: L), among code points that can reach any profile's output.
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
// Unicode 3.2 decompositions Unicode later corrected (CJK compatibility ideographs), for resourceprep, which does
// not fold case: the entries of SPECIAL_MAPPINGS from U+2F800 on.
const DECOMPOSITION_3_2 = new Map([...SPECIAL_MAPPINGS].filter(([cp]) => cp >= 0x2f800));
const NON_ASCII = /[^\x00-\x7f]/;
// C.1.1, C.2.1 and RFC 3920 A.5's eight characters: what nodeprep forbids beyond nameprep, all ASCII.
const NODE_FORBIDDEN_ASCII = /[\x00-\x20"&'/:<>@\x7f]/;
// C.2.1: what resourceprep forbids beyond nameprep.
const ASCII_CONTROL = /[\x00-\x1f\x7f]/;
// Canonical combining classes of Unicode 3.2 (Python's unicodedata.ucd_3_2_0; unchanged since for these code
// points): base-36 triples of (gap after the previous run, run length - 1, class).
const COMBINING_CLASSES = ((packed: string): Uint32Array => {
  const tokens = packed.split(' ');
  const flat = new Uint32Array(tokens.length);
  let previousEnd = -1;
  for (let i = 0; i + 2 < tokens.length; i += 3) {
    const start = previousEnd + 1 + parseInt(tokens[i]!, 36);
    previousEnd = start + parseInt(tokens[i + 1]!, 36);
    flat[i] = start;
    flat[i + 1] = previousEnd;
    flat[i + 2] = parseInt(tokens[i + 2]!, 36);
  }
  return flat;
})(
  'lc k 6e 0 0 6g 0 3 64 0 0 6g 0 0 60 0 4 64 0 1 5m 0 3 64 0 1 5m 0 a 64 0 4 1 0 3 64 0 7 6e 0 0 6o 0 0 6e 0 2 64 ' +
  '0 2 6e 0 1 64 h 1 6i 0 0 6h 0 c 6e 7n 3 6e 7e 0 64 0 3 6e 0 0 64 0 2 6e 0 0 66 0 0 64 0 5 6e 1 4 64 0 1 6e 0 0 ' +
  '64 0 1 6e 0 0 66 0 0 6c 0 0 6e 0 0 a 0 0 b 0 0 c 0 0 d 0 0 e 0 0 f 0 0 g 0 0 h 0 0 i 0 0 j 1 0 k 0 0 l 0 0 m 1 0 ' +
  'n 1 0 o 0 0 p 1 0 6e 3q 0 r 0 0 s 0 0 t 0 0 u 0 0 v 0 0 w 0 0 x 0 0 y 0 1 6e 0 0 64 q 0 z 2t 6 6e 2 3 6e 0 0 64 ' +
  '0 0 6e 2 1 6e 1 0 64 0 1 6e 0 0 64 z 0 10 u 0 6e 0 0 64 0 1 6e 0 0 64 0 1 6e 0 2 64 0 0 6e 0 1 64 0 0 6e 0 0 64 ' +
  '0 2 6e 0 0 64 0 0 6e 0 0 64 0 0 6e 0 0 64 0 0 6e 0 0 64 0 1 6e dt 0 7 g 0 9 3 0 6e 0 0 64 0 1 6e 2v 0 7 g 0 9 32 ' +
  '0 7 g 0 9 32 0 7 g 0 9 32 0 7 g 0 9 3j 0 9 3j 0 9 7 0 2c 0 0 2j 3a 0 9 3j 0 9 3g 0 9 31 1 2v 0 0 9 d 3 2z 30 1 ' +
  '3a e 3 3e 24 1 64 r 0 64 1 0 64 1 0 60 1j 0 3l 0 0 3m 1 0 3o 5 3 3m 2 0 3m 1 1 6e 0 0 9 1 1 6e 1q 0 64 34 0 7 1 ' +
  '0 9 1cq 0 9 v 0 9 4d 0 9 5y 0 6c 1ly 1 6e 0 1 1 0 3 6e 0 2 1 0 1 6e 4 0 6e 3 1 1 0 0 6e 0 0 64 0 0 6e 0 0 1 30f ' +
  '0 62 0 0 6c 0 0 6g 0 0 66 0 1 68 2x 1 8 1403 0 q ld 3 6e 15q9 1 60 0 2 1 3 0 6a 0 4 60 8 7 64 2 4 6e 0 1 64 u 3 ' +
  '6e',
);
const UNASSIGNED_JAMO = 0x11a7;
// A combining mark of its own (every code point with a non-zero combining class is one): only text with one can
// normalise differently in the NIF.
const MARK = /\p{M}/u;
// The per code point mappings of prepare(), cached: JIDs and names reuse few code points.
const FOLDED = new Map<number, string | null>();
const UNFOLDED = new Map<number, string | null>();
const CACHE_LIMIT = 65536;
const RAND_AL_CHAR = new RegExp(`[${characterClass(RAND_AL)}]`, 'u');
const LEFT_TO_RIGHT_CHAR = new RegExp(`[${characterClass(LEFT_TO_RIGHT)}]`, 'u');
