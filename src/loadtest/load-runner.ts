// The load test itself: N clients connect over a ramp-up, then send chat messages to each other at a bounded
// total rate and query their archives (XEP-0313) at another; it measures connection time, delivery latency
// (send → arrival at the recipient, one clock), MAM query latency and errors, and stops by itself at its
// bounds: the duration, the message count, or the abort signal. Every wait is bounded by a timeout.
import { createElement } from '../xml/element.js';
import { NS_MAM } from '../xml/namespaces.js';
import { CLIENT_MECHANISMS } from '../xmpp/sasl-client.js';
import { XmppConnection } from '../xmpp/xmpp-connection.js';
import type { SampleAccount } from '../smoke/password-csv.js';
import type { LoadScenario } from './scenario.js';
import { summarise, type LatencySummary } from './stats.js';

const NS_RSM = 'http://jabber.org/protocol/rsm';

export interface LoadRunOptions {
  scenario: LoadScenario;
  accounts: SampleAccount[];
  xmpp: { host: string; port: number };
  starttls: 'auto' | 'required' | 'off';
  rejectUnauthorized: boolean;
  plainWithoutTls: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface TimelineSecond {
  second: number;
  sent: number;
  received: number;
  mamQueries: number;
  errors: number;
  p50: number;
  p95: number;
}

export interface LoadReport {
  target: string;
  scenario: LoadScenario;
  startedAt: string;
  /** From the first connection attempt to the last close. */
  elapsedMs: number;
  /** The sending phase only (first send to the end of the schedule; the drain is not in it). */
  sendingMs: number;
  stoppedBy: 'duration' | 'max-messages' | 'signal' | 'no-clients';
  connections: { attempted: number; ok: number; failed: number; latency: LatencySummary };
  messages: { sent: number; received: number; lost: number; latency: LatencySummary; achievedPerSecond: number };
  mam: { queries: number; ok: number; failed: number; latency: LatencySummary };
  errors: Record<string, number>;
  timeline: TimelineSecond[];
}

interface Client {
  index: number;
  conn: XmppConnection;
  jid: string;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

export async function runLoad(options: LoadRunOptions): Promise<LoadReport> {
  const { scenario, signal } = options;
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const errors: Record<string, number> = {};
  const error = (kind: string, second?: number): void => {
    errors[kind] = (errors[kind] ?? 0) + 1;
    if (second !== undefined) bucket(second).errors++;
  };
  const timeline = new Map<number, { sent: number; received: number; mamQueries: number; errors: number; latencies: number[] }>();
  const bucket = (second: number) => {
    let b = timeline.get(second);
    if (!b) timeline.set(second, (b = { sent: 0, received: 0, mamQueries: 0, errors: 0, latencies: [] }));
    return b;
  };

  // Ramp-up: clients start evenly spread over the ramp-up time.
  const connectTimes: number[] = [];
  const clients: Client[] = [];
  const sentAt = new Map<string, number>();
  let sendStart = 0;
  const latencies: number[] = [];
  let received = 0;
  const connectOne = async (index: number): Promise<void> => {
    await sleep((index * scenario.rampUpSeconds * 1000) / scenario.clients, signal);
    if (signal?.aborted) return;
    const account = options.accounts[index % options.accounts.length]!;
    const t0 = performance.now();
    try {
      const conn = await XmppConnection.open({ host: options.xmpp.host, port: options.xmpp.port, domain: account.domain, starttls: options.starttls, rejectUnauthorized: options.rejectUnauthorized, timeoutMs: options.timeoutMs });
      const mechanism = CLIENT_MECHANISMS.find((m) => conn.mechanisms.includes(m) && (m !== 'PLAIN' || conn.tls || options.plainWithoutTls));
      if (!mechanism) {
        conn.destroy();
        error('no usable SASL mechanism');
        return;
      }
      const auth = await conn.authenticate(mechanism, account.local, account.password);
      if (!auth.ok) {
        conn.destroy();
        error(`login refused (${auth.condition})`);
        return;
      }
      const jid = await conn.bind(`load-${index}-${process.pid}`);
      conn.onStanza((el) => {
        if (el.name !== 'message') return;
        const id = el.attrs.id ?? '';
        const sent = sentAt.get(id);
        if (sent !== undefined && el.getChild('body')) {
          sentAt.delete(id);
          const now = performance.now();
          latencies.push(now - sent);
          received++;
          const b = bucket(Math.floor((now - sendStart) / 1000));
          b.received++;
          b.latencies.push(now - sent);
        }
      });
      conn.send(createElement('presence', {}));
      connectTimes.push(performance.now() - t0);
      clients.push({ index, conn, jid });
    } catch (err) {
      error(`connection: ${(err as Error).message.replace(/\d+\.\d+\.\d+\.\d+:\d+/, 'target')}`);
    }
  };
  await Promise.all(Array.from({ length: scenario.clients }, (_, i) => connectOne(i)));
  clients.sort((a, b) => a.index - b.index);

  let sent = 0;
  let stoppedBy: LoadReport['stoppedBy'] = 'duration';
  let sendingEnded = 0;
  const mam = { queries: 0, ok: 0, failed: 0, latencies: [] as number[] };
  sendStart = performance.now();
  const deadline = sendStart + scenario.durationSeconds * 1000;
  if (clients.length < 2) stoppedBy = 'no-clients';
  else {
    const mamLoop = scenario.mamQueriesPerSecond > 0 ? runMamLoop() : Promise.resolve();
    const interval = 1000 / scenario.messagesPerSecond;
    // Fixed schedule (no drift): message k goes at sendStart + k·interval, never earlier, so the rate is a bound.
    for (let k = 0; ; k++) {
      if (signal?.aborted) { stoppedBy = 'signal'; break; }
      if (sent >= scenario.maxMessages) { stoppedBy = 'max-messages'; break; }
      const due = sendStart + k * interval;
      if (due >= deadline) { stoppedBy = 'duration'; break; }
      await sleep(due - performance.now(), signal);
      if (signal?.aborted) { stoppedBy = 'signal'; break; }
      const from = clients[k % clients.length]!;
      const to = clients[(k + 1) % clients.length]!;
      const id = `lt-${process.pid}-${k}`;
      const now = performance.now();
      sentAt.set(id, now);
      from.conn.send(createElement('message', { to: to.jid, type: 'chat', id }, createElement('body', {}, `load test message ${k}`)));
      sent++;
      bucket(Math.floor((now - sendStart) / 1000)).sent++;
    }
    sendingEnded = performance.now();
    // Drain: deliveries still in flight, bounded.
    const drainUntil = sendingEnded + Math.min(options.timeoutMs, 5000);
    while (sentAt.size > 0 && performance.now() < drainUntil && !signal?.aborted) await sleep(20);
    await mamLoop;
  }
  const sendingMs = (sendingEnded || performance.now()) - sendStart;
  const lost = sentAt.size;
  if (lost > 0) errors['message not delivered'] = (errors['message not delivered'] ?? 0) + lost;
  await Promise.all(clients.map((c) => c.conn.close().catch(() => undefined)));

  async function runMamLoop(): Promise<void> {
    const interval = 1000 / scenario.mamQueriesPerSecond;
    const inFlight: Array<Promise<void>> = [];
    for (let q = 0; ; q++) {
      const due = sendStart + (q + 0.5) * interval;
      if (due >= deadline || signal?.aborted || stoppedBy !== 'duration') break;
      await sleep(due - performance.now(), signal);
      if (performance.now() >= deadline || signal?.aborted) break;
      const client = clients[q % clients.length]!;
      inFlight.push(queryArchive(client, q));
    }
    await Promise.all(inFlight);
  }

  async function queryArchive(client: Client, q: number): Promise<void> {
    const queryid = `mam-${q}`;
    const t0 = performance.now();
    mam.queries++;
    bucket(Math.floor((t0 - sendStart) / 1000)).mamQueries++;
    try {
      await client.conn.iq(createElement('iq', { type: 'set' }, createElement('query', { xmlns: NS_MAM, queryid }, createElement('set', { xmlns: NS_RSM }, createElement('max', {}, '10'), createElement('before', {})))), options.timeoutMs);
      mam.ok++;
      mam.latencies.push(performance.now() - t0);
    } catch (err) {
      mam.failed++;
      error(`MAM query: ${(err as Error).message.replace(/IQ \S+ /, 'IQ ')}`, Math.floor((performance.now() - sendStart) / 1000));
    }
  }

  const seconds = [...timeline.keys()].filter((s) => s >= 0).sort((a, b) => a - b);
  return {
    target: `${options.xmpp.host}:${options.xmpp.port}`,
    scenario,
    startedAt,
    elapsedMs: Math.round(performance.now() - started),
    sendingMs: Math.round(sendingMs),
    stoppedBy,
    connections: { attempted: scenario.clients, ok: clients.length, failed: scenario.clients - clients.length, latency: summarise(connectTimes) },
    messages: { sent, received, lost, latency: summarise(latencies), achievedPerSecond: Math.round((sent / Math.max(stoppedBy === 'duration' ? scenario.durationSeconds * 1000 : sendingMs, 1)) * 100000) / 100 },
    mam: { queries: mam.queries, ok: mam.ok, failed: mam.failed, latency: summarise(mam.latencies) },
    errors,
    timeline: seconds.map((second) => {
      const b = timeline.get(second)!;
      const s = summarise(b.latencies);
      return { second, sent: b.sent, received: b.received, mamQueries: b.mamQueries, errors: b.errors, p50: s.p50, p95: s.p95 };
    }),
  };
}
