// Fingerprints of archived messages for `--merge-archives`: one deployment's XEP-0136 store and its MAM store
// often hold the same conversation. A message is the same one when its archive, peer, direction and body
// match (or its XEP-0359 origin-id does) within a time window; the writer keeps these fingerprints beside
// the archive so the second store's copy is merged instead of written twice.
import { createHash } from 'node:crypto';
import type { Element } from '../xml/element.js';

export interface FingerprintParts {
  /** Personal archives: the peer's bare JID as stored; room archives: the sender's nick. */
  peer: string;
  /** 'I' / 'O' for personal archives, '' for rooms. */
  direction: string;
  stanza: Element;
  originId?: string | null;
}

/**
 * 64-bit fingerprints of one message: of its body (when it has one: a message without a body, such as a chat
 * marker, is never merged), and of its origin-id (when it has one). Signed, to fit a bigint column.
 */
export function messageFingerprints(parts: FingerprintParts): bigint[] {
  const fingerprints: bigint[] = [];
  const body = bodyOf(parts.stanza);
  if (body !== undefined) fingerprints.push(hash64(`b\u0000${parts.peer}\u0000${parts.direction}\u0000${body}`));
  if (parts.originId) fingerprints.push(hash64(`o\u0000${parts.peer}\u0000${parts.direction}\u0000${parts.originId}`));
  return fingerprints;
}

function bodyOf(stanza: Element): string | undefined {
  for (const child of stanza.children) {
    if (typeof child !== 'string' && child.name === 'body' && child.attrs['xml:lang'] === undefined) return child.getText();
  }
  for (const child of stanza.children) if (typeof child !== 'string' && child.name === 'body') return child.getText();
  return undefined;
}

function hash64(text: string): bigint {
  return createHash('sha1').update(text).digest().readBigInt64BE(0);
}
