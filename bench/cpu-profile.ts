// Summary of a V8 CPU profile (.cpuprofile, as `node --cpu-prof` writes it): self time per function and per
// area (our modules, each dependency, Node internals, GC, idle = waiting for I/O such as the database).
// Run alone: npx tsx bench/cpu-profile.ts FILE.cpuprofile [top N]
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Profiled time inside the window, in ms. */
  totalMs: number;
  functions: SelfTime[];
  areas: SelfTime[];
}

const root = fileURLToPath(new URL('..', import.meta.url));

function where(url: string): string {
  if (!url) return '';
  if (url.startsWith('file://')) return relative(root, fileURLToPath(url));
  return url;
}

/** The area a function's self time is charged to: a module of ours, a package, Node, or V8's own states. */
function areaOf(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle (waiting for I/O: the database, the file)';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native ${functionName || '(anonymous)'}`;
  }
  const path = where(url);
  const pkg = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
  if (pkg) return `node_modules/${pkg}`;
  // node:zlib, node:internal/crypto/pbkdf2, node:internal/streams/readable → node:zlib, node:crypto, node:streams
  if (path.startsWith('node:')) return `node:${path.slice('node:'.length).replace(/^internal\//, '').split('/')[0]!.replace(/\.js$/, '')}`;
  if (path.startsWith('src/')) return path.replace(/\.ts$/, '');
  return path;
}

/**
 * Self time per function and per area. `window` (process.hrtime µs, the clock V8 stamps samples with)
 * keeps only samples taken during the timed phase; when no sample falls inside it, the whole profile counts.
 */
export function summariseProfile(profile: CpuProfile, top = 15, window?: { startMicros: number; endMicros: number }): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const tally = (inWindow: (t: number) => boolean): number => {
    selfUs.clear();
    let total = 0;
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      // A sample stands for the time until the next one.
      const span = profile.timeDeltas[i + 1] ?? 0;
      if (!inWindow(t)) continue;
      const id = profile.samples[i]!;
      selfUs.set(id, (selfUs.get(id) ?? 0) + span);
      total += span;
    }
    return total;
  };
  let totalUs = window ? tally((t) => t >= window.startMicros && t <= window.endMicros) : 0;
  if (totalUs === 0) totalUs = tally(() => true);

  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    // Sources loaded through tsx are whitespace-minified: their line numbers mean nothing, the file does.
    const line = url.endsWith('.ts') ? '' : `:${lineNumber + 1}`;
    const name = url ? `${functionName || '(anonymous)'}  ${where(url)}${line}` : functionName;
    functions.set(name, (functions.get(name) ?? 0) + us);
    const area = areaOf(node);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const ranked = (m: Map<string, number>, n: number): SelfTime[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: totalUs ? us / totalUs : 0 }));
  return { totalMs: totalUs / 1000, functions: ranked(functions, top), areas: ranked(areas, top) };
}

export async function readProfile(file: string): Promise<CpuProfile> {
  return JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
}

export function formatSummary(summary: ProfileSummary): string {
  const line = (s: SelfTime): string => `  ${(s.share * 100).toFixed(1).padStart(5)} %  ${s.ms.toFixed(0).padStart(7)} ms  ${s.name}`;
  return [
    `self time by area (${(summary.totalMs / 1000).toFixed(1)} s profiled):`,
    ...summary.areas.map(line),
    'top functions by self time:',
    ...summary.functions.map(line),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: npx tsx bench/cpu-profile.ts FILE.cpuprofile [top N]\n');
    process.exit(2);
  }
  const profile = await readProfile(file);
  process.stdout.write(`${formatSummary(summariseProfile(profile, Number(process.argv[3] ?? 15)))}\n`);
}
