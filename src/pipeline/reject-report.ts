// The reject report: NDJSON, one line per record that could not be migrated, with its source location,
// the reason and what is safe to show of the record. The file can hold private messages: mode 0600.
import { open, type FileHandle } from 'node:fs/promises';
import { redactSecrets } from '../errors.js';
import type { MigrationRecord, SourceLocation } from '../records.js';
import { bareJidString } from '../records.js';

export interface RejectEntry {
  stream: string;
  kind?: string;
  code: string;
  reason: string;
  location?: SourceLocation;
  /** What the record was, secrets removed. */
  record?: Record<string, unknown>;
  /** The offending input, when the source could show it (never a credential). */
  excerpt?: string;
}

export interface RejectSink {
  add(entry: RejectEntry): Promise<void>;
  readonly count: number;
  close(): Promise<void>;
}

/** A printable, secret-free description of a record for the reject report. */
export function describeRecord(record: MigrationRecord): Record<string, unknown> {
  switch (record.kind) {
    case 'account':
      return { kind: record.kind, jid: bareJidString(record.jid), credential: record.credential.type };
    case 'archived-message':
      return {
        kind: record.kind,
        archive: bareJidString(record.archive.jid),
        timestamp: record.timestamp.toString(),
        remote: record.remote,
        stanza: record.stanza.toString(),
      };
    case 'roster-item':
      return { kind: record.kind, owner: bareJidString(record.owner), contact: record.contact };
    case 'offline-message':
      return { kind: record.kind, owner: bareJidString(record.owner), stanza: record.stanza.toString() };
    default: {
      const owner = 'owner' in record ? bareJidString(record.owner) : 'room' in record ? bareJidString(record.room) : undefined;
      return { kind: record.kind, owner };
    }
  }
}

export class FileRejectSink implements RejectSink {
  private handle: FileHandle | undefined;
  count = 0;

  constructor(readonly path: string) {}

  async add(entry: RejectEntry): Promise<void> {
    this.handle ??= await open(this.path, 'a', 0o600);
    this.count++;
    const line = redactSecrets(JSON.stringify({ time: new Date().toISOString(), ...entry }));
    await this.handle.write(`${line}\n`);
  }

  /** Flushes to disk before the checkpoint that passes these records commits. */
  async sync(): Promise<void> {
    await this.handle?.sync();
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

export class MemoryRejectSink implements RejectSink {
  readonly entries: RejectEntry[] = [];
  get count(): number {
    return this.entries.length;
  }
  async add(entry: RejectEntry): Promise<void> {
    this.entries.push(entry);
  }
  async close(): Promise<void> {}
}
