// XEP-0136 Message Archiving, §5.4 (Collections: the from and to elements): the time of each entry of a
// collection, reconstructed from `start`, `secs` and `utc`. All arithmetic is in UTC µs (bigint): a
// collection that crosses a daylight-saving change is a sum of seconds like any other.
// https://xmpp.org/extensions/xep-0136.html#collections-fromto
import type { CollectionTiming, LegacyCollectionEntry, Micros } from '../records.js';

const MICROS_PER_SECOND = 1_000_000n;

export type EntryTime =
  | { ok: true; micros: Micros }
  | { ok: false; code: 'invalid-secs'; message: string };

export interface TimedCollection {
  start: Micros;
  entries: readonly LegacyCollectionEntry[];
}

/**
 * The time of every entry, in entry order:
 *
 * - `utc` wins wherever it is given (it may precede `start`, XEP-0136 §6.1).
 * - timing 'previous' (the XEP): `secs` counts from the previous message, and from `start` for the first:
 *   `t_prev = start; for each <from>/<to>: t = utc ?? t_prev + secs; t_prev = t`.
 * - timing 'start' (Tigase; ejabberd mod_archive_odbc and mod_archive2 over the protocol): t = start + secs.
 * - A message with neither counts as `secs='0'` (as Tigase reads it).
 * - Notes are not messages: they never move `t_prev`. A note without `utc` gets the time of the message
 *   before it (used only when notes are migrated).
 * - A `secs` that is not a whole number ≥ 0 (xs:nonNegativeInteger) makes that entry an error; the chain
 *   goes on from the previous message as if it were 0, so the rest of the collection keeps its times.
 */
export function resolveEntryTimes(collection: TimedCollection, timing: CollectionTiming = 'previous'): EntryTime[] {
  let previous = collection.start;
  return collection.entries.map((entry): EntryTime => {
    const isMessage = entry.direction !== 'note';
    if (entry.utc !== undefined) {
      if (isMessage) previous = entry.utc;
      return { ok: true, micros: entry.utc };
    }
    if (entry.secs === undefined) return { ok: true, micros: isMessage && timing === 'start' ? collection.start : previous };
    if (!Number.isSafeInteger(entry.secs) || entry.secs < 0) {
      return { ok: false, code: 'invalid-secs', message: `secs=${JSON.stringify(entry.secs)} is not a whole number of seconds ≥ 0` };
    }
    const base = timing === 'start' ? collection.start : previous;
    const micros = base + BigInt(entry.secs) * MICROS_PER_SECOND;
    if (isMessage) previous = micros;
    return { ok: true, micros };
  });
}

/** Parses the text of a `secs` attribute: a decimal integer, else NaN (which resolveEntryTimes rejects). */
export function parseSecs(text: string): number {
  return /^[+-]?\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
}
