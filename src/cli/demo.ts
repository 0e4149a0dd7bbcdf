// `demo`: the main job end to end on the embedded default: plan, run and verify the bundled example
// export into a fresh PGlite database, printing what a consultant would see.
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommonOptions } from '../commands/context.js';
import { plan } from '../commands/plan.js';
import { run } from '../commands/run.js';
import { verify } from '../commands/verify.js';
import { EXIT } from './exit-codes.js';
import type { CliIo } from './main.js';
import { Reporter } from './reporter.js';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface DemoOptions {
  json: boolean;
  io: CliIo;
  signal?: AbortSignal;
  /** Where the rehearsal database goes; default ./.xmpp-migrate/demo. */
  directory?: string;
}

export async function demo(options: DemoOptions): Promise<number> {
  const directory = options.directory ?? join('.xmpp-migrate', 'demo');
  await rm(directory, { recursive: true, force: true });
  const reporter = new Reporter({ json: options.json, stdout: options.io.stdout, stderr: options.io.stderr });
  const exampleExport = join(findRoot(), 'examples', 'demo-export.xml');
  const common: CommonOptions = {
    source: `xep0227:${exampleExport}`,
    sourceSettings: {},
    target: `pglite:${join(directory, 'mongooseim')}`,
    settingsFlags: {},
    createSchema: true,
  };
  const say = (text: string): void => {
    if (!options.json) options.io.stdout.write(text);
  };
  say(`== 1/3 plan ==\n`);
  const planReport = await plan(common);
  reporter.planReport(planReport);
  if (planReport.refusals.length > 0) return EXIT.planRefused;
  say(`\n== 2/3 run ==\n`);
  const summary = await run({ ...common, dryRun: false, rejectFile: join(directory, 'rejects.ndjson'), onEvent: reporter.onEvent, signal: options.signal });
  reporter.runSummary(summary);
  say(`\n== 3/3 verify ==\n`);
  const report = await verify(common);
  reporter.verifyReport(report);
  say(`\nThe rehearsal database is in ${directory}/mongooseim (PGlite); the reject report, if any, beside it.\n`);
  if (!report.parity) return EXIT.parityFailed;
  return summary.rejected > 0 ? EXIT.finishedWithRejects : EXIT.ok;
}

/** The project root, whether running from src/ (tsx) or dist/src/ (built). */
function findRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join('dist', 'src')}`) ? projectRoot : join(here, '..', '..');
}
