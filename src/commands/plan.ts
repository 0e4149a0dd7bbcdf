// `plan`: inventory of the source, password portability, target checks, what will not move, and an
// estimate. Reads only: it never writes to the source or the target.
import { existsSync } from 'node:fs';
import type { SourceInventory } from '../adapters/source-adapter.js';
import { errorMessage } from '../errors.js';
import type { RecordKind } from '../records.js';
import type { MongooseimDialect } from '../target/mongooseim/mongooseim-dialect.js';
import { SUPPORTED_KINDS } from '../target/mongooseim/row-encoder.js';
import { BLOCKLIST_DEFAULT_RULE } from '../encoding/privacy-list.js';
import type { TargetSettings } from '../target/mongooseim/target-settings.js';
import { characterSetRefusal, describeTarget, openDialect } from '../target/open-target.js';
import { loadMappingFor, openSourceFor, resolveSettings, type CommonOptions } from './context.js';
import { domainCensus, type DomainCensus } from '../mappings/domain-census.js';
import type { AuditReport } from '../audit/audit-config.js';
import { auditInventory } from './audit.js';

export interface PlanOptions extends CommonOptions {
  /** `--quick`: count the source by a byte scan where it offers one (exports), not by reading every record. */
  quick?: boolean;
}

export interface PlanCheck {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
}

export interface PasswordPortability {
  shape: string;
  accounts: number;
  outcome: string;
}

export interface PlanReport {
  source: string;
  sourceDescription: string;
  target: string;
  settings: TargetSettings;
  inventory: SourceInventory;
  passwords: PasswordPortability[];
  /** Kinds the source has that no writer handles yet: counted and reported as skipped by `run`. */
  skippedKinds: Array<{ kind: RecordKind; records: number }>;
  checks: PlanCheck[];
  /** Rough duration of `run`, from the record counts and a conservative rate. */
  estimate: { records: number; messages: number; seconds: number; basis: string };
  /** Reasons the run would be refused; empty means go. */
  refusals: string[];
  /** The extensions audit of --target-config against what the source used (absent without a config). */
  audit?: AuditReport;
  /** `--mapping`: records per kind per domain before and after the renames (plan then reads the whole source). */
  domains?: DomainCensus;
  /** `--mapping`: the renames' fingerprint, recorded by saved plans. */
  mappingFingerprint?: string;
}

/**
 * End-to-end rates (records/s) for estimates, from `bench/` on 2 cores: 15.2-15.8k msg/s into PostgreSQL and
 * 14.0k into MariaDB with compressed terms (direct bulk load of archives, binary COPY, overlapped
 * compression); 9.9k into the embedded PGlite. Rounded down: an estimate should not promise the best case.
 */
const ESTIMATE_RATE = { server: 12_000, embedded: 8_000 };

export async function plan(options: PlanOptions): Promise<PlanReport> {
  const settings = await resolveSettings(options);
  const mapping = await loadMappingFor(options);
  const source = await openSourceFor(options);
  let inventory: SourceInventory;
  let domains: DomainCensus | undefined;
  const delta = source.capabilities.delta;
  const quick = options.quick === true && source.quickInventory !== undefined;
  try {
    inventory = options.quick && source.quickInventory ? await source.quickInventory() : await source.inventory();
    if (mapping) domains = await domainCensus(source, mapping);
  } finally {
    await source.close();
  }
  const checks: PlanCheck[] = [];
  if (domains) checks.push(...mappingChecks(domains));
  if (options.quick) {
    checks.push(quick
      ? { check: 'inventory', status: 'warn', detail: 'quick scan: counts are estimates from the tags, and records a run would reject are not known; run plan without --quick (or run --dry-run) for those' }
      : { check: 'inventory', status: 'ok', detail: 'this source has no quick scan: every record was read (--quick changes nothing here)' });
  }
  checks.push({ check: 'delta runs', status: delta === 'none' ? 'warn' : 'ok', detail: DELTA_ADVICE[delta] });
  const refusals: string[] = [];
  await checkTarget(options, checks, refusals);

  const passwords = Object.entries(inventory.credentials)
    .filter(([, n]) => n > 0)
    .map(([shape, accounts]) => ({ shape, accounts, outcome: passwordOutcome(shape, settings) }));
  if (passwords.some((p) => p.shape === 'scram-sha1') && settings.passwordHashes.some((h) => h !== 'sha1')) {
    checks.push({
      check: 'SCRAM mechanisms',
      status: 'warn',
      detail: 'accounts with SHA-1-only SCRAM hashes cannot log in with SCRAM-SHA-256/512, which MongooseIM advertises by default: set auth.password.hash = ["sha"] (or limit auth.sasl_mechanisms to scram_sha1_plus, scram_sha1, plain) for their host type',
    });
  }
  for (const [setting, origin] of Object.entries(settings.origin)) {
    if (origin === 'default' && ['messageFormat', 'pmJidFormat', 'exmlShape'].includes(setting)) {
      checks.push({ check: `setting ${setting}`, status: 'warn', detail: `not given: assuming MongooseIM's default (${String(settings[setting as keyof TargetSettings])}); pass --target-config mongooseim.toml so the archive is written the way the server will read it` });
    }
  }
  const audit = options.targetConfig ? await auditInventory(options.targetConfig, inventory, source.capabilities.kinds, settings) : undefined;
  if (audit) {
    const { error, warn, info } = audit.summary;
    checks.push({ check: 'extensions audit', status: error > 0 ? 'fail' : warn > 0 ? 'warn' : 'ok', detail: `${error} error(s), ${warn} warning(s), ${info} note(s) in ${audit.config}: see the audit section (or \`xmpp-migrate audit\`)` });
  }
  if ((inventory.counts.blocklist ?? 0) > 0 && (inventory.counts['privacy-list'] ?? 0) > 0) {
    checks.push({ check: 'blocklists and privacy lists', status: 'warn', detail: BLOCKLIST_DEFAULT_RULE });
  }
  const skippedKinds = (Object.entries(inventory.counts) as Array<[RecordKind, number]>)
    .filter(([kind, n]) => n > 0 && !SUPPORTED_KINDS.has(kind))
    .map(([kind, records]) => ({ kind, records }));
  const records = Object.values(inventory.counts).reduce((a, b) => a + (b ?? 0), 0);
  const messages = inventory.counts['archived-message'] ?? 0;
  const embedded = options.target.startsWith('pglite:');
  const rate = embedded ? ESTIMATE_RATE.embedded : ESTIMATE_RATE.server;
  return {
    source: options.source.replace(/\/\/[^@/]*@/, '//***@'),
    sourceDescription: inventory.description,
    target: describeTarget(options.target),
    settings,
    inventory,
    passwords,
    skippedKinds,
    checks,
    estimate: { records, messages, seconds: Math.ceil(records / rate), basis: `${rate.toLocaleString('en')} records/s, as bench/ measured on 2 cores for ${embedded ? 'the embedded PGlite target' : 'a database server'}; measure yours with run --dry-run and bench/` },
    refusals,
    audit,
    ...(domains ? { domains } : {}),
    ...(mapping ? { mappingFingerprint: mapping.fingerprint } : {}),
  };
}

const DELTA_ADVICE: Record<'exact' | 'scan' | 'none', string> = {
  exact: 'exact: `run --delta` reads archives past their high-water marks and re-reads accounts, rosters, vCards (bringing changed rows up to date); a final `cutover` after freezing the old server closes the gap',
  scan: '`run --delta` re-reads every stream and writes only what is new or changed (archives are append-only, accounts, rosters, vCards are brought up to date): exact, but it takes as long to read as the bulk pass; freeze the old server before `cutover`',
  none: 'this source is a snapshot (an export file): a delta needs a fresh export written over the same path, then `run --delta` scans it and writes only what is new or changed; plan the freeze before the last export',
};

function passwordOutcome(shape: string, settings: TargetSettings): string {
  if (shape === 'none') {
    return settings.accountsWithoutPassword === 'locked'
      ? 'no recoverable password: created locked (empty password, no login) with roster and history; set a password after cutover'
      : 'no recoverable password: rejected and listed in the reject report (or --accounts-without-password locked)';
  }
  if (shape === 'plain' || shape.startsWith('plain+')) {
    return settings.passwordFormat === 'plain'
      ? 'stored as plaintext (auth.password.format = plain): every SASL mechanism works'
      : `hashed on import to SCRAM ${settings.passwordHashes.join(', ')} with ${settings.scramIterations} iterations: every mechanism works`;
  }
  if (shape === 'scram-sha1') return 'SCRAM-SHA-1 carried over: PLAIN and SCRAM-SHA-1 logins work; SHA-256/512 do not (see checks)';
  return `${shape} carried over as pass_details: logins with these hashes work unchanged`;
}

async function checkTarget(options: PlanOptions, checks: PlanCheck[], refusals: string[]): Promise<void> {
  const url = options.target;
  if (url.startsWith('pglite:') && url !== 'pglite:memory' && !existsSync(url.slice('pglite:'.length))) {
    checks.push({ check: 'target', status: 'ok', detail: `${describeTarget(url)} does not exist yet: run creates an embedded rehearsal database with MongooseIM's schema` });
    return;
  }
  let dialect: MongooseimDialect;
  try {
    dialect = await openDialect(url);
  } catch (err) {
    checks.push({ check: 'target reachable', status: 'fail', detail: errorMessage(err) });
    refusals.push(`the target cannot be reached: ${errorMessage(err)}`);
    return;
  }
  try {
    checks.push({ check: 'target reachable', status: 'ok', detail: `${dialect.db.displayName} (${dialect.label})` });
    const schema = await dialect.checkSchema();
    const creatable = options.createSchema || dialect.embedded;
    if (schema.missingTables.length === 0 && schema.missingColumns.length === 0) {
      checks.push({ check: 'MongooseIM schema', status: 'ok', detail: 'every table and column the writer needs is present' });
    } else if (creatable && schema.missingColumns.length === 0) {
      checks.push({ check: 'MongooseIM schema', status: 'ok', detail: `missing tables (${schema.missingTables.join(', ')}) will be created: this is a rehearsal target` });
    } else {
      const missing = [...schema.missingTables.map((t) => `table ${t}`), ...schema.missingColumns.map((c) => `column ${c.table}.${c.column}`)];
      checks.push({ check: 'MongooseIM schema', status: 'fail', detail: `missing: ${missing.join(', ')}` });
      refusals.push(`the target lacks ${missing.join(', ')}: load ${dialect.schemaSource} first (or use --create-schema on an empty rehearsal database)`);
    }
    if (dialect.characterSetProblems) {
      const problems = await dialect.characterSetProblems();
      if (problems.length === 0) {
        checks.push({ check: 'character sets', status: 'ok', detail: 'every MongooseIM text column and the connection are utf8mb4: emoji and all 4-byte UTF-8 survive' });
      } else if (options.acceptNonUtf8mb4) {
        checks.push({ check: 'character sets', status: 'warn', detail: `accepted with --accept-non-utf8mb4: ${problems.join('; ')}; records holding 4-byte UTF-8 in these places will be rejected` });
      } else {
        checks.push({ check: 'character sets', status: 'fail', detail: `not utf8mb4: ${problems.join('; ')}` });
        refusals.push(characterSetRefusal(problems));
      }
    }
    checks.push({ check: 'bulk path', status: dialect.notices.length > 0 ? 'warn' : 'ok', detail: [dialect.bulkPath, ...dialect.notices].join(': ') });
    const checkpoints = await dialect.listCheckpoints();
    if (checkpoints.length > 0) {
      const done = checkpoints.filter((c) => c.completed).length;
      checks.push({ check: 'earlier runs', status: 'ok', detail: `${checkpoints.length} stream checkpoint(s), ${done} complete: run resumes where they stopped` });
    }
  } finally {
    await dialect.db.close();
  }
}

/** What an operator should see about a `--mapping` before running it. */
function mappingChecks(census: DomainCensus): PlanCheck[] {
  const checks: PlanCheck[] = [];
  const renames = census.renames.map((r) => `${r.from} → ${r.to}`).join(', ');
  checks.push({ check: 'domain mapping', status: 'ok', detail: `${census.mapping}: ${renames}; every JID of these domains (owners, contacts, peers, affiliations, JIDs inside stored stanzas, vCards and bookmarks) is renamed; see the per-domain counts` });
  if (census.unused.length > 0) {
    checks.push({ check: 'domain mapping', status: 'warn', detail: `no record of the source is stored under ${census.unused.join(', ')}: ${census.unused.length === 1 ? 'its rename changes' : 'these renames change'} at most JIDs that refer to ${census.unused.length === 1 ? 'it' : 'them'} (a typo in ${census.mapping}?)` });
  }
  if (census.merges.length > 0) {
    checks.push({ check: 'domain mapping', status: 'warn', detail: `the source already has records under ${census.merges.join(', ')}, which the mapping renames other domains onto: accounts, rooms and archives of the same name merge (the first written wins where MongooseIM keeps one row)` });
  }
  return checks;
}
