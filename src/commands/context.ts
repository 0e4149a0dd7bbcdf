// What every command needs: the source, the resolved target settings, the target. Commands are typed
// async functions; only src/cli/ touches argv, output and exit codes.
import { openSource } from '../adapters/index.js';
import type { SourceAdapter } from '../adapters/source-adapter.js';
import { loadDomainMapping, type DomainMapping } from '../mappings/domain-mapping.js';
import { readTargetConfig, resolveTargetSettings, type TargetSettings } from '../target/mongooseim/target-settings.js';
import { openTarget } from '../target/open-target.js';
import type { MigrationTarget } from '../target/target.js';

export interface CommonOptions {
  /** `scheme:location`, e.g. `xep0227:./export.xml`. */
  source: string;
  /** Adapter settings (`--source-option key=value`). */
  sourceSettings: Record<string, string>;
  /** Target URL; default the embedded PGlite rehearsal database. */
  target: string;
  /** The target's mongooseim.toml, read for the settings that change what is written. */
  targetConfig?: string;
  /** Settings given as flags; they win over the config file. */
  settingsFlags: Partial<TargetSettings>;
  /** Create MongooseIM's schema in an empty (rehearsal) database. */
  createSchema: boolean;
  /** Write into MySQL tables (or over a connection) that cannot hold 4-byte UTF-8; see OpenTargetOptions. */
  acceptNonUtf8mb4?: boolean;
  /** `--merge-archives SECONDS`: merge messages another store's migration already wrote within this window. */
  mergeArchivesSeconds?: number;
  /** `--mapping FILE`: domain renames (TOML, see mappings/example.toml), applied to every record. */
  mapping?: string;
}

/** The `--mapping` file's renames, or undefined without one. */
export async function loadMappingFor(options: Pick<CommonOptions, 'mapping'>): Promise<DomainMapping | undefined> {
  return options.mapping === undefined ? undefined : loadDomainMapping(options.mapping);
}

export async function resolveSettings(options: CommonOptions): Promise<TargetSettings> {
  const fromConfig = options.targetConfig ? await readTargetConfig(options.targetConfig) : {};
  return resolveTargetSettings(fromConfig, options.settingsFlags);
}

export async function openSourceFor(options: CommonOptions): Promise<SourceAdapter> {
  return openSource(options.source, { settings: options.sourceSettings });
}

export async function openTargetFor(options: CommonOptions, settings: TargetSettings, mode: 'run' | 'dry-run' | 'read', lockSuffix?: string): Promise<MigrationTarget> {
  return openTarget(options.target, {
    settings,
    createSchema: options.createSchema,
    dryRun: mode === 'dry-run',
    lock: mode === 'run',
    lockSuffix,
    acceptNonUtf8mb4: options.acceptNonUtf8mb4,
    mergeArchives: options.mergeArchivesSeconds === undefined ? undefined : { windowMicros: BigInt(Math.round(options.mergeArchivesSeconds * 1_000_000)) },
  });
}
