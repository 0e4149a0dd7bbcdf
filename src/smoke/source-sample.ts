// What the source holds for the sampled accounts, read through the source adapter (the same records `run`
// migrates, after the same transforms): whether the account exists, its roster, and the last N messages
// of its personal archive. Memory stays bounded by the sample: N messages per sampled account.
import type { SourceAdapter } from '../adapters/source-adapter.js';
import { childText } from '../xml/element.js';
import { transformRecord } from '../pipeline/transforms.js';
import { bareJidString, type Ask, type Subscription } from '../records.js';
import { parseJid } from '../jid.js';

export interface ExpectedRosterItem {
  contact: string;
  name: string;
  subscription: Subscription;
  /** An outbound request is pending (ask out or both). */
  askOut: boolean;
  groups: string[];
}

export interface ComparableMessage {
  direction: 'in' | 'out';
  /** The peer's bare JID. */
  peer: string;
  /** Milliseconds since the epoch. */
  ms: number;
  body: string;
}

export interface SourceAccountSample {
  exists: boolean;
  roster: ExpectedRosterItem[];
  /** The last messages with a body, oldest first. */
  messages: ComparableMessage[];
}

function bareOf(raw: string): string {
  try {
    const jid = parseJid(raw);
    return jid.local ? `${jid.local}@${jid.domain}` : jid.domain;
  } catch {
    return raw;
  }
}

/** A roster item a roster get returns: everything but a stranger's pending inbound request. */
function inRoster(subscription: Subscription, ask: Ask): boolean {
  return !(subscription === 'none' && ask === 'in');
}

export async function sampleSource(source: SourceAdapter, jids: readonly string[], lastMessages: number): Promise<Map<string, SourceAccountSample>> {
  const samples = new Map<string, SourceAccountSample>(jids.map((j) => [j, { exists: false, roster: [], messages: [] }]));
  const wanted = new Set(['account', 'roster-item', 'archived-message', 'legacy-collection']);
  for (const stream of source.streams()) {
    if (!stream.kinds.some((k) => wanted.has(k))) continue;
    for await (const item of source.read(stream.name)) {
      if (!('record' in item)) continue;
      for (const record of transformRecord(item.record)) {
        if (record.kind === 'account') {
          const sample = samples.get(bareJidString(record.jid));
          if (sample) sample.exists = true;
        } else if (record.kind === 'roster-item') {
          const sample = samples.get(bareJidString(record.owner));
          if (sample && inRoster(record.subscription, record.ask)) {
            sample.roster.push({ contact: record.contact, name: record.name, subscription: record.subscription, askOut: record.ask === 'out' || record.ask === 'both', groups: [...record.groups].sort() });
          }
        } else if (record.kind === 'archived-message' && record.archive.type === 'user') {
          const sample = samples.get(bareJidString(record.archive.jid));
          const body = childText(record.stanza, 'body');
          if (!sample || body === undefined) continue;
          sample.messages.push({ direction: record.direction ?? 'in', peer: bareOf(record.remote), ms: Number(record.timestamp / 1000n), body });
          // Archives arrive in archive order, but keep the newest N whatever the order.
          if (sample.messages.length > lastMessages * 2) trim(sample.messages, lastMessages);
        }
      }
    }
  }
  for (const sample of samples.values()) trim(sample.messages, lastMessages);
  return samples;
}

function trim(messages: ComparableMessage[], keep: number): void {
  messages.sort((a, b) => a.ms - b.ms);
  if (messages.length > keep) messages.splice(0, messages.length - keep);
}
