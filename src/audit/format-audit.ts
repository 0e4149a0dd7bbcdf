// The human rendering of an extensions audit, shared by `audit` and the audit section of `plan`.
import type { AuditReport } from './audit-config.js';

export function formatAuditFindings(report: AuditReport): string {
  if (report.findings.length === 0) return `  no findings: ${report.config} fits what the source used and what the run writes\n`;
  const lines: string[] = [];
  for (const f of report.findings) {
    lines.push(`  [${f.severity}] ${f.title}${f.scope === 'top level' ? '' : ` — ${f.scope}`}`);
    lines.push(`      why: ${f.why}`);
    lines.push(`      change:\n${f.change.split('\n').map((l) => `        ${l}`).join('\n')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatAuditReport(report: AuditReport & { source: string; sourceDescription: string }): string {
  const { error, warn, info } = report.summary;
  return `Extensions audit: ${report.config} against ${report.source}\nsource: ${report.sourceDescription}\nscopes: ${report.scopes.join('; ')}\n\n${formatAuditFindings(report)}\n${error} error(s), ${warn} warning(s), ${info} note(s)${error > 0 ? ': fix the errors before cutover' : ''}\n`;
}
