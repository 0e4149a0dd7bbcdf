// Which SASL mechanisms a MongooseIM auth section advertises, and which of them can authenticate an account
// migrated with a given credential shape. Facts from esl/MongooseIM @ 6.8.0: doc/configuration/auth.md
// (sasl_mechanisms default and order, password.format, password.hash) and src/mongoose_scram.erl
// (enabled/2: a scram_shaN mechanism is offered only when password.format is plain or password.hash lists
// shaN); src/sasl/cyrsasl_scram.erl (a SCRAM-SHA-N exchange needs that hash in pass_details; no fallback).
import type { ScramAlgorithm } from '../records.js';
import { SCRAM_ALGORITHMS } from '../records.js';
import type { TomlTable } from './mongooseim-config.js';

/** MongooseIM's default `auth.sasl_mechanisms`, in advertising order. */
export const DEFAULT_SASL_MECHANISMS: readonly string[] = [
  'scram_sha512_plus', 'scram_sha512', 'scram_sha384_plus', 'scram_sha384', 'scram_sha256_plus', 'scram_sha256',
  'scram_sha224_plus', 'scram_sha224', 'scram_sha1_plus', 'scram_sha1', 'plain', 'anonymous', 'oauth',
];

/** `auth.password.hash` names ↔ SCRAM algorithms. */
export const HASH_OPTION: Readonly<Record<ScramAlgorithm, string>> = { sha1: 'sha', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };
const HASH_BY_OPTION: Readonly<Record<string, ScramAlgorithm>> = { sha: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

export interface AuthView {
  format: 'scram' | 'plain';
  /** `password.hash`: every algorithm when unset. */
  hashes: ScramAlgorithm[];
  /** `sasl_mechanisms` as configured (or the default), in order. */
  mechanisms: string[];
  mechanismsConfigured: boolean;
  hashesConfigured: boolean;
  /** The `[auth.<method>]` sections present (internal, rdbms, …). */
  methods: string[];
}

export function authView(auth: TomlTable | undefined): AuthView {
  const password = (auth?.password ?? {}) as TomlTable;
  const hashes = Array.isArray(password.hash) ? password.hash.map((h) => HASH_BY_OPTION[String(h)]).filter((h): h is ScramAlgorithm => h !== undefined) : [...SCRAM_ALGORITHMS];
  const mechanisms = Array.isArray(auth?.sasl_mechanisms) ? (auth.sasl_mechanisms as unknown[]).map(String) : [...DEFAULT_SASL_MECHANISMS];
  const sections = ['internal', 'rdbms', 'external', 'anonymous', 'ldap', 'jwt', 'http', 'pki', 'dummy'];
  const methods = Array.isArray(auth?.methods) ? (auth.methods as unknown[]).map(String) : sections.filter((m) => auth?.[m] !== undefined);
  return {
    format: password.format === 'plain' ? 'plain' : 'scram',
    hashes,
    mechanisms,
    mechanismsConfigured: Array.isArray(auth?.sasl_mechanisms),
    hashesConfigured: Array.isArray(password.hash),
    methods,
  };
}

/** The SCRAM algorithm of a `scram_shaN[_plus]` mechanism name. */
export function scramAlgorithmOf(mechanism: string): ScramAlgorithm | undefined {
  const match = /^scram_(sha\d+)(_plus)?$/.exec(mechanism);
  return match && (SCRAM_ALGORITHMS as readonly string[]).includes(match[1]!) ? (match[1] as ScramAlgorithm) : undefined;
}

/** The mechanisms a client is offered: the configured list, SCRAM ones filtered by mongoose_scram:enabled/2. */
export function advertisedMechanisms(view: AuthView): string[] {
  return view.mechanisms.filter((m) => {
    const algorithm = scramAlgorithmOf(m);
    return algorithm === undefined || view.format === 'plain' || view.hashes.includes(algorithm);
  });
}

/** `SCRAM-SHA-256`, `PLAIN`: the name on the wire. */
export function wireName(mechanism: string): string {
  const algorithm = scramAlgorithmOf(mechanism);
  if (algorithm) return `SCRAM-${algorithm.replace('sha', 'SHA-')}${mechanism.endsWith('_plus') ? '-PLUS' : ''}`;
  return mechanism === 'digest' ? 'DIGEST-MD5' : mechanism.toUpperCase();
}

/**
 * The SCRAM hashes an account of this inventory shape holds in MongooseIM: `derived` when the source has the
 * plaintext (xmpp-migrate derives every configured hash, or stores it plain), `none` when it has nothing.
 */
export function storedHashes(shape: string): ScramAlgorithm[] | 'derived' | 'none' {
  if (shape === 'none') return 'none';
  if (shape === 'plain' || shape.startsWith('plain+')) return 'derived';
  const match = /^scram-(.+)$/.exec(shape);
  if (!match) return 'none';
  return match[1]!.split('+').filter((h): h is ScramAlgorithm => (SCRAM_ALGORITHMS as readonly string[]).includes(h));
}

/** The advertised mechanisms that can authenticate an account holding these hashes. */
export function mechanismsServing(hashes: ScramAlgorithm[] | 'derived', view: AuthView): string[] {
  return advertisedMechanisms(view).filter((m) => {
    if (m === 'anonymous' || m === 'oauth' || m === 'external') return false;
    if (hashes === 'derived') return m !== 'digest' || view.format === 'plain';
    if (m === 'plain') return hashes.length > 0; // PLAIN is checked against the first stored hash
    const algorithm = scramAlgorithmOf(m);
    return algorithm !== undefined && hashes.includes(algorithm);
  });
}

/** Strength order, strongest first: clients pick the strongest SCRAM variant they implement. */
export const SCRAM_STRENGTH: readonly ScramAlgorithm[] = ['sha512', 'sha384', 'sha256', 'sha224', 'sha1'];
