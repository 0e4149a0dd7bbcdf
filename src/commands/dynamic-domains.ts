// `run` under MongooseIM's dynamic domains: before anything is written, every domain the accounts live on
// (after `--mapping` renames) must be served by the target: a static host, an enabled row of domain_settings,
// or one registered now (`--register-domains HOST_TYPE`). Without the flag, missing domains refuse the run,
// all named at once. A domain first seen later in the run (data of a user without an account) is judged the
// same way before its first record is written.
import type { SourceAdapter } from '../adapters/source-adapter.js';
import { readMongooseimConfig } from '../audit/mongooseim-config.js';
import { servedDomainOf, type DomainMapping } from '../mappings/domain-mapping.js';
import type { RunEventListener } from '../pipeline/run-events.js';
import { transformRecord } from '../pipeline/transforms.js';
import { openDynamicDomains } from '../target/open-target.js';
import type { DomainAdmission } from '../target/mongooseim/dynamic-domains.js';
import type { MigrationTarget } from '../target/target.js';

export interface ServedDomains {
  /** For RunOptions.admitDomain; undefined when the target does not use dynamic domains. */
  admit?: (domain: string) => Promise<void>;
  /** Domains this run added to domain_settings. */
  registered(): string[];
  close(): Promise<void>;
}

export interface ServedDomainsOptions {
  target: string;
  targetConfig?: string;
  /** `--register-domains HOST_TYPE`. */
  registerDomains?: string;
  domains?: DomainMapping;
  onEvent?: RunEventListener;
}

const NONE: ServedDomains = { registered: () => [], close: async () => undefined };

export async function prepareServedDomains(options: ServedDomainsOptions, source: SourceAdapter, target: MigrationTarget): Promise<ServedDomains> {
  const config = options.targetConfig ? await readMongooseimConfig(options.targetConfig) : undefined;
  const opened = await openDynamicDomains(options.target, target, {
    registerAs: options.registerDomains,
    config: config ? { hosts: config.hosts, hostTypes: config.hostTypes } : undefined,
  });
  const { domains } = opened;
  if (!domains.inUse) {
    await opened.close();
    return NONE;
  }
  let reported = 0;
  const report = (): void => {
    for (const admission of domains.admissions.slice(reported)) {
      if (admission.outcome === 'registered') options.onEvent?.({ type: 'target-notice', message: describe(admission) });
    }
    reported = domains.admissions.length;
  };
  try {
    await domains.admitAll(await accountDomains(source, options.domains));
    report();
  } catch (err) {
    await opened.close();
    throw err;
  }
  return {
    admit: async (domain) => {
      await domains.admit(domain);
      report();
    },
    registered: () => domains.admissions.filter((a) => a.outcome === 'registered').map((a) => a.domain),
    close: opened.close,
  };
}

function describe(admission: DomainAdmission): string {
  return `registered the dynamic domain ${admission.domain} (host type ${JSON.stringify(admission.setting?.hostType)}) in domain_settings, with its domain_events row, as mongooseimctl domain addDomain would`;
}

/** The domains of the source's accounts, after the renames: read from the streams that carry accounts. */
async function accountDomains(source: SourceAdapter, domains: DomainMapping | undefined): Promise<Set<string>> {
  const found = new Set<string>();
  for (const stream of source.streams().filter((s) => s.kinds.includes('account'))) {
    for await (const item of source.read(stream.name)) {
      if ('reject' in item || item.record.kind !== 'account') continue;
      for (const record of transformRecord(item.record, { domains })) {
        const domain = servedDomainOf(record);
        if (domain !== undefined) found.add(domain);
      }
    }
  }
  return found;
}
