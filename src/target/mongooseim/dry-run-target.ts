// `run --dry-run`: every record is read, transformed and encoded exactly as in a real run (compression too,
// in the worker thread as a real run does it); nothing is written and checkpoints live in memory, so the
// rejects and counts are the ones a real run would give.
import { randomBytes } from 'node:crypto';
import type { MigrationRecord } from '../../records.js';
import type { ArchiveSummary, Checkpoint, CheckpointKey, CheckpointUpdate, EncodedRecord, MigrationTarget, PassLedger, TargetInventory, WriteOutcome } from '../target.js';
import { CompressionQueue } from './compression-queue.js';
import { MongooseimRowEncoder, SUPPORTED_KINDS } from './row-encoder.js';
import type { TargetSettings } from './target-settings.js';

export class DryRunTarget implements MigrationTarget {
  readonly supportedKinds = SUPPORTED_KINDS;
  private readonly encoder: MongooseimRowEncoder;
  private readonly checkpoints = new Map<string, Checkpoint>();
  private readonly ledgers = new Map<string, PassLedger>();
  private readonly compression = new CompressionQueue();

  constructor(readonly displayName: string, settings: TargetSettings) {
    this.encoder = new MongooseimRowEncoder(settings, randomBytes(32));
    this.encoder.deferCompression = true;
  }

  encode(record: MigrationRecord): EncodedRecord | Promise<EncodedRecord> {
    const encoded = this.encoder.encode(record);
    if (!(encoded instanceof Promise)) this.compression.add(encoded);
    return encoded;
  }

  batchComplete(): void {
    this.compression.dispatch();
  }

  async beginStream(key: CheckpointKey): Promise<Checkpoint | undefined> {
    this.encoder.allocator.restore(undefined);
    return this.checkpoints.get(keyOf(key));
  }

  async write(batch: EncodedRecord[], checkpoint: CheckpointUpdate | undefined): Promise<WriteOutcome> {
    await this.compression.settle(batch);
    const written: WriteOutcome['written'] = {};
    for (const encoded of batch) written[encoded.kind] = (written[encoded.kind] ?? 0) + 1;
    if (checkpoint) await this.saveCheckpoint(checkpoint);
    return { written, present: {} };
  }

  async saveCheckpoint(checkpoint: CheckpointUpdate): Promise<void> {
    this.checkpoints.set(keyOf(checkpoint.key), { cursor: checkpoint.cursor, completed: checkpoint.completed, records: checkpoint.records });
  }

  async listCheckpoints(): Promise<Array<CheckpointKey & Checkpoint>> {
    return [];
  }

  async loadPassLedger(key: CheckpointKey): Promise<PassLedger | undefined> {
    return this.ledgers.get(keyOf(key));
  }

  async savePassLedger(key: CheckpointKey, ledger: PassLedger): Promise<void> {
    this.ledgers.set(keyOf(key), ledger);
  }

  async *archiveSummaries(_only?: readonly string[]): AsyncIterable<ArchiveSummary> {}

  async inventory(): Promise<TargetInventory> {
    return { tables: {} };
  }

  close(): Promise<void> {
    return this.compression.close();
  }
}

function keyOf(key: CheckpointKey): string {
  return `${key.migration}\u0000${key.stream}\u0000${key.shard}`;
}
