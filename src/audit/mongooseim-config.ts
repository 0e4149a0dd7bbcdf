// A MongooseIM configuration file (mongooseim.toml) read into the scopes MongooseIM applies it by: the top
// level, and each [[host_config]] whose `modules` or `auth` section replaces the top-level one entirely.
// https://esl.github.io/MongooseDocs/latest/configuration/host_config/
import { readFile } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { UsageError } from '../errors.js';

export type TomlTable = Record<string, unknown>;

/** The options one host (or host type) runs with: modules and auth, after host_config replaced them. */
export interface ConfigScope {
  /** `top level`, `host_config host = "a.example"` or `host_config host_type = "t"`: for messages. */
  label: string;
  /** Where this scope's module sections are written: `modules` or `host_config.modules`. */
  modulesPath: string;
  /** Where this scope's auth section is written: `auth` or `host_config.auth`. */
  authPath: string;
  /** Modules enabled in this scope, by name, with their options. */
  modules: Record<string, TomlTable>;
  auth: TomlTable | undefined;
  /** Whether this scope states its own modules (a host_config without them inherits the top level's). */
  ownModules: boolean;
}

export interface MongooseimConfig {
  path: string;
  /** The top level first, then one scope per [[host_config]]. */
  scopes: ConfigScope[];
  /** `outgoing_pools.rdbms.default` is defined (top level or in any host_config). */
  hasRdbmsPool: boolean;
  hosts: string[];
  hostTypes: string[];
}

export function asTable(value: unknown): TomlTable | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) ? (value as TomlTable) : undefined;
}

function moduleTables(value: unknown): Record<string, TomlTable> {
  const modules: Record<string, TomlTable> = {};
  for (const [name, options] of Object.entries(asTable(value) ?? {})) modules[name] = asTable(options) ?? {};
  return modules;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** Parses the text of a mongooseim.toml; a syntax error is a usage error naming the file. */
export function parseMongooseimConfig(text: string, path: string): MongooseimConfig {
  let parsed: TomlTable;
  try {
    parsed = parseToml(text) as TomlTable;
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const topModules = moduleTables(parsed.modules);
  const topAuth = asTable(parsed.auth);
  const scopes: ConfigScope[] = [{ label: 'top level', modulesPath: 'modules', authPath: 'auth', modules: topModules, auth: topAuth, ownModules: true }];
  let hasRdbmsPool = asTable(asTable(asTable(parsed.outgoing_pools)?.rdbms)?.default) !== undefined;
  const hostConfigs = Array.isArray(parsed.host_config) ? parsed.host_config : [];
  for (const entry of hostConfigs) {
    const hc = asTable(entry);
    if (!hc) continue;
    const label = typeof hc.host === 'string' ? `host_config host = "${hc.host}"` : `host_config host_type = "${String(hc.host_type)}"`;
    const ownModules = asTable(hc.modules) !== undefined;
    scopes.push({
      label,
      modulesPath: 'host_config.modules',
      authPath: 'host_config.auth',
      modules: ownModules ? moduleTables(hc.modules) : topModules,
      auth: asTable(hc.auth) ?? topAuth,
      ownModules,
    });
    if (asTable(asTable(asTable(hc.outgoing_pools)?.rdbms)?.default)) hasRdbmsPool = true;
  }
  const general = asTable(parsed.general) ?? {};
  return { path, scopes, hasRdbmsPool, hosts: strings(general.hosts), hostTypes: strings(general.host_types) };
}

export async function readMongooseimConfig(path: string): Promise<MongooseimConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the MongooseIM config ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseMongooseimConfig(text, path);
}
