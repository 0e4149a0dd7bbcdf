// A small XMPP client connection (RFC 6120): TCP, optional STARTTLS, SASL (PLAIN, SCRAM-SHA-*), resource
// binding, IQs with timeouts, and a stanza listener. Enough for `smoke` and `loadtest`; every wait is bounded.
import { connect as netConnect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { connect as tlsConnect } from 'node:tls';
import { Element, createElement } from '../xml/element.js';
import { ScramClient, plainMessage, type ClientMechanism, type ScramMechanism } from './sasl-client.js';
import { XmppStreamParser } from './xmpp-stream-parser.js';

export const NS_STREAMS = 'http://etherx.jabber.org/streams';
export const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
export const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';

export interface XmppConnectOptions {
  host: string;
  port: number;
  /** The XMPP domain (stream `to`, TLS server name). */
  domain: string;
  /** 'auto' (default): STARTTLS when offered; 'required': fail without it; 'off': never. */
  starttls?: 'auto' | 'required' | 'off';
  /** Verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Bound on every single wait (connect, a reply): default 10 s. */
  timeoutMs?: number;
}

export class XmppError extends Error {
  override name = 'XmppError';
  constructor(message: string, readonly condition?: string) {
    super(message);
  }
}

interface Waiter {
  match: (el: Element) => boolean;
  resolve: (el: Element) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export type AuthResult = { ok: true } | { ok: false; condition: string; text?: string };

export class XmppConnection {
  /** SASL mechanisms the server offered (wire names). */
  mechanisms: string[] = [];
  /** The bound full JID, after bind(). */
  jid = '';
  tls = false;
  private socket!: Socket;
  private parser!: XmppStreamParser;
  private decoder = new StringDecoder('utf8');
  private waiters: Waiter[] = [];
  private features: Element | undefined;
  private featuresWaiter: ((el: Element) => void) | undefined;
  private closed = false;
  private failure: Error | undefined;
  private nextId = 0;
  private readonly listeners: Array<(el: Element) => void> = [];
  private readonly timeoutMs: number;

  private constructor(private readonly options: XmppConnectOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  static async open(options: XmppConnectOptions): Promise<XmppConnection> {
    const conn = new XmppConnection(options);
    try {
      await conn.connectTcp();
      let features = await conn.openStream();
      const starttls = features.getChild('starttls', NS_TLS);
      const mode = options.starttls ?? 'auto';
      if (starttls && mode !== 'off') {
        conn.send(createElement('starttls', { xmlns: NS_TLS }));
        const answer = await conn.waitFor((el) => el.attrs.xmlns === NS_TLS, 'STARTTLS answer');
        if (answer.name !== 'proceed') throw new XmppError('the server refused STARTTLS');
        await conn.upgradeTls();
        features = await conn.openStream();
      } else if (mode === 'required') {
        throw new XmppError('the server does not offer STARTTLS (--starttls required)');
      }
      conn.mechanisms = (features.getChild('mechanisms', NS_SASL)?.getChildren('mechanism') ?? []).map((m) => m.getText().trim());
      return conn;
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }

  private connectTcp(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: this.options.host, port: this.options.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new XmppError(`connecting to ${this.options.host}:${this.options.port} timed out`));
      }, this.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new XmppError(`cannot connect to ${this.options.host}:${this.options.port}: ${err.message}`));
      });
      this.attach(socket);
    });
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    this.decoder = new StringDecoder('utf8');
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.parser?.write(this.decoder.write(chunk)));
    socket.on('error', (err) => this.fail(new XmppError(`connection error: ${err.message}`)));
    socket.on('close', () => this.fail(new XmppError('the server closed the connection')));
  }

  private upgradeTls(): Promise<void> {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    return new Promise((resolve, reject) => {
      const secure = tlsConnect({ socket: raw, servername: this.options.domain, rejectUnauthorized: this.options.rejectUnauthorized ?? true });
      const timer = setTimeout(() => reject(new XmppError('TLS handshake timed out')), this.timeoutMs);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        this.tls = true;
        resolve();
      });
      secure.once('error', (err) => {
        clearTimeout(timer);
        reject(new XmppError(`TLS failed: ${err.message}`));
      });
      this.attach(secure);
    });
  }

  /** Sends a stream header on a fresh parser and resolves with the stream features. */
  private openStream(): Promise<Element> {
    this.features = undefined;
    this.parser = new XmppStreamParser({
      open: () => {},
      element: (el) => this.dispatch(el),
      close: () => this.fail(new XmppError('the server closed the stream')),
      error: (err) => this.fail(new XmppError(`malformed XML from the server: ${err.message}`)),
    });
    this.write(`<?xml version='1.0'?><stream:stream to='${escapeAttr(this.options.domain)}' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='${NS_STREAMS}'>`);
    return this.waitFor((el) => el.name === 'stream:features', 'stream features');
  }

  private dispatch(el: Element): void {
    if (el.name === 'stream:error') {
      const condition = el.children.find((c): c is Element => typeof c !== 'string')?.name;
      this.fail(new XmppError(`stream error: ${condition ?? 'unknown'}`, condition));
      return;
    }
    const index = this.waiters.findIndex((w) => w.match(el));
    if (index >= 0) {
      const [waiter] = this.waiters.splice(index, 1);
      clearTimeout(waiter!.timer);
      waiter!.resolve(el);
      return;
    }
    for (const listener of this.listeners) listener(el);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(this.closed ? new XmppError('connection closed') : err);
    }
  }

  /** Resolves with the next top-level element matching; rejects after the timeout or if the stream fails. */
  waitFor(match: (el: Element) => boolean, what: string, timeoutMs = this.timeoutMs): Promise<Element> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new XmppError(`no ${what} within ${timeoutMs} ms`, 'timeout'));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  onStanza(listener: (el: Element) => void): void {
    this.listeners.push(listener);
  }

  private write(text: string): void {
    if (!this.failure) this.socket.write(text);
  }

  send(el: Element): void {
    this.write(el.toString());
  }

  /**
   * SASL authentication with one mechanism; on success the stream is restarted. A refusal is a result (the
   * smoke test reports it), not an exception; a broken connection or a timeout throws.
   */
  async authenticate(mechanism: ClientMechanism, username: string, password: string): Promise<AuthResult> {
    const scram = mechanism === 'PLAIN' ? undefined : new ScramClient(mechanism as ScramMechanism, username, password);
    const initial = scram ? scram.first() : plainMessage(username, password);
    this.send(createElement('auth', { xmlns: NS_SASL, mechanism }, initial.toString('base64')));
    const isSasl = (el: Element): boolean => el.attrs.xmlns === NS_SASL;
    for (let step = 0; step < 4; step++) {
      const answer = await this.waitFor(isSasl, `SASL ${mechanism} answer`);
      if (answer.name === 'failure') {
        const condition = answer.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text')?.name ?? 'failure';
        return { ok: false, condition, text: answer.getChildText('text') ?? undefined };
      }
      const data = Buffer.from(answer.getText().trim(), 'base64');
      if (answer.name === 'challenge') {
        if (!scram) throw new XmppError(`unexpected SASL challenge for ${mechanism}`);
        if (step === 0) {
          this.send(createElement('response', { xmlns: NS_SASL }, scram.final(data).toString('base64')));
        } else {
          if (!scram.verify(data)) return { ok: false, condition: 'server-signature-mismatch' };
          this.send(createElement('response', { xmlns: NS_SASL }));
        }
        continue;
      }
      if (answer.name === 'success') {
        if (scram && data.length > 0 && !scram.verify(data)) return { ok: false, condition: 'server-signature-mismatch' };
        const features = await this.openStream();
        this.features = features;
        return { ok: true };
      }
    }
    throw new XmppError(`SASL ${mechanism} did not finish`);
  }

  /** Binds a resource (and opens a legacy session when the server requires one); returns the full JID. */
  async bind(resource: string): Promise<string> {
    const result = await this.iq(createElement('iq', { type: 'set' }, createElement('bind', { xmlns: NS_BIND }, createElement('resource', {}, resource))));
    this.jid = result.getChild('bind', NS_BIND)?.getChildText('jid') ?? '';
    const session = this.features?.getChild('session', NS_SESSION);
    if (session && !session.getChild('optional')) await this.iq(createElement('iq', { type: 'set' }, createElement('session', { xmlns: NS_SESSION })));
    return this.jid;
  }

  /** Sends an IQ (an id is set) and resolves with its result; an error reply rejects with its condition. */
  async iq(el: Element, timeoutMs = this.timeoutMs): Promise<Element> {
    const id = el.attrs.id ?? `q${++this.nextId}`;
    el.attrs.id = id;
    const reply = this.waitFor((s) => s.name === 'iq' && s.attrs.id === id && (s.attrs.type === 'result' || s.attrs.type === 'error'), `reply to IQ ${id}`, timeoutMs);
    this.send(el);
    const answer = await reply;
    if (answer.attrs.type === 'error') {
      const error = answer.getChild('error');
      const condition = error?.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text')?.name ?? 'error';
      throw new XmppError(`IQ ${id} failed: ${condition}`, condition);
    }
    return answer;
  }

  newId(prefix = 'x'): string {
    return `${prefix}${++this.nextId}`;
  }

  /** Closes the stream politely, then the socket (bounded). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.failure) {
      this.write('</stream:stream>');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        this.socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        this.socket.end();
      });
    }
    this.destroy();
  }

  destroy(): void {
    this.closed = true;
    this.socket?.destroy();
    this.fail(new XmppError('connection closed'));
  }
}

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/</g, '&lt;');
}

export { Element };
