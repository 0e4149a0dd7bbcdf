// Compression off the main thread. The main thread parses, transforms and encodes; zlib level 6 of every
// archived message was a sixth of its time. A worker thread deflates a whole batch's terms in one message
// (one copy in, one copy out), while the main thread encodes the next batch: on two cores the work overlaps.
// Each input gets a fresh zlib state (deflateSync): the output must depend on the input alone, never on
// what was compressed before it (see etf.ts), so a replayed batch gives the same bytes.
import { Worker } from 'node:worker_threads';
import { deflateSync } from 'node:zlib';

// Plain CommonJS so it runs the same from the TypeScript sources (tests) and from dist/, with no loader.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
parentPort.on('message', ({ id, data, ends }) => {
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const parts = [];
  const outEnds = new Uint32Array(ends.length);
  let start = 0, total = 0;
  for (let i = 0; i < ends.length; i++) {
    const z = zlib.deflateSync(input.subarray(start, ends[i]));
    parts.push(z);
    total += z.length;
    outEnds[i] = total;
    start = ends[i];
  }
  // Its own ArrayBuffer (never Node's shared pool), so it can be transferred.
  const joined = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const part of parts) at += part.copy(joined, at);
  parentPort.postMessage({ id, data: joined, ends: outEnds }, [joined.buffer]);
});
`;

interface Pending {
  resolve(outputs: Buffer[]): void;
  reject(err: Error): void;
}

export class DeflatePool {
  private worker: Worker | undefined;
  private failed = false;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  /** The zlib stream (level 6) of each input, in order: byte for byte deflateSync's. */
  async deflateAll(inputs: Buffer[]): Promise<Buffer[]> {
    if (inputs.length === 0) return [];
    const worker = this.start();
    if (!worker) return inputs.map((input) => deflateSync(input));
    const ends = new Uint32Array(inputs.length);
    let total = 0;
    for (let i = 0; i < inputs.length; i++) ends[i] = total += inputs[i]!.length;
    // Its own ArrayBuffer (never Node's shared pool, which would go with it), transferred to the worker.
    const data = Buffer.allocUnsafeSlow(total);
    let at = 0;
    for (const input of inputs) at += input.copy(data, at);
    const id = this.nextId++;
    try {
      return await new Promise<Buffer[]>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        // Referenced only while it works: an idle worker never keeps the process alive.
        worker.ref();
        worker.postMessage({ id, data, ends }, [data.buffer as ArrayBuffer]);
      });
    } catch {
      // The worker died: this batch, and every later one, is compressed here.
      return inputs.map((input) => deflateSync(input));
    }
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private start(): Worker | undefined {
    if (this.worker || this.failed) return this.worker;
    try {
      // A small heap: the worker holds one batch at a time, and a lazy collector would only grow the process's RSS.
      const worker = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 } });
      worker.unref();
      worker.on('message', ({ id, data, ends }: { id: number; data: Uint8Array; ends: Uint32Array }) => {
        const waiting = this.pending.get(id);
        if (!waiting) return;
        this.pending.delete(id);
        if (this.pending.size === 0) worker.unref();
        const all = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        const outputs = new Array<Buffer>(ends.length);
        let start = 0;
        for (let i = 0; i < ends.length; i++) {
          outputs[i] = all.subarray(start, ends[i]);
          start = ends[i]!;
        }
        waiting.resolve(outputs);
      });
      const fail = (err: Error): void => {
        this.failed = true;
        this.worker = undefined;
        for (const waiting of this.pending.values()) waiting.reject(err);
        this.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (this.worker === worker) fail(new Error(`the compression worker exited with code ${code}`));
      });
      this.worker = worker;
    } catch {
      this.failed = true;
    }
    return this.worker;
  }
}
