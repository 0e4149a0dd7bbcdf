// The xep0136 file source: XEP-0136 <chat> collections as retrieved over the protocol, streamed; owners from
// the file or the option; each owner's messages in time order across overlapping, newest-first and scattered
// collections; bad entries rejected with file and line; resumable at every item; migrated exactly.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/adapters/index.js';
import type { SourceAdapter, SourceItem } from '../../src/adapters/source-adapter.js';
import { XEP0136_FILE_STREAM } from '../../src/adapters/xep0136-file.js';
import { SourceError, UsageError } from '../../src/errors.js';
import type { LegacyCollectionRecord } from '../../src/records.js';
import { migrateToFreshTarget } from '../fixtures/xep0136/mam-target.js';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'xep0136', 'collections.xml');
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-xep0136-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function readAll(source: SourceAdapter, after?: string): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source.read(XEP0136_FILE_STREAM, after)) items.push(item);
  return items;
}

function line(item: SourceItem): string {
  if ('reject' in item) return `reject ${item.reject.code} line ${item.reject.location?.line}`;
  const c = item.record as LegacyCollectionRecord;
  return `${c.owner.local} with=${c.with} ${c.entries.map((e) => e.body ?? '-').join('|')}`;
}

describe('a file of XEP-0136 collections', () => {
  it('migrates each owner in time order across overlapping collections, rejects bad entries with their line, skips notes', async () => {
    const source = await openSource(`xep0136:${fixture}`, { settings: {} });
    const migrated = await migrateToFreshTarget(source);
    expect(migrated.personal).toEqual([
      'alice@example.com 2009-05-01T09:30:00.000000Z in carol@example.net offline, earlier',
      'alice@example.com 2009-05-01T09:30:05.000000Z out carol@example.net to carol',
      'alice@example.com 2009-05-01T10:00:00.000000Z out bob@example.org/pc hi',
      'alice@example.com 2009-05-01T10:00:03.000000Z in carol@example.net carol 1',
      'alice@example.com 2009-05-01T10:00:07.000000Z in bob@example.org/pc hello',
      'alice@example.com 2009-05-01T10:00:07.000001Z in bob@example.org/pc same second',
      'alice@example.com 2009-05-01T10:02:00.000000Z in balcony@house.capulet.com/benvolio groupchat She will invite him to some supper.',
      'alice@example.com 2009-05-01T10:02:06.000000Z in balcony@house.capulet.com/romeo groupchat What hast thou found?',
      'alice@example.com 2009-05-01T10:05:00.000000Z in bob@example.org/pc later',
      'alice@example.com 2009-05-01T10:05:03.000000Z out bob@example.org/pc ok',
      'alice@example.com 2009-05-01T10:05:04.000000Z out bob@example.org/pc after the bad ones',
      'bob@example.com 2009-05-02T08:00:00.000000Z out alice@example.com from bob',
    ]);
    expect(migrated.rejects.entries.map((r) => [r.code, r.location?.file?.endsWith('collections.xml'), r.location?.line])).toEqual([
      ['invalid-secs', true, 14],
      ['invalid-secs', true, 15],
      ['invalid-time', true, 16],
      ['collection-without-with', true, 29],
      ['invalid-start', true, 32],
    ]);
    expect(migrated.result.kinds['legacy-collection']).toMatchObject({ skipped: 1, rejected: 5 });

    const items = await readAll(source);
    const first = items.find((i) => 'record' in i && (i.record as LegacyCollectionRecord).subject === 'Plans' && (i.record as LegacyCollectionRecord).startsCollection)!;
    const { transform } = await import('../../src/pipeline/transforms.js');
    expect(transform((first as { record: LegacyCollectionRecord }).record).records.map((r) => ('stanza' in r ? r.stanza.toString() : ''))).toEqual([
      '<message from="alice@example.com" to="bob@example.org/pc" type="chat"><subject>Plans</subject><body>hi</body><thread>th1</thread></message>',
    ]);
    const ok = items.find((i) => 'record' in i && (i.record as LegacyCollectionRecord).entries.some((e) => e.body === 'ok'))!;
    // Children kept in "message" mode stay, in the message's own namespace; the thread goes on every message.
    expect(transform((ok as { record: LegacyCollectionRecord }).record).records.map((r) => ('stanza' in r ? r.stanza.toString() : ''))).toContain(
      '<message from="alice@example.com" to="bob@example.org/pc" type="chat"><body>ok</body><active xmlns="http://jabber.org/protocol/chatstates"/><thread>th1</thread></message>',
    );

    // Resuming after any item gives exactly the items after it.
    for (let i = 0; i < items.length; i++) expect((await readAll(source, items[i]!.cursor)).map(line)).toEqual(items.slice(i + 1).map(line));

    const inventory = await source.inventory();
    expect(inventory.counts['archived-message']).toBe(12);
    expect(inventory.owners['archived-message']).toBe(2);
    expect(inventory.rejects).toEqual({ 'invalid-secs': 2, 'invalid-time': 1, 'collection-without-with': 1, 'invalid-start': 1 });
    expect(inventory.notes.join('\n')).toMatch(/ignored 1 × <previous>/);
  });

  it('orders newest-first and scattered collections, takes the owner from the option, and rejects bytes that are not UTF-8', async () => {
    const file = join(work, 'scattered.xml');
    const head = Buffer.from(
      [
        "<chat xmlns='urn:xmpp:archive' with='x@example.com' start='2010-01-01T12:00:00Z'><to secs='0'><body>late</body></to></chat>",
        "<chat xmlns='urn:xmpp:archive' with='y@example.com' start='2010-01-01T10:00:00Z'><to secs='0'><body>early</body></to>",
        "<from secs='5'><body>caf",
      ].join('\n'),
    );
    const tail = Buffer.from(
      [
        '</body></from><from secs=\'1\'><body>café fine</body></from></chat>',
        "<archive owner='dave@example.com'><chat xmlns='urn:xmpp:archive' with='x@example.com' start='2010-01-01T09:00:00Z'><from secs='0'><body>dave</body></from></chat></archive>",
        "<chat xmlns='urn:xmpp:archive' with='z@example.com' start='2010-01-01T11:00:00Z'><to secs='0'><body>middle</body></to></chat>",
        '',
      ].join('\n'),
    );
    await writeFile(file, Buffer.concat([head, Buffer.from([0xe9]), tail]));
    await expect(openSource(`xep0136:${file}`, { settings: { owner: 'not a jid@' } })).rejects.toBeInstanceOf(UsageError);
    const source = await openSource(`xep0136:${file}`, { settings: { owner: 'carol@example.com' } });
    const migrated = await migrateToFreshTarget(source);
    expect(migrated.personal).toEqual([
      'carol@example.com 2010-01-01T10:00:00.000000Z out y@example.com early',
      'carol@example.com 2010-01-01T10:00:06.000000Z in y@example.com café fine',
      'carol@example.com 2010-01-01T11:00:00.000000Z out z@example.com middle',
      'carol@example.com 2010-01-01T12:00:00.000000Z out x@example.com late',
      'dave@example.com 2010-01-01T09:00:00.000000Z in x@example.com dave',
    ]);
    expect(migrated.rejects.entries.map((r) => [r.code, r.location?.line])).toEqual([['invalid-utf8', 3]]);
    const items = await readAll(source);
    for (let i = 0; i < items.length; i++) expect((await readAll(source, items[i]!.cursor)).map(line)).toEqual(items.slice(i + 1).map(line));
  });

  it('reads start-relative secs with timing=start (files from Tigase, mod_archive_odbc, mod_archive2)', async () => {
    const file = join(work, 'tigase.xml');
    await writeFile(
      file,
      "<chat xmlns='urn:xmpp:archive' with='bob@example.com' start='2015-03-29T00:59:58Z'><to secs='0'><body>a</body></to><from secs='7'><body>b</body></from><to secs='300'><body>c</body></to></chat>",
    );
    const source = await openSource(`xep0136:${file}`, { settings: { owner: 'erin@example.com', timing: 'start', notes: 'self-message' } });
    const migrated = await migrateToFreshTarget(source);
    expect(migrated.personal).toEqual([
      'erin@example.com 2015-03-29T00:59:58.000000Z out bob@example.com a',
      'erin@example.com 2015-03-29T01:00:05.000000Z in bob@example.com b',
      'erin@example.com 2015-03-29T01:04:58.000000Z out bob@example.com c',
    ]);
  });

  it('rejects a collection without an owner; fails on XML that is not well-formed before emitting anything, with file and line', async () => {
    const orphan = join(work, 'orphan.xml');
    await writeFile(orphan, "<chat xmlns='urn:xmpp:archive' with='b@example.com' start='2010-01-01T00:00:00Z'><to secs='0'><body>x</body></to></chat>\n");
    const items = await readAll(await openSource(`xep0136:${orphan}`, { settings: {} }));
    expect(items.map(line)).toEqual(['reject no-owner line 1']);
    expect((items[0] as { reject: Error }).reject.message).toMatch(/--source-option owner=/);

    const file = join(work, 'broken.xml');
    await writeFile(file, "<chat xmlns='urn:xmpp:archive' with='b@example.com' start='2010-01-01T00:00:00Z'><to secs='0'><body>x</body></to></chat>\n<chat xmlns='urn:xmpp:archive'>\n<to></chat>\n");
    const source = await openSource(`xep0136:${file}`, { settings: { owner: 'alice@example.com' } });
    const seen: SourceItem[] = [];
    const reading = (async () => {
      for await (const item of source.read(XEP0136_FILE_STREAM)) seen.push(item);
    })();
    await expect(reading).rejects.toThrow(SourceError);
    await expect(reading).rejects.toThrow(/broken\.xml:3: not well-formed/);
    expect(seen).toEqual([]);
  });
});
