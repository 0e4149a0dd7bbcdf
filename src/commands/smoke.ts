// `smoke`: log in to the target server as a sample of migrated users (passwords from the operator's CSV),
// fetch each roster and the last archived messages over XMPP, and compare them with the source. Reads only;
// passwords never leave memory.
import type { SourceAdapter } from '../adapters/source-adapter.js';
import { UsageError } from '../errors.js';
import { readPasswordCsv, type SampleAccount } from '../smoke/password-csv.js';
import { compareArchive, compareRoster, type ArchiveComparison, type RosterDifference } from '../smoke/smoke-compare.js';
import { sampleSource } from '../smoke/source-sample.js';
import { probeAccount, type LoginAttempt } from '../smoke/target-probe.js';
import { openSourceFor } from './context.js';

export interface SmokeOptions {
  source: string;
  sourceSettings: Record<string, string>;
  /** CSV of jid,password. */
  passwords: string;
  /** The target's c2s listener, host:port. */
  xmpp: { host: string; port: number };
  /** At most this many accounts from the CSV (in file order). */
  sample: number;
  /** Archived messages compared per account. */
  messages: number;
  starttls: 'auto' | 'required' | 'off';
  rejectUnauthorized: boolean;
  plainWithoutTls: boolean;
  /** Bound on every XMPP wait. */
  timeoutMs: number;
  /** How far apart the source's and the target's time of one message may be. */
  toleranceMs: number;
}

export type SmokeStatus = 'match' | 'differs' | 'login-failed' | 'not-in-source' | 'error';

export interface SmokeAccountResult {
  jid: string;
  status: SmokeStatus;
  logins: LoginAttempt[];
  notTried: Array<{ mechanism: string; reason: string }>;
  roster?: { source: number; target: number; differences: RosterDifference[] };
  archive?: ArchiveComparison;
  error?: string;
}

export interface SmokeReport {
  source: string;
  target: string;
  accounts: SmokeAccountResult[];
  summary: Record<SmokeStatus, number>;
  /** Every sampled account logged in with every mechanism tried and matched the source. */
  ok: boolean;
}

export async function smoke(options: SmokeOptions): Promise<SmokeReport> {
  const all = await readPasswordCsv(options.passwords);
  if (all.length === 0) throw new UsageError(`--passwords ${options.passwords} holds no account`);
  const sample: SampleAccount[] = all.slice(0, options.sample);
  const source: SourceAdapter = await openSourceFor({ source: options.source, sourceSettings: options.sourceSettings, target: '', settingsFlags: {}, createSchema: false });
  let expected;
  try {
    expected = await sampleSource(source, sample.map((a) => a.jid), options.messages);
  } finally {
    await source.close();
  }
  const accounts: SmokeAccountResult[] = [];
  for (const account of sample) {
    const want = expected.get(account.jid)!;
    const result: SmokeAccountResult = { jid: account.jid, status: 'match', logins: [], notTried: [] };
    try {
      const probe = await probeAccount(account, {
        connect: { host: options.xmpp.host, port: options.xmpp.port, starttls: options.starttls, rejectUnauthorized: options.rejectUnauthorized, timeoutMs: options.timeoutMs },
        lastMessages: options.messages,
        plainWithoutTls: options.plainWithoutTls,
      });
      result.logins = probe.logins;
      result.notTried = probe.notTried;
      if (probe.roster) {
        result.roster = { source: want.roster.length, target: probe.roster.length, differences: compareRoster(want.roster, probe.roster) };
      }
      if (probe.messages) result.archive = compareArchive(want.messages, probe.messages, options.toleranceMs);
      if (probe.error) result.error = probe.error;
    } catch (err) {
      result.error = (err as Error).message;
    }
    result.status = statusOf(result, want.exists);
    accounts.push(result);
  }
  const summary: Record<SmokeStatus, number> = { match: 0, differs: 0, 'login-failed': 0, 'not-in-source': 0, error: 0 };
  for (const a of accounts) summary[a.status]++;
  return { source: source.displayName, target: `${options.xmpp.host}:${options.xmpp.port}`, accounts, summary, ok: summary.match === accounts.length };
}

function statusOf(result: SmokeAccountResult, inSource: boolean): SmokeStatus {
  if (!inSource) return 'not-in-source';
  if (result.logins.length > 0 && result.logins.every((l) => !l.ok)) return 'login-failed';
  if (result.error || result.logins.length === 0) return 'error';
  const differs = result.logins.some((l) => !l.ok) || (result.roster?.differences.length ?? 0) > 0 || (result.archive?.missing.length ?? 0) > 0 || (result.archive?.unexpected.length ?? 0) > 0;
  return differs ? 'differs' : 'match';
}
