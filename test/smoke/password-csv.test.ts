// The operator's jid,password CSV: quoting, a header, duplicates, and errors that never quote a password.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parsePasswordCsv } from '../../src/smoke/password-csv.js';

describe('password CSV', () => {
  it('reads quoted passwords with commas and quotes, skips a header and repeated accounts', () => {
    const accounts = parsePasswordCsv('jid,password\nAlice@Example.com,"a,b""c"\nbob@example.com,plain pw\nalice@example.com,other\n', 'p.csv');
    expect(accounts).toEqual([
      { jid: 'alice@example.com', local: 'alice', domain: 'example.com', password: 'a,b"c' },
      { jid: 'bob@example.com', local: 'bob', domain: 'example.com', password: 'plain pw' },
    ]);
  });

  it('names the line of a malformed row without printing it', () => {
    let error: unknown;
    try {
      parsePasswordCsv('alice@example.com,secret,extra-secret\n', 'p.csv');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/^p\.csv line 1: expected two fields/);
    expect((error as Error).message).not.toContain('secret');
  });
});
