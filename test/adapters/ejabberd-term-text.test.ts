// The Erlang term-text parser (muc_room.opts and friends) as an In → Out table, its refusals, a cross-check
// against real Erlang (ejabberd 23.01's own misc:term_to_expr/1 writes the text, term_to_binary/1 gives the
// term it stands for), and the muc_room opts a real ejabberd 23.01 wrote mapped to MongooseIM's options.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mapMucRoomOptions } from '../../src/adapters/ejabberd-muc-room.js';
import { type ErlangTerm, ErlangTermError, formatErlangTerm, parseErlangTerm, proplist, termText } from '../../src/adapters/erlang-term-text.js';
import { runErl } from '../support/databases.js';
import { decodeEtf } from '../fixtures/ejabberd/etf-decode.js';

const EJABBERD_EBIN = '/usr/lib/x86_64-linux-gnu/ejabberd-23.01-1/ebin';
const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'ejabberd', 'muc-room-opts-23.01.txt');

const atom = (name: string): ErlangTerm => ({ type: 'atom', name });
const int = (value: bigint | number): ErlangTerm => ({ type: 'integer', value: BigInt(value) });
const bin = (bytes: string | number[]): ErlangTerm => ({ type: 'binary', bytes: typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes) });
const str = (codes: string | number[]): ErlangTerm => ({
  type: 'list',
  items: (typeof codes === 'string' ? [...Buffer.from(codes, 'latin1')] : codes).map((c) => int(c)),
});
const list = (...items: ErlangTerm[]): ErlangTerm => ({ type: 'list', items });
const tuple = (...items: ErlangTerm[]): ErlangTerm => ({ type: 'tuple', items });

/** Maps compare as sets: Erlang prints them in its own key order. */
function canonical(term: ErlangTerm): unknown {
  switch (term.type) {
    case 'binary':
      return { binary: [...term.bytes] };
    case 'integer':
      return { integer: term.value.toString() };
    case 'list':
      return { list: term.items.map(canonical), ...(term.tail ? { tail: canonical(term.tail) } : {}) };
    case 'tuple':
      return { tuple: term.items.map(canonical) };
    case 'map':
      return { map: term.entries.map(([k, v]) => [canonical(k), canonical(v)]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) };
    default:
      return term;
  }
}

describe('Erlang term text: In → Out', () => {
  const table: Array<[string, ErlangTerm]> = [
    ['ok', atom('ok')],
    ['node@host', atom('node@host')],
    ["'Blocked contacts'", atom('Blocked contacts')],
    ["'it''s'", atom('it')], // adjacent quoted atoms are not joined: see the refusal table
    ["'a\\'b\\\\c'", atom("a'b\\c")],
    ['42', int(42)],
    ['-7', int(-7)],
    ['- 7', int(-7)],
    ['+3', int(3)],
    ['1_000_000', int(1000000)],
    ['123456789012345678901234567890', int(123456789012345678901234567890n)],
    ['16#ff', int(255)],
    ['2#1010', int(10)],
    ['-36#Zz', int(-(35 * 36 + 35))],
    ['$a', int(97)],
    ['$\\n', int(10)],
    ['$\\x{1F600}', int(0x1f600)],
    ['1.5', { type: 'float', value: 1.5 }],
    ['-2.5e-3', { type: 'float', value: -0.0025 }],
    ['6.02E23', { type: 'float', value: 6.02e23 }],
    ['"abc"', str('abc')],
    ['""', list()],
    ['"a\\"b\\\\c\\n\\t\\s\\e\\d\\^A\\101\\x41\\x{263A}"', str([97, 34, 98, 92, 99, 10, 9, 32, 27, 127, 1, 65, 65, 0x263a])],
    ['"ab" "cd"', str('abcd')],
    ['"é"', str([0xc3, 0xa9])], // the column's UTF-8 bytes, as ejabberd reads them
    ['<<>>', bin([])],
    ['<<"">>', bin([])],
    ['<<"hello">>', bin('hello')],
    ['<<"café">>', bin('café')],
    ['<<84,195,171,115,116>>', bin('Tëst')],
    ['<<"a",1,"b">>', bin([97, 1, 98])],
    ['<<256>>', bin([0])],
    ['<<1:16,-1:8>>', bin([0, 1, 255])],
    ['<<"é"/utf8>>', bin([0xc3, 0x83, 0xc2, 0xa9])], // each byte a character, each character UTF-8 encoded: what erl_parse does too
    ['<<"\\x{263A}"/utf8>>', bin('☺')],
    ['<<9731/utf8>>', bin('☃')],
    ['<<"\\n\\"">>', bin('\n"')],
    ['{}', tuple()],
    ['{a, 1, <<"b">>}', tuple(atom('a'), int(1), bin('b'))],
    ['[]', list()],
    ['[1, 2 | 3]', { type: 'list', items: [int(1), int(2)], tail: int(3) }],
    ['[1 | [2, 3]]', list(int(1), int(2), int(3))],
    ['[a | []]', list(atom('a'))],
    ['#{}', { type: 'map', entries: [] }],
    ['#{a => 1, <<"k">> => [x]}', { type: 'map', entries: [[atom('a'), int(1)], [bin('k'), list(atom('x'))]] }],
    [
      '[{affiliations,[{{<<"alice">>,<<"example.test">>,<<>>},{owner,<<>>}}]},{subject,[{text,<<>>,<<"T">>}]}]',
      list(
        tuple(atom('affiliations'), list(tuple(tuple(bin('alice'), bin('example.test'), bin([])), tuple(atom('owner'), bin([]))))),
        tuple(atom('subject'), list(tuple(atom('text'), bin([]), bin('T')))),
      ),
    ],
    ['  [ok]  .  ', list(atom('ok'))],
    ['% a comment\n{ok, % another\n 1}.\n', tuple(atom('ok'), int(1))],
  ];
  it.each(table.filter(([input]) => input !== "'it''s'"))('%s', (input, expected) => {
    expect(canonical(parseErlangTerm(input))).toEqual(canonical(expected));
  });

  it('reads text and bytes alike (a Buffer is the column as ejabberd reads it)', () => {
    expect(parseErlangTerm(Buffer.from('<<"café">>', 'utf8'))).toEqual(parseErlangTerm('<<"café">>'));
  });

  const refused: Array<[string, RegExp]> = [
    ['X', /a variable \(X\) is not data/],
    ['_', /a variable/],
    ['{ok, Pid}', /a variable \(Pid\)/],
    ['<0.123.0>', /pid, port or reference/],
    ['#Ref<0.1.2.3>', /record, fun or reference/],
    ['#Fun<erl_eval.6.1>', /record, fun or reference/],
    ['#rec{a=1}', /record, fun or reference/],
    ['fun() -> ok end', /unexpected text after the term/],
    ['1 + 2', /unexpected text after the term/],
    ['erlang:halt()', /unexpected text after the term/],
    ['"abc', /unterminated string/],
    ["'abc", /unterminated quoted atom/],
    ['[1, 2', /expected , \| or \]/],
    ['{a b}', /expected , or \}/],
    ['<<1:3>>', /3 bits is not whole bytes/],
    ['<<1/float>>', /\/float is not supported/],
    ['<<a>>', /string or an integer/],
    ['37#1', /base 37/],
    ['2#12', /not a base-2 digit/],
    ['', /unexpected end of text/],
    ['ok. more', /unexpected text after the term/],
    ["'it''s'", /unexpected text after the term/],
    ['[[[[['.repeat(200) + ']]]]]'.repeat(200), /nested deeper than 500/],
  ];
  it.each(refused)('refuses %s', (input, reason) => {
    expect(() => parseErlangTerm(input)).toThrow(ErlangTermError);
    expect(() => parseErlangTerm(input)).toThrow(reason);
  });

  it('reads text helpers as ejabberd means them', () => {
    expect(termText(parseErlangTerm('<<84,195,171,115,116>>'))).toBe('Tëst');
    expect(termText(parseErlangTerm('"Tëst"'))).toBe('Tëst');
    expect(termText(parseErlangTerm('<<255>>'))).toBeUndefined();
    expect(termText(parseErlangTerm('[1000]'))).toBeUndefined();
    expect(termText(parseErlangTerm('ok'))).toBeUndefined();
    const props = proplist(parseErlangTerm('[{a,1},{b,2},{a,3},junk,{c}]'));
    expect([...props.keys()]).toEqual(['a', 'b']);
    expect(props.get('a')).toEqual(int(1));
    expect(formatErlangTerm(parseErlangTerm('[{\'A b\',<<"x">>,<<200>>},#{k => 1.5}|t]'))).toBe('[{\'A b\',<<"x">>,<<200>>},#{k => 1.5}|t]');
  });
});

/** Erlang source as an Erlang string literal, non-ASCII as \\x{…} escapes (no encoding guesses on the erl command line). */
function erlangStringLiteral(source: string): string {
  const ascii = source.replace(/[^\x00-\x7f]/gu, (c) => `\\x{${c.codePointAt(0)!.toString(16)}}`);
  return `"${ascii.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

describe('Erlang term text written by ejabberd 23.01 itself (misc:term_to_expr/1), read back', () => {
  // Erlang source of each term; erl evaluates it, writes it as ejabberd stores it and as ETF.
  const terms = [
    'ok',
    "'Blocked contacts'",
    "'é'",
    '-123456789012345678901234567890',
    '3.25',
    '-1.0e-10',
    '<<>>',
    '<<"plain ascii">>',
    '<<"café"/utf8>>', // bytes ≥ 0xA0 only: printed as a string
    '<<"Tëst room ✓"/utf8>>', // 0x9C in ✓: printed as a byte list
    '<<"emoji 😀 🎉"/utf8>>',
    '<<"quote \\" backslash \\\\ newline \\n tab \\t nul \\0 del \\d"/utf8>>',
    '"a string"',
    '"é"',
    '[1, 2, 3]',
    '[{a, 1} | b]',
    '{}',
    '#{a => 1, <<"k"/utf8>> => [x, {y}], 2 => 3.5}',
    '[{title,<<"Tëst"/utf8>>},{affiliations,[{{<<"alice">>,<<"example.test">>,<<>>},{owner,<<>>}}]},{subject,[{text,<<>>,<<"Topic ✨"/utf8>>}]},{subject_author,{<<"Alice">>,{jid,<<"alice">>,<<"example.test">>,<<"phone">>,<<"alice">>,<<"example.test">>,<<"phone">>}}},{presence_broadcast,[moderator,participant,visitor]},{vcard_xupdate,undefined},{max_users,200}]',
  ];

  it('parses every text into the term Erlang had', async () => {
    const program = `lists:foreach(fun(Src) ->
        {ok, Tokens, _} = erl_scan:string(Src ++ "."),
        {ok, [Expr]} = erl_parse:parse_exprs(Tokens),
        {value, T, _} = erl_eval:expr(Expr, []),
        io:format("~s ~s~n", [binary:encode_hex(misc:term_to_expr(T)), binary:encode_hex(term_to_binary(T))])
      end, [${terms.map(erlangStringLiteral).join(', ')}])`;
    const out = await runErl(`code:add_patha("${EJABBERD_EBIN}"), ${program}`);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(terms.length);
    const texts: string[] = [];
    for (const line of lines) {
      const [textHex, etfHex] = line.split(' ') as [string, string];
      const stored = Buffer.from(textHex, 'hex');
      texts.push(stored.toString('latin1'));
      expect(canonical(parseErlangTerm(stored)), stored.toString('utf8')).toEqual(canonical(decodeEtf(Buffer.from(etfHex, 'hex'))));
    }
    // Both shapes of non-ASCII binaries occur: the string form when every byte is printable Latin-1, else bytes.
    expect(texts[8]).toBe(Buffer.from('<<"café">>', 'utf8').toString('latin1'));
    expect(texts[9]).toMatch(/^<<84,195,171,/);
  });
});

describe('muc_room opts written by a real ejabberd 23.01', () => {
  const opts = readFileSync(FIXTURE, 'utf8').trim();

  it('maps to MongooseIM room options and affiliations', () => {
    const mapped = mapMucRoomOptions(parseErlangTerm(opts));
    expect(mapped.problems).toEqual([]);
    expect(mapped.options).toEqual({
      title: 'Tëst room ✓',
      description: 'A room for tests',
      password: '',
      allow_change_subj: true,
      allow_query_users: true,
      allow_private_messages: true,
      allow_visitor_status: true,
      allow_visitor_nickchange: true,
      public: true,
      public_list: true,
      persistent: true,
      moderated: true,
      members_by_default: true,
      members_only: false,
      allow_user_invites: false,
      password_protected: false,
      anonymous: true,
      max_users: 30,
      subject: 'Topic ✨',
      subject_author: 'Alice',
    });
    expect(mapped.affiliations).toEqual([
      { jid: 'alice@example.test', affiliation: 'owner' },
      { jid: 'bob@example.test', affiliation: 'member' },
      { jid: 'mallory@example.test', affiliation: 'outcast' },
    ]);
    // bob's persistent role has no MongooseIM counterpart; everything else is a default or mapped.
    expect([...mapped.dropped.keys()]).toEqual(['roles']);
  });

  const shapes: Array<[string, string, Partial<ReturnType<typeof mapMucRoomOptions>>]> = [
    ['an affiliation without a reason (before 16.x)', '[{affiliations,[{{<<"a">>,<<"h">>,<<>>},admin}]}]', { affiliations: [{ jid: 'a@h', affiliation: 'admin' }] }],
    ['the old key affiliation', '[{affiliation,[{{<<"a">>,<<"h">>,<<"r">>},member}]}]', { affiliations: [{ jid: 'a@h/r', affiliation: 'member' }] }],
    ['a server affiliation', '[{affiliations,[{{<<>>,<<"h">>,<<>>},{outcast,<<"x">>}}]}]', { affiliations: [{ jid: 'h', affiliation: 'outcast' }] }],
    ['a subject as a plain string (old data)', '[{subject,"Old topic"},{subject_author,"Nick"}]', { options: { subject: 'Old topic', subject_author: 'Nick' } }],
    ['subject_author as {Nick, #jid{}} (23.04+)', '[{subject_author,{<<"N">>,{jid,<<"a">>,<<"h">>,<<>>,<<"a">>,<<"h">>,<<>>}}}]', { options: { subject_author: 'N' } }],
    ['subjects in several languages', '[{subject,[{text,<<"de">>,<<"Thema">>},{text,<<>>,<<"Topic">>}]}]', { options: { subject: 'Topic' } }],
    ['allowpm none (23.04+)', '[{allowpm,none}]', { options: { allow_private_messages: false } }],
    ['allowpm moderators', '[{allowpm,moderators}]', { options: { allow_private_messages: true }, dropped: new Map([['allowpm', 'moderators']]) }],
    ['a non-default option', '[{logging,true},{captcha_protected,false}]', { options: {}, dropped: new Map([['logging', 'true']]) }],
  ];
  it.each(shapes)('reads %s', (_what, text, expected) => {
    const mapped = mapMucRoomOptions(parseErlangTerm(text));
    for (const [key, value] of Object.entries(expected)) expect(mapped[key as keyof typeof mapped], key).toEqual(value);
  });

  it('reports what it cannot read instead of guessing', () => {
    expect(mapMucRoomOptions(parseErlangTerm('[{max_users,none},{title,atom},{affiliations,[{bad}]},{persistent,maybe}]')).problems).toEqual([
      'option title = atom is not text',
      'option persistent = maybe is not a boolean',
      'option max_users = none is not an integer',
      'affiliation entry {bad} is not {{User, Server, Resource}, Affiliation}',
    ]);
    expect(() => mapMucRoomOptions(parseErlangTerm('#{title => <<>>}'))).toThrow('opts is a map, not a property list');
  });
});
