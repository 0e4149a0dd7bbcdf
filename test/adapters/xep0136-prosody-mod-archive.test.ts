// Prosody's community mod_archive collections (the pure functions the Prosody adapters call): items told apart
// from mod_mam ones, a newest-first list merged into time order with the user's mod_mam messages, bad entries
// rejected with their location, and the result migrated into MongooseIM with exact MAM times.
import { describe, expect, it } from 'vitest';
import { isModArchiveCollection, modArchiveCollection, timeOrderedArchive } from '../../src/adapters/prosody-mod-archive.js';
import type { SourceAdapter, SourceItem } from '../../src/adapters/source-adapter.js';
import type { ArchivedMessageRecord, LegacyCollectionRecord, MigrationRecord } from '../../src/records.js';
import { parseXml } from '../../src/xml/element.js';
import { migrateToFreshTarget } from '../fixtures/xep0136/mam-target.js';

const ALICE = { local: 'alice', domain: 'example.com' };
const at = (line: number) => ({ source: 'prosody:/var/lib/prosody', file: '/var/lib/prosody/example%2ecom/archive/alice.list', line, key: 'alice@example.com' });

// As mod_archive keeps them: newest collection first, secs previous-relative, utc_secs alongside.
const LIST = [
  `<chat with='bob@example.com' start='2010-01-01T12:00:00Z' thread='t2' version='1' access='2010-01-01T12:00:30Z'>
     <to secs='0' utc_secs='1262343600'><body>noon</body></to>
     <from secs='30' utc_secs='1262343630'><body>noon reply</body></from>
   </chat>`,
  `<chat with='carol@example.com' start='2010-01-01T11:59:50Z' version='2'>
     <from secs='0' utc_secs='1262343590'><body>carol</body></from>
     <to secs='40' utc_secs='1262343630'><body>to carol</body></to>
     <to secs='abc'><body>uploaded with a bad secs</body></to>
     <note utc='2010-01-01T12:05:00Z'>call her</note>
   </chat>`,
  `<chat start='2010-01-01T09:00:00Z' version='0'><to secs='0'><body>no with</body></to></chat>`,
];

const MAM: ArchivedMessageRecord = {
  kind: 'archived-message',
  archive: { type: 'user', jid: ALICE },
  timestamp: 1_262_347_200_000_000n, // 2010-01-01T12:00:00Z, the same second as "noon"
  direction: 'in',
  remote: 'dave@example.com/x',
  stanza: parseXml("<message from='dave@example.com/x' to='alice@example.com' type='chat'><body>mod_mam</body></message>"),
  location: at(40),
};

function archive(): Array<{ record: MigrationRecord } | { reject: Error & { code: string; location?: { line?: number; key?: string } } }> {
  const items = LIST.map((xml) => parseXml(xml));
  expect(items.every(isModArchiveCollection)).toBe(true);
  expect(isModArchiveCollection(MAM.stanza)).toBe(false);
  return timeOrderedArchive(items.map((chat, i) => modArchiveCollection(ALICE, chat, at(10 * (i + 1)))), [MAM]);
}

describe('Prosody mod_archive collections', () => {
  it('merges a newest-first list and the mod_mam messages into time order, rejecting bad entries with their location', () => {
    const out = archive();
    expect(out.map((o) => ('reject' in o ? `reject ${o.reject.code} ${o.reject.location?.line} ${o.reject.location?.key}` : o.record.kind === 'legacy-collection' ? `slice ${o.record.with} ${(o.record as LegacyCollectionRecord).entries.map((e) => e.body).join('|')} first=${(o.record as LegacyCollectionRecord).startsCollection}` : `mam ${(o.record as ArchivedMessageRecord).remote}`))).toEqual([
      'reject invalid-secs 20 alice@example.com entry 3',
      'reject collection-without-with 30 alice@example.com',
      'slice carol@example.com carol first=true',
      'mam dave@example.com/x',
      'slice bob@example.com noon|noon reply first=true',
      'slice carol@example.com to carol|call her first=false',
    ]);
  });

  it('migrates with exact MAM times: ties 1 µs apart in that order, the note skipped', async () => {
    const out = archive();
    const source: SourceAdapter = {
      displayName: 'prosody-mod-archive:test',
      capabilities: { resume: 'skip', delta: 'none', kinds: ['legacy-collection', 'archived-message'] },
      streams: () => [{ name: 'archive', kinds: ['legacy-collection', 'archived-message'] }],
      inventory: async () => ({ description: 'test', counts: {}, owners: {}, credentials: {}, rejects: {}, cannotProvide: [], notes: [] }),
      async *read(): AsyncIterable<SourceItem> {
        let n = 0;
        for (const o of out) yield 'record' in o ? { record: o.record, cursor: String(n++) } : { reject: o.reject as never, cursor: String(n++) };
      },
      close: async () => undefined,
    };
    const migrated = await migrateToFreshTarget(source);
    expect(migrated.personal).toEqual([
      'alice@example.com 2010-01-01T11:59:50.000000Z in carol@example.com carol',
      'alice@example.com 2010-01-01T12:00:00.000000Z in dave@example.com/x mod_mam',
      'alice@example.com 2010-01-01T12:00:00.000001Z out bob@example.com noon',
      'alice@example.com 2010-01-01T12:00:30.000000Z in bob@example.com noon reply',
      'alice@example.com 2010-01-01T12:00:30.000001Z out carol@example.com to carol',
    ]);
    expect(migrated.rejects.entries.map((r) => r.code)).toEqual(['invalid-secs', 'collection-without-with']);
    expect(migrated.result.kinds['legacy-collection']).toMatchObject({ skipped: 1 });
  });
});
