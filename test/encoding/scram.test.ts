import { spawnSync } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveScram, formatPassDetails, parsePassDetails, SCRAM_KEY_BYTES } from '../../src/encoding/scram.js';
import { RecordError } from '../../src/errors.js';
import { SCRAM_ALGORITHMS, type ScramAlgorithm, type ScramHash } from '../../src/records.js';

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function hashOf(algorithm: ScramAlgorithm, iterations: number, fill = 1): ScramHash {
  const size = SCRAM_KEY_BYTES[algorithm];
  return { algorithm, iterations, salt: Buffer.alloc(16, fill), storedKey: Buffer.alloc(size, fill + 1), serverKey: Buffer.alloc(size, fill + 2) };
}

describe('formatPassDetails', () => {
  it('writes the worked Prosody example of storage-facts §1.3 exactly', () => {
    const hash: ScramHash = {
      algorithm: 'sha1',
      iterations: 10000,
      salt: Buffer.from('2f0e8b7c-1b2a-4c3d-9e8f-0a1b2c3d4e5f', 'ascii'),
      storedKey: hex('c90c6e46fff88b5bc281027254a249bae8933341'),
      serverKey: hex('5b28cb2165dbf0be0064db421df08e9cd73e981b'),
    };
    expect(formatPassDetails([hash])).toEqual({
      passDetails:
        '==MULTI_SCRAM==,10000,===SHA1===MmYwZThiN2MtMWIyYS00YzNkLTllOGYtMGExYjJjM2Q0ZTVm|yQxuRv/4i1vCgQJyVKJJuuiTM0E=|WyjLIWXb8L4AZNtCHfCOnNc+mBs=',
      dropped: [],
    });
  });

  it("reproduces MongooseIM's own five-hash example (SCRAM-serialization.md, password padthai) from derived keys", () => {
    const salts: Record<ScramAlgorithm, string> = {
      sha1: 'QClQsw/sfPEnwj4AEp6E1w==',
      sha224: 'dk0ImXFVPoUfqD5FveV7YA==',
      sha256: 'M7BYKSo04XbzBr4C7b056g==',
      sha384: 'Ryu0fA29gbwgqFOBk5Mczw==',
      sha512: 'SLNuVNcWiNBmnYZNIdj+zg==',
    };
    // Given strongest first, to show the output order is MongooseIM's, not the input's.
    const hashes = [...SCRAM_ALGORITHMS].reverse().map((a) => deriveScram('padthai', b64(salts[a]), 4096, a));
    expect(formatPassDetails(hashes).passDetails).toBe(
      '==MULTI_SCRAM==,4096,' +
        '===SHA1===QClQsw/sfPEnwj4AEp6E1w==|ys1104hRhqMoRputBY5sLHKXoSw=|EJvxXWM42tO7BgW21lNZyBc1dD0=,' +
        '==SHA224==dk0ImXFVPoUfqD5FveV7YA==|G0ibQ/YYuCtoun4I+1IF2zJ7Q8x2T23ETnq5Gg==|EvE2EkZcUb3k4CooeOcVFy95P32t+NDX0xbQUA==,' +
        '==SHA256==M7BYKSo04XbzBr4C7b056g==|A779MC05nSGQln5no0hKTGHFSaQ7oguKBZgORW3s+es=|XhtGFf6NDWsnVSCO4xkzPD3qc046fPL0pATZi7RmaWo=,' +
        '==SHA384==Ryu0fA29gbwgqFOBk5Mczw==|k3QwC0Lb1y1/V/31byC5KML5t3mH4JTPjFyeAz7lV2l4SPfzi3JHvLEdoNB5K/VY|kR+LMI/E0QBG3oF405/MTAT6NAlCOfPrFOaWH3WBVGM0Viu9Brk6kGwVwXjSP8v0,' +
        '==SHA512==SLNuVNcWiNBmnYZNIdj+zg==|3ey3gzSsmbxcLnoc1VKCR/739uKX6uuPCyAzn6x8o87ibcjOdUaU8qhL5X4MUI9UPTt667GagNpVTmAWTFNsjA==|jUUDbuQ9ae4UnAWS6RV6W4yifX3La3ESjfZjGol+TBROIb/ihR8UawPHrSHkp4yyDJXtRhR9RlHCHy4bcCm1Yg==',
    );
  });

  // In → Out: which hashes are kept and which are dropped.
  const DROPS: Array<[string, ScramHash[], string, Array<[ScramAlgorithm, RegExp]>]> = [
    ['keeps a SHA-1-only credential', [hashOf('sha1', 4096)], '==MULTI_SCRAM==,4096,===SHA1===', []],
    [
      "keeps the strongest hash's count and drops hashes with another",
      [hashOf('sha1', 4096), hashOf('sha256', 10000), hashOf('sha512', 10000)],
      '==MULTI_SCRAM==,10000,==SHA256==',
      [['sha1', /4096 iterations.*keeps 10000.*sha512/]],
    ],
    ['drops a second hash of the same algorithm', [hashOf('sha256', 4096, 1), hashOf('sha256', 4096, 7)], '==MULTI_SCRAM==,4096,==SHA256==AQEB', [['sha256', /second sha256/]]],
    [
      'drops a key of the wrong length',
      [{ ...hashOf('sha256', 4096), storedKey: Buffer.alloc(20) }, hashOf('sha1', 4096)],
      '==MULTI_SCRAM==,4096,===SHA1===',
      [['sha256', /stored key is 20 bytes; sha256 keys are 32/]],
    ],
    ['drops an empty salt', [{ ...hashOf('sha1', 4096), salt: Buffer.alloc(0) }, hashOf('sha512', 4096)], '==MULTI_SCRAM==,4096,==SHA512==', [['sha1', /salt is empty/]]],
    ['drops a non-positive count', [hashOf('sha1', 0), hashOf('sha224', 4096)], '==MULTI_SCRAM==,4096,==SHA224==', [['sha1', /not a positive integer/]]],
  ];
  it.each(DROPS)('%s', (_name, input, start, dropped) => {
    const result = formatPassDetails(input);
    expect(result.passDetails.startsWith(start)).toBe(true);
    expect(result.passDetails.split(',').length).toBe(2 + input.length - dropped.length);
    expect(result.dropped.map((d) => d.hash.algorithm)).toEqual(dropped.map(([a]) => a));
    result.dropped.forEach((d, i) => expect(d.reason).toMatch(dropped[i]![1]));
  });

  it('rejects a credential with no usable hash', () => {
    expect(() => formatPassDetails([])).toThrow(RecordError);
    expect(() => formatPassDetails([{ ...hashOf('sha1', 4096), serverKey: Buffer.alloc(3) }])).toThrow(/server key is 3 bytes/);
  });
});

describe('parsePassDetails', () => {
  it('reads back every hash that was written', () => {
    const hashes = SCRAM_ALGORITHMS.map((a, i) => deriveScram('pencil', randomBytes(12 + i), 4096, a));
    const parsed = parsePassDetails(formatPassDetails(hashes).passDetails);
    expect(parsed).toEqual({ format: 'multi', iterations: 4096, hashes, ignoredSections: [] });
  });

  it("reads the legacy ==SCRAM== form as SHA-1 (MongooseIM's example, password misio)", () => {
    const parsed = parsePassDetails('==SCRAM==,tmi5IE+9pceRV/jkPLFHEaVY33c=,MiWNa8T3dniVDwmh77ufJ41fpAQ=,inKXODlSY5y5SCsLxibi0w==,4096');
    expect(parsed.format).toBe('legacy');
    expect(parsed.hashes).toEqual([deriveScram('misio', b64('inKXODlSY5y5SCsLxibi0w=='), 4096, 'sha1')]);
  });

  it('skips sections with an unknown prefix, as the server does', () => {
    const parsed = parsePassDetails('==MULTI_SCRAM==,4096,==SHA3_256==AAAA|AAAA|AAAA,===SHA1===AQID|BAUG|BwgJ');
    expect(parsed.ignoredSections).toEqual(['==SHA3_256==AAAA|AAAA|AAAA']);
    expect(parsed.hashes.map((h) => [h.algorithm, h.salt.toString('hex')])).toEqual([['sha1', '010203']]);
  });

  const BAD: Array<[string, string, string]> = [
    ['no known prefix', 'pencil', 'scram-corrupted'],
    ['empty', '', 'scram-corrupted'],
    ['a legacy form with three fields', '==SCRAM==,AAAA,AAAA,4096', 'scram-incorrect'],
    ['a section with two fields', '==MULTI_SCRAM==,4096,===SHA1===AAAA|AAAA', 'scram-incorrect'],
    ['a count that is not an integer', '==MULTI_SCRAM==,4k,===SHA1===AAAA|AAAA|AAAA', 'scram-incorrect'],
    ['unpadded base64', '==MULTI_SCRAM==,4096,===SHA1===AAA|AAAA|AAAA', 'scram-incorrect'],
    ['URL-safe base64', '==MULTI_SCRAM==,4096,===SHA1===AA-_|AAAA|AAAA', 'scram-incorrect'],
  ];
  it.each(BAD)('rejects %s', (_name, text, code) => {
    expect(() => parsePassDetails(text)).toThrow(expect.objectContaining({ code }));
  });
});

describe('deriveScram', () => {
  it('gives the RFC 5802 test vector (user/pencil, salt QSXCR+Q6sek8bf92, 4096)', () => {
    const hash = deriveScram('pencil', b64('QSXCR+Q6sek8bf92'), 4096, 'sha1');
    expect(hash.storedKey.toString('base64')).toBe('6dlGYMOdZcOPutkcNY8U2g7vK9Y=');
    expect(hash.serverKey.toString('base64')).toBe('D+CSWLOshSulAsxiupA+qs2/fTE=');
  });

  it('agrees with Erlang crypto (pbkdf2_hmac, mac, hash) for every algorithm', () => {
    const inputs = SCRAM_ALGORITHMS.map((a, i) => ({ algorithm: a, password: `pencil-${a}-ü`, salt: randomBytes(16 + i), iterations: 1000 + i }));
    const erlangName = (a: ScramAlgorithm): string => (a === 'sha1' ? 'sha' : a);
    const terms = inputs
      .map((x) => `{${erlangName(x.algorithm)}, <<"${Buffer.from(x.password).toString('hex')}">>, <<"${x.salt.toString('hex')}">>, ${x.iterations}, ${SCRAM_KEY_BYTES[x.algorithm]}}`)
      .join(', ');
    // Written from RFC 5802's definitions; prints StoredKey and ServerKey in hex, one line per input.
    const script = `
      Keys = fun({H, PwHex, SaltHex, I, Len}) ->
          Salted = crypto:pbkdf2_hmac(H, binary:decode_hex(PwHex), binary:decode_hex(SaltHex), I, Len),
          Stored = crypto:hash(H, crypto:mac(hmac, H, Salted, <<"Client Key">>)),
          Server = crypto:mac(hmac, H, Salted, <<"Server Key">>),
          io:format("~s ~s~n", [binary:encode_hex(Stored), binary:encode_hex(Server)])
      end,
      lists:foreach(Keys, [${terms}]),
      halt().`;
    const run = spawnSync('erl', ['-noshell', '-eval', script], { encoding: 'utf8' });
    if (run.error) throw new Error(`cannot run erl (Erlang/OTP must be installed): ${run.error.message}`);
    expect(run.status, run.stderr + run.stdout).toBe(0);
    const erlang = run.stdout.trim().split('\n').map((l) => l.trim().toLowerCase().split(' '));
    const ours = inputs.map((x) => {
      const h = deriveScram(x.password, x.salt, x.iterations, x.algorithm);
      return [h.storedKey.toString('hex'), h.serverKey.toString('hex')];
    });
    expect(ours).toEqual(erlang);
  });
});

describe('a full SCRAM exchange (RFC 5802 §3, §5) against keys read back from pass_details', () => {
  it.each(SCRAM_ALGORITHMS.map((a) => [a]))('authenticates %s', (algorithm) => {
    const password = 'correct horse';
    const stored = formatPassDetails([deriveScram(password, randomBytes(16), 4096, algorithm)]).passDetails;
    const serverHash = parsePassDetails(stored).hashes[0]!;

    const exchange = simulateExchange(algorithm, password, serverHash);
    expect(exchange.serverAcceptsProof).toBe(true);
    expect(exchange.clientAcceptsServerSignature).toBe(true);

    const wrong = simulateExchange(algorithm, 'wrong horse', serverHash);
    expect(wrong.serverAcceptsProof).toBe(false);
    expect(wrong.clientAcceptsServerSignature).toBe(false);
  });
});

/** Client and server sides of one SCRAM-SHA-* authentication; the client knows only the password. */
function simulateExchange(algorithm: ScramAlgorithm, password: string, server: ScramHash) {
  const hmac = (key: Buffer, text: string): Buffer => createHmac(algorithm, key).update(text).digest();
  const clientNonce = randomBytes(18).toString('base64');
  const clientFirstBare = `n=user,r=${clientNonce}`;
  const serverFirst = `r=${clientNonce}${randomBytes(18).toString('base64')},s=${server.salt.toString('base64')},i=${server.iterations}`;

  // Client: everything from the password and what the server sent.
  const fields = new Map(serverFirst.split(',').map((f) => [f.slice(0, 1), f.slice(2)]));
  const clientFinalWithoutProof = `c=biws,r=${fields.get('r')}`;
  const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
  const saltedPassword = pbkdf2Sync(password, Buffer.from(fields.get('s')!, 'base64'), Number(fields.get('i')), SCRAM_KEY_BYTES[algorithm], algorithm);
  const clientKey = hmac(saltedPassword, 'Client Key');
  const clientSignature = hmac(createHash(algorithm).update(clientKey).digest(), authMessage);
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ clientSignature[i]!));

  // Server: only the StoredKey and ServerKey parsed back out of pass_details.
  const expectedSignature = hmac(server.storedKey, authMessage);
  const recoveredClientKey = Buffer.from(proof.map((byte, i) => byte ^ expectedSignature[i]!));
  const serverAcceptsProof = timingSafeEqual(createHash(algorithm).update(recoveredClientKey).digest(), server.storedKey);
  const serverSignature = hmac(server.serverKey, authMessage);

  // Client verifies the server's signature with its own ServerKey.
  const clientAcceptsServerSignature = serverSignature.equals(hmac(hmac(saltedPassword, 'Server Key'), authMessage));
  return { serverAcceptsProof, clientAcceptsServerSignature };
}
