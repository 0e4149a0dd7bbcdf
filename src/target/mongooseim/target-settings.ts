// MongooseIM settings that change what must be written (storage-facts §1.1). Defaults are MongooseIM's
// defaults; flags override them; `--target-config mongooseim.toml` reads them from the server's config.
// https://esl.github.io/MongooseDocs/latest/modules/mod_mam/
import { readFile } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { UsageError } from '../../errors.js';
import type { ScramAlgorithm } from '../../records.js';
import type { ExmlShape } from '../../encoding/etf.js';

export type MessageFormat = 'compressed-eterm' | 'eterm' | 'xml';
export type { ExmlShape };
export type JidFormat = 'mini' | 'rfc';

export interface TargetSettings {
  /** `db_message_format`: mam_message_compressed_eterm (default), mam_message_eterm, mam_message_xml. */
  messageFormat: MessageFormat;
  /** exml 4.x terms for MongooseIM ≥ 6.3.2 (default), exml 3.x for older servers. */
  exmlShape: ExmlShape;
  /** `db_jid_format` of the personal archive: mam_jid_mini (default) or mam_jid_rfc. */
  pmJidFormat: JidFormat;
  /** `full_text_search`: when false, search_body is ''. */
  fullTextSearch: boolean;
  /** The node byte of MAM ids (0..255). */
  mamNode: number;
  /** `pm.archive_groupchats`: groupchat messages in personal archives are skipped unless true. */
  archiveGroupchats: boolean;
  /**
   * An account whose password the source cannot give (an undecryptable Openfire password, an MD5-only Tigase
   * credential): `reject` it (default), or create it `locked` — a plain row with an empty password, which
   * MongooseIM never authenticates — so its roster and history move and an operator sets a password later.
   */
  accountsWithoutPassword: 'reject' | 'locked';
  /** `auth.password.format`: how plaintext source passwords are stored. */
  passwordFormat: 'scram' | 'plain';
  /** `auth.password.hash`: SCRAM hashes derived from plaintext passwords. */
  passwordHashes: ScramAlgorithm[];
  /** `auth.password.scram_iterations`. */
  scramIterations: number;
  /** Where each setting came from, for `plan`. */
  origin: Record<string, 'default' | 'flag' | 'config'>;
}

export const DEFAULT_TARGET_SETTINGS: Readonly<TargetSettings> = {
  messageFormat: 'compressed-eterm',
  exmlShape: 'exml4',
  pmJidFormat: 'mini',
  fullTextSearch: true,
  mamNode: 0,
  archiveGroupchats: false,
  accountsWithoutPassword: 'reject',
  passwordFormat: 'scram',
  passwordHashes: ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'],
  scramIterations: 10000,
  origin: {},
};

const MESSAGE_FORMATS: Record<string, MessageFormat> = {
  mam_message_compressed_eterm: 'compressed-eterm',
  mam_message_eterm: 'eterm',
  mam_message_xml: 'xml',
};
const JID_FORMATS: Record<string, JidFormat> = { mam_jid_mini: 'mini', mam_jid_rfc: 'rfc', mam_jid_rfc_trust: 'rfc' };
const HASHES: Record<string, ScramAlgorithm> = { sha: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

type Toml = Record<string, unknown>;
function table(value: unknown): Toml | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Toml) : undefined;
}

/** Reads the settings that matter from a mongooseim.toml; unknown or ambiguous values are usage errors. */
export async function readTargetConfig(path: string): Promise<Partial<TargetSettings>> {
  let parsed: Toml;
  try {
    parsed = parseToml(await readFile(path, 'utf8')) as Toml;
  } catch (err) {
    throw new UsageError(`cannot read --target-config ${path}: ${(err as Error).message}`, { cause: err });
  }
  const found: Partial<TargetSettings> = {};
  const mam = table(table(parsed.modules)?.mod_mam);
  if (mam) {
    const pm = table(mam.pm) ?? {};
    const pick = (key: string): unknown => pm[key] ?? mam[key];
    const format = pick('db_message_format');
    if (format !== undefined) {
      const mapped = MESSAGE_FORMATS[String(format)];
      if (!mapped) throw new UsageError(`${path}: modules.mod_mam db_message_format = ${JSON.stringify(format)} is not one xmpp-migrate can write`);
      found.messageFormat = mapped;
    }
    const jidFormat = pick('db_jid_format');
    if (jidFormat !== undefined) {
      const mapped = JID_FORMATS[String(jidFormat)];
      if (!mapped) throw new UsageError(`${path}: modules.mod_mam db_jid_format = ${JSON.stringify(jidFormat)} is unknown`);
      found.pmJidFormat = mapped;
    }
    const fts = pick('full_text_search');
    if (typeof fts === 'boolean') found.fullTextSearch = fts;
    const groupchats = pm.archive_groupchats;
    if (typeof groupchats === 'boolean') found.archiveGroupchats = groupchats;
  }
  const password = table(table(parsed.auth)?.password);
  if (password) {
    if (password.format === 'plain' || password.format === 'scram') found.passwordFormat = password.format;
    if (Array.isArray(password.hash)) {
      found.passwordHashes = password.hash.map((h) => {
        const mapped = HASHES[String(h)];
        if (!mapped) throw new UsageError(`${path}: auth.password.hash has unknown hash ${JSON.stringify(h)}`);
        return mapped;
      });
    }
    if (typeof password.scram_iterations === 'number') found.scramIterations = password.scram_iterations;
  }
  return found;
}

/** Defaults, then the config file, then flags: later wins; `origin` records which. */
export function resolveTargetSettings(fromConfig: Partial<TargetSettings>, fromFlags: Partial<TargetSettings>): TargetSettings {
  const settings: TargetSettings = { ...DEFAULT_TARGET_SETTINGS, origin: {} };
  const mutable = settings as unknown as Record<string, unknown>;
  for (const key of Object.keys(DEFAULT_TARGET_SETTINGS) as Array<keyof TargetSettings>) {
    if (key === 'origin') continue;
    settings.origin[key] = 'default';
    if (fromConfig[key] !== undefined) {
      mutable[key] = fromConfig[key];
      settings.origin[key] = 'config';
    }
    if (fromFlags[key] !== undefined) {
      mutable[key] = fromFlags[key];
      settings.origin[key] = 'flag';
    }
  }
  if (!Number.isInteger(settings.mamNode) || settings.mamNode < 0 || settings.mamNode > 255) {
    throw new UsageError(`--mam-node must be a whole number from 0 to 255, not ${settings.mamNode}`);
  }
  return settings;
}
