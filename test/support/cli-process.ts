// The real CLI as a child process (from its TypeScript sources, so a test never runs a stale build), with its
// `--json` events handed to the test as they arrive: a test acts on what the run did (SIGKILL after a batch, cut
// the network after another), never on wall time.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..', '..');
const TSX_LOADER = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** One NDJSON line of `--json` output (an event, or the final summary with `event: 'summary'`). */
export type CliEvent = Record<string, unknown> & { event: string };

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: CliEvent[];
  ms: number;
}

export interface CliOptions {
  cwd: string;
  /** Called with each `--json` event, in order, and the child (to kill it). */
  onEvent?: (event: CliEvent, child: ChildProcess) => void;
  /** SIGKILLs a run that has not ended after this long and rejects (a hang is a failure, never a wait). */
  timeoutMs?: number;
}

export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, join(root, 'src', 'cli', 'bin.ts'), ...args], {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const events: CliEvent[] = [];
    let hung = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
          hung = true;
          child.kill('SIGKILL');
        }, options.timeoutMs)
      : undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stdout += text;
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        let event: CliEvent;
        try {
          event = JSON.parse(line) as CliEvent;
        } catch {
          continue;
        }
        events.push(event);
        options.onEvent?.(event, child);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const result = { code, signal, stdout, stderr, events, ms: performance.now() - started };
      if (hung) reject(Object.assign(new Error(`xmpp-migrate ${args[0]} did not end within ${options.timeoutMs} ms (hang); stderr:\n${stderr}`), { result }));
      else resolve(result);
    });
  });
}

/** The final `--json` document of a run. */
export function summaryOf(result: CliResult): CliEvent | undefined {
  return [...result.events].reverse().find((e) => e.event === 'summary');
}

/** A small seeded PRNG (mulberry32): the same seed gives the same kill points on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
