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
import { Reporter, toJson, type Output } from './reporter.js';

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
  delta?: boolean;
  deferOffline?: boolean;
  quick?: boolean;
  inbox?: boolean;
  sample?: string;
  perOwner?: boolean;
  mergeArchives?: string | boolean;
  controlFile?: string;
  slowLatency?: string;
  abortLatency?: string;
  plan?: string;
  out?: string;
  allowGrowth?: string;
  mapping?: string;
  registerDomains?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const MAPPING_HELP = 'rename domains (and MUC hosts) everywhere: a TOML file of [domains] "old.example" = "new.example" lines (see mappings/example.toml); give the same file to plan, run, verify and cutover';
const REGISTER_DOMAINS_HELP = "a target on MongooseIM's dynamic domains: add each migrated domain it lacks to domain_settings under this host type (as mongooseimctl domain addDomain does); without it such a target refuses the run, naming the domains";

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
    ...(raw.mapping !== undefined ? { mapping: raw.mapping } : {}),
  };
}

function hostPort(flag: string, value: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new UsageError(`${flag} ${JSON.stringify(value)}: expected host:port, e.g. xmpp.example.com:5222`);
  return { host: match[1]!, port };
}

function positiveSeconds(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > 3600) throw new UsageError(`${flag} takes a window in seconds (e.g. 2), not ${JSON.stringify(value)}`);
  return n;
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

function runOptions(raw: RawOptions, reporter: Reporter, signal: AbortSignal | undefined): import('../commands/run.js').RunCommandOptions {
  return {
    ...commonOptions(raw),
    dryRun: raw.dryRun === true,
    delta: raw.delta === true,
    deferOffline: raw.deferOffline === true,
    inbox: raw.inbox === true,
    mergeArchivesSeconds: raw.mergeArchives === undefined || raw.mergeArchives === false ? undefined : raw.mergeArchives === true ? 2 : positiveSeconds('--merge-archives', raw.mergeArchives),
    only: parseKinds(raw.only),
    rate: raw.rate === undefined ? undefined : wholeNumber('--rate', raw.rate),
    shard: parseShard(raw.shard),
    limits: {
      ...(raw.batchRows ? { rows: wholeNumber('--batch-rows', raw.batchRows) } : {}),
      ...(raw.batchBytes ? { bytes: wholeNumber('--batch-bytes', raw.batchBytes) } : {}),
    },
    controlFile: raw.controlFile,
    latency: {
      ...(raw.slowLatency ? { slowMs: wholeNumber('--slow-latency', raw.slowLatency) } : {}),
      ...(raw.abortLatency ? { abortMs: wholeNumber('--abort-latency', raw.abortLatency) } : {}),
    },
    planFile: raw.plan,
    ...(raw.registerDomains !== undefined ? { registerDomains: raw.registerDomains } : {}),
    rejectFile: raw.rejectFile ?? defaultRejectFile(),
    onEvent: reporter.onEvent,
    signal,
  };
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
    .option('--mapping <file.toml>', MAPPING_HELP)
    .option('--quick', 'count an export by a byte scan instead of reading every record: seconds per GB; estimates, rejects unknown')
    .option('--out <plan.json>', 'save the plan: `run --plan plan.json` then runs only while the source and target still match it')
    .option('--allow-growth <percent>', 'with --out: how much each kind may grow before a run under the plan refuses (a live source keeps growing)', '20')
    .action(async (raw: RawOptions) => {
      const r = withReporter(raw);
      const { plan } = await import('../commands/plan.js');
      const report = await plan({ ...commonOptions(raw), quick: raw.quick === true });
      r.planReport(report);
      if (raw.out) {
        const { savedPlanFrom, writeSavedPlan } = await import('../commands/saved-plan.js');
        await writeSavedPlan(raw.out, savedPlanFrom(report, wholeNumber('--allow-growth', raw.allowGrowth ?? '20')));
        if (!raw.json) io.stderr.write(`plan saved to ${raw.out}: run it with \`xmpp-migrate run … --plan ${raw.out}\`\n`);
      }
      exitCode = report.refusals.length > 0 ? EXIT.planRefused : EXIT.ok;
    });

  addCommonOptions(program.command('run').description('migrate; resumable: re-run the same command after any interruption'))
    .option('--mapping <file.toml>', MAPPING_HELP)
    .option('--register-domains <host_type>', REGISTER_DOMAINS_HELP)
    .option('--dry-run', 'read, transform and encode everything, write nothing; rejects are reported')
    .option('--only <kinds>', `migrate only these kinds (comma-separated): ${Object.keys(KIND_ALIASES).join(', ')}`)
    .option('--rate <records/s>', 'throttle to this many records per second (live production databases)')
    .option('--shard <k/n>', 'migrate only shard k of n (owners split by a stable hash); run the n shards side by side, e.g. k = JOB_COMPLETION_INDEX + 1')
    .option('--batch-rows <n>', 'records per batch (default 1000)')
    .option('--batch-bytes <n>', 'encoded bytes per batch (default 8388608)')
    .option('--reject-file <path>', 'NDJSON report of rejected records (default xmpp-migrate-rejects-DATE.ndjson, mode 0600)')
    .option('--delta', 'staged cutover: migrate what arrived or changed since the last completed pass (archives past their high-water marks; accounts, rosters, vCards brought up to date)')
    .option('--merge-archives [seconds]', 'a deployment with both a XEP-0136 and a MAM store: give it to both runs (MAM store first); a message the other store\'s run already wrote (same archive, peer, direction and body, or origin-id, within the window, default 2 s) is merged, not written twice')
    .option('--defer-offline', 'staged cutover: read offline messages but leave them for `cutover` (the old server still delivers them; copied earlier they would be delivered twice)')
    .option('--plan <plan.json>', 'run only while the source and target still match this saved plan (`plan --out`); refuses with the drift otherwise')
    .option('--control-file <path>', "live control without a restart: write 'pause', 'resume' or 'rate=N' (0 = unlimited) into it; read between batches")
    .option('--slow-latency <ms>', 'halve the rate when a batch write takes longer than this (recovers when writes are fast again)')
    .option('--abort-latency <ms>', 'stop (resumably) when a batch write takes longer than this: the target is in trouble')
    .option('--inbox', "once every stream is complete, fill MongooseIM's inbox (mod_inbox) from the archives: one entry per conversation, its last message, unread = the offline messages waiting (resumable; a re-run converges)")
    .addHelpText('after', `
Staged cutover (see the README runbook):
  run                    bulk backfill while the old server is live (kill it any time; re-run resumes)
  run --delta            catch up: what arrived since the last pass; repeat as often as you like
  cutover                freeze the old server first: final delta + verify + report; non-zero unless parity`)
    .action(async (raw: RawOptions) => {
      const r = withReporter(raw);
      const { run } = await import('../commands/run.js');
      const summary = await run(runOptions(raw, r, io.signal));
      r.runSummary(summary);
      exitCode = summary.interrupted ? EXIT.failed : summary.rejected > 0 ? EXIT.finishedWithRejects : EXIT.ok;
    });

  addCommonOptions(program.command('cutover').description('final step, after freezing the old server: final delta run, verify, cutover report; exits 5 unless parity'))
    .option('--mapping <file.toml>', MAPPING_HELP)
    .option('--register-domains <host_type>', REGISTER_DOMAINS_HELP)
    .option('--only <kinds>', 'the kinds the earlier runs migrated (the same --only as they had)')
    .option('--rate <records/s>', 'throttle to this many records per second')
    .option('--shard <k/n>', 'the shard the earlier runs of this process migrated')
    .option('--batch-rows <n>', 'records per batch (default 1000)')
    .option('--batch-bytes <n>', 'encoded bytes per batch (default 8388608)')
    .option('--reject-file <path>', 'NDJSON report of rejected records (mode 0600)')
    .option('--control-file <path>', "live control: 'pause', 'resume' or 'rate=N'")
    .option('--slow-latency <ms>', 'halve the rate when a batch write takes longer than this')
    .option('--abort-latency <ms>', 'stop (resumably) when a batch write takes longer than this')
    .option('--inbox', "after the final delta, fill MongooseIM's inbox (mod_inbox) from the archives and the offline messages now written")
    .option('--merge-archives [seconds]', 'as the earlier runs of this store had it: messages another store\'s migration already wrote are merged; verify then passes such archives by count')
    .action(async (raw: RawOptions) => {
      const r = withReporter(raw);
      const { cutover } = await import('../commands/cutover.js');
      const { dryRun: _dryRun, delta: _delta, deferOffline: _deferOffline, ...options } = runOptions(raw, r, io.signal);
      const report = await cutover(options);
      r.cutoverReport(report);
      exitCode = report.finalDelta.interrupted ? EXIT.failed : !report.parity ? EXIT.parityFailed : report.rejected > 0 ? EXIT.finishedWithRejects : EXIT.ok;
    });

  addCommonOptions(program.command('audit').description("the target's mongooseim.toml against what the source deployment used: modules, backends, SASL, MAM formats"))
    .addHelpText('after', `
Reads --target-config (required) and the source's inventory; writes nothing. Each finding has a severity,
why it matters and the exact change, for example:
  [warn]  mod_last is enabled but the source has no last-activity data: one database write per logout for nothing
  [error] mod_roster uses the mnesia backend (its default): migrated rosters stay invisible → backend = "rdbms"
  [error] SHA-1-only SCRAM accounts while SCRAM-SHA-512 is advertised → password.hash = ["sha"]
Flags such as --message-format override the config (as for run): the audit says when the server would
then read the archive differently from how it is written. Exit 6 when any finding is an error.`)
    .action(async (raw: RawOptions) => {
      withReporter(raw);
      const { audit } = await import('../commands/audit.js');
      const report = await audit(commonOptions(raw));
      if (raw.json) io.stdout.write(`${toJson(report)}\n`);
      else io.stdout.write((await import('../audit/format-audit.js')).formatAuditReport(report));
      exitCode = report.summary.error > 0 ? EXIT.checksFailed : EXIT.ok;
    });

  program.command('smoke')
    .description('log in to the target server as sampled users, fetch rosters and recent archives over XMPP, compare with the source')
    .requiredOption('-s, --source <url>', 'the source the accounts were migrated from (as for run)')
    .option('--source-option <key=value>', 'an adapter setting, repeatable', collect, [])
    .requiredOption('--passwords <file.csv>', 'CSV of jid,password for the accounts to try (never printed or reported)')
    .requiredOption('--xmpp <host:port>', "the target server's client (c2s) listener, e.g. xmpp.example.com:5222")
    .option('--sample <n>', 'at most this many accounts from the CSV, in file order', '20')
    .option('--messages <n>', 'archived messages compared per account (the last ones, by MAM)', '20')
    .addOption(new Option('--starttls <mode>', 'STARTTLS: when offered, always (fail without), or never').choices(['auto', 'required', 'off']).default('auto'))
    .option('--insecure-tls', 'accept a certificate that does not verify (a rehearsal server)')
    .option('--plain-without-tls', 'also try PLAIN on a connection without TLS (loopback rehearsals only)')
    .option('--timeout <ms>', 'bound on every wait for the server', '10000')
    .option('--tolerance <ms>', 'how far apart the source and target times of one message may be', '2000')
    .option('--json', 'machine-readable report on stdout')
    .addHelpText('after', `
For each account: a login with every SASL mechanism the server offers that a client could pick (SCRAM-SHA-512,
-256, -1; PLAIN only over TLS unless --plain-without-tls): a migrated SHA-1-only password fails SCRAM-SHA-256,
which is what clients that pick the strongest mechanism will see. Then the roster and the last --messages
archived messages (XEP-0313), compared with the source's records. Message bodies appear only as length and hash.
Exit 0 when every account matches, 5 when any login, roster or archive differs.`)
    .action(async (raw: { source: string; sourceOption: string[]; passwords: string; xmpp: string; sample: string; messages: string; starttls: 'auto' | 'required' | 'off'; insecureTls?: boolean; plainWithoutTls?: boolean; timeout: string; tolerance: string; json?: boolean }) => {
      withReporter({ json: raw.json } as RawOptions);
      const { smoke } = await import('../commands/smoke.js');
      const report = await smoke({
        source: raw.source,
        sourceSettings: commonOptions({ ...raw, target: DEFAULT_TARGET } as RawOptions).sourceSettings,
        passwords: raw.passwords,
        xmpp: hostPort('--xmpp', raw.xmpp),
        sample: wholeNumber('--sample', raw.sample),
        messages: wholeNumber('--messages', raw.messages),
        starttls: raw.starttls,
        rejectUnauthorized: raw.insecureTls !== true,
        plainWithoutTls: raw.plainWithoutTls === true,
        timeoutMs: wholeNumber('--timeout', raw.timeout),
        toleranceMs: wholeNumber('--tolerance', raw.tolerance),
      });
      if (raw.json) io.stdout.write(`${toJson(report)}\n`);
      else io.stdout.write((await import('../smoke/format-smoke.js')).formatSmokeReport(report));
      exitCode = report.ok ? EXIT.ok : EXIT.parityFailed;
    });

  program.command('loadtest')
    .description("simulated clients against the target server: connection time, delivery and MAM latency percentiles, errors; JSON + HTML report")
    .requiredOption('--accounts <file.csv>', 'CSV of jid,password: test accounts the clients log in as (reused round-robin)')
    .requiredOption('--xmpp <host:port>', "the target server's client (c2s) listener")
    .option('-s, --source <url>', "draw the message and MAM rates from this source's usage (its archive per user per hour)")
    .option('--source-option <key=value>', 'an adapter setting, repeatable', collect, [])
    .option('--clients <n>', 'simulated clients (default 10)')
    .option('--ramp-up <seconds>', 'clients connect evenly over this time (default 5)')
    .option('--rate <messages/s>', 'total message rate, a bound never exceeded (default 10, or from --source)')
    .option('--mam-rate <queries/s>', 'total MAM query rate (default 1, or from --source)')
    .option('--duration <seconds>', 'stop sending after this long (default 30)')
    .option('--max-messages <n>', 'and after this many messages (default 100000)')
    .option('--max-error-rate <fraction>', 'fail (exit 6) above this share of failed connections, lost messages and failed queries', '0.01')
    .option('--out <prefix>', 'report files: PREFIX.json and PREFIX.html', 'xmpp-migrate-loadtest')
    .addOption(new Option('--starttls <mode>', 'STARTTLS: when offered, always, or never').choices(['auto', 'required', 'off']).default('auto'))
    .option('--insecure-tls', 'accept a certificate that does not verify (a rehearsal server)')
    .option('--plain-without-tls', 'allow PLAIN without TLS (loopback rehearsals only)')
    .option('--timeout <ms>', 'bound on every wait for the server', '10000')
    .option('--json', 'print the report as JSON on stdout too')
    .addHelpText('after', `
Answers "how many resources for X users sending Y messages per second": run it against a rehearsal target with
the rates your source shows (--source) and more clients each time. Every loop is bounded: the run stops at
--duration or --max-messages, whichever comes first (Ctrl-C stops it early and still writes the reports).
Example: xmpp-migrate loadtest --accounts load-users.csv --xmpp mim-staging:5222 --source ejabberd+pg://… --clients 500 --ramp-up 60`)
    .action(async (raw: { accounts: string; xmpp: string; source?: string; sourceOption: string[]; clients?: string; rampUp?: string; rate?: string; mamRate?: string; duration?: string; maxMessages?: string; maxErrorRate: string; out: string; starttls: 'auto' | 'required' | 'off'; insecureTls?: boolean; plainWithoutTls?: boolean; timeout: string; json?: boolean }) => {
      withReporter({ json: raw.json } as RawOptions);
      const { loadtest, formatLoadtest } = await import('../commands/loadtest.js');
      const decimal = (flag: string, v: string | undefined): number | undefined => {
        if (v === undefined) return undefined;
        if (!/^\d+(\.\d+)?$/.test(v)) throw new UsageError(`${flag} takes a number, not ${JSON.stringify(v)}`);
        return Number(v);
      };
      const result = await loadtest({
        accounts: raw.accounts,
        xmpp: hostPort('--xmpp', raw.xmpp),
        source: raw.source,
        sourceSettings: commonOptions({ ...raw, target: DEFAULT_TARGET } as RawOptions).sourceSettings,
        scenario: {
          clients: raw.clients === undefined ? undefined : wholeNumber('--clients', raw.clients),
          rampUpSeconds: decimal('--ramp-up', raw.rampUp),
          messagesPerSecond: decimal('--rate', raw.rate),
          mamQueriesPerSecond: decimal('--mam-rate', raw.mamRate),
          durationSeconds: decimal('--duration', raw.duration),
          maxMessages: raw.maxMessages === undefined ? undefined : wholeNumber('--max-messages', raw.maxMessages),
        },
        starttls: raw.starttls,
        rejectUnauthorized: raw.insecureTls !== true,
        plainWithoutTls: raw.plainWithoutTls === true,
        timeoutMs: wholeNumber('--timeout', raw.timeout),
        jsonFile: `${raw.out}.json`,
        htmlFile: `${raw.out}.html`,
        maxErrorRate: decimal('--max-error-rate', raw.maxErrorRate)!,
        signal: io.signal,
      });
      io.stdout.write(raw.json ? `${toJson(result.report)}\n` : formatLoadtest(result));
      exitCode = result.passed ? EXIT.ok : EXIT.checksFailed;
    });

  addCommonOptions(program.command('verify').description('compare source and target: per-archive counts, first/last time, content hash'))
    .option('--mapping <file.toml>', MAPPING_HELP)
    .option('--sample <n>', 'compare only n archives, the same ones every time (a quick check of a very large migration; per-kind counts stay complete)')
    .option('--per-owner', 'list every compared archive (count, first and last time, content hash on both sides), not only those that differ')
    .action(async (raw: RawOptions) => {
      const r = withReporter(raw);
      const { verify } = await import('../commands/verify.js');
      const report = await verify({ ...commonOptions(raw), sample: raw.sample === undefined ? undefined : wholeNumber('--sample', raw.sample), perOwner: raw.perOwner === true });
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
