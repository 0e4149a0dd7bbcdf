// One benchmark phase in a process of its own (started by bench/run.ts): runs it, then prints one JSON line,
// a PhaseResult, on stdout. Peak RSS is the kernel's high-water mark (VmHWM) of this process.
// Usage: XMIG_BENCH_PHASE='<PhaseSpec as JSON>' node --import tsx bench/phase-child.ts
// (in the environment, not argv: the spec holds database URLs with passwords, and argv is public in ps)
import { readFileSync } from 'node:fs';
import { PHASE_ENV, runPhase, type PhaseResult, type PhaseSpec } from './phases.js';

const MB = 1024 * 1024;

/** VmHWM (peak resident set) in MB; getrusage's maxRSS where /proc is not there. */
function peakRssMb(): number {
  try {
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

const micros = (): number => Number(process.hrtime.bigint() / 1000n);

// Started by bench/run.ts with an IPC channel: when the benchmark goes away (Ctrl-C, kill), so does the phase.
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => process.exit(130));
}
// Nobody is left to read the result.
process.stdout.on('error', () => process.exit(130));

async function main(): Promise<void> {
  const spec = JSON.parse(process.env[PHASE_ENV] ?? '') as PhaseSpec;
  const startRssMb = process.memoryUsage.rss() / MB;
  const cpu0 = process.cpuUsage();
  const startMicros = micros();
  const t0 = performance.now();
  const outcome = await runPhase(spec);
  const ms = performance.now() - t0;
  const endMicros = micros();
  const cpu = process.cpuUsage(cpu0);
  const all = process.cpuUsage();
  const result: PhaseResult = {
    phase: spec.phase,
    ...outcome,
    ms,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    processCpuMs: (all.user + all.system) / 1000,
    startRssMb,
    peakRssMb: peakRssMb(),
    startMicros,
    endMicros,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
