// `verify --sample N` compares a fixed sample of archives (the same ones every time) and still catches a
// difference inside it; `--per-owner` lists every archive with both sides' count, times and content hash.
// A real PostgreSQL target, filled by the real CLI from a synthetic XEP-0227 export.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { VerifyReport } from '../../src/commands/verify.js';
import { freshPostgresDatabase, type FreshDatabase } from '../support/databases.js';
import { writeSyntheticExport } from '../support/synthetic-xep0227.js';

let work: string;
let db: FreshDatabase;
let source: string;

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await main(args, { stdout: { write: (s) => void (stdout += s) }, stderr: { write: () => undefined } });
  return { code, stdout };
}

async function verify(...extra: string[]): Promise<{ code: number; report: VerifyReport }> {
  const { code, stdout } = await cli(['verify', '--source', source, '--target', db.url, '--json', ...extra]);
  return { code, report: JSON.parse(stdout) as VerifyReport };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xmig-verify-sample-'));
  const file = join(work, 'export.xml');
  await writeSyntheticExport(file, { users: 30, messagesPerUser: 4, seed: 11 });
  source = `xep0227:${file}`;
  db = await freshPostgresDatabase('verify_sample');
  const run = await cli(['run', '--source', source, '--target', db.url, '--create-schema', '--quiet', '--reject-file', join(work, 'r.ndjson')]);
  expect(run.code).toBe(0);
});

afterAll(async () => {
  await db?.drop();
  await rm(work, { recursive: true, force: true });
});

describe('verify --sample and --per-owner', () => {
  it('compares the same few archives every time and finds a difference inside them', async () => {
    const first = await verify('--sample', '5', '--per-owner');
    expect(first.code).toBe(0);
    expect(first.report).toMatchObject({ parity: true, archivesCompared: 5, sampledFrom: 30, messagesInSource: 20, messagesInTarget: 20 });
    const sampled = first.report.archives!.map((a) => a.archive);
    expect(sampled).toHaveLength(5);
    expect(first.report.archives!.every((a) => a.status === 'same' && a.source!.contentHash === a.target!.contentHash)).toBe(true);
    expect((await verify('--sample', '5', '--per-owner')).report.archives!.map((a) => a.archive)).toEqual(sampled);

    // One message of a sampled archive disappears from the target.
    const [server, user] = sampled[2]!.split('/') as [string, string];
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(
      `DELETE FROM mam_message WHERE id = (SELECT max(m.id) FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id WHERE u.server = $1 AND u.user_name = $2)`,
      [server, user],
    );
    await client.end();
    const after = await verify('--sample', '5');
    expect(after.code).toBe(5);
    expect(after.report.differences).toEqual([expect.objectContaining({ archive: sampled[2], problem: 'count differs' })]);

    const everyOwner = await verify('--per-owner');
    expect(everyOwner.code).toBe(5);
    expect(everyOwner.report.archives).toHaveLength(30);
    expect(everyOwner.report.archives!.filter((a) => a.status !== 'same').map((a) => a.archive)).toEqual([sampled[2]]);
  }, 60_000);
});

// Source messages are compressed in the worker thread a chunk of 1000 at a time and folded into the archive
// hashes in order: over several chunks, a sample whose members change while chunks are in flight must count
// only its final members, and one changed byte of one message must still show.
describe('verify over several compression chunks', () => {
  let bigWork: string;
  let bigDb: FreshDatabase;
  let bigSource: string;
  beforeAll(async () => {
    bigWork = await mkdtemp(join(tmpdir(), 'xmig-verify-chunks-'));
    const file = join(bigWork, 'export.xml');
    await writeSyntheticExport(file, { users: 8, messagesPerUser: 400, seed: 5 });
    bigSource = `xep0227:${file}`;
    bigDb = await freshPostgresDatabase('verify_chunks');
    const run = await cli(['run', '--source', bigSource, '--target', bigDb.url, '--create-schema', '--quiet', '--reject-file', join(bigWork, 'r.ndjson')]);
    expect(run.code).toBe(0);
  });
  afterAll(async () => {
    await bigDb?.drop();
    await rm(bigWork, { recursive: true, force: true });
  });
  const check = async (...extra: string[]): Promise<{ code: number; report: VerifyReport }> => {
    const { code, stdout } = await cli(['verify', '--source', bigSource, '--target', bigDb.url, '--json', ...extra]);
    return { code, report: JSON.parse(stdout) as VerifyReport };
  };

  it('finds one changed byte in one of 3,200 compressed messages, and samples exactly its members', async () => {
    const whole = await check('--per-owner');
    expect(whole.code).toBe(0);
    expect(whole.report).toMatchObject({ parity: true, archivesCompared: 8, messagesInSource: 3200, messagesInTarget: 3200 });
    const sampled = await check('--sample', '3', '--per-owner');
    expect(sampled.report).toMatchObject({ parity: true, archivesCompared: 3, sampledFrom: 8, messagesInSource: 1200, messagesInTarget: 1200 });
    expect(sampled.report.archives!.every((a) => a.source!.count === 400 && a.source!.contentHash === a.target!.contentHash)).toBe(true);

    // The last byte of the 200th message of the fifth archive (in id order) changes: a compressed term still.
    const victim = whole.report.archives![4]!.archive;
    const [server, user] = victim.split('/') as [string, string];
    const client = new pg.Client({ connectionString: bigDb.url });
    await client.connect();
    const { rowCount } = await client.query(
      `UPDATE mam_message SET message = overlay(message placing '\\xff'::bytea from length(message) for 1)
       WHERE id = (SELECT m.id FROM mam_message m JOIN mam_server_user u ON u.id = m.user_id WHERE u.server = $1 AND u.user_name = $2 ORDER BY m.id OFFSET 199 LIMIT 1)`,
      [server, user],
    );
    await client.end();
    expect(rowCount).toBe(1);
    const after = await check();
    expect(after.code).toBe(5);
    expect(after.report.differences).toEqual([expect.objectContaining({ archive: victim, problem: 'content differs' })]);
  }, 120_000);
});
