// What a `--mapping` does to a source, for `plan`: records per kind per domain before and after the renames,
// counted over exactly what `run` would hand the writer (the transforms applied, XEP-0136 collections fanned
// out), and the checks an operator should see before running: renames that match nothing, and renames onto
// a domain the source already has (two users of one name would become one).
import type { SourceAdapter } from '../adapters/source-adapter.js';
import { transformRecord } from '../pipeline/transforms.js';
import type { RecordKind } from '../records.js';
import { storedDomainOf, type DomainMapping } from './domain-mapping.js';

export interface DomainCount {
  domain: string;
  records: number;
  kinds: Partial<Record<RecordKind, number>>;
}

export interface DomainCensus {
  /** The mapping file. */
  mapping: string;
  /** Every rename, `old → new`, as the file gives them (after nameprep). */
  renames: Array<{ from: string; to: string }>;
  /** Records per domain (and per kind) as the source has them, sorted by domain. */
  before: DomainCount[];
  /** The same records after the renames: what the target will hold. */
  after: DomainCount[];
  /** Mapped domains with no record in the source: the rename does nothing (a typo, or another source's domain). */
  unused: string[];
  /** New domains the source already has records of, un-renamed: their users and rooms merge with the renamed ones. */
  merges: string[];
}

/** Reads the whole source once (a full read: plan takes as long as reading the source when given a mapping). */
export async function domainCensus(source: SourceAdapter, mapping: DomainMapping): Promise<DomainCensus> {
  const before = new Map<string, DomainCount>();
  const after = new Map<string, DomainCount>();
  const add = (counts: Map<string, DomainCount>, domain: string, kind: RecordKind): void => {
    let entry = counts.get(domain);
    if (!entry) counts.set(domain, (entry = { domain, records: 0, kinds: {} }));
    entry.records++;
    entry.kinds[kind] = (entry.kinds[kind] ?? 0) + 1;
  };
  for (const stream of source.streams()) {
    for await (const item of source.read(stream.name)) {
      if ('reject' in item) continue;
      for (const record of transformRecord(item.record)) add(before, storedDomainOf(record), record.kind);
      for (const record of transformRecord(item.record, { domains: mapping })) add(after, storedDomainOf(record), record.kind);
    }
  }
  const sorted = (counts: Map<string, DomainCount>): DomainCount[] => [...counts.values()].sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  const renames = [...mapping.domains].map(([from, to]) => ({ from, to }));
  return {
    mapping: mapping.file,
    renames,
    before: sorted(before),
    after: sorted(after),
    unused: renames.filter((r) => !before.has(r.from)).map((r) => r.from),
    // A new domain that is itself renamed away (a swap) is not a merge.
    merges: renames.filter((r) => before.has(r.to) && !mapping.domains.has(r.to)).map((r) => r.to),
  };
}
