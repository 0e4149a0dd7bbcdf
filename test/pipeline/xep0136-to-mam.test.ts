// The XEP-0136 → MAM converter as In → Out tables: times (secs chains, bursts, utc overrides, start-relative
// stores, DST), direction and peer, the stanza built as a client sends it, notes, and what is rejected.
import { describe, expect, it } from 'vitest';
import { transform } from '../../src/pipeline/transforms.js';
import { xep0136ToMam, type Xep0136Options } from '../../src/pipeline/xep0136-to-mam.js';
import type { LegacyCollectionEntry, LegacyCollectionRecord, Micros } from '../../src/records.js';
import { parseXml } from '../../src/xml/element.js';
import { resolveEntryTimes } from '../../src/xep0136/collection-time.js';

const ALICE = { local: 'alice', domain: 'example.com' };

/** µs of an ISO date-time with up to 6 fraction digits (any year, proleptic Gregorian, UTC). */
function us(iso: string): Micros {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (!m) throw new Error(`bad test time ${iso}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

/** µs → ISO with 6 fraction digits. */
function iso(micros: Micros): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const frac = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${String(frac).padStart(6, '0')}Z`;
}

function collection(partial: Partial<LegacyCollectionRecord> & { entries: LegacyCollectionEntry[] }): LegacyCollectionRecord {
  return {
    kind: 'legacy-collection',
    owner: ALICE,
    with: 'bob@example.com/pc',
    start: us('2009-05-01T10:00:00Z'),
    groupchat: false,
    location: { source: 'test', table: 'archive_collections', key: 'id=1' },
    ...partial,
  };
}

/** One line per message: time, direction, remote, stanza. */
function out(record: LegacyCollectionRecord, options?: Xep0136Options): string[] {
  return xep0136ToMam(record, options).messages.map((m) => `${iso(m.timestamp)} ${m.direction} ${m.remote} ${m.stanza.toString()}`);
}

const body = (direction: 'from' | 'to', text: string, time: { secs?: number; utc?: string } = {}): LegacyCollectionEntry => ({
  direction,
  body: text,
  ...(time.secs !== undefined ? { secs: time.secs } : {}),
  ...(time.utc !== undefined ? { utc: us(time.utc) } : {}),
});

describe('XEP-0136 collection times', () => {
  it('reproduces the times of the XEP-0136 §5 example (previous-relative secs; the note keeps its utc)', () => {
    // <chat with='juliet@capulet.com/chamber' start='1469-07-21T02:56:15Z' thread='damduoeg08' subject='She speaks!'>
    const times = resolveEntryTimes({
      start: us('1469-07-21T02:56:15Z'),
      entries: [
        { direction: 'from', secs: 0 },
        { direction: 'to', secs: 11 },
        { direction: 'from', secs: 7 },
        { direction: 'note', utc: us('1469-07-21T03:04:35Z') },
      ],
    });
    expect(times.map((t) => (t.ok ? iso(t.micros) : t.code))).toEqual([
      '1469-07-21T02:56:15.000000Z',
      '1469-07-21T02:56:26.000000Z',
      '1469-07-21T02:56:33.000000Z',
      '1469-07-21T03:04:35.000000Z',
    ]);
  });

  it('rejects the XEP example itself on conversion: 1469 is before what a MAM id can hold', () => {
    const result = xep0136ToMam(collection({
      with: 'juliet@capulet.com/chamber',
      start: us('1469-07-21T02:56:15Z'),
      entries: [body('from', 'Art thou not Romeo, and a Montague?', { secs: 0 }), { direction: 'note', utc: us('1469-07-21T03:04:35Z'), body: 'I think she might fancy me.' }],
    }));
    expect(result.messages).toEqual([]);
    expect(result.notes).toBe(1);
    expect(result.rejects.map((r) => [r.code, r.location?.key])).toEqual([['time-out-of-range', 'id=1 entry 1']]);
  });

  const cases: Array<{ name: string; in: LegacyCollectionRecord; options?: Xep0136Options; out: string[] }> = [
    {
      name: 'the storage-facts §6.2 example: secs chain, a utc override, then secs from the override',
      in: collection({ entries: [body('to', 'hi', { secs: 0 }), body('from', 'hello', { secs: 7 }), body('from', 'later', { utc: '2009-05-01T10:05:00Z' }), body('to', 'ok', { secs: 3 })] }),
      out: [
        "2009-05-01T10:00:00.000000Z out bob@example.com/pc <message from=\"alice@example.com\" to=\"bob@example.com/pc\" type=\"chat\"><body>hi</body></message>",
        "2009-05-01T10:00:07.000000Z in bob@example.com/pc <message from=\"bob@example.com/pc\" to=\"alice@example.com\" type=\"chat\"><body>hello</body></message>",
        "2009-05-01T10:05:00.000000Z in bob@example.com/pc <message from=\"bob@example.com/pc\" to=\"alice@example.com\" type=\"chat\"><body>later</body></message>",
        "2009-05-01T10:05:03.000000Z out bob@example.com/pc <message from=\"alice@example.com\" to=\"bob@example.com/pc\" type=\"chat\"><body>ok</body></message>",
      ],
    },
    {
      name: 'a secs=0 burst: equal times, entry order kept (the writer adds 1 µs per tie in this order)',
      in: collection({ with: 'bob@example.com', entries: [body('from', 'a', { secs: 4 }), body('from', 'b', { secs: 0 }), body('to', 'c', { secs: 0 }), body('from', 'd', { secs: 1 })] }),
      out: [
        "2009-05-01T10:00:04.000000Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><body>a</body></message>",
        "2009-05-01T10:00:04.000000Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><body>b</body></message>",
        "2009-05-01T10:00:04.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>c</body></message>",
        "2009-05-01T10:00:05.000000Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><body>d</body></message>",
      ],
    },
    {
      name: 'a utc override mid-collection that reaches back before start (XEP-0136 §6.1): delivered in time order',
      in: collection({ with: 'bob@example.com', entries: [body('to', 'first', { secs: 10 }), body('from', 'offline, earlier', { utc: '2009-05-01T09:30:00Z' }), body('to', 'after it', { secs: 2 })] }),
      out: [
        "2009-05-01T09:30:00.000000Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><body>offline, earlier</body></message>",
        "2009-05-01T09:30:02.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>after it</body></message>",
        "2009-05-01T10:00:10.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>first</body></message>",
      ],
    },
    {
      name: 'a start with whole seconds only: microseconds come from utc entries and carry on through secs',
      in: collection({ with: 'bob@example.com', start: us('2009-05-01T10:00:00Z'), entries: [body('from', 'x', { utc: '2009-05-01T10:00:00.250001Z' }), body('to', 'y', { secs: 1 }), body('to', 'z')] }),
      out: [
        "2009-05-01T10:00:00.250001Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><body>x</body></message>",
        "2009-05-01T10:00:01.250001Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>y</body></message>",
        "2009-05-01T10:00:01.250001Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>z</body></message>",
      ],
    },
    {
      name: 'start-relative secs (Tigase; mod_archive_odbc and mod_archive2 over the protocol)',
      in: collection({ with: 'bob@example.com', timing: 'start', entries: [body('to', 'a', { secs: 0 }), body('from', 'b', { secs: 7 }), body('to', 'c', { secs: 300 }), body('from', 'd', { secs: 303 })] }),
      out: [
        "2009-05-01T10:00:00.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>a</body></message>",
        "2009-05-01T10:00:07.000000Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><body>b</body></message>",
        "2009-05-01T10:05:00.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>c</body></message>",
        "2009-05-01T10:05:03.000000Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><body>d</body></message>",
      ],
    },
    {
      name: 'the same secs read as the XEP says (previous-relative) give other times: the mode matters',
      in: collection({ with: 'bob@example.com', entries: [body('to', 'a', { secs: 0 }), body('from', 'b', { secs: 7 }), body('to', 'c', { secs: 300 })] }),
      out: [
        "2009-05-01T10:00:00.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>a</body></message>",
        "2009-05-01T10:00:07.000000Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><body>b</body></message>",
        "2009-05-01T10:05:07.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>c</body></message>",
      ],
    },
    {
      name: 'across the EU spring-forward (2023-03-26 01:00Z) and fall-back (2023-10-29 01:00Z): plain UTC seconds',
      in: collection({ with: 'bob@example.com', start: us('2023-03-26T00:59:50Z'), entries: [body('to', 'before', { secs: 5 }), body('from', 'after', { secs: 10 }), body('to', 'autumn', { utc: '2023-10-29T00:59:59Z' }), body('from', 'again', { secs: 2 })] }),
      out: [
        "2023-03-26T00:59:55.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>before</body></message>",
        "2023-03-26T01:00:05.000000Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><body>after</body></message>",
        "2023-10-29T00:59:59.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>autumn</body></message>",
        "2023-10-29T01:00:01.000000Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><body>again</body></message>",
      ],
    },
    {
      name: 'groupchat entries with name (XEP-0136 §6.3): from = room/nick, the real jid in a muc#user item',
      in: collection({
        with: 'balcony@house.capulet.com',
        start: us('2009-07-21T03:16:37Z'),
        entries: [
          { direction: 'from', secs: 0, name: 'benvolio', body: 'She will invite him to some supper.' },
          { direction: 'from', secs: 6, name: 'mercutio', body: 'A bawd, a bawd, a bawd! So ho!' },
          { direction: 'from', secs: 3, name: 'romeo', jid: 'romeo@montague.net', body: 'What hast thou found?' },
        ],
      }),
      out: [
        "2009-07-21T03:16:37.000000Z in balcony@house.capulet.com/benvolio <message from=\"balcony@house.capulet.com/benvolio\" to=\"alice@example.com\" type=\"groupchat\"><body>She will invite him to some supper.</body></message>",
        "2009-07-21T03:16:43.000000Z in balcony@house.capulet.com/mercutio <message from=\"balcony@house.capulet.com/mercutio\" to=\"alice@example.com\" type=\"groupchat\"><body>A bawd, a bawd, a bawd! So ho!</body></message>",
        "2009-07-21T03:16:46.000000Z in balcony@house.capulet.com/romeo <message from=\"balcony@house.capulet.com/romeo\" to=\"alice@example.com\" type=\"groupchat\"><body>What hast thou found?</body><x xmlns=\"http://jabber.org/protocol/muc#user\"><item jid=\"romeo@montague.net\"/></x></message>",
      ],
    },
    {
      name: 'an outgoing message of a groupchat collection goes to the room',
      in: collection({ with: 'room@muc.example.com', groupchat: true, entries: [{ direction: 'to', secs: 0, body: 'hi all' }] }),
      out: ["2009-05-01T10:00:00.000000Z out room@muc.example.com <message from=\"alice@example.com\" to=\"room@muc.example.com\" type=\"groupchat\"><body>hi all</body></message>"],
    },
    {
      name: 'thread on every message, subject on the first message of the collection',
      in: collection({ with: 'bob@example.com', thread: 'damduoeg08', subject: 'She speaks!', entries: [body('from', 'one', { secs: 0 }), body('to', 'two', { secs: 1 })] }),
      out: [
        "2009-05-01T10:00:00.000000Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><subject>She speaks!</subject><body>one</body><thread>damduoeg08</thread></message>",
        "2009-05-01T10:00:01.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>two</body><thread>damduoeg08</thread></message>",
      ],
    },
    {
      name: 'a later slice of a collection carries the thread but not the subject',
      in: collection({ with: 'bob@example.com', thread: 't1', subject: 'S', startsCollection: false, entries: [body('to', 'three', { utc: '2009-05-01T10:00:02Z' })] }),
      out: ["2009-05-01T10:00:02.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>three</body><thread>t1</thread></message>"],
    },
    {
      name: 'kept children (saved in "message" mode) go inside the envelope; the stored stanza is kept as it is',
      in: collection({
        with: 'bob@example.com',
        entries: [
          { direction: 'from', secs: 0, children: [parseXml('<body>b</body>'), parseXml("<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>b</p></body></html>")] },
          { direction: 'to', secs: 1, stanza: parseXml("<message to='bob@example.com/x' id='m1' type='chat'><body>raw</body><origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>"), originId: 'o1' },
        ],
      }),
      out: [
        "2009-05-01T10:00:00.000000Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><body>b</body><html xmlns=\"http://jabber.org/protocol/xhtml-im\"><body xmlns=\"http://www.w3.org/1999/xhtml\"><p>b</p></body></html></message>",
        "2009-05-01T10:00:01.000000Z out bob@example.com <message to=\"bob@example.com/x\" id=\"m1\" type=\"chat\"><body>raw</body><origin-id xmlns=\"urn:xmpp:sid:0\" id=\"o1\"/></message>",
      ],
    },
    {
      name: 'an entry without body but with other children keeps them; an empty body stays an empty body',
      in: collection({ with: 'bob@example.com', entries: [{ direction: 'from', secs: 0, children: [parseXml("<active xmlns='http://jabber.org/protocol/chatstates'/>")] }, { direction: 'to', secs: 1, body: '' }] }),
      out: [
        "2009-05-01T10:00:00.000000Z in bob@example.com <message from=\"bob@example.com\" to=\"alice@example.com\" type=\"chat\"><active xmlns=\"http://jabber.org/protocol/chatstates\"/></message>",
        "2009-05-01T10:00:01.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body/></message>",
      ],
    },
    {
      name: 'notes with notes=self-message: a normal message to self at the note time (a note without utc: the time of the message before it)',
      in: collection({ with: 'bob@example.com', thread: 't', entries: [body('to', 'hi', { secs: 5 }), { direction: 'note', utc: us('2009-05-01T11:00:00Z'), body: 'remember' }, { direction: 'note', body: 'no time' }] }),
      options: { notes: 'self-message' },
      out: [
        "2009-05-01T10:00:05.000000Z out bob@example.com <message from=\"alice@example.com\" to=\"bob@example.com\" type=\"chat\"><body>hi</body><thread>t</thread></message>",
        "2009-05-01T10:00:05.000000Z out alice@example.com <message from=\"alice@example.com\" to=\"alice@example.com\" type=\"normal\"><body>no time</body><thread>t</thread></message>",
        "2009-05-01T11:00:00.000000Z out alice@example.com <message from=\"alice@example.com\" to=\"alice@example.com\" type=\"normal\"><body>remember</body><thread>t</thread></message>",
      ],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      expect(out(c.in, c.options)).toEqual(c.out);
      expect(xep0136ToMam(c.in, c.options).rejects).toEqual([]);
    });
  }
});

describe('XEP-0136 entries that cannot be migrated', () => {
  it('counts notes (not migrated by default) and reports them as skipped parts of the record', () => {
    const record = collection({ with: 'bob@example.com', entries: [body('to', 'hi', { secs: 0 }), { direction: 'note', utc: us('2009-05-01T10:01:00Z'), body: 'n1' }, { direction: 'note', body: 'n2' }] });
    const result = xep0136ToMam(record);
    expect(result.notes).toBe(2);
    expect(result.messages).toHaveLength(1);
    const outcome = transform(record);
    expect(outcome.records.map((r) => r.kind)).toEqual(['archived-message']);
    expect(outcome.skipped).toEqual([{ kind: 'legacy-collection', count: 2, reason: expect.stringMatching(/<note>.*notes=self-message/) }]);
  });

  it('rejects a negative or non-numeric secs with its location, times the rest as if it were 0, and migrates it', () => {
    const record = collection({
      with: 'bob@example.com',
      entries: [
        body('to', 'a', { secs: 10 }),
        { direction: 'from', secs: -5, body: 'negative', location: { source: 'test', table: 'archive_messages', key: 'id=7' } },
        { direction: 'from', secs: Number.NaN, body: 'not a number' },
        body('to', 'd', { secs: 2 }),
      ],
    });
    const result = xep0136ToMam(record);
    expect(result.rejects.map((r) => [r.code, r.location?.table, r.location?.key])).toEqual([
      ['invalid-secs', 'archive_messages', 'id=7'],
      ['invalid-secs', 'archive_collections', 'id=1 entry 3'],
    ]);
    expect(result.rejects[0]!.message).toMatch(/secs=-5 is not a whole number/);
    expect(result.messages.map((m) => `${iso(m.timestamp)} ${m.stanza.getChildText('body')}`)).toEqual(['2009-05-01T10:00:10.000000Z a', '2009-05-01T10:00:12.000000Z d']);
  });

  it('rejects a collection without with, or with a with that is no JID, as a whole', () => {
    for (const [withJid, code] of [['', 'collection-without-with'], ['bob@', 'invalid-jid']] as const) {
      const result = xep0136ToMam(collection({ with: withJid, entries: [body('to', 'a', { secs: 0 }), body('from', 'b', { secs: 1 })] }));
      expect(result.messages).toEqual([]);
      expect(result.rejects.map((r) => [r.code, r.location?.key])).toEqual([[code, 'id=1']]);
    }
  });

  it('rejects an entry with nothing in it, and keeps a message whose nick resourceprep refuses with what it accepts', () => {
    // jid.ts's resource policy: a nick is never a key, so a refused character costs the character, not the message.
    const result = xep0136ToMam(collection({ with: 'room@muc.example.com', entries: [{ direction: 'from', secs: 0 }, { direction: 'from', secs: 1, name: 'bad\u0007nick', body: 'x' }, { direction: 'from', secs: 1, name: 'ok', body: 'y' }] }));
    expect(result.rejects.map((r) => r.code)).toEqual(['empty-entry']);
    expect(result.messages.map((m) => m.remote)).toEqual(['room@muc.example.com/badnick', 'room@muc.example.com/ok']);
  });
});
