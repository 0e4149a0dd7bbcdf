// Time order across XEP-0136 collections. MongooseIM's MAM id is the receive time (storage-facts §1.5.1) and
// the writer breaks equal times by adding 1 µs in delivery order, so every archive must reach it in time
// order. Collections of one owner overlap (two conversations at once, utc overrides that reach back), so
// their entries are merged here and handed on as slices: runs of one collection's entries, each with its
// absolute time in `utc`. Order: time, then the order the collections were added, then entry order.
import type { LegacyCollectionEntry, LegacyCollectionRecord, Micros } from '../records.js';

/** Entries per slice at most: bounds the rows one source record fans out into. */
export const MAX_SLICE_ENTRIES = 200;

interface CollectionState {
  record: LegacyCollectionRecord;
  /** The first message (in time order) of this collection has been handed out. */
  opened: boolean;
}

interface Pending {
  micros: Micros;
  seq: number;
  index: number;
  entry: LegacyCollectionEntry;
  state: CollectionState;
}

function before(a: Pending, b: Pending): boolean {
  if (a.micros !== b.micros) return a.micros < b.micros;
  if (a.seq !== b.seq) return a.seq < b.seq;
  return a.index < b.index;
}

/**
 * Collects the collections of one archive and hands their entries out in time order, as slices.
 * `add` what was read; `drain(watermark)` once nothing still to be read can be earlier than the watermark;
 * `drain()` at the end of the archive. Memory: the entries added and not yet drained.
 */
export class TimeOrderedSlicer {
  private readonly heap: Pending[] = [];
  private seq = 0;

  constructor(private readonly maxSliceEntries = MAX_SLICE_ENTRIES) {}

  /** Entries waiting to be drained. */
  get size(): number {
    return this.heap.length;
  }

  /**
   * Adds a collection; `times[i]` is the absolute time of `entries[i]` (resolveEntryTimes), undefined for
   * an entry the caller rejected (it is left out).
   */
  add(collection: LegacyCollectionRecord, times: ReadonlyArray<Micros | undefined>): void {
    const state: CollectionState = { record: collection, opened: false };
    const seq = this.seq++;
    collection.entries.forEach((entry, index) => {
      const micros = times[index];
      if (micros !== undefined) this.push({ micros, seq, index, entry, state });
    });
  }

  /** Slices of every entry earlier than `watermark` (all entries when it is undefined), in time order. */
  drain(watermark?: Micros): LegacyCollectionRecord[] {
    const slices: LegacyCollectionRecord[] = [];
    let current: { state: CollectionState; entries: LegacyCollectionEntry[]; opens: boolean } | undefined;
    const close = (): void => {
      if (!current) return;
      const { kind, owner, with: withJid, start, thread, subject, groupchat, timing, notes, location } = current.state.record;
      const slice: LegacyCollectionRecord = { kind, owner, with: withJid, start, groupchat, entries: current.entries, startsCollection: current.opens, location };
      if (thread !== undefined) slice.thread = thread;
      if (subject !== undefined) slice.subject = subject;
      if (timing !== undefined) slice.timing = timing;
      if (notes !== undefined) slice.notes = notes;
      slices.push(slice);
      current = undefined;
    };
    while (this.heap.length > 0 && (watermark === undefined || this.heap[0]!.micros < watermark)) {
      const next = this.pop();
      if (current && (current.state !== next.state || current.entries.length >= this.maxSliceEntries)) close();
      current ??= { state: next.state, entries: [], opens: false };
      const entry: LegacyCollectionEntry = { ...next.entry, utc: next.micros };
      delete entry.secs;
      if (entry.direction !== 'note' && !next.state.opened) {
        next.state.opened = true;
        current.opens = true;
      }
      current.entries.push(entry);
    }
    close();
    return slices;
  }

  private push(item: Pending): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Pending {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}
