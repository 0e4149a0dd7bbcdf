// The one owner of output: a progress line on a TTY (stderr), NDJSON events with --json (stdout), and
// the human summaries. Nothing else in the tool prints.
import type { CutoverReport } from '../commands/cutover.js';
import type { PlanReport } from '../commands/plan.js';
import type { RunSummary } from '../commands/run.js';
import type { StatusReport } from '../commands/status.js';
import type { VerifyReport } from '../commands/verify.js';
import { formatAuditFindings } from '../audit/format-audit.js';
import { redactSecrets } from '../errors.js';
import type { RunEvent } from '../pipeline/run-events.js';

export interface Output {
  write(text: string): void;
}

export interface ReporterOptions {
  json: boolean;
  stdout: Output;
  stderr: Output & { isTTY?: boolean };
  /** Quiet: no progress line. */
  quiet?: boolean;
}

const number = (n: number): string => n.toLocaleString('en');

export function toJson(value: unknown): string {
  return redactSecrets(JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

export class Reporter {
  private lastProgress = 0;
  private progressShown = false;
  private rejectedSoFar = 0;
  private readonly started = performance.now();

  constructor(private readonly options: ReporterOptions) {}

  onEvent = (event: RunEvent): void => {
    if (this.options.json) {
      this.options.stdout.write(`${toJson({ event: event.type, ...event })}\n`);
      return;
    }
    if (event.type === 'record-rejected') this.rejectedSoFar++;
    if (event.type === 'kind-skipped') this.line(`note: ${event.kind} records skipped: ${event.reason}`);
    if (event.type === 'target-notice') this.line(`note: ${event.message}`);
    if (event.type === 'retry') this.line(`target unavailable, retry ${event.attempt} in ${Math.round(event.delayMs)} ms: ${event.reason}`);
    if (event.type === 'stream-start' && event.startedFrom !== 'start') this.line(`${event.stream}: ${event.startedFrom === 'resumed' ? `resuming ${passName(event.pass)} from the last checkpoint` : `${passName(event.pass)} already complete, skipped${event.pass === 0 ? ' (use --delta to catch up with what arrived since)' : ''}`}`);
    if (event.type === 'stream-start' && event.startedFrom === 'start' && event.pass > 0) this.line(`${event.stream}: ${passName(event.pass)}, ${event.since === undefined ? 'reading the whole stream (no high-water mark): present rows are kept or brought up to date' : `reading past high-water mark ${event.since}`}`);
    if (event.type === 'paused') this.line(`paused: ${event.reason} (write 'resume' into the control file to go on)`);
    if (event.type === 'resumed') this.line(`resumed${event.rate ? ` at ${number(event.rate)} records/s` : ''}`);
    if (event.type === 'rate-changed') this.line(`rate ${event.rate ? `${number(event.rate)} records/s` : 'unlimited'}: ${event.reason}`);
    if (event.type === 'batch-written' && this.progressEnabled()) {
      const now = performance.now();
      if (now - this.lastProgress < 200) return;
      this.lastProgress = now;
      const seconds = (now - this.started) / 1000;
      this.options.stderr.write(`\r\x1b[2K${event.stream}: ${number(event.totalRecords)} records · ${number(Math.round(event.totalRecords / Math.max(seconds, 0.001)))}/s · ${number(this.rejectedSoFar)} rejected`);
      this.progressShown = true;
    }
  };

  private progressEnabled(): boolean {
    return !this.options.quiet && this.options.stderr.isTTY === true;
  }

  private line(text: string): void {
    if (this.progressShown) {
      this.options.stderr.write('\r\x1b[2K');
      this.progressShown = false;
    }
    this.options.stderr.write(`${text}\n`);
  }

  finishProgress(): void {
    if (this.progressShown) this.options.stderr.write('\r\x1b[2K');
    this.progressShown = false;
  }

  runSummary(summary: RunSummary): void {
    this.finishProgress();
    if (this.options.json) {
      this.options.stdout.write(`${toJson({ event: 'summary', ...summary })}\n`);
      return;
    }
    const out = this.options.stdout;
    out.write(`${summary.dryRun ? 'Dry run (nothing written)' : 'Run'}: ${summary.source} → ${summary.target}\n\n`);
    const rows = Object.entries(summary.kinds).map(([kind, s]) => [
      kind,
      number(s!.read),
      number(s!.written),
      number(s!.present),
      number(s!.updated),
      number(s!.rejected),
      number(s!.skipped),
      (s!.bytes / 1e6).toFixed(1),
    ]);
    out.write(table([['kind', 'read', summary.dryRun ? 'would write' : 'written', 'already there', 'updated', 'rejected', 'skipped', 'MB'], ...rows]));
    out.write('\n');
    for (const s of summary.streams) {
      out.write(`stream ${s.stream} (${passName(s.pass)}): ${s.startedFrom === 'already complete' ? 'already complete' : `${number(s.records)} records in ${s.batches} batches, ${(s.ms / 1000).toFixed(1)} s${s.startedFrom === 'resumed' ? ' (resumed)' : ''}`}\n`);
    }
    out.write(`total time ${(summary.ms / 1000).toFixed(1)} s\n`);
    const merged = Object.values(summary.kinds).reduce((n, s) => n + (s?.merged ?? 0), 0);
    if (merged > 0) out.write(`${number(merged)} archived message(s) merged: the same message another store's migration had already written (--merge-archives)\n`);
    if (summary.rejected > 0) out.write(`\n${number(summary.rejected)} record(s) rejected: reasons and locations in ${summary.rejectFile}\n`);
    if (summary.inbox) {
      const i = summary.inbox;
      out.write(`inbox: ${number(i.conversations)} conversation(s) of ${number(i.owners)} user(s): ${number(i.inserted)} written, ${number(i.updated)} updated, ${number(i.unchanged)} already there${i.resumedAfter ? ` (resumed after ${i.resumedAfter})` : ''}\n`);
      for (const s of i.skipped.slice(0, 20)) out.write(`  inbox entry of ${s.owner} with ${s.peer} not written: ${s.reason}\n`);
      if (i.skipped.length > 20) out.write(`  … and ${number(i.skipped.length - 20)} more (--json lists them all)\n`);
    }
    if (summary.inboxNotRebuilt) out.write(`inbox not rebuilt: ${summary.inboxNotRebuilt}\n`);
    if (summary.interrupted) out.write('\nInterrupted: run the same command again to resume from the last checkpoint.\n');
  }

  planReport(report: PlanReport): void {
    if (this.options.json) {
      this.options.stdout.write(`${toJson(report)}\n`);
      return;
    }
    const out = this.options.stdout;
    out.write(`Plan: ${report.source} → ${report.target}\nsource: ${report.sourceDescription}\n\n`);
    const inv = report.inventory;
    const kindRows = Object.entries(inv.counts).map(([kind, n]) => [kind, number(n ?? 0), number(inv.owners[kind as keyof typeof inv.owners] ?? 0)]);
    out.write(table([['kind', 'records', 'owners'], ...kindRows]));
    if (inv.archiveSpan) out.write(`archive span: ${isoMicros(inv.archiveSpan.first)} … ${isoMicros(inv.archiveSpan.last)}\n`);
    out.write('\nPasswords:\n');
    out.write(table([['credential', 'accounts', 'in MongooseIM'], ...report.passwords.map((p) => [p.shape, number(p.accounts), p.outcome])]));
    if (report.skippedKinds.length > 0) {
      out.write(`\nNot migrated yet (counted as skipped by run): ${report.skippedKinds.map((k) => `${k.kind} ${number(k.records)}`).join(', ')}\n`);
    }
    if (inv.cannotProvide.length > 0) {
      out.write('\nThis source cannot provide:\n');
      for (const c of inv.cannotProvide) out.write(`  - ${c.kind}: ${c.reason}${c.advice ? ` → ${c.advice}` : ''}\n`);
    }
    const rejects = Object.entries(inv.rejects);
    if (rejects.length > 0) {
      out.write('\nRecords that will be rejected:\n');
      for (const [reason, n] of rejects) out.write(`  - ${number(n)} × ${reason}\n`);
    }
    for (const note of inv.notes) out.write(`note: ${note}\n`);
    if (report.domains) {
      // --mapping: records per domain and kind, as the source has them and as the target will hold them.
      const d = report.domains;
      const row = (c: (typeof d.before)[number]): string[] => [c.domain, number(c.records), Object.entries(c.kinds).map(([k, n]) => `${k} ${number(n ?? 0)}`).join(', ')];
      out.write(`\nDomains before the mapping (${d.mapping}):\n`);
      out.write(table([['domain', 'records', 'per kind'], ...d.before.map(row)]));
      out.write('Domains after the mapping (what the target will hold):\n');
      out.write(table([['domain', 'records', 'per kind'], ...d.after.map(row)]));
    }
    out.write('\nTarget settings:\n');
    const s = report.settings;
    out.write(table([
      ['setting', 'value', 'from'],
      ['message format', `${s.messageFormat} (${s.exmlShape})`, s.origin.messageFormat ?? 'default'],
      ['PM JID format', s.pmJidFormat, s.origin.pmJidFormat ?? 'default'],
      ['full text search', String(s.fullTextSearch), s.origin.fullTextSearch ?? 'default'],
      ['MAM node byte', String(s.mamNode), s.origin.mamNode ?? 'default'],
      ['password format', s.passwordFormat, s.origin.passwordFormat ?? 'default'],
    ]));
    out.write('\nChecks:\n');
    for (const c of report.checks) out.write(`  [${c.status}] ${c.check}: ${c.detail}\n`);
    if (report.audit) out.write(`\nExtensions audit of ${report.audit.config}:\n${formatAuditFindings(report.audit)}`);
    const e = report.estimate;
    out.write(`\nEstimate: ${number(e.records)} records (${number(e.messages)} archived messages), about ${formatSeconds(e.seconds)} (${e.basis})\n`);
    if (report.refusals.length > 0) {
      out.write('\nREFUSED:\n');
      for (const r of report.refusals) out.write(`  - ${r}\n`);
    } else {
      out.write('\nReady: `xmpp-migrate run` with the same options (try `--dry-run` first).\n');
    }
  }

  verifyReport(report: VerifyReport): void {
    if (this.options.json) {
      this.options.stdout.write(`${toJson(report)}\n`);
      return;
    }
    const out = this.options.stdout;
    out.write(`Verify: ${report.source} ↔ ${report.target}\n\n`);
    out.write(table([['kind', 'source records', 'target rows', 'table'], ...report.kinds.map((k) => [k.kind, number(k.source), number(k.targetRows), k.table])]));
    out.write(`\narchives compared: ${number(report.archivesCompared)}${report.sampledFrom !== undefined ? ` (a fixed sample of the source's ${number(report.sampledFrom)})` : ''}; messages: ${number(report.messagesInSource)} in source, ${number(report.messagesInTarget)} in target\n`);
    if (report.archives) {
      const side = (s: { count: number; firstMicros: bigint; lastMicros: bigint; contentHash: string } | undefined): string[] => (s ? [number(s.count), isoMicros(s.firstMicros), isoMicros(s.lastMicros), s.contentHash.slice(0, 8)] : ['-', '-', '-', '-']);
      out.write(table([['archive', 'status', 'source msgs', 'first', 'last', 'hash', 'target msgs', 'first', 'last', 'hash'], ...report.archives.map((a) => [a.archive, a.status, ...side(a.source), ...side(a.target)])]));
    }
    if (report.mergedArchives) out.write(`archives merged with another store's copy (--merge-archives), passed by count only: ${number(report.mergedArchives)}\n`);
    if (report.extraArchivesInTarget > 0) out.write(`archives only in the target (not from this source): ${number(report.extraArchivesInTarget)}\n`);
    const rejected = Object.entries(report.rejectedInSource);
    if (rejected.length > 0) out.write(`source records a run rejects (not expected in the target): ${rejected.map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
    const notWritten = Object.entries(report.notWrittenKinds);
    if (notWritten.length > 0) out.write(`source records of kinds not migrated yet (skipped by run): ${notWritten.map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
    if (report.differences.length > 0) {
      out.write(`\n${number(report.differences.length)} archive(s) differ:\n`);
      for (const d of report.differences.slice(0, 50)) {
        out.write(`  - ${d.archive}: ${d.problem}${d.source ? ` (source ${d.source.count} messages` : ''}${d.target ? `, target ${d.target.count})` : d.source ? ')' : ''}\n`);
      }
      if (report.differences.length > 50) out.write(`  … and ${number(report.differences.length - 50)} more (use --json for all)\n`);
    }
    out.write(report.parity ? '\nPARITY: every source archive is in the target, identical.\n' : '\nDIFFERENT: see above; re-run `run` to resume, then verify again.\n');
  }

  cutoverReport(report: CutoverReport): void {
    if (this.options.json) {
      this.options.stdout.write(`${toJson({ event: 'cutover', ...report })}\n`);
      return;
    }
    this.runSummary(report.finalDelta);
    const out = this.options.stdout;
    if (report.phases.length > 0) {
      out.write('\nPhases (records read per stream and pass):\n');
      out.write(table([['stream', 'pass', 'records', 'state', 'finished'], ...report.phases.map((p) => [p.stream, passName(p.pass), number(p.records), p.completed ? 'complete' : 'in progress', p.updatedAt ?? ''])]));
    }
    if (!report.finalDelta.interrupted) {
      out.write('\n');
      this.verifyReport(report.verify);
    }
    out.write(`\nCUTOVER ${report.parity ? 'READY' : 'NOT READY'}${report.rejected > 0 ? ` (${number(report.rejected)} rejected in the final delta)` : ''}\n`);
    for (const step of report.nextSteps) out.write(`  - ${step}\n`);
  }

  statusReport(report: StatusReport): void {
    if (this.options.json) {
      this.options.stdout.write(`${toJson(report)}\n`);
      return;
    }
    const out = this.options.stdout;
    out.write(`Checkpoints in ${report.target}:\n\n`);
    if (report.checkpoints.length === 0) {
      out.write('none: no run has written to this target yet\n');
      return;
    }
    out.write(table([
      ['migration', 'stream', 'shard', 'records', 'state', 'updated'],
      ...report.checkpoints.map((c) => [c.migration, c.stream, c.shard, number(c.records), c.completed ? 'complete' : 'in progress', c.updatedAt ?? '']),
    ]));
  }

  error(message: string): void {
    this.finishProgress();
    if (this.options.json) this.options.stdout.write(`${toJson({ event: 'error', message: redactSecrets(message) })}\n`);
    this.options.stderr.write(`xmpp-migrate: ${redactSecrets(message)}\n`);
  }
}

function passName(pass: number): string {
  return pass === 0 ? 'bulk pass' : `delta ${pass}`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const render = (r: string[]): string => r.map((cell, i) => (i === 0 || i === r.length - 1 && isNaN(Number(cell.replace(/[,.]/g, ''))) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return `${[render(rows[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.slice(1).map(render)].join('\n')}\n`;
}

function isoMicros(micros: bigint): string {
  return new Date(Number(micros / 1000n)).toISOString();
}

function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
