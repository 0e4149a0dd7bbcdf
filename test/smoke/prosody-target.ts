// A real Prosody 0.12 (Debian's package) serving a copy of a data directory on 127.0.0.1, for the smoke and
// load tests: the copy can be broken on purpose before the server starts. Stopped by its PID.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class ProsodyTarget {
  port = 0;
  readonly root = mkdtempSync(join(tmpdir(), 'xmig-prosody-'));
  private pid: number | undefined;

  /** `config` is a prosody.cfg.lua with PROSODY_ROOT and PORT placeholders; `data` a data dir to copy. */
  constructor(private readonly config: string, data?: string) {
    mkdirSync(join(this.root, 'data'), { recursive: true });
    mkdirSync(join(this.root, 'certs'), { recursive: true });
    if (data) cpSync(data, join(this.root, 'data'), { recursive: true });
  }

  get dataDir(): string {
    return join(this.root, 'data');
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const cfg = join(this.root, 'prosody.cfg.lua');
    writeFileSync(cfg, this.config.replaceAll('/tmp/PROSODY_ROOT', this.root).replaceAll('PORT', String(this.port)));
    const child = spawn('prosody', ['--config', cfg, '-F'], { stdio: ['ignore', 'ignore', 'ignore'] });
    this.pid = child.pid;
    child.unref();
    const deadline = Date.now() + 15_000;
    while (!(await portOpen(this.port))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`prosody did not open port ${this.port}: ${this.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Runs prosodyctl against this server's config (register users before or after start). */
  log(): string {
    try {
      return readFileSync(join(this.root, 'prosody.log'), 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop(): Promise<void> {
    const pid = this.pid;
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + 5_000;
        while (Date.now() < deadline) {
          process.kill(pid, 0);
          await new Promise((r) => setTimeout(r, 30));
        }
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
