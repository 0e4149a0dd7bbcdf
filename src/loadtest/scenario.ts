// A load test scenario: how many clients, how fast they arrive, how fast they send and query their archives,
// and the bounds that stop the run by itself. Drawn from the source's own usage (its inventory) or flags.
import type { SourceInventory } from '../adapters/source-adapter.js';
import { UsageError } from '../errors.js';

export interface LoadScenario {
  /** Simulated clients (each logs in as one account of the CSV). */
  clients: number;
  /** Clients connect evenly over this many seconds. */
  rampUpSeconds: number;
  /** Messages per second, all clients together (a bound the sender holds, never exceeds). */
  messagesPerSecond: number;
  /** MAM queries per second, all clients together. */
  mamQueriesPerSecond: number;
  /** Stop after this many seconds of sending (after the ramp-up). */
  durationSeconds: number;
  /** And after this many messages, whichever comes first. */
  maxMessages: number;
  /** Where the numbers came from, for the report. */
  basis: string[];
}

export const DEFAULT_SCENARIO: Readonly<Omit<LoadScenario, 'basis'>> = {
  clients: 10,
  rampUpSeconds: 5,
  messagesPerSecond: 10,
  mamQueriesPerSecond: 1,
  durationSeconds: 30,
  maxMessages: 100_000,
};

/**
 * The source's usage: messages per user per hour from the archive's size and time span, scaled to the
 * number of simulated clients; MAM queries at one per user per hour (a client catching up on login).
 */
export function scenarioFromInventory(inventory: SourceInventory, clients: number): Partial<LoadScenario> & { basis: string[] } {
  const messages = inventory.counts['archived-message'] ?? 0;
  const users = inventory.counts.account ?? 0;
  const span = inventory.archiveSpan;
  if (!span || messages === 0 || users === 0) return { basis: ['the source has no dated archive: rates from flags or defaults'] };
  const hours = Math.max(Number(span.last - span.first) / 3.6e9, 1);
  // Each message sits in two archives when both parties are local: count it once.
  const perUserPerHour = messages / 2 / hours / users;
  const messagesPerSecond = Math.max(round((perUserPerHour * clients) / 3600), 0.1);
  return {
    messagesPerSecond,
    mamQueriesPerSecond: Math.max(round(clients / 3600), 0.05),
    basis: [`the source: ${messages.toLocaleString('en')} archived messages over ${round(hours)} h for ${users.toLocaleString('en')} accounts = ${round(perUserPerHour)} messages per user per hour, × ${clients} clients`],
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export function validateScenario(s: LoadScenario): LoadScenario {
  const positive: Array<keyof LoadScenario> = ['clients', 'messagesPerSecond', 'durationSeconds', 'maxMessages'];
  for (const key of positive) if (!(Number(s[key]) > 0)) throw new UsageError(`loadtest: ${key} must be positive, not ${String(s[key])}`);
  if (s.rampUpSeconds < 0 || s.mamQueriesPerSecond < 0) throw new UsageError('loadtest: ramp-up and MAM query rate cannot be negative');
  if (s.clients < 2) throw new UsageError('loadtest: at least 2 clients (they message each other)');
  return s;
}
