import { describe, expect, it } from 'vitest';
import { stringprepLowercase, vcardSearchFields, VCARD_SEARCH_FIELDS, type VCardSearchRow } from '../../src/encoding/vcard-search.js';
import { parseXml } from '../../src/xml/element.js';

const vcard = (inner: string) => parseXml(`<vCard xmlns='vcard-temp'>${inner}</vCard>`);

function row(values: Partial<VCardSearchRow>): VCardSearchRow {
  const all = {} as VCardSearchRow;
  for (const f of VCARD_SEARCH_FIELDS) {
    all[f] = values[f] ?? '';
    all[`l${f}`] = values[`l${f}`] ?? '';
  }
  return all;
}

// In → Out: which element each column comes from.
const FIELDS: Array<[string, string, Partial<VCardSearchRow>]> = [
  ['an empty vCard', '', {}],
  [
    'every field',
    '<FN>Alice Liddell</FN><N><FAMILY>Liddell</FAMILY><GIVEN>Alice</GIVEN><MIDDLE>Pleasance</MIDDLE></N>' +
      '<NICKNAME>Ally</NICKNAME><BDAY>1852-05-04</BDAY><ADR><WORK/><LOCALITY>Oxford</LOCALITY><CTRY>UK</CTRY></ADR>' +
      '<EMAIL><INTERNET/><USERID>Alice@Example.COM</USERID></EMAIL><ORG><ORGNAME>Christ Church</ORGNAME><ORGUNIT>Deanery</ORGUNIT></ORG>',
    {
      fn: 'Alice Liddell', lfn: 'alice liddell', family: 'Liddell', lfamily: 'liddell', given: 'Alice', lgiven: 'alice',
      middle: 'Pleasance', lmiddle: 'pleasance', nickname: 'Ally', lnickname: 'ally', bday: '1852-05-04', lbday: '1852-05-04',
      ctry: 'UK', lctry: 'uk', locality: 'Oxford', llocality: 'oxford', email: 'Alice@Example.COM', lemail: 'alice@example.com',
      orgname: 'Christ Church', lorgname: 'christ church', orgunit: 'Deanery', lorgunit: 'deanery',
    },
  ],
  ['EMAIL text when there is no USERID', '<EMAIL>bob@example.com</EMAIL>', { email: 'bob@example.com', lemail: 'bob@example.com' }],
  ['EMAIL text when USERID is empty', '<EMAIL>x@y<USERID/></EMAIL>', { email: 'x@y', lemail: 'x@y' }],
  ['USERID wins over EMAIL text', '<EMAIL>\n  <USERID>u@x</USERID>\n</EMAIL>', { email: 'u@x', lemail: 'u@x' }],
  ['only the first EMAIL', '<EMAIL><USERID>first@x</USERID></EMAIL><EMAIL><USERID>second@x</USERID></EMAIL>', { email: 'first@x', lemail: 'first@x' }],
  ['only the first ADR, even when a later one has the field', '<ADR><LOCALITY>Paris</LOCALITY></ADR><ADR><CTRY>FR</CTRY></ADR>', { locality: 'Paris', llocality: 'paris' }],
  ['direct text only', '<FN>a<b>b</b>c</FN>', { fn: 'ac', lfn: 'ac' }],
  ['whitespace is kept', '<FN>  Ann\tLee\n</FN>', { fn: '  Ann\tLee\n', lfn: '  ann\tlee\n' }],
  ['names are exact and case-sensitive', '<fn>lower</fn><vcard:FN xmlns:vcard="vcard-temp">prefixed</vcard:FN>', {}],
  ['a text node equal to the name hides the element', 'FN<FN>Hidden</FN>', {}],
  ['CDATA is text', '<FN><![CDATA[A & B]]></FN>', { fn: 'A & B', lfn: 'a & b' }],
];

// In → Out: the nameprep lower-casing of one FN value; undefined means the server refuses the vCard.
const LOWER: Array<[string, string, string | undefined]> = [
  ['ASCII', 'Hello World 42!', 'hello world 42!'],
  ['ASCII controls are allowed', 'Line\tone\nTwo', 'line\tone\ntwo'],
  ['case folding, not lower-casing: sharp s', 'Straße', 'strasse'],
  ['every sigma folds to σ', 'ΣΑΣ ΟΔΟΣ ς', 'σασ οδοσ σ'],
  ['Greek with tonos', 'ΆΈ', 'άέ'],
  ['dotted capital I keeps its dot as a combining mark', 'İstanbul', 'i\u0307stanbul'],
  ['NFKC: mathematical letters and black-letter', 'ℌ𝐞𝐥𝐥𝐨', 'hello'],
  ['NFKC: units, ligatures, circled and full-width', '5 ㎏ ﬁle ① ＡＢＣ Ω', '5 kg file 1 abc ω'],
  ['NFKC composes: e + combining acute', 'E\u0301ric', 'éric'],
  ['Angstrom sign', 'ÅNGSTRÖM Å', 'ångström å'],
  ['titlecase digraph', 'ǅemal', 'džemal'],
  ['soft hyphen and zero-width joiner are removed', 'co\u00adop\u200derate\ufeff', 'cooperate'],
  ['no-break and ideographic spaces become spaces', 'a\u00a0b\u3000c', 'a b c'],
  ['Georgian capitals had no folding in Unicode 3.2', 'ႠႡ', 'ႠႡ'],
  ['Cherokee had no lower case in Unicode 3.2', 'ᎠᎡ', 'ᎠᎡ'],
  ['Hebrew alone', 'דוד', 'דוד'],
  ['Arabic alone', 'محمد', 'محمد'],
  ['right-to-left mixed with Latin letters', 'David דוד', undefined],
  ['right-to-left ending with a European digit', 'محمد 2', undefined],
  ['right-to-left ending with an Arabic-Indic digit', 'محمد ٢', undefined],
  ['right-to-left starting with a digit', '2 محمد', undefined],
  ['right-to-left in parentheses', '(دوست)', undefined],
  ['emoji (unassigned in Unicode 3.2)', 'Ann 😀', undefined],
  ['a letter added after Unicode 3.2', 'a\u0560', undefined],
  ['left-to-right mark', 'a\u200eb', undefined],
  ['private use', 'x\ue000', undefined],
  ['empty', '', ''],
];

describe('vcardSearchFields', () => {
  it.each(FIELDS)('%s', (_name, inner, expected) => {
    expect(vcardSearchFields(vcard(inner))).toEqual(row(expected));
  });

  it.each(LOWER)('lower-cases FN: %s', (_name, value, expected) => {
    const v = vcard(`<FN>${value.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</FN>`);
    if (expected === undefined) {
      expect(() => vcardSearchFields(v)).toThrow(expect.objectContaining({ code: 'vcard-search-invalid' }));
    } else {
      expect(vcardSearchFields(v)).toEqual(row({ fn: value, lfn: expected }));
    }
  });

  const NICKNAMES: Array<[string, string, string]> = [
    ['emoji are dropped from the index, kept in the value', 'Ann 😀', 'ann '],
    ['symbols outside ASCII are dropped', 'Ann ★♥ © ™', 'ann   '],
    ['ASCII symbols and punctuation stay', 'a+b=c <x> $5 ^_^ `|~', 'a+b=c <x> $5 ^_^ `|~'],
    ['Unicode punctuation stays', '«Ann» — ¿qué?', '«ann» — ¿qué?'],
    ['combining marks are dropped before composing', 'E\u0301ric', 'eric'],
    ['variation selector and ZWJ sequences leave nothing', '❤\ufe0f\u200d🔥', ''],
  ];
  it.each(NICKNAMES)('NICKNAME: %s', (_name, nickname, lowered) => {
    expect(vcardSearchFields(vcard(`<NICKNAME>${nickname.replace(/</g, '&lt;')}</NICKNAME>`))).toEqual(row({ nickname, lnickname: lowered }));
  });

  it('refuses a right-to-left nickname mixed with Latin letters even after dropping emoji', () => {
    expect(() => vcardSearchFields(vcard('<NICKNAME>Dan דן 😀</NICKNAME>'))).toThrow(/NICKNAME "Dan דן 😀" mixes right-to-left/);
  });

  it('names the field and the character the server rejects', () => {
    expect(() => vcardSearchFields(vcard('<N><FAMILY>Smith 😀</FAMILY></N>'))).toThrow(/N\/FAMILY "Smith 😀" contains U\+1F600/);
  });
});

describe('stringprepLowercase', () => {
  it.each(LOWER)('%s', (_name, value, expected) => {
    expect(stringprepLowercase(value)).toBe(expected);
  });
});

describe('vcard_search for a vCard MongooseIM would refuse today', () => {
  it('indexes what nameprep accepts and keeps the rest of the row', () => {
    const vcard = parseXml(`<vCard xmlns='vcard-temp'><FN>Erin 🌸 Example</FN><NICKNAME>Ri</NICKNAME></vCard>`);
    expect(() => vcardSearchFields(vcard)).toThrow(/nameprep forbids/);
    const row = vcardSearchFields(vcard, { invalid: 'index-what-nameprep-accepts' });
    expect(row.fn).toBe('Erin 🌸 Example');
    expect(row.lfn).toBe('erin  example');
    expect(row.lnickname).toBe('ri');
  });

  it('indexes nothing for a value whose directions cannot be mixed', () => {
    const vcard = parseXml(`<vCard xmlns='vcard-temp'><FN>David דוד</FN></vCard>`);
    const row = vcardSearchFields(vcard, { invalid: 'index-what-nameprep-accepts' });
    expect(row.fn).toBe('David דוד');
    expect(row.lfn).toBe('');
  });
});
