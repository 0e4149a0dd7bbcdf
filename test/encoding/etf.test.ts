// encodeExml against real Erlang: every case, in both exml shapes and both compressions, is decoded by one
// `erl -noshell` run and compared with `=:=` to the term written in Erlang syntax below.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeExml } from '../../src/encoding/etf.js';
import type { ExmlShape } from '../../src/encoding/etf.js';
import { RecordError } from '../../src/errors.js';
import { Element, parseXml } from '../../src/xml/element.js';

interface Case {
  name: string;
  input: () => Element;
  /** The exml 4.x record MongooseIM ≥ 6.3.2 holds, in Erlang syntax. */
  exml4: string;
  /** The exml 3.x record, attrs in document order. */
  exml3: string;
}

/** An Erlang binary literal of `text` (only for generated cases; hand-written cases spell their literals). */
function bin(text: string): string {
  if (text === '') return '<<>>';
  return `<<"${text.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"/utf8>>`;
}

const MANY_ATTRS = Array.from({ length: 40 }, (_, i) => [`a${i}`, `value ${i} ✓`] as const);
const LARGE_TEXT = 'Le cœur a ses raisons que la raison ne connaît point. 😀 '.repeat(2000);

function element(name: string, attrs: Record<string, string | undefined>, ...children: Array<Element | string>): Element {
  const el = new Element(name, attrs);
  for (const child of children) {
    if (typeof child !== 'string') child.parent = el;
    el.children.push(child);
  }
  return el;
}

const CASES: Case[] = [
  {
    name: 'ascii',
    input: () => parseXml("<message to='b@x' type='chat'><body>hi</body></message>"),
    exml4: '{xmlel,<<"message">>,#{<<"to">> => <<"b@x">>,<<"type">> => <<"chat">>},[{xmlel,<<"body">>,#{},[{xmlcdata,<<"hi">>,escaped}]}]}',
    exml3: '{xmlel,<<"message">>,[{<<"to">>,<<"b@x">>},{<<"type">>,<<"chat">>}],[{xmlel,<<"body">>,[],[{xmlcdata,<<"hi">>}]}]}',
  },
  {
    name: 'multibyte',
    input: () => parseXml("<body xml:lang='fr' title='été'>Zoë à l'été — ünïcødé</body>"),
    exml4: '{xmlel,<<"body">>,#{<<"title">> => <<"été"/utf8>>,<<"xml:lang">> => <<"fr">>},[{xmlcdata,<<"Zoë à l\'été — ünïcødé"/utf8>>,escaped}]}',
    exml3: '{xmlel,<<"body">>,[{<<"xml:lang">>,<<"fr">>},{<<"title">>,<<"été"/utf8>>}],[{xmlcdata,<<"Zoë à l\'été — ünïcødé"/utf8>>}]}',
  },
  {
    name: 'emoji-and-astral',
    input: () => parseXml("<body r='👍🏽'>😀 𝄞 漢字 ‮x</body>"),
    exml4: '{xmlel,<<"body">>,#{<<"r">> => <<"👍🏽"/utf8>>},[{xmlcdata,<<"😀 𝄞 漢字 ‮x"/utf8>>,escaped}]}',
    exml3: '{xmlel,<<"body">>,[{<<"r">>,<<"👍🏽"/utf8>>}],[{xmlcdata,<<"😀 𝄞 漢字 ‮x"/utf8>>}]}',
  },
  {
    name: 'entities',
    input: () => parseXml('<body a="&lt;&amp;&gt;&apos;&quot;">&lt;&amp;&gt;\'"&#x263A;&#60;</body>'),
    exml4: '{xmlel,<<"body">>,#{<<"a">> => <<"<&>\'\\"">>},[{xmlcdata,<<"<&>\'\\"☺<"/utf8>>,escaped}]}',
    exml3: '{xmlel,<<"body">>,[{<<"a">>,<<"<&>\'\\"">>}],[{xmlcdata,<<"<&>\'\\"☺<"/utf8>>}]}',
  },
  {
    name: 'nested',
    input: () =>
      parseXml(
        "<message><x xmlns='jabber:x:data' type='form'><field var='a'><value>1</value></field><field var='b'/></x></message>",
      ),
    exml4:
      '{xmlel,<<"message">>,#{},[{xmlel,<<"x">>,#{<<"type">> => <<"form">>,<<"xmlns">> => <<"jabber:x:data">>},' +
      '[{xmlel,<<"field">>,#{<<"var">> => <<"a">>},[{xmlel,<<"value">>,#{},[{xmlcdata,<<"1">>,escaped}]}]},' +
      '{xmlel,<<"field">>,#{<<"var">> => <<"b">>},[]}]}]}',
    exml3:
      '{xmlel,<<"message">>,[],[{xmlel,<<"x">>,[{<<"xmlns">>,<<"jabber:x:data">>},{<<"type">>,<<"form">>}],' +
      '[{xmlel,<<"field">>,[{<<"var">>,<<"a">>}],[{xmlel,<<"value">>,[],[{xmlcdata,<<"1">>}]}]},' +
      '{xmlel,<<"field">>,[{<<"var">>,<<"b">>}],[]}]}]}',
  },
  {
    name: 'empty-element',
    input: () => parseXml('<message/>'),
    exml4: '{xmlel,<<"message">>,#{},[]}',
    exml3: '{xmlel,<<"message">>,[],[]}',
  },
  {
    name: 'empty-attribute-values',
    input: () => parseXml("<message id='' type='chat'><thread parent=''/></message>"),
    exml4: '{xmlel,<<"message">>,#{<<"id">> => <<>>,<<"type">> => <<"chat">>},[{xmlel,<<"thread">>,#{<<"parent">> => <<>>},[]}]}',
    exml3: '{xmlel,<<"message">>,[{<<"id">>,<<>>},{<<"type">>,<<"chat">>}],[{xmlel,<<"thread">>,[{<<"parent">>,<<>>}],[]}]}',
  },
  {
    name: 'mixed-content',
    input: () => parseXml("<p xmlns='http://www.w3.org/1999/xhtml'>Hello <b>bold</b> and <i>it</i>!</p>"),
    exml4:
      '{xmlel,<<"p">>,#{<<"xmlns">> => <<"http://www.w3.org/1999/xhtml">>},[{xmlcdata,<<"Hello ">>,escaped},' +
      '{xmlel,<<"b">>,#{},[{xmlcdata,<<"bold">>,escaped}]},{xmlcdata,<<" and ">>,escaped},' +
      '{xmlel,<<"i">>,#{},[{xmlcdata,<<"it">>,escaped}]},{xmlcdata,<<"!">>,escaped}]}',
    exml3:
      '{xmlel,<<"p">>,[{<<"xmlns">>,<<"http://www.w3.org/1999/xhtml">>}],[{xmlcdata,<<"Hello ">>},' +
      '{xmlel,<<"b">>,[],[{xmlcdata,<<"bold">>}]},{xmlcdata,<<" and ">>},' +
      '{xmlel,<<"i">>,[],[{xmlcdata,<<"it">>}]},{xmlcdata,<<"!">>}]}',
  },
  {
    // exml's parser (rapidxml) makes no text node for a whitespace-only run: indentation and `<b> </b>` vanish.
    name: 'whitespace-only-text-dropped',
    input: () => parseXml("<message>\n  <body>  padded\tline\n  </body>\n  <thread> </thread>\r\n\t<x a='\t'/>\n</message>"),
    exml4:
      '{xmlel,<<"message">>,#{},[{xmlel,<<"body">>,#{},[{xmlcdata,<<"  padded\\tline\\n  ">>,escaped}]},' +
      '{xmlel,<<"thread">>,#{},[]},{xmlel,<<"x">>,#{<<"a">> => <<" ">>},[]}]}',
    exml3:
      '{xmlel,<<"message">>,[],[{xmlel,<<"body">>,[],[{xmlcdata,<<"  padded\\tline\\n  ">>}]},' +
      '{xmlel,<<"thread">>,[],[]},{xmlel,<<"x">>,[{<<"a">>,<<" ">>}],[]}]}',
  },
  {
    // Built by code: adjacent strings become one text node, as exml merges adjacent data nodes.
    name: 'adjacent-text-merged',
    input: () => element('body', {}, 'a', 'b', element('br', {}), 'c', '', ' ', element('br', {}), ' ', '\n'),
    exml4:
      '{xmlel,<<"body">>,#{},[{xmlcdata,<<"ab">>,escaped},{xmlel,<<"br">>,#{},[]},{xmlcdata,<<"c ">>,escaped},{xmlel,<<"br">>,#{},[]}]}',
    exml3: '{xmlel,<<"body">>,[],[{xmlcdata,<<"ab">>},{xmlel,<<"br">>,[],[]},{xmlcdata,<<"c ">>},{xmlel,<<"br">>,[],[]}]}',
  },
  {
    name: 'cdata-section',
    input: () => parseXml('<body>a <![CDATA[<raw> & ]]>b</body>'),
    exml4: '{xmlel,<<"body">>,#{},[{xmlcdata,<<"a <raw> & b">>,escaped}]}',
    exml3: '{xmlel,<<"body">>,[],[{xmlcdata,<<"a <raw> & b">>}]}',
  },
  {
    name: 'undefined-attribute-skipped',
    input: () => element('message', { to: 'a@b', from: undefined }),
    exml4: '{xmlel,<<"message">>,#{<<"to">> => <<"a@b">>},[]}',
    exml3: '{xmlel,<<"message">>,[{<<"to">>,<<"a@b">>}],[]}',
  },
  {
    // More than 32 keys: Erlang decodes a hash map instead of a flat map.
    name: 'many-attributes',
    input: () => element('item', Object.fromEntries(MANY_ATTRS)),
    exml4: `{xmlel,<<"item">>,#{${MANY_ATTRS.map(([k, v]) => `${bin(k)} => ${bin(v)}`).join(',')}},[]}`,
    exml3: `{xmlel,<<"item">>,[${MANY_ATTRS.map(([k, v]) => `{${bin(k)},${bin(v)}}`).join(',')}],[]}`,
  },
  {
    // Over the 64 KiB scratch buffer, and compressible: the compressed variant is 83 50 ….
    name: 'large',
    input: () => element('message', { to: 'bob@example.com', type: 'chat' }, element('body', {}, LARGE_TEXT)),
    exml4: `{xmlel,<<"message">>,#{<<"to">> => <<"bob@example.com">>,<<"type">> => <<"chat">>},[{xmlel,<<"body">>,#{},[{xmlcdata,${bin(LARGE_TEXT)},escaped}]}]}`,
    exml3: `{xmlel,<<"message">>,[{<<"to">>,<<"bob@example.com">>},{<<"type">>,<<"chat">>}],[{xmlel,<<"body">>,[],[{xmlcdata,${bin(LARGE_TEXT)}}]}]}`,
  },
];

const SHAPES: ExmlShape[] = ['exml4', 'exml3'];
const COMPRESSIONS = [false, true];

interface ErlResult {
  lines: string[];
  ok: Set<string>;
  failed: Map<string, string>;
  erlangCompresses: Map<string, boolean>;
}

let dir: string;
let erl: ErlResult;

function fileName(c: Case, shape: ExmlShape, compressed: boolean): string {
  return `${c.name}.${shape}.${compressed ? 'z' : 'plain'}`;
}

function runErl(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('erl', ['-noshell', '-eval', script], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`erl failed: ${err.message}\n${stderr}\n${stdout}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xmig-etf-'));
  const entries: string[] = [];
  for (const c of CASES) {
    for (const shape of SHAPES) {
      for (const compressed of COMPRESSIONS) {
        const name = fileName(c, shape, compressed);
        const file = join(dir, `${name}.etf`);
        await writeFile(file, encodeExml(c.input(), { shape, compressed }));
        entries.push(`{"${name}", ${shape}, "${file}", ${shape === 'exml4' ? c.exml4 : c.exml3}, ${c.exml4}}`);
      }
    }
  }
  // Control: the exml4 bytes of `ascii` checked against its exml3 term must come out as a failure,
  // so a harness that reported everything as equal would be caught.
  entries.push(`{"control-must-fail", exml4, "${join(dir, 'ascii.exml4.plain.etf')}", ${CASES[0]!.exml3}, ${CASES[0]!.exml4}}`);
  const casesFile = join(dir, 'cases.script');
  await writeFile(casesFile, `%% -*- coding: utf-8 -*-\n[\n${entries.join(',\n')}\n].\n`, 'utf8');

  // For each case: strict binary_to_term (every byte used), =:= the expected term, the exml3 term converted
  // the way MongooseIM's mam_message_eterm reads old rows equals the exml4 term, and whether Erlang's own
  // term_to_binary(T, [compressed]) chooses compression for it.
  const script = `
    io:setopts(standard_io, [{encoding, unicode}]),
    {ok, Cases} = file:script("${casesFile}"),
    Conv = fun Conv({xmlel, N, A, C}) when is_list(A) -> {xmlel, N, maps:from_list(A), [Conv(X) || X <- C]};
               Conv({xmlcdata, T}) -> {xmlcdata, T, escaped} end,
    Check = fun(Shape, File, Expected, Exml4) ->
        {ok, Bin} = file:read_file(File),
        {Term, Used} = binary_to_term(Bin, [used]),
        if Used =/= byte_size(Bin) -> {trailing_bytes, byte_size(Bin) - Used};
           Term =/= Expected -> {differs, Term};
           Shape =:= exml3 -> case catch Conv(Term) of Exml4 -> ok; Other -> {exml3_converts_to, Other} end;
           true -> ok
        end
      end,
    lists:foreach(fun({Name, Shape, File, Expected, Exml4}) ->
        case catch Check(Shape, File, Expected, Exml4) of
          ok -> io:format("ok ~s~n", [Name]);
          Failure ->
            Flat = re:replace(io_lib:format("~tp", [Failure]), "\\n\\s*", " ", [global, unicode, {return, binary}]),
            io:format("FAIL ~s ~ts~n", [Name, string:slice(Flat, 0, 2000)])
        end,
        <<131, Tag, _/binary>> = term_to_binary(Expected, [compressed]),
        io:format("erlang-compresses ~s ~p~n", [Name, Tag =:= 80])
      end, Cases),
    halt().`;
  const out = await runErl(script);
  const lines = out.split('\n').filter((l) => l !== '');
  const ok = new Set<string>();
  const failed = new Map<string, string>();
  const erlangCompresses = new Map<string, boolean>();
  for (const line of lines) {
    const [word, name = '', ...rest] = line.split(' ');
    if (word === 'ok') ok.add(name);
    else if (word === 'FAIL') failed.set(name, rest.join(' '));
    else if (word === 'erlang-compresses') erlangCompresses.set(name, rest[0] === 'true');
  }
  erl = { lines, ok, failed, erlangCompresses };
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('encodeExml decoded by Erlang (binary_to_term)', () => {
  it('decodes every case in both shapes and compressions to exactly the expected term', () => {
    const failures = [...erl.failed].filter(([name]) => name !== 'control-must-fail').map(([n, why]) => `${n}: ${why}`);
    expect(failures, failures.join('\n')).toEqual([]);
    const expected = CASES.flatMap((c) => SHAPES.flatMap((s) => COMPRESSIONS.map((z) => fileName(c, s, z))));
    expect([...erl.ok].sort()).toEqual(expected.sort());
  });

  it('reports a deliberately wrong expectation as a failure (the harness can fail)', () => {
    expect(erl.failed.get('control-must-fail')).toMatch(/^\{differs,/);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('compresses %s exactly when Erlang term_to_binary would', (_name, c) => {
    for (const shape of SHAPES) {
      const ours = encodeExml(c.input(), { shape, compressed: true })[1] === 80;
      expect(ours, shape).toBe(erl.erlangCompresses.get(fileName(c, shape, true)));
    }
  });
});

describe('encodeExml bytes', () => {
  it('writes the layout of storage-facts §1.5.5 for the example message', () => {
    const hex = encodeExml(parseXml("<message to='b@x' type='chat'><body>hi</body></message>"), { shape: 'exml4', compressed: false })
      .toString('hex');
    const expected = [
      '83',
      '6804', '7705', Buffer.from('xmlel').toString('hex'),
      '6d00000007', Buffer.from('message').toString('hex'),
      '7400000002',
      '6d00000002', Buffer.from('to').toString('hex'), '6d00000003', Buffer.from('b@x').toString('hex'),
      '6d00000004', Buffer.from('type').toString('hex'), '6d00000004', Buffer.from('chat').toString('hex'),
      '6c00000001',
      '6804', '7705', Buffer.from('xmlel').toString('hex'), '6d00000004', Buffer.from('body').toString('hex'), '7400000000',
      '6c00000001', '6803', '7708', Buffer.from('xmlcdata').toString('hex'), '6d00000002', Buffer.from('hi').toString('hex'),
      '7707', Buffer.from('escaped').toString('hex'), '6a',
      '6a',
    ].join('');
    expect(hex).toBe(expected);
  });

  it.each(SHAPES)('compresses a large %s term as 83 50 <inflated size> <zlib of the term without 83>', (shape) => {
    const el = CASES.find((c) => c.name === 'large')!.input();
    const plain = encodeExml(el, { shape, compressed: false });
    const packed = encodeExml(el, { shape, compressed: true });
    expect([packed[0], packed[1]]).toEqual([131, 80]);
    expect(packed.readUInt32BE(2)).toBe(plain.length - 1);
    expect(packed.subarray(6, 8).toString('hex')).toBe('789c');
    expect(inflateSync(packed.subarray(6)).equals(plain.subarray(1))).toBe(true);
    expect(packed.length).toBeLessThan(plain.length / 10);
  });

  it('keeps a small term plain even when compression is asked for, as Erlang does when zlib does not shrink it', () => {
    const el = parseXml("<message type='chat'/>");
    const packed = encodeExml(el, { shape: 'exml4', compressed: true });
    expect(packed.equals(encodeExml(el, { shape: 'exml4', compressed: false }))).toBe(true);
    expect(packed[1]).toBe(104);
  });

  it('gives the same bytes for a small stanza before and after a stanza that grew the scratch buffer past 1 MiB', () => {
    const small = parseXml("<message to='b@x'><body>ünï</body></message>");
    const before = encodeExml(small, { shape: 'exml4', compressed: false });
    const huge = element('message', {}, element('body', {}, 'x'.repeat(3 * 1024 * 1024)));
    const hugeOut = encodeExml(huge, { shape: 'exml4', compressed: false });
    expect(hugeOut.length).toBeGreaterThan(3 * 1024 * 1024);
    expect(encodeExml(small, { shape: 'exml4', compressed: false }).equals(before)).toBe(true);
  });

  it('does not modify the element it encodes', () => {
    const el = element('body', { a: 'x' }, 'a', 'b', ' ');
    encodeExml(el, { shape: 'exml3', compressed: true });
    expect(el.children).toEqual(['a', 'b', ' ']);
    expect(el.attrs).toEqual({ a: 'x' });
  });

  it.each([
    ['a NUL character', 'a\u0000b', '0000'],
    ['a vertical tab', 'x\u000by', '000B'],
    ['U+FFFE', 'ok \ufffe', 'FFFE'],
    ['a lone high surrogate', 'smile \ud83d!', 'D83D'],
    ['a lone low surrogate', '\ude00', 'DE00'],
  ])('refuses text with %s (RecordError xml-invalid-char)', (_what, text, hex) => {
    for (const where of ['text', 'attribute'] as const) {
      const el = where === 'text' ? element('body', {}, text) : element('body', { a: text });
      let error: unknown;
      try {
        encodeExml(el, { shape: 'exml4', compressed: false });
      } catch (err) {
        error = err;
      }
      expect(error, where).toBeInstanceOf(RecordError);
      expect((error as RecordError).code).toBe('xml-invalid-char');
      expect((error as RecordError).message).toContain(`U+${hex}`);
    }
  });

  it('accepts tab, newline and carriage return, and paired surrogates', () => {
    const el = element('body', { a: '\t\n\r' }, 'line\r\nnext 😀');
    const out = encodeExml(el, { shape: 'exml4', compressed: false });
    expect(out.includes(Buffer.from('line\r\nnext 😀'))).toBe(true);
    expect(out.includes(Buffer.from('\t\n\r'))).toBe(true);
  });
});

describe('exml 4.x attribute maps', () => {
  it('are written in the key order Erlang itself uses, whatever order the source had', () => {
    const a = encodeExml(parseXml(`<message type='chat' to='b@x' id='1' from='a@x'><body>hi</body></message>`), { shape: 'exml4', compressed: false });
    const b = encodeExml(parseXml(`<message from='a@x' id='1' to='b@x' type='chat'><body>hi</body></message>`), { shape: 'exml4', compressed: false });
    expect(a.equals(b)).toBe(true);
    // from < id < to < type, byte-wise.
    const text = a.toString('latin1');
    expect(text.indexOf('from')).toBeLessThan(text.indexOf('id'));
    expect(text.indexOf('id')).toBeLessThan(text.indexOf('to'));
    expect(text.indexOf('to')).toBeLessThan(text.indexOf('type'));
  });
});
