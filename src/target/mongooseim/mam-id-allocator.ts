// Unique MAM times per archive. MongooseIM's MAM id is (µs << 8) | node and ids only need to be unique per
// archive; when sources store whole seconds, many messages share a time. Like the server, we add 1 µs
// and keep the source order. The state is a pure function of the records seen, so a resumed run (with
// the state saved in its checkpoint) assigns exactly the ids an uninterrupted run would.

/** Archives remembered at once; sources deliver one archive's messages together, so few are live. */
const REMEMBERED_ARCHIVES = 4096;

export interface AllocatorState {
  archive: string;
  micros: string;
}

export class MamIdAllocator {
  private readonly last = new Map<string, bigint>();
  /**
   * The archive of the previous call and its last µs, kept out of the map while it stays the same (one
   * archive's messages come together): the map, in least-recently-used order, is written back on a change.
   */
  private current: string | undefined;
  private currentLast = 0n;

  /** The µs to store for a message of `archive` received at `micros`. */
  next(archive: string, micros: bigint): bigint {
    if (archive === this.current) {
      const assigned = micros <= this.currentLast ? this.currentLast + 1n : micros;
      this.currentLast = assigned;
      return assigned;
    }
    // The archive that was current is already the most recent in the map: set keeps its place.
    if (this.current !== undefined) this.last.set(this.current, this.currentLast);
    const previous = this.last.get(archive);
    const assigned = previous !== undefined && micros <= previous ? previous + 1n : micros;
    if (previous !== undefined) this.last.delete(archive);
    else if (this.last.size >= REMEMBERED_ARCHIVES) this.last.delete(this.last.keys().next().value!);
    this.last.set(archive, assigned);
    this.current = archive;
    this.currentLast = assigned;
    return assigned;
  }

  restore(state: AllocatorState | undefined): void {
    this.last.clear();
    this.current = undefined;
    if (state) this.last.set(state.archive, BigInt(state.micros));
  }
}
