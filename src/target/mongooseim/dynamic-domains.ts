// MongooseIM's dynamic domains: `domain_settings` maps each dynamic domain to its host type (status 1
// enabled, 0 disabled, 2 being deleted), and every change to it adds a `domain_events` row (the domain) that
// the other nodes of the cluster replay. A domain is added as mongoose_domain_sql:insert_domain/2 does it:
// in one transaction, look the domain up; when absent, insert the settings row (status left to its default,
// enabled) and one event row. Domains listed in `general.hosts` are static: MongooseIM refuses to add them
// dynamically, and serves them anyway.
// Facts: esl/MongooseIM src/domain/mongoose_domain_sql.erl (insert_domain, status_to_int),
// src/domain/mongoose_domain_api.erl (check_domain: static; check_host_type: general.host_types), priv/pg.sql,
// priv/mysql.sql @ 475087c; doc/configuration/general.md (hosts, host_types).
import { PlanRefusedError, UsageError } from '../../errors.js';
import type { SqlDatabase, SqlSession } from '../sql-database.js';

/** How the database marks statement parameters: `$1` (PostgreSQL, PGlite) or `?` (MySQL, MariaDB). */
export type ParamStyle = 'dollar' | 'question';

export type DomainStatus = 'enabled' | 'disabled' | 'deleting';

/** mongoose_domain_sql:int_to_status/1. */
const STATUS: Record<number, DomainStatus> = { 0: 'disabled', 1: 'enabled', 2: 'deleting' };

export interface DomainSetting {
  domain: string;
  hostType: string;
  status: DomainStatus;
}

/** The parts of mongooseim.toml that decide how domains are served. */
export interface DomainConfig {
  /** `general.hosts`: static domains. */
  hosts: readonly string[];
  /** `general.host_types`: host types that serve dynamic domains; non-empty means dynamic domains are in use. */
  hostTypes: readonly string[];
}

export interface DynamicDomainsOptions {
  /** `--register-domains HOST_TYPE`: add missing domains under this host type; without it a missing domain refuses the run. */
  registerAs?: string;
  /** From `--target-config`; undefined when none was given (the tables alone then tell). */
  config?: DomainConfig;
}

/** What happened to one domain the migration writes. */
export interface DomainAdmission {
  domain: string;
  outcome: 'static' | 'present' | 'registered' | 'not dynamic';
  /** For `present`: the host type and status found. */
  setting?: DomainSetting;
}

/** The domain_settings and domain_events tables of one target, read and written as MongooseIM does. */
export class DomainSettingsTables {
  constructor(
    private readonly db: SqlDatabase,
    private readonly params: ParamStyle,
  ) {}

  private p(n: number): string {
    return this.params === 'dollar' ? `$${n}` : '?';
  }

  /** Every domain_settings row (mongoose_domain_sql:select_all_domains/0). */
  async list(): Promise<DomainSetting[]> {
    const { rows } = await this.db.query<{ domain: string; host_type: string; status: number | string }>('SELECT domain, host_type, status FROM domain_settings ORDER BY domain');
    return rows.map((r) => ({ domain: String(r.domain), hostType: String(r.host_type), status: STATUS[Number(r.status)] ?? 'disabled' }));
  }

  /**
   * insert_domain/2: in one transaction, the settings row and one event row, unless the domain is present.
   * Returns the present row instead when there is one (MongooseIM answers `duplicate`).
   */
  async insert(domain: string, hostType: string): Promise<DomainSetting | undefined> {
    return this.db.transaction(async (session: SqlSession) => {
      const { rows } = await session.query<{ host_type: string; status: number | string }>(`SELECT host_type, status FROM domain_settings WHERE domain = ${this.p(1)}`, [domain]);
      const present = rows[0];
      if (present) return { domain, hostType: String(present.host_type), status: STATUS[Number(present.status)] ?? 'disabled' };
      await session.query(`INSERT INTO domain_settings (domain, host_type) VALUES (${this.p(1)}, ${this.p(2)})`, [domain, hostType]);
      await session.query(`INSERT INTO domain_events (domain) VALUES (${this.p(1)})`, [domain]);
      return undefined;
    });
  }
}

/**
 * Decides, domain by domain, whether the target serves what the migration writes: a static host, an enabled
 * dynamic domain, or one this run registers (`--register-domains`). A domain MongooseIM would not serve
 * refuses the run (PlanRefusedError, exit 4) before anything of that domain is written.
 */
export class DynamicDomains {
  readonly admissions: DomainAdmission[] = [];
  private readonly known = new Map<string, DomainSetting>();

  private constructor(
    private readonly tables: DomainSettingsTables | undefined,
    private readonly options: DynamicDomainsOptions,
    settings: DomainSetting[],
    /** Why dynamic domains are considered in use, for messages; undefined when they are not. */
    readonly inUse: string | undefined,
  ) {
    for (const s of settings) this.known.set(s.domain, s);
  }

  /**
   * @param tables undefined when the target has no domain_settings table (a schema without dynamic domains).
   */
  static async open(tables: DomainSettingsTables | undefined, options: DynamicDomainsOptions): Promise<DynamicDomains> {
    const settings = tables ? await tables.list() : [];
    const { registerAs, config } = options;
    const reasons: string[] = [];
    if (config && config.hostTypes.length > 0) reasons.push(`the target config sets general.host_types = [${config.hostTypes.map((t) => JSON.stringify(t)).join(', ')}]`);
    if (settings.length > 0) reasons.push(`the target's domain_settings table holds ${settings.length} domain(s)`);
    if (registerAs !== undefined) {
      if (!tables) throw new UsageError(`--register-domains ${registerAs}: the target has no domain_settings table; load MongooseIM's schema (it defines domain_settings and domain_events) first`);
      if (config && !config.hostTypes.includes(registerAs)) {
        throw new UsageError(`--register-domains ${JSON.stringify(registerAs)}: not a host type of the target config (general.host_types = [${config.hostTypes.map((t) => JSON.stringify(t)).join(', ')}]); MongooseIM refuses domains of an unknown host type`);
      }
      if (reasons.length === 0) reasons.push(`--register-domains ${registerAs} was given`);
    }
    return new DynamicDomains(tables, options, settings, reasons.length > 0 ? reasons.join(' and ') : undefined);
  }

  /**
   * Checks every domain of `domains` at once: registers the missing ones with `--register-domains`, or refuses
   * naming all of them. Domains already admitted are skipped.
   */
  async admitAll(domains: Iterable<string>): Promise<void> {
    const missing: string[] = [];
    for (const domain of new Set(domains)) {
      if (this.admissions.some((a) => a.domain === domain)) continue;
      const outcome = this.judge(domain);
      if (outcome === 'missing') missing.push(domain);
      else this.record(domain, outcome);
    }
    if (missing.length === 0) return;
    missing.sort();
    if (this.options.registerAs === undefined) throw this.refusal(missing);
    for (const domain of missing) await this.register(domain);
  }

  /** One domain, first seen during the run. */
  async admit(domain: string): Promise<void> {
    await this.admitAll([domain]);
  }

  private judge(domain: string): DomainAdmission['outcome'] | 'missing' {
    if (!this.inUse) return 'not dynamic';
    if (this.options.config?.hosts.includes(domain)) return 'static';
    const setting = this.known.get(domain);
    if (!setting) return 'missing';
    if (setting.status === 'deleting') {
      throw new PlanRefusedError(`the target's domain_settings marks ${domain} as being deleted (status 2): MongooseIM's domain removal would delete what this run writes. Let the removal finish and add the domain again, then re-run`, [`${domain} is being deleted in the target`]);
    }
    if (setting.status === 'disabled') {
      throw new PlanRefusedError(`the target's domain_settings has ${domain} disabled (status 0): its users could not log in. Enable it first (mongooseimctl domain enableDomain --domain ${domain}), then re-run`, [`${domain} is disabled in the target`]);
    }
    return 'present';
  }

  private record(domain: string, outcome: DomainAdmission['outcome']): void {
    const setting = this.known.get(domain);
    this.admissions.push(outcome === 'present' && setting ? { domain, outcome, setting } : { domain, outcome });
  }

  private async register(domain: string): Promise<void> {
    const hostType = this.options.registerAs!;
    const present = await this.tables!.insert(domain, hostType);
    if (present) {
      // Added meanwhile (by an operator, or another shard): judge what is there now.
      this.known.set(domain, present);
      const outcome = this.judge(domain);
      this.record(domain, outcome === 'missing' ? 'present' : outcome);
      return;
    }
    this.known.set(domain, { domain, hostType, status: 'enabled' });
    this.admissions.push({ domain, outcome: 'registered', setting: { domain, hostType, status: 'enabled' } });
  }

  private refusal(missing: string[]): PlanRefusedError {
    const list = missing.join(', ');
    return new PlanRefusedError(
      `the target uses MongooseIM's dynamic domains (${this.inUse}), and ${missing.length === 1 ? 'this migrated domain is' : 'these migrated domains are'} not registered in its domain_settings: ${list}. ` +
        `MongooseIM would not serve their users. Register ${missing.length === 1 ? 'it' : 'them'} (mongooseimctl domain addDomain --domain ${missing[0]} --hostType HOST_TYPE), ` +
        `list ${missing.length === 1 ? 'it' : 'them'} in general.hosts, or re-run with --register-domains HOST_TYPE to have xmpp-migrate add ${missing.length === 1 ? 'it' : 'them'} as MongooseIM would.`,
      missing.map((d) => `domain ${d} is not registered in the target's domain_settings`),
    );
  }
}
