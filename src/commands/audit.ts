// `audit`: the target's mongooseim.toml against what the source deployment used and what the run will write.
// Reads only.
import type { SourceAdapter, SourceInventory } from '../adapters/source-adapter.js';
import { auditConfig, type AuditReport } from '../audit/audit-config.js';
import { readMongooseimConfig } from '../audit/mongooseim-config.js';
import { UsageError } from '../errors.js';
import type { RecordKind } from '../records.js';
import { SUPPORTED_KINDS } from '../target/mongooseim/row-encoder.js';
import type { TargetSettings } from '../target/mongooseim/target-settings.js';
import { openSourceFor, resolveSettings, type CommonOptions } from './context.js';

export type AuditOptions = CommonOptions;

export interface AuditCommandReport extends AuditReport {
  source: string;
  sourceDescription: string;
}

/** The audit of one config against an inventory already taken (plan calls this). */
export async function auditInventory(configPath: string, inventory: SourceInventory, sourceKinds: readonly RecordKind[], settings: TargetSettings): Promise<AuditReport> {
  const config = await readMongooseimConfig(configPath);
  return auditConfig({ config, inventory, sourceKinds, writtenKinds: SUPPORTED_KINDS, settings });
}

export async function audit(options: AuditOptions): Promise<AuditCommandReport> {
  if (!options.targetConfig) throw new UsageError('audit needs --target-config mongooseim.toml: the configuration to audit');
  const settings = await resolveSettings(options);
  const source: SourceAdapter = await openSourceFor(options);
  let inventory: SourceInventory;
  try {
    inventory = await source.inventory();
  } finally {
    await source.close();
  }
  const report = await auditInventory(options.targetConfig, inventory, source.capabilities.kinds, settings);
  return { ...report, source: source.displayName, sourceDescription: inventory.description };
}
