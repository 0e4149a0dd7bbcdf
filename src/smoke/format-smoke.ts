// The human rendering of a smoke test report. No password is in the report to begin with; message bodies
// appear only as length and hash.
import type { SmokeReport } from '../commands/smoke.js';

export function formatSmokeReport(report: SmokeReport): string {
  const lines: string[] = [`Smoke test: ${report.target} against ${report.source}`, ''];
  for (const a of report.accounts) {
    lines.push(`${a.jid}: ${a.status.toUpperCase()}`);
    if (a.logins.length > 0) lines.push(`  login: ${a.logins.map((l) => `${l.mechanism} ${l.ok ? 'ok' : `FAILED (${l.condition})`} ${l.ms} ms`).join(', ')}`);
    for (const n of a.notTried) lines.push(`  not tried: ${n.mechanism}: ${n.reason}`);
    if (a.roster) {
      lines.push(`  roster: ${a.roster.source} item(s) in the source, ${a.roster.target} in the target${a.roster.differences.length === 0 ? ', identical' : ''}`);
      for (const d of a.roster.differences) lines.push(`    - ${d.contact}: ${d.problem}${d.detail ? ` (${d.detail})` : ''}`);
    }
    if (a.archive) {
      lines.push(`  archive: last ${a.archive.compared} message(s) of the source, ${a.archive.matched} found in the target`);
      for (const m of a.archive.missing) lines.push(`    - missing in target: ${m.direction === 'out' ? 'to' : 'from'} ${m.peer} at ${m.time} (${m.bodyLength} characters, sha256 ${m.bodyHash})`);
      for (const m of a.archive.unexpected) lines.push(`    - only in target: ${m.direction === 'out' ? 'to' : 'from'} ${m.peer} at ${m.time} (${m.bodyLength} characters, sha256 ${m.bodyHash})`);
    }
    if (a.error) lines.push(`  error: ${a.error}`);
  }
  const s = report.summary;
  lines.push('', `${report.accounts.length} account(s): ${s.match} match, ${s.differs} differ, ${s['login-failed']} cannot log in, ${s['not-in-source']} not in the source, ${s.error} error(s)`);
  lines.push(report.ok ? 'SMOKE OK: every sampled account logs in and matches the source.' : 'SMOKE FAILED: see above.');
  return `${lines.join('\n')}\n`;
}
