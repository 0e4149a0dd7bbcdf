// One sampled account against the target server over XMPP: a login with each offered mechanism the account
// should be able to use, then, in one session, its roster (RFC 6121 §2.1.3) and the last N messages of its
// archive (XEP-0313 with XEP-0059 paging: <before/> asks for the last page). Every wait is bounded.
// https://xmpp.org/extensions/xep-0313.html
import { parseJid } from '../jid.js';
import { NS_DELAY, NS_FORWARD, NS_MAM, NS_ROSTER } from '../xml/namespaces.js';
import { createElement, type Element } from '../xml/element.js';
import { CLIENT_MECHANISMS, type ClientMechanism } from '../xmpp/sasl-client.js';
import { XmppConnection, type XmppConnectOptions } from '../xmpp/xmpp-connection.js';
import type { SampleAccount } from './password-csv.js';
import type { ComparableMessage, ExpectedRosterItem } from './source-sample.js';

const NS_RSM = 'http://jabber.org/protocol/rsm';

export interface LoginAttempt {
  mechanism: ClientMechanism;
  ok: boolean;
  /** The SASL failure condition (not-authorized, …) or the connection error. */
  condition?: string;
  ms: number;
}

export interface TargetAccountProbe {
  logins: LoginAttempt[];
  /** Offered mechanisms not tried, with why (PLAIN without TLS). */
  notTried: Array<{ mechanism: string; reason: string }>;
  roster?: ExpectedRosterItem[];
  messages?: ComparableMessage[];
  /** A failure after login (roster or MAM query refused, timeout). */
  error?: string;
}

export interface ProbeOptions {
  connect: Omit<XmppConnectOptions, 'domain'>;
  /** Messages to fetch from the archive. */
  lastMessages: number;
  /** Allow PLAIN over a connection without TLS (loopback rehearsals only). */
  plainWithoutTls: boolean;
}

export async function probeAccount(account: SampleAccount, options: ProbeOptions): Promise<TargetAccountProbe> {
  const probe: TargetAccountProbe = { logins: [], notTried: [] };
  const connect = { ...options.connect, domain: account.domain };
  const first = await XmppConnection.open(connect);
  const offered = first.mechanisms;
  const tls = first.tls;
  first.destroy();
  const toTry = CLIENT_MECHANISMS.filter((m) => offered.includes(m));
  for (const m of offered.filter((o) => !(CLIENT_MECHANISMS as readonly string[]).includes(o))) probe.notTried.push({ mechanism: m, reason: 'not implemented by the smoke test' });
  let session: XmppConnection | undefined;
  for (const mechanism of toTry) {
    if (mechanism === 'PLAIN' && !tls && !options.plainWithoutTls) {
      probe.notTried.push({ mechanism, reason: 'no TLS on this connection: the password would cross the network in clear (--plain-without-tls for loopback rehearsals)' });
      continue;
    }
    const started = performance.now();
    let conn: XmppConnection | undefined;
    try {
      conn = await XmppConnection.open(connect);
      const result = await conn.authenticate(mechanism, account.local, account.password);
      probe.logins.push({ mechanism, ok: result.ok, condition: result.ok ? undefined : result.condition, ms: Math.round(performance.now() - started) });
      if (result.ok && !session) {
        session = conn;
        conn = undefined;
      }
    } catch (err) {
      probe.logins.push({ mechanism, ok: false, condition: (err as Error).message, ms: Math.round(performance.now() - started) });
    } finally {
      conn?.destroy();
    }
  }
  if (!session) return probe;
  try {
    await session.bind(`xmpp-migrate-smoke-${process.pid}`);
    probe.roster = await fetchRoster(session);
    probe.messages = await fetchLastMessages(session, account.jid, options.lastMessages);
  } catch (err) {
    probe.error = (err as Error).message;
  } finally {
    await session.close();
  }
  return probe;
}

async function fetchRoster(conn: XmppConnection): Promise<ExpectedRosterItem[]> {
  const result = await conn.iq(createElement('iq', { type: 'get' }, createElement('query', { xmlns: NS_ROSTER })));
  const items = result.getChild('query', NS_ROSTER)?.getChildren('item') ?? [];
  return items.map((item) => ({
    contact: bare(item.attrs.jid ?? ''),
    name: item.attrs.name ?? '',
    subscription: (item.attrs.subscription ?? 'none') as ExpectedRosterItem['subscription'],
    askOut: item.attrs.ask === 'subscribe',
    groups: item.getChildren('group').map((g) => g.getText()).sort(),
  }));
}

/** The last `max` messages of the account's own archive, oldest first. */
export async function fetchLastMessages(conn: XmppConnection, owner: string, max: number): Promise<ComparableMessage[]> {
  const queryid = conn.newId('mam');
  const results: Element[] = [];
  conn.onStanza((el) => {
    if (el.name === 'message' && el.getChild('result', NS_MAM)?.attrs.queryid === queryid) results.push(el);
  });
  await conn.iq(createElement('iq', { type: 'set' },
    createElement('query', { xmlns: NS_MAM, queryid }, createElement('set', { xmlns: NS_RSM }, createElement('max', {}, String(max)), createElement('before', {})))), 30_000);
  const messages: ComparableMessage[] = [];
  for (const el of results) {
    const forwarded = el.getChild('result', NS_MAM)!.getChild('forwarded', NS_FORWARD);
    const stanza = forwarded?.getChild('message');
    const body = stanza?.getChildText('body');
    const stamp = forwarded?.getChild('delay', NS_DELAY)?.attrs.stamp;
    if (!stanza || body === null || body === undefined || !stamp) continue;
    const from = bare(stanza.attrs.from ?? '');
    const out = from === owner;
    messages.push({ direction: out ? 'out' : 'in', peer: out ? bare(stanza.attrs.to ?? '') : from, ms: Date.parse(stamp), body });
  }
  return messages.sort((a, b) => a.ms - b.ms);
}

function bare(raw: string): string {
  try {
    const jid = parseJid(raw);
    return jid.local ? `${jid.local}@${jid.domain}` : jid.domain;
  } catch {
    return raw;
  }
}
