// MongooseIM `users.pass_details`: the SCRAM serialisation of mongoose_scram:serialize/1 and deserialize/1, with
// keys per RFC 5802. https://github.com/esl/MongooseIM/blob/6.8.0/src/mongoose_scram.erl
// https://github.com/esl/MongooseIM/blob/6.8.0/doc/developers-guide/SCRAM-serialization.md
// https://www.rfc-editor.org/rfc/rfc5802#section-3
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { RecordError } from '../errors.js';
import type { ScramAlgorithm, ScramHash } from '../records.js';

const MULTI_PREFIX = '==MULTI_SCRAM==,';
const LEGACY_PREFIX = '==SCRAM==,';

/**
 * The hashes MongooseIM knows, in the order it writes them, with their 10-byte section prefixes
 * (mongoose_scram:supported_sha_types/0). PLAIN logins check the first one present.
 */
const SECTIONS: ReadonlyArray<{ algorithm: ScramAlgorithm; prefix: string }> = [
  { algorithm: 'sha1', prefix: '===SHA1===' },
  { algorithm: 'sha224', prefix: '==SHA224==' },
  { algorithm: 'sha256', prefix: '==SHA256==' },
  { algorithm: 'sha384', prefix: '==SHA384==' },
  { algorithm: 'sha512', prefix: '==SHA512==' },
];

/** Digest length in bytes: StoredKey and ServerKey are exactly this long. */
export const SCRAM_KEY_BYTES: Readonly<Record<ScramAlgorithm, number>> = {
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

export interface DroppedScramHash {
  hash: ScramHash;
  /** Why it is not in `passDetails`, phrased for the operator's report. */
  reason: string;
}

export interface FormattedPassDetails {
  /** The `==MULTI_SCRAM==` text for `users.pass_details` (the row's `password` column is then `''`). */
  passDetails: string;
  /** Hashes left out, each with the reason; the account still logs in with the others. */
  dropped: DroppedScramHash[];
}

/**
 * Serialises SCRAM hashes as MongooseIM's current `==MULTI_SCRAM==` form:
 * `==MULTI_SCRAM==,<iterations>,===SHA1===<salt>|<stored>|<server>,==SHA256==…`, each value standard padded
 * base64 of the raw bytes, sections in MongooseIM's order (SHA-1, 224, 256, 384, 512) whatever the input order.
 *
 * The format has one iteration count for all hashes, so the count of the strongest hash is kept and hashes
 * with another count are dropped. Also dropped: a second hash of the same algorithm (the first wins), keys whose
 * length does not fit the algorithm, an empty salt, and a count that is not a positive integer.
 *
 * Throws RecordError `scram-unusable` when no hash is left: the account has no SCRAM credential MongooseIM
 * could use.
 */
export function formatPassDetails(hashes: ScramHash[]): FormattedPassDetails {
  const dropped: DroppedScramHash[] = [];
  const byAlgorithm = new Map<ScramAlgorithm, ScramHash>();
  for (const hash of hashes) {
    const problem = invalidHashReason(hash);
    if (problem) dropped.push({ hash, reason: problem });
    else if (byAlgorithm.has(hash.algorithm)) dropped.push({ hash, reason: `a second ${hash.algorithm} hash; the first one is kept` });
    else byAlgorithm.set(hash.algorithm, hash);
  }
  const kept = SECTIONS.filter((s) => byAlgorithm.has(s.algorithm)).map((s) => ({ ...s, hash: byAlgorithm.get(s.algorithm)! }));
  const strongest = kept[kept.length - 1];
  if (!strongest) {
    const why = dropped.map((d) => `${d.hash.algorithm}: ${d.reason}`).join('; ');
    throw new RecordError('scram-unusable', `no SCRAM hash can be written to pass_details${why ? ` (${why})` : ''}`);
  }
  const iterations = strongest.hash.iterations;
  let text = `${MULTI_PREFIX}${iterations}`;
  for (const { prefix, hash } of kept) {
    if (hash.iterations !== iterations) {
      dropped.push({
        hash,
        reason: `${hash.iterations} iterations, but pass_details holds one count and keeps ${iterations} of the strongest hash (${strongest.algorithm})`,
      });
      continue;
    }
    text += `,${prefix}${b64(hash.salt)}|${b64(hash.storedKey)}|${b64(hash.serverKey)}`;
  }
  return { passDetails: text, dropped };
}

export interface ParsedPassDetails {
  /** `multi` for `==MULTI_SCRAM==`, `legacy` for MongooseIM ≤ 3.6.2's SHA-1-only `==SCRAM==`. */
  format: 'multi' | 'legacy';
  iterations: number;
  /** In the order of the text. */
  hashes: ScramHash[];
  /** Multi sections whose prefix MongooseIM does not know; the server skips them silently. */
  ignoredSections: string[];
}

/**
 * Parses `pass_details` as MongooseIM reads it, for verification and tests. Accepts what the server accepts:
 * unknown multi sections are skipped, a repeated algorithm keeps its last section, and the count may carry a sign
 * as Erlang's binary_to_integer allows. Throws RecordError `scram-corrupted` when the text has neither prefix (the
 * server's `corrupted_scram`) and `scram-incorrect` when it is malformed after one (`incorrect_scram`, or a crash
 * inside the server, which also means that user cannot log in). Base64 must be standard and padded, as MongooseIM
 * writes it.
 */
export function parsePassDetails(text: string): ParsedPassDetails {
  if (text.startsWith(LEGACY_PREFIX)) {
    const parts = text.slice(LEGACY_PREFIX.length).split(',');
    if (parts.length !== 4) throw incorrect(`the legacy form has ${parts.length} fields after ==SCRAM==, not 4`);
    const [storedKey, serverKey, salt, count] = parts as [string, string, string, string];
    const iterations = parseCount(count);
    return {
      format: 'legacy',
      iterations,
      hashes: [{ algorithm: 'sha1', iterations, salt: unb64(salt, 'salt'), storedKey: unb64(storedKey, 'stored key'), serverKey: unb64(serverKey, 'server key') }],
      ignoredSections: [],
    };
  }
  if (text.startsWith(MULTI_PREFIX)) {
    const [count, ...sections] = text.slice(MULTI_PREFIX.length).split(',') as [string, ...string[]];
    const iterations = parseCount(count);
    const byAlgorithm = new Map<ScramAlgorithm, ScramHash>();
    const ignoredSections: string[] = [];
    for (const section of sections) {
      const known = SECTIONS.find((s) => section.startsWith(s.prefix));
      if (!known) {
        ignoredSections.push(section);
        continue;
      }
      const fields = section.slice(known.prefix.length).split('|');
      if (fields.length !== 3) throw incorrect(`the ${known.algorithm} section has ${fields.length} fields, not salt|stored|server`);
      const [salt, storedKey, serverKey] = fields as [string, string, string];
      byAlgorithm.delete(known.algorithm);
      byAlgorithm.set(known.algorithm, {
        algorithm: known.algorithm,
        iterations,
        salt: unb64(salt, `${known.algorithm} salt`),
        storedKey: unb64(storedKey, `${known.algorithm} stored key`),
        serverKey: unb64(serverKey, `${known.algorithm} server key`),
      });
    }
    return { format: 'multi', iterations, hashes: [...byAlgorithm.values()], ignoredSections };
  }
  throw new RecordError('scram-corrupted', 'pass_details starts with neither ==MULTI_SCRAM==, nor ==SCRAM==,; MongooseIM reports corrupted_scram and the user cannot log in');
}

/**
 * Derives one SCRAM hash per RFC 5802 with node:crypto: SaltedPassword = PBKDF2-HMAC-H(password, salt, i),
 * StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key").
 *
 * The password is used as its UTF-8 bytes. MongooseIM first applies stringprep's resourceprep (not SASLprep); the
 * two are the identity on printable ASCII, so callers deriving keys for other passwords must prep them first or
 * store plaintext instead.
 */
export function deriveScram(password: string, salt: Buffer, iterations: number, algorithm: ScramAlgorithm): ScramHash {
  const saltedPassword = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, SCRAM_KEY_BYTES[algorithm], algorithm);
  const clientKey = createHmac(algorithm, saltedPassword).update('Client Key').digest();
  return {
    algorithm,
    iterations,
    salt: Buffer.from(salt),
    storedKey: createHash(algorithm).update(clientKey).digest(),
    serverKey: createHmac(algorithm, saltedPassword).update('Server Key').digest(),
  };
}

function invalidHashReason(hash: ScramHash): string | undefined {
  const size = SCRAM_KEY_BYTES[hash.algorithm];
  if (size === undefined) return `MongooseIM has no SCRAM hash ${String(hash.algorithm)}`;
  if (!Number.isSafeInteger(hash.iterations) || hash.iterations < 1) return `iteration count ${hash.iterations} is not a positive integer`;
  if (hash.salt.length === 0) return 'the salt is empty';
  if (hash.storedKey.length !== size) return `the stored key is ${hash.storedKey.length} bytes; ${hash.algorithm} keys are ${size}`;
  if (hash.serverKey.length !== size) return `the server key is ${hash.serverKey.length} bytes; ${hash.algorithm} keys are ${size}`;
  return undefined;
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64');
}

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function unb64(text: string, what: string): Buffer {
  // Buffer.from(…, 'base64') skips bad characters silently; the server would read other bytes or crash.
  if (!STANDARD_BASE64.test(text)) throw incorrect(`the ${what} is not standard padded base64`);
  return Buffer.from(text, 'base64');
}

function parseCount(text: string): number {
  if (!/^[+-]?[0-9]+$/.test(text)) throw incorrect(`the iteration count ${JSON.stringify(text)} is not an integer`);
  return Number(text);
}

function incorrect(detail: string): RecordError {
  return new RecordError('scram-incorrect', `pass_details is malformed: ${detail}; the user cannot log in`);
}
