// Openfire's password encryption: the Blowfish implementation against published test vectors and against
// OpenSSL's (Node with --openssl-legacy-provider), and the Openfire format (both KDFs) against an independent
// implementation on the JDK's own Blowfish and PBKDF2 (test/fixtures/openfire/OpenfireCipherCheck.java).
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Blowfish,
  decryptOpenfirePassword,
  encryptOpenfirePassword,
  openfireBlowfishKey,
  piFractionWords,
} from '../../src/adapters/openfire-blowfish.js';

function run(command: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
    child.stdin?.end(input);
  });
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('Blowfish', () => {
  it('derives its boxes from the hexadecimal digits of π', () => {
    const words = piFractionWords(1042);
    // P1 and P18, the first word of each S-box and the last of S1 and S4, as the algorithm's description lists them.
    expect([0, 17, 18, 273, 274, 530, 786, 1041].map((i) => words[i]!.toString(16))).toEqual([
      '243f6a88',
      '8979fb1b',
      'd1310ba6',
      '6e85076a',
      '4b7a70e9',
      'e93d5a68',
      '3a39ce37',
      '3ac372e6',
    ]);
  });

  // Eric Young's published vectors (the set OpenSSL's bftest uses).
  it.each([
    ['0000000000000000', '0000000000000000', '4ef997456198dd78'],
    ['ffffffffffffffff', 'ffffffffffffffff', '51866fd5b85ecb8a'],
    ['3000000000000000', '1000000000000001', '7d856f9a613063f2'],
    ['1111111111111111', '1111111111111111', '2466dd878b963c9d'],
    ['0123456789abcdef', '1111111111111111', '61f9c3802281b096'],
    ['fedcba9876543210', '0123456789abcdef', '0aceab0fc6a0a28d'],
  ])('encrypts the ECB vector key %s plaintext %s', (key, plain, cipher) => {
    const bf = new Blowfish(hex(key));
    expect(bf.encryptEcb(hex(plain)).toString('hex')).toBe(cipher);
    expect(bf.decryptEcb(hex(cipher)).toString('hex')).toBe(plain);
  });

  it.each([
    [1, 'f9ad597c49db005e'],
    [8, 'e87a244e2cc85e82'],
    [16, '93142887ee3be15c'],
    [17, '03429e838ce2d14b'],
    [20, '10851c0e3858da9f'],
    [24, '05044b62fa52d080'],
  ])('uses all %i bytes of a variable-length key', (length, cipher) => {
    const key = hex('f0e1d2c3b4a5968778695a4b3c2d1e0f0011223344556677').subarray(0, length);
    expect(new Blowfish(key).encryptEcb(hex('fedcba9876543210')).toString('hex')).toBe(cipher);
  });

  it('encrypts and decrypts the published CBC vector', () => {
    const bf = new Blowfish(hex('0123456789abcdeff0e1d2c3b4a59687'));
    const iv = hex('fedcba9876543210');
    const plain = Buffer.concat([Buffer.from('7654321 Now is the time for '), Buffer.alloc(4)]);
    const cipher = '6b77b4d63006dee605b156e27403979358deb9e7154616d959f1652bd5ff92cc';
    expect(bf.encryptCbc(plain, iv).toString('hex')).toBe(cipher);
    expect(bf.decryptCbc(hex(cipher), iv)).toEqual(plain);
  });

  it("agrees with OpenSSL's bf-cbc on random 20- and 32-byte keys", async () => {
    const cases = Array.from({ length: 12 }, (_, i) => ({ key: randomBytes(i % 2 === 0 ? 20 : 32), iv: randomBytes(8), data: randomBytes(8 * (1 + i)) }));
    const script =
      "const c=require('crypto');let out=[];for(const l of require('fs').readFileSync(0,'utf8').trim().split('\\n')){const [k,i,d]=l.split(' ').map(x=>Buffer.from(x,'hex'));" +
      "const e=c.createCipheriv('bf-cbc',k,i);e.setAutoPadding(false);out.push(Buffer.concat([e.update(d),e.final()]).toString('hex'))}console.log(out.join('\\n'))";
    const stdout = await run(process.execPath, ['--openssl-legacy-provider', '-e', script], cases.map((c) => `${c.key.toString('hex')} ${c.iv.toString('hex')} ${c.data.toString('hex')}`).join('\n'));
    const openssl = stdout.trim().split('\n');
    for (const [i, c] of cases.entries()) {
      const bf = new Blowfish(c.key);
      expect(bf.encryptCbc(c.data, c.iv).toString('hex'), `case ${i}`).toBe(openssl[i]);
      expect(bf.decryptCbc(hex(openssl[i]!), c.iv), `case ${i}`).toEqual(c.data);
    }
  });

  it('refuses keys Blowfish does not take', () => {
    expect(() => new Blowfish(Buffer.alloc(0))).toThrow(/1 to 56 bytes/);
    expect(() => new Blowfish(Buffer.alloc(57))).toThrow(/1 to 56 bytes/);
  });
});

describe("Openfire's encryptedPassword", () => {
  const passwordKey = 'Qx7pL2mZ9vB4nR8';
  const salt = createHash('sha256').update('salt').digest();
  const sha1 = new Blowfish(openfireBlowfishKey(passwordKey, 'sha1'));
  const pbkdf2 = new Blowfish(openfireBlowfishKey(passwordKey, 'pbkdf2', salt));

  it('derives the SHA-1 and PBKDF2-HMAC-SHA512 keys', () => {
    expect(openfireBlowfishKey(passwordKey, 'sha1').toString('hex')).toBe(createHash('sha1').update(passwordKey).digest('hex'));
    expect(openfireBlowfishKey(passwordKey, 'pbkdf2', salt)).toHaveLength(32);
    expect(() => openfireBlowfishKey(passwordKey, 'pbkdf2', Buffer.alloc(15))).toThrow(/at least 16 bytes/);
  });

  it('matches the JDK (Blowfish/CBC, PBKDF2WithHmacSHA512) value for value, with both KDFs', async () => {
    const passwords = ['secret', '12345678', 'a', '', 'pässwörd-€', 'emoji 😀 and more text to span several blocks', 'exactly-16-chars'];
    const cases = passwords.flatMap((password, i) =>
      (['sha1', 'pbkdf2'] as const).map((kdf) => ({ kdf, password, iv: createHash('md5').update(`${kdf}${i}`).digest().subarray(0, 8) })),
    );
    const input = cases.map((c) => `${c.kdf}|${passwordKey}|${salt.toString('base64')}|${c.iv.toString('hex')}|${Buffer.from(c.password).toString('base64')}`).join('\n');
    const java = (await run('java', [join(import.meta.dirname, '..', 'fixtures', 'openfire', 'OpenfireCipherCheck.java')], input)).trim().split('\n');
    expect(java).toHaveLength(cases.length);
    for (const [i, c] of cases.entries()) {
      const cipher = c.kdf === 'sha1' ? sha1 : pbkdf2;
      expect(encryptOpenfirePassword(c.password, cipher, c.iv), `${c.kdf} ${JSON.stringify(c.password)}`).toBe(java[i]);
      expect(decryptOpenfirePassword(java[i]!, cipher)).toEqual({ ok: true, password: c.password });
    }
  }, 120_000);

  it('pads a block-aligned password with a whole block', () => {
    const value = encryptOpenfirePassword('abcd', sha1, Buffer.alloc(8));
    // 8 bytes of UTF-16 text + 8 bytes of padding, after the 8-byte IV.
    expect(value).toHaveLength(2 * (8 + 16));
  });

  it('does not decrypt with the other KDF or key, nor damaged values, and never says what it decrypted to', () => {
    const value = encryptOpenfirePassword('correct horse', sha1, hex('0102030405060708'));
    expect(decryptOpenfirePassword(value, sha1)).toEqual({ ok: true, password: 'correct horse' });
    expect(decryptOpenfirePassword(value.toUpperCase(), sha1)).toEqual({ ok: true, password: 'correct horse' });
    const wrong = [pbkdf2, new Blowfish(openfireBlowfishKey('another-key', 'sha1'))].map((c) => decryptOpenfirePassword(value, c));
    for (const result of wrong) {
      expect(result.ok).toBe(false);
      expect(JSON.stringify(result)).not.toContain('correct horse');
    }
    expect(decryptOpenfirePassword('zz-not-hex', sha1)).toEqual({ ok: false, reason: 'is not hexadecimal' });
    expect(decryptOpenfirePassword(value.slice(0, -2), sha1).ok).toBe(false);
    expect(decryptOpenfirePassword(value.slice(0, 16), sha1).ok).toBe(false);
  });

  it('rejects wrong-key plaintext that happens to look padded by its UTF-16 and control characters', () => {
    // A block that decrypts to valid padding but lone surrogates / NULs is refused.
    const iv = Buffer.alloc(8);
    const bad = sha1.encryptCbc(Buffer.from([0xd8, 0x00, 0x00, 0x41, 0x02, 0x02, 0x02, 0x02].slice(0, 8)), iv);
    expect(decryptOpenfirePassword(iv.toString('hex') + bad.toString('hex'), sha1)).toMatchObject({ ok: false, reason: expect.stringMatching(/UTF-16|control/) });
    const nul = sha1.encryptCbc(Buffer.from([0x00, 0x00, 0x00, 0x41, 0x04, 0x04, 0x04, 0x04]), iv);
    expect(decryptOpenfirePassword(iv.toString('hex') + nul.toString('hex'), sha1)).toMatchObject({ ok: false });
  });
});
