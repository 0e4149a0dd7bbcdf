// Openfire's `ofUser.encryptedPassword`: Blowfish-CBC over UTF-16BE with PKCS#5 padding, hex IV + ciphertext,
// keyed from the `passwordKey` property by SHA-1 (every install before 5.1.0) or PBKDF2-HMAC-SHA512 (5.1.0+).
// Facts: shared/docs/storage-facts.md §4.1, checked against igniterealtime/Openfire v5.1.1 util/Blowfish.java.
//
// Blowfish itself (Schneier, 1993: https://www.schneier.com/academic/archives/1994/09/description_of_a_new.html)
// is implemented here because Node 20's OpenSSL 3 only offers 'bf-cbc' with the legacy provider loaded
// (`node --openssl-legacy-provider`), which a library cannot count on. Its P-array and S-boxes are, by
// definition, the fractional hexadecimal digits of π; they are computed once from Machin's formula rather than
// pasted, and the published test vectors in the tests pin them.
import { createHash, pbkdf2Sync } from 'node:crypto';
import { InternalError } from '../errors.js';

const P_ENTRIES = 18;
const S_ENTRIES = 4 * 256;

let initialBoxes: Uint32Array | undefined;

/** The first `count` 32-bit words of π's fractional part: π = 16·atan(1/5) − 4·atan(1/239), in fixed point. */
export function piFractionWords(count: number): Uint32Array {
  const bits = count * 32 + 64;
  const one = 1n << BigInt(bits);
  const atanInverse = (x: bigint): bigint => {
    const x2 = x * x;
    let term = one / x;
    let sum = 0n;
    for (let k = 1n, positive = true; term !== 0n; k += 2n, positive = !positive) {
      sum += positive ? term / k : -(term / k);
      term /= x2;
    }
    return sum;
  };
  const pi = 16n * atanInverse(5n) - 4n * atanInverse(239n);
  const fraction = pi - (3n << BigInt(bits));
  const words = new Uint32Array(count);
  for (let i = 0; i < count; i++) words[i] = Number((fraction >> BigInt(bits - 32 * (i + 1))) & 0xffffffffn);
  return words;
}

function boxes(): Uint32Array {
  initialBoxes ??= piFractionWords(P_ENTRIES + S_ENTRIES);
  return initialBoxes;
}

/** Blowfish with a 1–56 byte key; blocks are two big-endian 32-bit halves. */
export class Blowfish {
  private readonly p: Uint32Array;
  private readonly s: Uint32Array;

  constructor(key: Uint8Array) {
    if (key.length < 1 || key.length > 56) throw new InternalError(`Blowfish keys are 1 to 56 bytes, not ${key.length}`);
    const init = boxes();
    this.p = init.slice(0, P_ENTRIES);
    this.s = init.slice(P_ENTRIES);
    let position = 0;
    for (let i = 0; i < P_ENTRIES; i++) {
      let word = 0;
      for (let j = 0; j < 4; j++) {
        word = ((word << 8) | (key[position] as number)) >>> 0;
        position = (position + 1) % key.length;
      }
      this.p[i] = ((this.p[i] as number) ^ word) >>> 0;
    }
    let block: [number, number] = [0, 0];
    for (let i = 0; i < P_ENTRIES; i += 2) {
      block = this.encryptBlock(block[0], block[1]);
      this.p[i] = block[0];
      this.p[i + 1] = block[1];
    }
    for (let i = 0; i < S_ENTRIES; i += 2) {
      block = this.encryptBlock(block[0], block[1]);
      this.s[i] = block[0];
      this.s[i + 1] = block[1];
    }
  }

  private f(x: number): number {
    const s = this.s;
    const a = s[x >>> 24] as number;
    const b = s[256 + ((x >>> 16) & 0xff)] as number;
    const c = s[512 + ((x >>> 8) & 0xff)] as number;
    const d = s[768 + (x & 0xff)] as number;
    return ((((a + b) >>> 0) ^ c) + d) >>> 0;
  }

  encryptBlock(left: number, right: number): [number, number] {
    let l = left >>> 0;
    let r = right >>> 0;
    for (let i = 0; i < 16; i++) {
      l = (l ^ (this.p[i] as number)) >>> 0;
      r = (r ^ this.f(l)) >>> 0;
      [l, r] = [r, l];
    }
    [l, r] = [r, l];
    r = (r ^ (this.p[16] as number)) >>> 0;
    l = (l ^ (this.p[17] as number)) >>> 0;
    return [l, r];
  }

  decryptBlock(left: number, right: number): [number, number] {
    let l = left >>> 0;
    let r = right >>> 0;
    for (let i = 17; i > 1; i--) {
      l = (l ^ (this.p[i] as number)) >>> 0;
      r = (r ^ this.f(l)) >>> 0;
      [l, r] = [r, l];
    }
    [l, r] = [r, l];
    r = (r ^ (this.p[1] as number)) >>> 0;
    l = (l ^ (this.p[0] as number)) >>> 0;
    return [l, r];
  }

  /** ECB over whole 8-byte blocks (for test vectors). */
  encryptEcb(data: Uint8Array): Buffer {
    return this.blocks(data, (l, r) => this.encryptBlock(l, r));
  }

  decryptEcb(data: Uint8Array): Buffer {
    return this.blocks(data, (l, r) => this.decryptBlock(l, r));
  }

  /** CBC without padding: `data` is whole blocks. */
  encryptCbc(data: Uint8Array, iv: Uint8Array): Buffer {
    checkBlocks(data, iv);
    const out = Buffer.alloc(data.length);
    let prevL = readU32(iv, 0);
    let prevR = readU32(iv, 4);
    for (let i = 0; i < data.length; i += 8) {
      [prevL, prevR] = this.encryptBlock(readU32(data, i) ^ prevL, readU32(data, i + 4) ^ prevR);
      out.writeUInt32BE(prevL, i);
      out.writeUInt32BE(prevR, i + 4);
    }
    return out;
  }

  decryptCbc(data: Uint8Array, iv: Uint8Array): Buffer {
    checkBlocks(data, iv);
    const out = Buffer.alloc(data.length);
    let prevL = readU32(iv, 0);
    let prevR = readU32(iv, 4);
    for (let i = 0; i < data.length; i += 8) {
      const cl = readU32(data, i);
      const cr = readU32(data, i + 4);
      const [l, r] = this.decryptBlock(cl, cr);
      out.writeUInt32BE((l ^ prevL) >>> 0, i);
      out.writeUInt32BE((r ^ prevR) >>> 0, i + 4);
      prevL = cl;
      prevR = cr;
    }
    return out;
  }

  private blocks(data: Uint8Array, op: (l: number, r: number) => [number, number]): Buffer {
    if (data.length % 8 !== 0) throw new InternalError('Blowfish works on whole 8-byte blocks');
    const out = Buffer.alloc(data.length);
    for (let i = 0; i < data.length; i += 8) {
      const [l, r] = op(readU32(data, i), readU32(data, i + 4));
      out.writeUInt32BE(l, i);
      out.writeUInt32BE(r, i + 4);
    }
    return out;
  }
}

function readU32(data: Uint8Array, at: number): number {
  return (((data[at] as number) << 24) | ((data[at + 1] as number) << 16) | ((data[at + 2] as number) << 8) | (data[at + 3] as number)) >>> 0;
}

function checkBlocks(data: Uint8Array, iv: Uint8Array): void {
  if (iv.length !== 8) throw new InternalError('a Blowfish-CBC IV is 8 bytes');
  if (data.length % 8 !== 0) throw new InternalError('Blowfish works on whole 8-byte blocks');
}

// ---------------------------------------------------------------------------------------------------------
// Openfire's use of it (org.jivesoftware.util.Blowfish, AuthFactory.passwordKey)

export type OpenfireKdf = 'sha1' | 'pbkdf2';

/** Openfire refuses PBKDF2 salts shorter than this (and then silently falls back to the SHA-1 KDF). */
export const OPENFIRE_MIN_SALT_BYTES = 16;
const PBKDF2_ITERATIONS = 100_000;
const PBKDF2_KEY_BYTES = 32;

/**
 * The Blowfish key Openfire derives from `passwordKey`:
 * - 'sha1': SHA-1 of the key's bytes (Java's platform charset; Openfire's generated keys are ASCII), 20 bytes;
 * - 'pbkdf2': PBKDF2-HMAC-SHA512(key as UTF-8, salt, 100000 iterations), 32 bytes; the salt is
 *   `encrypt.blowfish.salt` from conf/security.xml, base64-decoded.
 */
export function openfireBlowfishKey(passwordKey: string, kdf: OpenfireKdf, salt?: Buffer): Buffer {
  const keyBytes = Buffer.from(passwordKey, 'utf8');
  if (kdf === 'sha1') return createHash('sha1').update(keyBytes).digest();
  if (!salt || salt.length < OPENFIRE_MIN_SALT_BYTES) throw new InternalError(`the PBKDF2 KDF needs a salt of at least ${OPENFIRE_MIN_SALT_BYTES} bytes`);
  return pbkdf2Sync(keyBytes, salt, PBKDF2_ITERATIONS, PBKDF2_KEY_BYTES, 'sha512');
}

export type DecryptResult = { ok: true; password: string } | { ok: false; reason: string };

const HEX = /^[0-9a-fA-F]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Decrypts one `encryptedPassword`. Stricter than Openfire, which keeps whatever a wrong key yields: the
 * padding must be PKCS#5 (1–8 bytes, all equal) and the text well-formed UTF-16 without control characters,
 * so most wrong keys and damaged values are detected instead of migrating garbage. Reasons never quote the
 * value or its plaintext.
 */
export function decryptOpenfirePassword(value: string, cipher: Blowfish): DecryptResult {
  const hex = value.trim();
  if (!HEX.test(hex) || hex.length % 2 !== 0) return { ok: false, reason: 'is not hexadecimal' };
  if (hex.length < 32 || hex.length % 16 !== 0) return { ok: false, reason: `is ${hex.length} hex digits, not an 8-byte IV followed by whole 8-byte blocks` };
  const bytes = Buffer.from(hex, 'hex');
  const plain = cipher.decryptCbc(bytes.subarray(8), bytes.subarray(0, 8));
  const pad = plain[plain.length - 1] as number;
  if (pad < 1 || pad > 8 || plain.subarray(plain.length - pad).some((b) => b !== pad)) {
    return { ok: false, reason: 'does not decrypt to PKCS#5-padded text (wrong passwordKey or KDF, or a damaged value)' };
  }
  const text = plain.subarray(0, plain.length - pad);
  if (text.length % 2 !== 0) return { ok: false, reason: 'decrypts to an odd number of bytes, not UTF-16 text (wrong passwordKey or KDF?)' };
  let password = '';
  for (let i = 0; i < text.length; i += 2) password += String.fromCharCode(((text[i] as number) << 8) | (text[i + 1] as number));
  if (LONE_SURROGATE.test(password) || /[\u0000-\u001f\u007f\ufffe\uffff]/.test(password)) {
    return { ok: false, reason: 'decrypts to text with control characters or broken UTF-16 (wrong passwordKey or KDF?)' };
  }
  return { ok: true, password };
}

/** The value Openfire's Blowfish.encryptString writes, with a given IV (tests build their vectors with it). */
export function encryptOpenfirePassword(password: string, cipher: Blowfish, iv: Buffer): string {
  const length = ((password.length * 2) & ~7) + 8;
  const buffer = Buffer.alloc(length, length - password.length * 2);
  for (let i = 0; i < password.length; i++) buffer.writeUInt16BE(password.charCodeAt(i), i * 2);
  return iv.toString('hex') + cipher.encryptCbc(buffer, iv).toString('hex');
}
