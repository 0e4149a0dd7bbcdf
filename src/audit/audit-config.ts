// The extensions audit: a target mongooseim.toml compared with what the source deployment actually used and
// with what xmpp-migrate will write. Pure: the config, the inventory and the settings in, findings out.
// Each finding says how bad, why, and the exact change. Facts: esl/MongooseIM @ 6.8.0 (see the catalogue,
// sasl-mechanisms.ts and doc/modules/mod_mam.md: db_message_format, db_jid_format, full_text_search,
// pm.archive_groupchats, enforce_simple_queries; doc/configuration/auth.md; listen-c2s.md tls.mode).
import type { SourceInventory } from '../adapters/source-adapter.js';
import type { RecordKind } from '../records.js';
import type { ScramAlgorithm } from '../records.js';
import type { TargetSettings } from '../target/mongooseim/target-settings.js';
import { EXTENSIONS, XEP0136_MODULES, type ExtensionFacts } from './extension-catalogue.js';
import { asTable, type ConfigScope, type MongooseimConfig, type TomlTable } from './mongooseim-config.js';
import { HASH_OPTION, SCRAM_STRENGTH, advertisedMechanisms, authView, mechanismsServing, scramAlgorithmOf, storedHashes, wireName, type AuthView } from './sasl-mechanisms.js';

export type AuditSeverity = 'error' | 'warn' | 'info';

export type AuditCode =
  | 'auth-not-rdbms'
  | 'no-rdbms-pool'
  | 'sasl-unservable'
  | 'module-missing'
  | 'module-backend'
  | 'module-unused'
  | 'mam-pm-disabled'
  | 'mam-muc-disabled'
  | 'mam-format'
  | 'mam-simple-queries'
  | 'deprecated';

export interface AuditFinding {
  code: AuditCode;
  severity: AuditSeverity;
  /** `top level` or the [[host_config]] it concerns. */
  scope: string;
  module?: string;
  title: string;
  why: string;
  /** The exact change: TOML to add or edit, or a flag. */
  change: string;
}

export interface AuditReport {
  config: string;
  scopes: string[];
  findings: AuditFinding[];
  summary: Record<AuditSeverity, number>;
}

export interface AuditInput {
  config: MongooseimConfig;
  inventory: SourceInventory;
  /** The kinds the source can report (its capabilities): for any other kind, a zero count says nothing. */
  sourceKinds: readonly RecordKind[];
  /** The kinds xmpp-migrate writes into MongooseIM's tables. */
  writtenKinds: ReadonlySet<RecordKind>;
  /** What the run will write (defaults, then the config, then flags). */
  settings: TargetSettings;
}

/** Past this many archived messages, counting a MAM result set (RSM count) on every query is a real cost. */
export const LARGE_ARCHIVE = 1_000_000;

const SEVERITY_ORDER: Record<AuditSeverity, number> = { error: 0, warn: 1, info: 2 };
const number = (n: number): string => n.toLocaleString('en');

export function auditConfig(input: AuditInput): AuditReport {
  const findings: AuditFinding[] = [];
  const usage = new Usage(input);
  const top = input.config.scopes[0]!;
  auditPool(input, usage, findings);
  for (const scope of input.config.scopes) {
    if (scope === top || scope.auth !== top.auth) auditAuth(scope, usage, findings);
    if (scope === top || scope.ownModules) {
      auditModules(scope, usage, input.writtenKinds, findings);
      auditMam(scope, usage, input.settings, findings);
      auditDeprecated(scope, usage, findings);
    }
  }
  findings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  const summary: Record<AuditSeverity, number> = { error: 0, warn: 0, info: 0 };
  for (const f of findings) summary[f.severity]++;
  return { config: input.config.path, scopes: input.config.scopes.map((s) => s.label), findings, summary };
}

/** What the source deployment used, as far as its inventory can tell. */
class Usage {
  constructor(private readonly input: AuditInput) {}

  /** Whether the source can say anything about this kind. */
  knows(kind: RecordKind): boolean {
    return this.input.sourceKinds.includes(kind) && !this.input.inventory.cannotProvide.some((c) => c.kind === kind);
  }

  count(kind: RecordKind): number {
    return this.input.inventory.counts[kind] ?? 0;
  }

  get credentials(): Record<string, number> {
    return this.input.inventory.credentials;
  }
}

function section(scope: ConfigScope, module: string): string {
  return `[${scope.modulesPath}.${module}]`;
}

function inScope(scope: ConfigScope): string {
  return scope.label === 'top level' ? '' : ` (in the [[host_config]] with ${scope.label.replace('host_config ', '')})`;
}

function auditPool(input: AuditInput, usage: Usage, findings: AuditFinding[]): void {
  if (input.config.hasRdbmsPool) return;
  const written = [...input.writtenKinds].filter((k) => usage.count(k) > 0);
  if (written.length === 0) return;
  findings.push({
    code: 'no-rdbms-pool',
    severity: 'error',
    scope: 'top level',
    title: 'no RDBMS connection pool',
    why: `xmpp-migrate writes ${written.join(', ')} into MongooseIM's SQL database, and every rdbms backend (auth, modules) needs the pool outgoing_pools.rdbms.default, which this config lacks: MongooseIM would not see the migrated data`,
    change: '[outgoing_pools.rdbms.default]\n  [outgoing_pools.rdbms.default.connection]\n    driver = "pgsql"   # or "mysql"\n    host = "…"\n    database = "…"\n    username = "…"\n    password = "…"',
  });
}

function auditAuth(scope: ConfigScope, usage: Usage, findings: AuditFinding[]): void {
  const view = authView(scope.auth);
  const accounts = usage.count('account');
  if (accounts > 0 && !view.methods.includes('rdbms')) {
    findings.push({
      code: 'auth-not-rdbms',
      severity: 'error',
      scope: scope.label,
      title: `authentication does not read the SQL users table${view.methods.length ? ` (methods: ${view.methods.join(', ')})` : ''}`,
      why: `${number(accounts)} accounts are migrated into the users table; only the rdbms auth method reads it (internal keeps users in Mnesia), so nobody could log in`,
      change: `[${scope.authPath}.rdbms]${view.methods.includes('internal') ? `\n# and remove [${scope.authPath}.internal]` : ''}${Array.isArray(scope.auth?.methods) ? `\n# in [${scope.authPath}]: methods = ["rdbms"]` : ''}`,
    });
  }
  auditSasl(scope, view, usage, findings);
  if (view.mechanismsConfigured && view.mechanisms.includes('digest')) {
    findings.push({ code: 'deprecated', scope: scope.label, severity: 'warn', title: 'DIGEST-MD5 is in auth.sasl_mechanisms', why: 'MongooseIM deprecates the digest mechanism and will remove it; it never works with password.format = "scram" either', change: `[${scope.authPath}]\n  sasl_mechanisms = [${view.mechanisms.filter((m) => m !== 'digest').map((m) => `"${m}"`).join(', ')}]` });
  }
}

/** SCRAM-only accounts can answer only the SCRAM variants whose hashes they hold (no rehash on login). */
function auditSasl(scope: ConfigScope, view: AuthView, usage: Usage, findings: AuditFinding[]): void {
  const advertised = advertisedMechanisms(view);
  const strongest = SCRAM_STRENGTH.find((h) => advertised.some((m) => scramAlgorithmOf(m) === h && !m.endsWith('_plus')));
  const groups: Array<{ shape: string; accounts: number; hashes: ScramAlgorithm[] }> = [];
  for (const [shape, accounts] of Object.entries(usage.credentials)) {
    const hashes = storedHashes(shape);
    if (accounts > 0 && Array.isArray(hashes)) groups.push({ shape, accounts, hashes });
  }
  const failing = groups.filter((g) => (strongest !== undefined && !g.hashes.includes(strongest)) || mechanismsServing(g.hashes, view).length === 0);
  if (failing.length === 0) return;
  const common = SCRAM_STRENGTH.filter((h) => groups.every((g) => g.hashes.includes(h)));
  const affected = failing.reduce((n, g) => n + g.accounts, 0);
  const lines = failing.map((g) => `${number(g.accounts)} ${g.shape}`).join(', ');
  const advertisedWire = advertised.filter((m) => scramAlgorithmOf(m) !== undefined && !m.endsWith('_plus')).map(wireName);
  const why = [
    `the migrated SCRAM hashes are carried over as they are and MongooseIM never rehashes on login; a SCRAM-SHA-N exchange needs the SHA-N hash in pass_details.`,
    `This scope advertises ${advertisedWire.join(', ') || 'no SCRAM mechanism'}${view.mechanismsConfigured || view.hashesConfigured ? '' : ' (the default: every hash)'}, and a client picks the strongest it implements${strongest ? ` (${wireName(`scram_${strongest}`)})` : ''}:`,
    `accounts with ${lines} fail to log in with it.`,
  ].join(' ');
  let change: string;
  if (common.length > 0) {
    const hashList = SCRAM_STRENGTH.filter((h) => common.includes(h)).reverse().map((h) => `"${HASH_OPTION[h]}"`).join(', ');
    change = `[${scope.authPath}]\n  password.hash = [${hashList}]`;
    if (view.mechanismsConfigured) {
      const keep = view.mechanisms.filter((m) => scramAlgorithmOf(m) === undefined || common.includes(scramAlgorithmOf(m)!));
      const add = common.flatMap((h) => [`scram_${h}_plus`, `scram_${h}`]).filter((m) => !keep.includes(m));
      change += `\n  sasl_mechanisms = [${[...add, ...keep].map((m) => `"${m}"`).join(', ')}]`;
    }
    change += `\n# passwords imported as plaintext are then hashed with ${common.map((h) => wireName(`scram_${h}`)).join(', ')} only`;
  } else {
    change = `[${scope.authPath}]\n  sasl_mechanisms = ["plain"]\n[[listen.c2s]]\n  tls.mode = "starttls_required"   # PLAIN only over TLS\n# until these users set new passwords (or move each hash family to its own [[host_config]] domain)`;
  }
  findings.push({
    code: 'sasl-unservable',
    severity: 'error',
    scope: scope.label,
    title: `${number(affected)} migrated accounts cannot log in with the advertised SCRAM mechanism${common.length === 0 ? ' (no SCRAM hash is shared by all accounts)' : ''}`,
    why,
    change,
  });
}

function backendOf(scope: ConfigScope, facts: ExtensionFacts): string {
  const options = scope.modules[facts.module] ?? {};
  return typeof options.backend === 'string' ? options.backend : facts.defaultBackend ?? 'rdbms';
}

function auditModules(scope: ConfigScope, usage: Usage, writtenKinds: ReadonlySet<RecordKind>, findings: AuditFinding[]): void {
  for (const facts of EXTENSIONS) {
    const enabled = scope.modules[facts.module] !== undefined;
    const known = facts.kinds.every((k) => usage.knows(k));
    const used = facts.kinds.filter((k) => usage.count(k) > 0);
    const records = used.reduce((n, k) => n + usage.count(k), 0);
    const written = used.some((k) => writtenKinds.has(k));
    // PEP is served by either implementation.
    const alternative = facts.module === 'mod_pubsub' ? 'mod_pubsub_old' : facts.module === 'mod_pubsub_old' ? 'mod_pubsub' : undefined;
    const served = enabled || (alternative !== undefined && scope.modules[alternative] !== undefined);
    const what = used.map((k) => `${number(usage.count(k))} ${k}`).join(', ');
    if (used.length > 0 && !served && (facts.module !== 'mod_pubsub_old')) {
      findings.push({
        code: 'module-missing',
        severity: written ? 'error' : 'warn',
        scope: scope.label,
        module: facts.module,
        title: `${facts.module} (${facts.protocol}) is not enabled, but the source has ${what}`,
        why: written
          ? `xmpp-migrate writes them into MongooseIM's tables; without ${facts.module} nothing reads them and users lose them`
          : `the deployment's users used ${facts.protocol}; xmpp-migrate does not migrate these records yet, and without ${facts.module} clients also lose the feature`,
        change: `${section(scope, facts.module)}\n  backend = "rdbms"`,
      });
    } else if (used.length > 0 && enabled && backendOf(scope, facts) !== 'rdbms' && written) {
      const backend = backendOf(scope, facts);
      const isDefault = typeof scope.modules[facts.module]!.backend !== 'string';
      findings.push({
        code: 'module-backend',
        severity: 'error',
        scope: scope.label,
        module: facts.module,
        title: `${facts.module} uses the ${backend} backend${isDefault ? ' (its default)' : ''}`,
        why: `the ${what} records are written into MongooseIM's SQL tables; the ${backend} backend never reads them, so they stay invisible`,
        change: `${section(scope, facts.module)}\n  backend = "rdbms"`,
      });
    } else if (enabled && used.length === 0 && known && facts.unused) {
      const replacement = facts.module === 'mod_privacy' && usage.count('blocklist') > 0 && scope.modules.mod_blocking === undefined;
      findings.push({
        code: 'module-unused',
        severity: facts.unused.severity,
        scope: scope.label,
        module: facts.module,
        title: `${facts.module} (${facts.protocol}) is enabled, but the source deployment has no ${facts.kinds.join(' or ')} data`,
        why: `nobody used it on the old server, and ${facts.unused.cost}${facts.deprecated ? `; besides, ${facts.deprecated.why}` : ''}`,
        change: replacement
          ? `# replace ${section(scope, facts.module)} with\n${section(scope, 'mod_blocking')}\n  backend = "rdbms"   # XEP-0191 for the ${number(usage.count('blocklist'))} blocklists`
          : `# remove ${section(scope, facts.module)}${inScope(scope)} and its options`,
      });
    }
  }
}

function auditMam(scope: ConfigScope, usage: Usage, settings: TargetSettings, findings: AuditFinding[]): void {
  const messages = usage.count('archived-message') + usage.count('legacy-collection');
  const mam = scope.modules.mod_mam;
  const base = { scope: scope.label, module: 'mod_mam' };
  if (!mam) {
    if (messages > 0) {
      findings.push({
        ...base,
        code: 'module-missing',
        severity: 'error',
        title: `mod_mam (XEP-0313) is not enabled, but the source has ${number(messages)} archived messages or collections`,
        why: 'xmpp-migrate writes them into the MAM tables; without mod_mam no client can fetch its history',
        change: `${section(scope, 'mod_mam')}\n  backend = "rdbms"\n  [${scope.modulesPath}.mod_mam.pm]`,
      });
    }
    return;
  }
  const pm = asTable(mam.pm);
  const muc = asTable(mam.muc);
  const pmOption = (key: string): unknown => pm?.[key] ?? mam[key];
  const backend = String(pmOption('backend') ?? 'rdbms');
  if (messages > 0 && backend !== 'rdbms') {
    findings.push({ ...base, code: 'module-backend', severity: 'error', title: `mod_mam uses the ${backend} backend`, why: 'xmpp-migrate writes the archive into the SQL MAM tables (mam_message, mam_muc_message); another backend never reads them', change: `${section(scope, 'mod_mam')}\n  backend = "rdbms"` });
  }
  if (messages > 0 && !pm) {
    findings.push({ ...base, code: 'mam-pm-disabled', severity: 'error', title: 'mod_mam has no personal (pm) archive', why: `the one-to-one archive is enabled only by a [mod_mam.pm] section or a pm.* option; without it the ${number(messages)} migrated messages are never served`, change: `[${scope.modulesPath}.mod_mam.pm]` });
  }
  if (usage.count('muc-room') > 0 && !muc) {
    findings.push({ ...base, code: 'mam-muc-disabled', severity: 'warn', title: `the source has ${number(usage.count('muc-room'))} MUC rooms, but mod_mam has no muc archive`, why: 'room archives are served only with a [mod_mam.muc] section (host defaults to conference.@HOST@): migrated room history would not be reachable', change: `[${scope.modulesPath}.mod_mam.muc]\n  host = "conference.@HOST@"` });
  }
  if (messages > 0) auditMamFormats(scope, mam, pm, muc, settings, findings);
  if (usage.count('archived-message') >= LARGE_ARCHIVE && mam.enforce_simple_queries === undefined) {
    findings.push({ ...base, code: 'mam-simple-queries', severity: 'info', title: `${number(usage.count('archived-message'))} archived messages: MAM queries count the whole result set`, why: 'without enforce_simple_queries every MAM page also runs an RSM count over the archive; on large migrated archives that is the dominant query cost', change: `${section(scope, 'mod_mam')}\n  enforce_simple_queries = true   # clients then get no RSM <count>` });
  }
}

const MESSAGE_FORMAT_OPTION: Record<TargetSettings['messageFormat'], string> = { 'compressed-eterm': 'mam_message_compressed_eterm', eterm: 'mam_message_eterm', xml: 'mam_message_xml' };
const JID_FORMAT_OPTION: Record<TargetSettings['pmJidFormat'], string[]> = { mini: ['mam_jid_mini'], rfc: ['mam_jid_rfc', 'mam_jid_rfc_trust'] };
const MESSAGE_FORMAT_FLAG: Record<string, string> = { mam_message_compressed_eterm: 'compressed-eterm', mam_message_eterm: 'eterm', mam_message_xml: 'xml' };

function auditMamFormats(scope: ConfigScope, mam: TomlTable, pm: TomlTable | undefined, muc: TomlTable | undefined, settings: TargetSettings, findings: AuditFinding[]): void {
  const base = { scope: scope.label, module: 'mod_mam' };
  const written = MESSAGE_FORMAT_OPTION[settings.messageFormat];
  const archives: Array<[string, TomlTable | undefined]> = [['pm', pm], ['muc', muc]];
  for (const [name, sub] of archives) {
    if (!sub) continue;
    const read = String(sub.db_message_format ?? mam.db_message_format ?? 'mam_message_compressed_eterm');
    if (read === written) continue;
    const flag = MESSAGE_FORMAT_FLAG[read];
    findings.push({
      ...base,
      code: 'mam-format',
      severity: 'error',
      title: `${name} archive: MongooseIM reads db_message_format ${read}, the run writes ${written}`,
      why: `the message column would hold ${written} data that this scope decodes as ${read}: every migrated message fails to load. The option may change only while the archive is empty`,
      change: flag
        ? `run with --message-format ${flag} (or, only while the archive is empty: [${scope.modulesPath}.mod_mam${sub === pm || sub === muc ? `.${name}` : ''}] db_message_format = "${written}")`
        : `${read} is a custom module xmpp-migrate cannot write: use db_message_format = "${written}" on this empty archive`,
    });
  }
  if (pm) {
    const read = String(pm.db_jid_format ?? mam.db_jid_format ?? 'mam_jid_mini');
    if (!JID_FORMAT_OPTION[settings.pmJidFormat].includes(read)) {
      const flag = read === 'mam_jid_mini' ? 'mini' : read.startsWith('mam_jid_rfc') ? 'rfc' : undefined;
      findings.push({
        ...base,
        code: 'mam-format',
        severity: 'error',
        title: `pm archive: MongooseIM reads db_jid_format ${read}, the run writes ${JID_FORMAT_OPTION[settings.pmJidFormat][0]}`,
        why: 'remote JIDs in mam_message would be decoded with the wrong codec: filters by JID miss migrated messages and forwarded results carry wrong JIDs. The option may change only while the archive is empty',
        change: flag ? `run with --jid-format ${flag}` : `${read} is a custom module xmpp-migrate cannot write: use db_jid_format = "mam_jid_mini"`,
      });
    }
    const fts = pm.full_text_search ?? mam.full_text_search ?? true;
    if (fts === true && !settings.fullTextSearch) {
      findings.push({ ...base, code: 'mam-format', severity: 'warn', title: 'full_text_search is on, the run writes an empty search_body', why: 'MongooseIM searches migrated messages by search_body: a full-text MAM query would never find them (full text works only for messages archived while it was enabled)', change: 'run with --full-text-search true' });
    } else if (fts === false && settings.fullTextSearch) {
      findings.push({ ...base, code: 'mam-format', severity: 'info', title: 'full_text_search is off, the run fills search_body', why: 'harmless but wasted space: the server never reads it', change: 'run with --full-text-search false' });
    }
    const groupchats = pm.archive_groupchats === true;
    if (groupchats !== settings.archiveGroupchats) {
      findings.push({
        ...base,
        code: 'mam-format',
        severity: 'warn',
        title: `pm.archive_groupchats is ${groupchats}, the run ${settings.archiveGroupchats ? 'keeps' : 'skips'} groupchat messages in personal archives`,
        why: groupchats ? 'the server will archive groupchat messages per user from now on, but the migrated history of them is skipped' : 'migrated groupchat copies would sit in personal archives the server itself would never have written',
        change: groupchats ? 'run with --archive-groupchats' : 'run without --archive-groupchats',
      });
    }
  }
}

function auditDeprecated(scope: ConfigScope, usage: Usage, findings: AuditFinding[]): void {
  const base = { scope: scope.label, code: 'deprecated' as const };
  for (const module of XEP0136_MODULES) {
    if (scope.modules[module] === undefined) continue;
    const collections = usage.count('legacy-collection');
    findings.push({
      ...base,
      module,
      severity: 'error',
      title: `${module} (XEP-0136 Message Archiving) is configured`,
      why: `XEP-0136 is superseded by XEP-0313 (MAM) and MongooseIM has no XEP-0136 module: module names are validated, so this config does not load.${collections > 0 ? ` The source's ${number(collections)} XEP-0136 collections are converted to MAM by xmpp-migrate.` : ''}`,
      change: `# remove ${section(scope, module)}${scope.modules.mod_mam ? '' : `\n${section(scope, 'mod_mam')}\n  backend = "rdbms"\n  [${scope.modulesPath}.mod_mam.pm]`}`,
    });
  }
  for (const facts of EXTENSIONS) {
    if (!facts.deprecated || scope.modules[facts.module] === undefined) continue;
    const reportedUnused = findings.some((f) => f.code === 'module-unused' && f.module === facts.module && f.scope === scope.label);
    if (reportedUnused) continue;
    const used = facts.kinds.some((k) => usage.count(k) > 0);
    findings.push({
      ...base,
      module: facts.module,
      severity: used ? 'info' : 'warn',
      title: `${facts.module} (${facts.protocol}) is deprecated`,
      why: `${facts.deprecated.why}.${used ? ` The source has ${facts.kinds.map((k) => `${number(usage.count(k))} ${k}`).join(', ')}: keep it for them, and steer clients to ${facts.deprecated.instead}.` : ''}`,
      change: used ? `# keep ${section(scope, facts.module)}; add ${section(scope, facts.deprecated.instead.split(' ')[0]!)}` : `# replace ${section(scope, facts.module)} with ${section(scope, facts.deprecated.instead.split(' ')[0]!)}`,
    });
  }
  if (asTable(scope.modules.mod_muc_light)?.legacy_mode === true) {
    findings.push({ ...base, module: 'mod_muc_light', severity: 'warn', title: 'mod_muc_light legacy_mode is set', why: 'MongooseIM deprecates legacy_mode (XEP-0045 compatibility in MUC Light) and will remove it; migrated classic rooms belong to mod_muc', change: `${section(scope, 'mod_muc_light')}\n  # remove legacy_mode; serve XEP-0045 rooms with ${section(scope, 'mod_muc')} backend = "rdbms"` });
  }
}
