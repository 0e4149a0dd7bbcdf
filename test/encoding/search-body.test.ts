import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstBodyText, normalizeSearchText, searchBodyOf } from '../../src/encoding/search-body.js';
import { parseXml } from '../../src/xml/element.js';

// In → Out, checked by hand against the rules and, below, against Erlang itself.
const CASES: Array<[string, string, string]> = [
  // The eight examples of storage-facts §1.5.4.
  ['punctuation runs', 'My cat, was eaten by: my dog?!? Why...?!?', 'my cat was eaten by my dog why'],
  ['markup-like text, apostrophes, underscore, equals', "e-mail don't  <b>x</b> a_b 5=5", 'email dont b x b a_b 5 5'],
  ['newline and tab are deleted, not spaced', 'hello\nworld\ttab', 'helloworldtab'],
  ['emoji', 'emoji 😀 ok', 'emoji ok'],
  ['hyphens and semicolon', 'Ship-to-shore; ok?', 'shiptoshore ok'],
  ['French apostrophes and accents', "C'est l'été !", 'cest lété'],
  ['percent and decimal point', '100% sure: 3.14', '100 sure 3 14'],
  ['Turkish dotted capital I', 'İstanbul', 'istanbul'],
  // Separators: the ;-? range brings < = > in, and the hyphen is not a member.
  ['; < = > ? are separators', 'a;b<c=d>e?f', 'a b c d e f'],
  ['@ [ / are not separators', 'a@b[c/d', 'abcd'],
  ['a lone hyphen between spaces', 'a - b', 'a b'],
  ['double hyphen', 'well--known', 'wellknown'],
  ['runs of commas and dots', 'one,,,two...three', 'one two three'],
  ['exclamation and question runs', 'what?!?!', 'what'],
  ['typographic apostrophe and quotes', 'it’s “quoted” «here»', 'its quoted here'],
  ['CR, LF and tab join words', 'line one\r\nline\ttwo', 'line onelinetwo'],
  ['only punctuation', '?!.,;:', ''],
  ['empty', '', ''],
  ['spaces only', '   ', ''],
  ['leading and trailing separators', '...hello...', 'hello'],
  // A tab after a leading space is deleted by the first alternative, so that space survives.
  ['leading space then tab', ' \tx', 'x'],
  ['tab then space keeps the space', '\t x', ' x'],
  ['trailing space and tab', 'x \t', 'x'],
  ['trailing tab then space', 'x\t ', 'x'],
  ['collapsing spaces', 'a    b     c', 'a b c'],
  ['no-break space is not a literal space', 'a\u00a0b', 'ab'],
  ['ideographic space', 'a\u3000b', 'ab'],
  // Letters, digits and underscores.
  ['digits and underscores', 'ABC_123 __init__', 'abc_123 __init__'],
  ['superscript and fraction digits are numbers', 'x² ½', 'x² ½'],
  ['Arabic-Indic digits', '٣ apples', '٣ apples'],
  ['Cyrillic', 'Привет, Мир!', 'привет мир'],
  ['Greek final sigma is not applied', 'ΣΑΣ ΟΔΟΣ', 'σασ οδοσ'],
  ['small final sigma stays', 'λόγος', 'λόγος'],
  ['German sharp s', 'STRAßE', 'straße'],
  ['Turkish dotless i', 'ISPARTA ılık', 'isparta ılık'],
  ['Chinese', '你好，世界！', '你好世界'],
  ['Japanese with prolonged sound mark', 'コーヒー', 'コーヒー'],
  ['Hebrew', 'שלום עולם', 'שלום עולם'],
  ['Devanagari loses its vowel signs (marks)', 'नमस्ते', 'नमसत'],
  ['combining acute accent is deleted', 'e\u0301te\u0301', 'ete'],
  ['precomposed accent stays', 'été', 'été'],
  ['Vietnamese', 'Tiếng Việt', 'tiếng việt'],
  ['emoji with skin tone and ZWJ', 'hi 👋🏽 👨‍👩‍👧 bye', 'hi bye'],
  ['math symbols', '2+2=4 × 3 ≠ 5', '22 4 3 5'],
  ['currency', '€5 $6 £7', '5 6 7'],
  ['URL', 'see https://example.com/a-b?x=1', 'see https example comab x 1'],
  ['email address', 'mail alice@example.com now', 'mail aliceexample com now'],
  ['ampersand and angle brackets', '<b>&</b>', 'b b'],
  ['astral letters stay whole', 'Math 𝐀𝐁 𠀀𠀁 x😀y', 'math 𝐀𝐁 𠀀𠀁 xy'],
  ['letters added after PCRE 8.x tables are deleted (U+0560)', 'a\u0560b', 'ab'],
  ['Georgian Mtavruli lowercases to an old letter', '\u1c90\u1c91', '\u10d0\u10d1'],
];

describe('normalizeSearchText', () => {
  it.each(CASES)('%s', (_name, input, expected) => {
    expect(normalizeSearchText(input)).toBe(expected);
  });

  it('matches Erlang/OTP on every case and on every code point', () => {
    const inputs = oracleInputs();
    const erlang = runErlangOracle(inputs.map(([, text]) => text));
    const differences: string[] = [];
    inputs.forEach(([label, text], i) => {
      const ours = normalizeSearchText(text);
      const theirs = erlang[i];
      if (ours !== theirs) differences.push(`${label}: ${describeDifference(ours, theirs ?? '<missing>')}`);
    });
    expect(differences).toEqual([]);
  }, 120_000);
});

describe('searchBodyOf', () => {
  const BODIES: Array<[string, string, string, string]> = [
    ['the first body only', "<message><body>One, two!</body><body xml:lang='de'>zwei</body></message>", 'One, two!', 'one two'],
    ['no body', '<message><subject>Subject</subject></message>', '', ''],
    ['an empty body', '<message><body/></message>', '', ''],
    ['direct text of the body, not of its children', '<message><body>A<x>b</x>C</body></message>', 'AC', 'ac'],
    ['a body nested in another child is not the body', '<message><x><body>no</body></x></message>', '', ''],
    ['a prefixed body is another name', "<message><h:body xmlns:h='urn:x'>no</h:body></message>", '', ''],
    ['a body in any namespace counts', "<message><body xmlns='urn:other'>Yes</body></message>", 'Yes', 'yes'],
    ['a text node reading "body" shadows the element', '<message>body<body>hidden</body></message>', '', ''],
    ['whitespace before the body does not', '<message>\n  <body>Seen - here</body></message>', 'Seen - here', 'seen here'],
    ['entities arrive decoded', '<message><body>Tom &amp; Jerry&apos;s</body></message>', "Tom & Jerry's", 'tom jerrys'],
  ];
  it.each(BODIES)('%s', (_name, xml, text, searchBody) => {
    const stanza = parseXml(xml);
    expect(firstBodyText(stanza)).toBe(text);
    expect(searchBodyOf(stanza)).toBe(searchBody);
  });
});

/** Every table case, edge whitespace around each PCRE space character, and every code point, plane by plane. */
function oracleInputs(): Array<[string, string]> {
  const inputs: Array<[string, string]> = CASES.map(([name, input]) => [name, input]);
  const spaces = [...'\t\n\v\f\r\u0085\u00a0\u1680\u180e\u2000\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\u200b'];
  for (const s of spaces) {
    const hex = s.codePointAt(0)!.toString(16);
    inputs.push([`leading U+${hex}`, ` ${s} x`], [`trailing U+${hex}`, `x ${s}`], [`doubled U+${hex}`, ` ${s}${s} x ${s} `]);
  }
  for (let plane = 0; plane <= 16; plane++) {
    let text = '';
    for (let cp = plane * 0x10000; cp < (plane + 1) * 0x10000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      text += `a${String.fromCodePoint(cp)}b `;
    }
    inputs.push([`every code point of plane ${plane}`, text]);
  }
  return inputs;
}

// Written from the facts of mod_mam_utils (string:lowercase, then three re:replace steps with the same
// patterns and [unicode, ucp]); the server's own code is not used. Inputs and outputs travel as hex lines.
const ERLANG_NORMALISER = String.raw`
  [InPath, OutPath] = init:get_plain_arguments(),
  Steps = [{"[, .:;-?!]+", " "}, {"([^\\w ]+)|(^\\s+)|(\\s+$)", ""}, {"\s+", " "}],
  Normalise = fun(Text) ->
      Lower = string:lowercase(unicode:characters_to_list(Text)),
      Replace = fun({Pattern, With}, Acc) -> re:replace(Acc, Pattern, With, [{return, list}, global, unicode, ucp]) end,
      unicode:characters_to_binary(lists:foldl(Replace, Lower, Steps))
  end,
  {ok, Input} = file:read_file(InPath),
  Lines = binary:split(Input, <<"\n">>, [global, trim]),
  Output = [[$x, binary:encode_hex(Normalise(binary:decode_hex(Hex))), $\n] || <<$x, Hex/binary>> <- Lines],
  ok = file:write_file(OutPath, Output),
  halt().
`;

function runErlangOracle(texts: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'search-body-oracle-'));
  try {
    const inPath = join(dir, 'in.txt');
    const outPath = join(dir, 'out.txt');
    writeFileSync(inPath, texts.map((t) => `x${Buffer.from(t, 'utf8').toString('hex')}\n`).join(''));
    const run = spawnSync('erl', ['-noshell', '-eval', ERLANG_NORMALISER, '-extra', inPath, outPath], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    if (run.error) throw new Error(`cannot run erl (Erlang/OTP must be installed): ${run.error.message}`);
    if (run.status !== 0) throw new Error(`erl failed (${run.status}): ${run.stderr}${run.stdout}`);
    const lines = readFileSync(outPath, 'utf8').split('\n').filter((l) => l.startsWith('x'));
    if (lines.length !== texts.length) throw new Error(`erl returned ${lines.length} results for ${texts.length} inputs`);
    return lines.map((l) => Buffer.from(l.slice(1), 'hex').toString('utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function describeDifference(ours: string, theirs: string): string {
  if (ours.length < 200 && theirs.length < 200) return `ours ${JSON.stringify(ours)}, erlang ${JSON.stringify(theirs)}`;
  let i = 0;
  while (i < ours.length && ours[i] === theirs[i]) i++;
  const around = (s: string): string =>
    [...s.slice(Math.max(0, i - 12), i + 12)].map((c) => `U+${c.codePointAt(0)!.toString(16)}`).join(' ');
  return `first difference at ${i}: ours ${around(ours)} | erlang ${around(theirs)}`;
}
