// Saved plans (`plan --out plan.json`, `run --plan plan.json`): what was reviewed is what runs. The file
// records the source's fingerprint (counts per kind, credential shapes) and the target settings; a run
// under it re-inventories the source and refuses, with a diff, when anything drifted past what it allows.
import { readFile, writeFile } from 'node:fs/promises';
import { PlanRefusedError, UsageError } from '../errors.js';
import type { TargetSettings } from '../target/mongooseim/target-settings.js';
import type { CommonOptions } from './context.js';
import { plan, type PlanReport } from './plan.js';

export const SAVED_PLAN_FORMAT = 'xmpp-migrate-plan/1';

export interface SavedPlan {
  format: typeof SAVED_PLAN_FORMAT;
  createdAt: string;
  /** Redacted, as printed: never a password. */
  source: string;
  sourceDescription: string;
  target: string;
  settings: Omit<TargetSettings, 'origin'>;
  counts: Record<string, number>;
  credentials: Record<string, number>;
  /** The `--mapping` renames' fingerprint; absent: no renames. */
  mapping?: string;
  /** How much each kind may grow before a run under this plan refuses (a live source keeps growing). */
  allowedGrowthPercent: number;
}

export function savedPlanFrom(report: PlanReport, allowedGrowthPercent: number): SavedPlan {
  const { origin: _origin, ...settings } = report.settings;
  return {
    format: SAVED_PLAN_FORMAT,
    createdAt: new Date().toISOString(),
    source: report.source,
    sourceDescription: report.sourceDescription,
    target: report.target,
    settings,
    counts: Object.fromEntries(Object.entries(report.inventory.counts).map(([k, n]) => [k, n ?? 0])),
    credentials: { ...report.inventory.credentials },
    ...(report.mappingFingerprint ? { mapping: report.mappingFingerprint } : {}),
    allowedGrowthPercent,
  };
}

export async function writeSavedPlan(path: string, saved: SavedPlan): Promise<void> {
  await writeFile(path, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
}

export async function readSavedPlan(path: string): Promise<SavedPlan> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--plan ${path}: cannot read it as a saved plan (${(err as Error).message}); write one with \`xmpp-migrate plan … --out ${path}\``);
  }
  if ((parsed as SavedPlan | null)?.format !== SAVED_PLAN_FORMAT) {
    throw new UsageError(`--plan ${path}: not a plan written by \`xmpp-migrate plan --out\` (format ${SAVED_PLAN_FORMAT} expected)`);
  }
  return parsed as SavedPlan;
}

/** Every way `now` drifted from `saved`, as lines an operator can act on; empty: the plan still holds. */
export function planDrift(saved: SavedPlan, now: SavedPlan): string[] {
  const drift: string[] = [];
  if (saved.source !== now.source) drift.push(`source: the plan is for ${saved.source}, this run reads ${now.source}`);
  if (saved.target !== now.target) drift.push(`target: the plan is for ${saved.target}, this run writes ${now.target}`);
  if (saved.mapping !== now.mapping) {
    drift.push(`domain mapping: ${saved.mapping ? `the plan renames domains (mapping ${saved.mapping})` : 'the plan renames no domain'}, this run ${now.mapping ? `renames them differently (mapping ${now.mapping})` : 'renames none'}: give the same --mapping file`);
  }
  for (const key of new Set([...Object.keys(saved.settings), ...Object.keys(now.settings)])) {
    const was = JSON.stringify((saved.settings as Record<string, unknown>)[key]);
    const is = JSON.stringify((now.settings as Record<string, unknown>)[key]);
    if (was !== is) drift.push(`target setting ${key}: ${was} in the plan, ${is} now (a changed mongooseim.toml or flag)`);
  }
  const growth = 1 + saved.allowedGrowthPercent / 100;
  for (const kind of new Set([...Object.keys(saved.counts), ...Object.keys(now.counts)])) {
    const was = saved.counts[kind] ?? 0;
    const is = now.counts[kind] ?? 0;
    if (is < was) drift.push(`${kind}: ${was} in the plan, ${is} now: records disappeared from the source`);
    else if (is > Math.ceil(was * growth)) drift.push(`${kind}: ${was} in the plan, ${is} now: grew past the ${saved.allowedGrowthPercent}% the plan allows`);
  }
  for (const [shape, n] of Object.entries(now.credentials)) {
    if (n > 0 && (saved.credentials[shape] ?? 0) === 0) drift.push(`passwords: ${n} account(s) with ${shape} credentials, which the plan did not have`);
  }
  return drift;
}

/** Refuses (exit 4) unless the source and target still match the saved plan. */
export async function checkSavedPlan(path: string, options: CommonOptions): Promise<void> {
  const saved = await readSavedPlan(path);
  const report = await plan(options);
  const drift = planDrift(saved, savedPlanFrom(report, saved.allowedGrowthPercent));
  const reasons = [...report.refusals, ...drift];
  if (reasons.length > 0) {
    throw new PlanRefusedError(
      `refusing to run: the source or target no longer matches the plan in ${path} (made ${saved.createdAt}):\n${reasons.map((r) => `  - ${r}`).join('\n')}\nReview with \`xmpp-migrate plan … --out ${path}\` and run again.`,
      reasons,
    );
  }
}
