// The client side of SASL PLAIN (RFC 4616) and SCRAM-SHA-1/-256/-512 without channel binding (RFC 5802,
// RFC 7677). Pure apart from the client nonce.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type ScramMechanism = 'SCRAM-SHA-1' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export type ClientMechanism = ScramMechanism | 'PLAIN';

/** Strongest first: the order a client that implements all of them prefers. */
export const CLIENT_MECHANISMS: readonly ClientMechanism[] = ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'];

const DIGEST: Record<ScramMechanism, { hash: string; bytes: number }> = {
  'SCRAM-SHA-1': { hash: 'sha1', bytes: 20 },
  'SCRAM-SHA-256': { hash: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { hash: 'sha512', bytes: 64 },
};

export function plainMessage(username: string, password: string): Buffer {
  return Buffer.from(`\0${username}\0${password}`, 'utf8');
}

/** RFC 5802 §5.1 saslname: '=' and ',' escaped. */
function saslName(username: string): string {
  return username.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function attributes(message: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) map.set(part[0]!, part.slice(2));
  }
  return map;
}

export class ScramClient {
  private readonly clientFirstBare: string;
  private serverSignature: Buffer | undefined;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly username: string,
    private readonly password: string,
    private readonly nonce = randomBytes(18).toString('base64'),
  ) {
    this.clientFirstBare = `n=${saslName(username)},r=${this.nonce}`;
  }

  /** The initial response: GS2 header (no channel binding, no authzid) and client-first-message-bare. */
  first(): Buffer {
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  /** The client-final-message for the server-first-message; throws on a malformed or foreign challenge. */
  final(serverFirst: Buffer): Buffer {
    const text = serverFirst.toString('utf8');
    const attrs = attributes(text);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!nonce || !nonce.startsWith(this.nonce) || !salt || !Number.isInteger(iterations) || iterations < 1) throw new Error('malformed SCRAM server-first-message');
    const { hash, bytes } = DIGEST[this.mechanism];
    const salted = pbkdf2Sync(Buffer.from(this.password, 'utf8'), Buffer.from(salt, 'base64'), iterations, bytes, hash);
    const clientKey = createHmac(hash, salted).update('Client Key').digest();
    const storedKey = createHash(hash).update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${text},${withoutProof}`;
    const signature = createHmac(hash, storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
    const serverKey = createHmac(hash, salted).update('Server Key').digest();
    this.serverSignature = createHmac(hash, serverKey).update(authMessage).digest();
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** Whether the server-final-message proves the server knew the stored keys. */
  verify(serverFinal: Buffer): boolean {
    const v = attributes(serverFinal.toString('utf8')).get('v');
    if (!v || !this.serverSignature) return false;
    const given = Buffer.from(v, 'base64');
    return given.length === this.serverSignature.length && timingSafeEqual(given, this.serverSignature);
  }
}
