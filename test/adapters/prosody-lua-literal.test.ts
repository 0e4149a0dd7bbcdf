// The Lua-literal parser of Prosody's data files: the data subset, decoded to bytes then UTF-8, and nothing else.
import { describe, expect, it } from 'vitest';
import { LuaBytes, LuaLiteralParser, LuaSyntaxError, LuaTable, parseDat, scanStatement, type LuaValue } from '../../src/adapters/prosody-lua-literal.js';

function value(src: string | Buffer): LuaValue | undefined {
  return parseDat(Buffer.isBuffer(src) ? Buffer.concat([Buffer.from('return '), src]) : Buffer.from(`return ${src}`));
}

function plain(v: LuaValue | undefined): unknown {
  if (v instanceof LuaTable) return [...v.map].map(([k, x]) => [k instanceof LuaBytes ? `bytes:${k.bytes.toString('hex')}` : k, plain(x)]);
  if (v instanceof LuaBytes) return `bytes:${v.bytes.toString('hex')}@${v.line}`;
  return v;
}

function syntaxError(src: string): LuaSyntaxError {
  try {
    parseDat(Buffer.from(src));
  } catch (err) {
    if (err instanceof LuaSyntaxError) return err;
    throw err;
  }
  throw new Error('parsed');
}

describe('Prosody Lua literals', () => {
  it.each([
    ['"a\\tb"', 'a\tb'],
    ["'it''s'".replace("''", "\\'"), "it's"],
    ['"\\a\\b\\f\\v"', '\u0007\b\f\u000b'],
    ['"\\0\\00\\000\\0001"', '\u0000\u0000\u0000\u00001'],
    ['"\\x7A\\x7a"', 'zz'],
    ['"\\u{7FF}\\u{FFFF}\\u{10FFFF}"', '\u07ff\uffff\u{10ffff}'],
    ['"a\\z  \n  b"', 'ab'],
    ['"a\\\nb"', 'a\nb'],
    ['"a\\\r\nb"', 'a\nb'],
    ['[[\nx]]', 'x'],
    ['[=[a]]b]=]', 'a]]b'],
    ['"Zo\\195\\171"', 'Zoë'],
  ])('decodes the string %s', (src, expected) => {
    expect(value(src)).toBe(expected);
  });

  it.each([
    ['42', 42], ['-42', -42], ['- 1.5e3', -1500], ['1e-2', 0.01], ['0x1F', 31], ['0x1p4', 16], ['.5', 0.5],
    ['(1/0)', Infinity], ['(-1/0)', -Infinity], ['1704110400.1234560013', 1704110400.1234560013],
  ])('reads the number %s', (src, expected) => {
    expect(value(src)).toBe(expected);
  });

  it('reads (0/0) as NaN, true/false/nil, nested tables with every key form, comments and separators', () => {
    expect(value('(0/0)')).toBeNaN();
    const t = value('{ -- comment\n 1, "two"; [false] = { x = true }, ["k"] = nil, name = \'n\', [3.0] = "three", --[[ long\n ]] [10] = false, }');
    expect(plain(t)).toEqual([[1, 1], [2, 'two'], [false, [['x', true]]], ['name', 'n'], [3, 'three'], [10, false]]);
  });

  it('keeps invalid UTF-8 as bytes with their line, whatever escape made them', () => {
    expect(plain(value(Buffer.from('{\n"\\255",\n"\\xC3",\n"\xff"}', 'latin1')))).toEqual([[1, 'bytes:ff@2'], [2, 'bytes:c3@3'], [3, 'bytes:ff@4']]);
    expect(plain(value('"\\u{D800}"'))).toBe('bytes:eda080@1');
  });

  it.each([
    ['return os.execute("rm -rf /")', 1, /"os" is code/],
    ['return {\n  a = print("x") }', 2, /"print" is code/],
    ['return { f = function() end }', 1, /"function" is code/],
    ['return {1} .. {2}', 1, /unexpected "\."/],
    ['return "abc', 1, /unfinished string/],
    ['return "a\nb"', 1, /unfinished string/],
    ['return "\\q"', 1, /invalid escape/],
    ['return "\\300"', 1, /larger than 255/],
    ['return (2/0)', 1, /only \(1\/0\)/],
    ['return {\n\n [nil] = 1 }', 3, /key is nil/],
    ['return {\n  1,\n  2', 3, /expected "," ";" or "}" in the table opened at line 1, found the end of the input/],
    ['return 1 2', 1, /after the returned value/],
    ['x = 1', 1, /expected "return"/],
  ])('refuses %j with the line', (src, line, message) => {
    const err = syntaxError(src);
    expect(err.line).toBe(line);
    expect(err.reason).toMatch(message);
  });

  it('cuts a .list file into statements without parsing, whatever the strings and comments hold', () => {
    const text = Buffer.from('item({ "a)}]" });\n-- item(x)\nitem({ [[ ) ]] });\n  item(os.execute("x"))\nitem({');
    const spans: string[] = [];
    let pos = 0;
    let line = 1;
    for (;;) {
      const r = scanStatement(text, pos, line);
      if (r.kind !== 'statement') {
        expect(r).toEqual({ kind: 'incomplete', start: text.indexOf('item({', text.length - 7), line: 5 });
        break;
      }
      spans.push(`${r.span.line}:${text.subarray(r.span.start, r.span.end).toString()}`);
      pos = r.span.end;
      line = r.span.line + r.span.lines;
    }
    expect(spans).toEqual(['1:item({ "a)}]" });', '3:item({ [[ ) ]] });', '4:item(os.execute("x"))']);
    const parser = new LuaLiteralParser(text, 0, text.indexOf('\n'));
    expect(plain(parser.parseItem())).toEqual([[1, 'a)}]']]);
  });
});
