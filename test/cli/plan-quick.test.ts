// `plan --quick` counts an export by a byte scan of its tags instead of reading every record: on the synthetic
// export (every element the generator writes) its counts, owners and credential shapes are the full plan's;
// on the v1.1 fixture (XInclude-free, every element the adapter reads) accounts, archives and credentials
// agree, and the plan says its counts are estimates.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { PlanReport } from '../../src/commands/plan.js';
import { writeSyntheticExport } from '../support/synthetic-xep0227.js';

let work: string;
let synthetic: string;
const fixture = join(import.meta.dirname, '..', 'fixtures', 'xep0227', 'full-v1.1.xml');

async function plan(file: string, ...extra: string[]): Promise<PlanReport> {
  let stdout = '';
  const code = await main(['plan', '--source', `xep0227:${file}`, '--target', `pglite:${join(work, 'not-created')}`, '--json', ...extra], {
    stdout: { write: (s) => void (stdout += s) },
    stderr: { write: () => undefined },
  });
  expect(code).toBe(0);
  return JSON.parse(stdout) as PlanReport;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-plan-quick-'));
  synthetic = join(work, 'export.xml');
  await writeSyntheticExport(synthetic, { users: 25, messagesPerUser: 40, seed: 3 });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('plan --quick', () => {
  it('gives the full plan\'s counts, owners and credentials for the synthetic export', async () => {
    const full = await plan(synthetic);
    const quick = await plan(synthetic, '--quick');
    expect(quick.inventory.counts).toEqual(full.inventory.counts);
    expect(quick.inventory.owners).toEqual(full.inventory.owners);
    const shapes = (c: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(c).filter(([, n]) => n > 0));
    expect(shapes(quick.inventory.credentials)).toEqual(shapes(full.inventory.credentials));
    expect(quick.estimate.messages).toBe(1000);
    expect(quick.checks).toContainEqual(expect.objectContaining({ check: 'inventory', status: 'warn', detail: expect.stringMatching(/^quick scan: counts are estimates/) }));
    expect(full.checks.some((c) => c.check === 'inventory')).toBe(false);
  });

  it('agrees on accounts, archived messages and credential shapes for the v1.1 fixture', async () => {
    const full = await plan(fixture);
    const quick = await plan(fixture, '--quick');
    for (const kind of ['account', 'archived-message', 'offline-message', 'vcard', 'private-xml', 'privacy-list'] as const) {
      expect({ kind, n: quick.inventory.counts[kind] }).toEqual({ kind, n: full.inventory.counts[kind] });
    }
    expect(quick.inventory.credentials).toEqual(Object.fromEntries(Object.entries(full.inventory.credentials).filter(([, n]) => n > 0)));
    expect(quick.inventory.description).toMatch(/quick scan \(counts are estimates\)/);
  });
});
