// MongooseIM `vcard_search` row for a XEP-0054 vCard: mod_vcard:parse_vcard/3, whose l* columns come from
// jid:str_tolower/1, i.e. the stringprep NIF's tolower: nameprep (RFC 3491 profile of RFC 3454, Unicode 3.2),
// computed by ./stringprep.ts.
// https://github.com/esl/MongooseIM/blob/6.8.0/src/vcard/mod_vcard.erl
// https://github.com/processone/stringprep/blob/1.0.33/c_src/stringprep.cpp
// https://www.rfc-editor.org/rfc/rfc3454 https://www.rfc-editor.org/rfc/rfc3491
import { RecordError } from '../errors.js';
import type { Element } from '../xml/element.js';
import { characterClass, decodeRanges, nameprep } from './stringprep.js';

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
    let lowered = nameprep(indexed);
    if (typeof lowered !== 'string' && options.invalid === 'index-what-nameprep-accepts') {
      // Keep the vCard itself byte for byte; index only the characters nameprep accepts ('' when bidi fails).
      const stripped = nameprep([...indexed].filter((ch) => typeof nameprep(ch) === 'string').join(''));
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
  const result = nameprep(value);
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
