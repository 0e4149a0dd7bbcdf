// The command line: parses argv, calls a typed command, reports, and returns the exit code.
// Commands are lazy-loaded so `--help` stays instant.
import { Command, CommanderError, Option } from 'commander';
import { SOURCE_ADAPTERS } from '../adapters/index.js';
import type { CommonOptions } from '../commands/context.js';
import { UsageError, errorMessage } from '../errors.js';
import { KIND_ALIASES, RECORD_KINDS, type RecordKind } from '../records.js';
import type { TargetSettings } from '../target/mongooseim/target-settings.js';
import { DEFAULT_TARGET, TARGET_URL_HELP, validateTargetUrl } from '../target/open-target.js';
import { EXIT, EXIT_CODES_HELP, exitCodeForError } from './exit-codes.js';
import { Reporter, type Output } from './reporter.js';

export interface CliIo {
  stdout: Output;
  stderr: Output & { isTTY?: boolean };
  /** Aborted on SIGINT/SIGTERM: the run stops after the batch in flight, resumable. */
  signal?: AbortSignal;
}

interface RawOptions {
  source?: string;
  sourceOption: string[];
  target: string;
  targetConfig?: string;
  messageFormat?: string;
  exml?: string;
  jidFormat?: string;
  fullTextSearch?: string;
  mamNode?: string;
  passwordFormat?: string;
  archiveGroupchats?: boolean;
  accountsWithoutPassword?: string;
  createSchema?: boolean;
  acceptNonUtf8mb4?: boolean;
  json?: boolean;
  quiet?: boolean;
  dryRun?: boolean;
  only?: string;
  rate?: string;
  shard?: string;
  batchRows?: string;
  batchBytes?: string;
  rejectFile?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function addCommonOptions(command: Command, needsSource = true): Command {
  if (needsSource) {
    command.requiredOption('-s, --source <url>', `the source: ${SOURCE_ADAPTERS.map((a) => a.example).join(', ') || 'xep0227:FILE'}`);
    command.option('--source-option <key=value>', 'an adapter setting, repeatable (e.g. domain=example.com)', collect, []);
  }
  return command
    .option('-t, --target <url>', `MongooseIM database: ${TARGET_URL_HELP} (embedded rehearsal)`, DEFAULT_TARGET)
    .option('--target-config <mongooseim.toml>', "read mod_mam/auth settings from the target server's config")
    .addOption(new Option('--message-format <format>', 'mam message column encoding (db_message_format)').choices(['compressed-eterm', 'eterm', 'xml']))
    .addOption(new Option('--exml <shape>', 'Erlang term shape: exml4 for MongooseIM ≥ 6.3.2, exml3 for older').choices(['exml4', 'exml3']))
    .addOption(new Option('--jid-format <format>', 'personal archive JID columns (db_jid_format)').choices(['mini', 'rfc']))
    .addOption(new Option('--full-text-search <bool>', 'fill search_body (full_text_search)').choices(['true', 'false']))
    .option('--mam-node <0-255>', 'node byte of MAM ids')
    .addOption(new Option('--password-format <format>', 'how plaintext passwords are stored (auth.password.format)').choices(['scram', 'plain']))
    .option('--archive-groupchats', 'keep groupchat messages in personal archives (pm.archive_groupchats)')
    .addOption(new Option('--accounts-without-password <policy>', 'accounts whose password cannot be recovered: reject them, or create them locked (empty password, no login until reset)').choices(['reject', 'locked']))
    .option('--create-schema', "create MongooseIM's schema if the target database is empty (rehearsal databases)")
    .option('--accept-non-utf8mb4', 'MySQL: write although some MongooseIM text column or the connection is not utf8mb4 (records with emoji or other 4-byte UTF-8 are then rejected)')
    .option('--json', 'machine-readable output: NDJSON events and a final JSON document on stdout')
    .option('-q, --quiet', 'no progress line');
}

function commonOptions(raw: RawOptions): CommonOptions {
  const sourceSettings: Record<string, string> = {};
  for (const pair of raw.sourceOption ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--source-option ${JSON.stringify(pair)}: expected key=value`);
    sourceSettings[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  validateTargetUrl(raw.target);
  const flags: Partial<TargetSettings> = {};
  if (raw.messageFormat) flags.messageFormat = raw.messageFormat as TargetSettings['messageFormat'];
  if (raw.exml) flags.exmlShape = raw.exml as TargetSettings['exmlShape'];
  if (raw.jidFormat) flags.pmJidFormat = raw.jidFormat as TargetSettings['pmJidFormat'];
  if (raw.fullTextSearch) flags.fullTextSearch = raw.fullTextSearch === 'true';
  if (raw.mamNode !== undefined) flags.mamNode = wholeNumber('--mam-node', raw.mamNode);
  if (raw.passwordFormat) flags.passwordFormat = raw.passwordFormat as TargetSettings['passwordFormat'];
  if (raw.archiveGroupchats) flags.archiveGroupchats = true;
  if (raw.accountsWithoutPassword) flags.accountsWithoutPassword = raw.accountsWithoutPassword as TargetSettings['accountsWithoutPassword'];
  return {
    source: raw.source ?? '',
    sourceSettings,
    target: raw.target,
    targetConfig: raw.targetConfig,
    settingsFlags: flags,
    createSchema: raw.createSchema === true,
    acceptNonUtf8mb4: raw.acceptNonUtf8mb4 === true,
  };
}

function wholeNumber(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} takes a whole number, not ${JSON.stringify(value)}`);
  return Number(value);
}

export function parseShard(value: string | undefined): { index: number; count: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) throw new UsageError(`--shard ${JSON.stringify(value)}: expected k/n with 1 ≤ k ≤ n, e.g. 2/4`);
  return { index, count };
}

export function parseKinds(value: string | undefined): ReadonlySet<RecordKind> | undefined {
  if (value === undefined) return undefined;
  const kinds = new Set<RecordKind>();
  for (const name of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const mapped = KIND_ALIASES[name] ?? (RECORD_KINDS.includes(name as RecordKind) ? [name as RecordKind] : undefined);
    if (!mapped) throw new UsageError(`--only ${JSON.stringify(name)}: expected some of ${Object.keys(KIND_ALIASES).join(', ')}`);
    for (const k of mapped) kinds.add(k);
  }
  return kinds;
}

function defaultRejectFile(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `xmpp-migrate-rejects-${stamp}.ndjson`;
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  let reporter = new Reporter({ json: false, stdout: io.stdout, stderr: io.stderr });
  const program = new Command('xmpp-migrate')
    .description('Move a running XMPP deployment (ejabberd, Prosody, Openfire, Tigase, XEP-0227 exports) into MongooseIM:\nplan it, rehearse it, run it resumably, verify parity.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Typical session:
  xmpp-migrate plan   --source xep0227:./export.xml --target postgres://mim:PASS@db/mim --target-config mongooseim.toml
                      (or --target mysql://mim:PASS@db:3306/mim for MongooseIM on MySQL/MariaDB)
  xmpp-migrate run    --source xep0227:./export.xml --target … --dry-run     # everything but the writes
  xmpp-migrate run    --source xep0227:./export.xml --target …               # kill it any time; re-run resumes
  xmpp-migrate verify --source xep0227:./export.xml --target …               # per-archive parity

${EXIT_CODES_HELP}`);

  const withReporter = (raw: RawOptions): Reporter => (reporter = new Reporter({ json: raw.json === true, quiet: raw.quiet, stdout: io.stdout, stderr: io.stderr }));

  addCommonOptions(program.command('plan').description('inventory the source, check the target and passwords, estimate; writes nothing'))
    .action(async (raw: RawOptions) => {
      const r = withReporter(raw);
      const { plan } = await import('../commands/plan.js');
      const report = await plan(commonOptions(raw));
      r.planReport(report);
      exitCode = report.refusals.length > 0 ? EXIT.planRefused : EXIT.ok;
    });

  addCommonOptions(program.command('run').description('migrate; resumable: re-run the same command after any interruption'))
    .option('--dry-run', 'read, transform and encode everything, write nothing; rejects are reported')
    .option('--only <kinds>', `migrate only these kinds (comma-separated): ${Object.keys(KIND_ALIASES).join(', ')}`)
    .option('--rate <records/s>', 'throttle to this many records per second (live production databases)')
    .option('--shard <k/n>', 'migrate only shard k of n (owners split by a stable hash); run the n shards side by side, e.g. k = JOB_COMPLETION_INDEX + 1')
    .option('--batch-rows <n>', 'records per batch (default 5000)')
    .option('--batch-bytes <n>', 'encoded bytes per batch (default 16777216)')
    .option('--reject-file <path>', 'NDJSON report of rejected records (default xmpp-migrate-rejects-DATE.ndjson, mode 0600)')
    .action(async (raw: RawOptions) => {
      const r = withReporter(raw);
      const { run } = await import('../commands/run.js');
      const summary = await run({
        ...commonOptions(raw),
        dryRun: raw.dryRun === true,
        only: parseKinds(raw.only),
        rate: raw.rate === undefined ? undefined : wholeNumber('--rate', raw.rate),
        shard: parseShard(raw.shard),
        limits: {
          ...(raw.batchRows ? { rows: wholeNumber('--batch-rows', raw.batchRows) } : {}),
          ...(raw.batchBytes ? { bytes: wholeNumber('--batch-bytes', raw.batchBytes) } : {}),
        },
        rejectFile: raw.rejectFile ?? defaultRejectFile(),
        onEvent: r.onEvent,
        signal: io.signal,
      });
      r.runSummary(summary);
      exitCode = summary.interrupted ? EXIT.failed : summary.rejected > 0 ? EXIT.finishedWithRejects : EXIT.ok;
    });

  addCommonOptions(program.command('verify').description('compare source and target: per-archive counts, first/last time, content hash'))
    .action(async (raw: RawOptions) => {
      const r = withReporter(raw);
      const { verify } = await import('../commands/verify.js');
      const report = await verify(commonOptions(raw));
      r.verifyReport(report);
      exitCode = report.parity ? EXIT.ok : EXIT.parityFailed;
    });

  addCommonOptions(program.command('status').description('show the checkpoints of the migrations into a target'), false)
    .action(async (raw: RawOptions) => {
      const r = withReporter(raw);
      const { status } = await import('../commands/status.js');
      r.statusReport(await status({ target: raw.target }));
    });

  program.command('demo')
    .description('plan, run and verify the bundled example export into a fresh embedded database (./.xmpp-migrate/demo)')
    .option('--json', 'machine-readable output')
    .action(async (raw: { json?: boolean }) => {
      const { demo } = await import('./demo.js');
      exitCode = await demo({ json: raw.json === true, io, signal: io.signal });
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    reporter.error(errorMessage(err));
    return exitCodeForError(err);
  }
}
