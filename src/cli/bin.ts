// The process entry: wires signals and the exit code to main(). SIGINT/SIGTERM stop after the batch in
// flight (resumable); a second signal stops at once.
import { main } from './main.js';

// A closed pipe (`xmpp-migrate --help | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const controller = new AbortController();
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signals++;
    if (signals > 1) process.exit(1);
    process.stderr.write(`\n${signal}: finishing the batch in flight; run the same command again to resume (again to stop at once)\n`);
    controller.abort();
  });
}
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
