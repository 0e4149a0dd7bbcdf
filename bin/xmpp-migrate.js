#!/usr/bin/env node
// Entry point: runs the built CLI (npm ci builds it); SIGINT/SIGTERM stop after the batch in flight.
import { main } from '../dist/src/cli/main.js';

const controller = new AbortController();
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    signals++;
    if (signals > 1) process.exit(1);
    process.stderr.write(`\n${signal}: finishing the batch in flight; run the same command again to resume (again to stop at once)\n`);
    controller.abort();
  });
}
const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
process.exitCode = code;
