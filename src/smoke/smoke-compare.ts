// Source against target for one account: roster items and the last archived messages. Pure.
// Message bodies never enter the report: a message is named by direction, peer, time, length and a hash.
import { createHash } from 'node:crypto';
import type { ComparableMessage, ExpectedRosterItem } from './source-sample.js';

export interface RosterDifference {
  contact: string;
  problem: 'missing in target' | 'not in source' | 'differs';
  /** For 'differs': which fields, e.g. `subscription both → none`. */
  detail?: string;
}

export interface MessageRef {
  direction: 'in' | 'out';
  peer: string;
  time: string;
  bodyLength: number;
  /** The first 12 hex digits of the body's SHA-256: identifies it without revealing it. */
  bodyHash: string;
}

export interface ArchiveComparison {
  /** Source messages compared (the last N with a body). */
  compared: number;
  matched: number;
  missing: MessageRef[];
  unexpected: MessageRef[];
}

export function compareRoster(source: ExpectedRosterItem[], target: ExpectedRosterItem[]): RosterDifference[] {
  const differences: RosterDifference[] = [];
  const byContact = new Map(target.map((t) => [t.contact, t]));
  for (const s of source) {
    const t = byContact.get(s.contact);
    if (!t) {
      differences.push({ contact: s.contact, problem: 'missing in target' });
      continue;
    }
    byContact.delete(s.contact);
    const changed: string[] = [];
    if (s.subscription !== t.subscription) changed.push(`subscription ${s.subscription} → ${t.subscription}`);
    if (s.name !== t.name) changed.push(`name ${JSON.stringify(s.name)} → ${JSON.stringify(t.name)}`);
    if (s.askOut !== t.askOut) changed.push(`pending outbound request ${s.askOut} → ${t.askOut}`);
    if (s.groups.join('\n') !== t.groups.join('\n')) changed.push(`groups [${s.groups.join(', ')}] → [${t.groups.join(', ')}]`);
    if (changed.length > 0) differences.push({ contact: s.contact, problem: 'differs', detail: changed.join('; ') });
  }
  for (const t of byContact.values()) differences.push({ contact: t.contact, problem: 'not in source' });
  return differences;
}

export function messageRef(m: ComparableMessage): MessageRef {
  return { direction: m.direction, peer: m.peer, time: new Date(m.ms).toISOString(), bodyLength: [...m.body].length, bodyHash: createHash('sha256').update(m.body).digest('hex').slice(0, 12) };
}

/**
 * Matches the source's last messages with the target's by direction, peer and body, with times at most
 * `toleranceMs` apart (servers store seconds, milliseconds or microseconds). Target messages older than the
 * source window are outside the comparison: a page that reaches further back because one is missing is normal.
 */
export function compareArchive(source: ComparableMessage[], target: ComparableMessage[], toleranceMs = 2000): ArchiveComparison {
  const unmatched = [...target];
  const missing: MessageRef[] = [];
  let matched = 0;
  for (const s of source) {
    const index = unmatched.findIndex((t) => t.direction === s.direction && t.peer === s.peer && t.body === s.body && Math.abs(t.ms - s.ms) <= toleranceMs);
    if (index === -1) missing.push(messageRef(s));
    else {
      unmatched.splice(index, 1);
      matched++;
    }
  }
  const oldest = source.length > 0 ? Math.min(...source.map((s) => s.ms)) - toleranceMs : Number.NEGATIVE_INFINITY;
  const unexpected = unmatched.filter((t) => t.ms >= oldest).map(messageRef);
  return { compared: source.length, matched, missing, unexpected };
}
