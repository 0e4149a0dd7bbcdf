// A TCP proxy a test controls (toxiproxy is not available here, shared/docs/test-servers.md §9): it listens on
// 127.0.0.1, forwards every connection to a real server, and on command cuts every open connection (both
// sides reset at once, as a failing network or a killed load balancer would) or delays each chunk in both
// directions. Order is kept per direction; a delay never reorders bytes.
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The proxy's address: point the client here instead of at the server. */
  readonly host: string;
  readonly port: number;
  /** Connections accepted so far (each client connection counts once). */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /** Resets every open connection, client and server side; returns how many were cut. New ones are accepted. */
  cutAll(): number;
  /**
   * A network that fails silently: resets the client side of every open connection and leaves the server side
   * open and mute, so the server keeps the session (its transaction, its locks) until it notices on its own.
   * Returns how many were cut. The server sides are closed by `close()`.
   */
  partition(): number;
  /** Delays every chunk by `ms` in each direction (0 = none); applies to open and new connections. */
  setLatency(ms: number): void;
  /** While refusing, new connections are reset as soon as they are accepted (a server that is down). */
  setRefusing(refusing: boolean): void;
  close(): Promise<void>;
}

interface Pipe {
  client: Socket;
  server: Socket;
  /** The client side was reset by partition(): the server side stays open. */
  partitioned: boolean;
}

/** Starts a proxy to `target` on a free port of 127.0.0.1. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pipes = new Set<Pipe>();
  /** Server sides left open by partition(). */
  const mute = new Set<Socket>();
  let latencyMs = 0;
  let refusing = false;
  let accepted = 0;

  /** Forwards `from` → `to`, each chunk `latencyMs` after it arrived, through one queue so order is kept. */
  const forward = (from: Socket, to: Socket): void => {
    const queue: Array<{ due: number; chunk: Buffer }> = [];
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const drain = (): void => {
      timer = undefined;
      const now = Date.now();
      while (queue.length > 0 && queue[0]!.due <= now) {
        const { chunk } = queue.shift()!;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(drain, queue[0]!.due - now);
      else if (ended && !to.destroyed) to.end();
    };
    from.on('data', (chunk: Buffer) => {
      if (latencyMs === 0 && queue.length === 0) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      queue.push({ due: Date.now() + latencyMs, chunk });
      timer ??= setTimeout(drain, latencyMs);
    });
    from.on('end', () => {
      ended = true;
      if (queue.length === 0 && !to.destroyed) to.end();
    });
    from.on('close', () => {
      if (timer) clearTimeout(timer);
    });
  };

  const server: Server = createServer((client) => {
    accepted++;
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = connect({ host: target.host, port: target.port });
    upstream.setNoDelay(true);
    const pipe: Pipe = { client, server: upstream, partitioned: false };
    pipes.add(pipe);
    const drop = (): void => {
      pipes.delete(pipe);
      if (!client.destroyed) client.destroy();
      if (pipe.partitioned) {
        if (upstream.destroyed) mute.delete(upstream);
        return;
      }
      if (!upstream.destroyed) upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const proxy: TcpProxy = {
    host: '127.0.0.1',
    port,
    get accepted() {
      return accepted;
    },
    get open() {
      return pipes.size;
    },
    cutAll() {
      const n = pipes.size;
      for (const pipe of [...pipes]) {
        pipes.delete(pipe);
        // RST on both sides: the client sees ECONNRESET, the server sees its client vanish at once.
        pipe.client.resetAndDestroy();
        pipe.server.resetAndDestroy();
      }
      return n;
    },
    partition() {
      const n = pipes.size;
      for (const pipe of [...pipes]) {
        pipes.delete(pipe);
        pipe.partitioned = true;
        mute.add(pipe.server);
        pipe.client.resetAndDestroy();
      }
      return n;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    setRefusing(value) {
      refusing = value;
    },
    async close() {
      proxy.cutAll();
      for (const socket of mute) socket.destroy();
      mute.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

/** `url` with its host and port replaced by the proxy's. */
export function viaProxy(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = proxy.host;
  u.port = String(proxy.port);
  return u.toString();
}
