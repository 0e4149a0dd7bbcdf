// Compressed-eterm messages the row encoder left plain (`deferredDeflate`) go to the compression worker
// (src/encoding/deflate-pool.ts) a chunk at a time as they are encoded, so the worker runs alongside the
// encoding of the rest of their batch and alongside the previous batch's write. `settle` makes a batch's
// messages final: exactly the bytes encodeExml with compression gives.
import { DeflatePool } from '../../encoding/deflate-pool.js';
import { compressedFromPlain } from '../../encoding/etf.js';
import type { EncodedRecord, TargetRow } from '../target.js';

/** Messages sent to the worker at once while a batch is being encoded. */
const CHUNK = 256;

export class CompressionQueue {
  private readonly pool = new DeflatePool();
  /** Encoded messages not yet sent to the worker. */
  private waiting: EncodedRecord[] = [];
  /** Compression under way, per record. */
  private readonly under = new WeakMap<EncodedRecord, Promise<void>>();

  /** A freshly encoded record: queued when it holds a message to compress, sent with a full chunk. */
  add(encoded: EncodedRecord): void {
    if (!encoded.rows.some((row) => row.deferredDeflate)) return;
    this.waiting.push(encoded);
    if (this.waiting.length >= CHUNK) this.dispatch();
  }

  /** Sends whatever is queued (a batch is complete: its last messages need not wait for a full chunk). */
  dispatch(): void {
    const chunk = this.waiting;
    if (chunk.length === 0) return;
    this.waiting = [];
    const compressing = this.compress(chunk);
    compressing.catch(() => undefined); // surfaced by settle, which awaits it
    for (const encoded of chunk) this.under.set(encoded, compressing);
  }

  /** Waits for the batch's messages under way, then compresses any the queue never saw. */
  async settle(batch: EncodedRecord[]): Promise<void> {
    this.dispatch();
    const started = new Set<Promise<void>>();
    for (const encoded of batch) {
      const compressing = this.under.get(encoded);
      if (compressing) started.add(compressing);
    }
    for (const compressing of started) await compressing;
    await this.compress(batch);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async compress(batch: EncodedRecord[]): Promise<void> {
    const rows: TargetRow[] = [];
    for (const encoded of batch) for (const row of encoded.rows) if (row.deferredDeflate) rows.push(row);
    if (rows.length === 0) return;
    // Taken now, before the await: a later call on the same records finds nothing left to do. Should the
    // worker fail, the rows stay plain but settle throws, so the batch is never written.
    for (const row of rows) delete row.deferredDeflate;
    const zs = await this.pool.deflateAll(rows.map((row) => (row.message as Buffer).subarray(1)));
    for (let i = 0; i < rows.length; i++) rows[i]!.message = compressedFromPlain(rows[i]!.message as Buffer, zs[i]!);
  }
}
