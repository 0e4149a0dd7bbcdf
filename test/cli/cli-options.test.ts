// The command line as a table: argv in, exit code and message out. Usage errors never touch a database.
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseKinds } from '../../src/cli/main.js';

function capture() {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => void (out += s) }, stderr: { write: (s: string) => void (err += s) } },
    get out() { return out; },
    get err() { return err; },
  };
}

describe('command line', () => {
  const cases: Array<{ argv: string[]; exit: number; stderr?: RegExp; stdout?: RegExp }> = [
    { argv: ['--help'], exit: 0, stdout: /Exit codes:[\s\S]*3  finished with rejects/ },
    { argv: ['run', '--help'], exit: 0, stdout: /--dry-run[\s\S]*--only <kinds>[\s\S]*--rate/ },
    { argv: ['run', '--source', 'xep0227:x.xml', '--bogus'], exit: 2, stderr: /unknown option '--bogus'/ },
    { argv: ['frobnicate'], exit: 2, stderr: /unknown command 'frobnicate'/ },
    { argv: ['run'], exit: 2, stderr: /required option '-s, --source <url>' not specified/ },
    { argv: ['run', '--source', 'nosuch:thing', '--dry-run'], exit: 2, stderr: /unknown source "nosuch:thing": expected one of/ },
    { argv: ['run', '--source', 'xep0227:x.xml', '--message-format', 'json'], exit: 2, stderr: /Allowed choices are compressed-eterm, eterm, xml/ },
    { argv: ['run', '--source', 'xep0227:x.xml', '--mam-node', '300', '--dry-run'], exit: 2, stderr: /--mam-node must be a whole number from 0 to 255/ },
    { argv: ['run', '--source', 'xep0227:x.xml', '--rate', 'fast', '--dry-run'], exit: 2, stderr: /--rate takes a whole number/ },
    { argv: ['run', '--source', 'xep0227:x.xml', '--only', 'archives,nonsense', '--dry-run'], exit: 2, stderr: /--only "nonsense"/ },
    { argv: ['run', '--source', 'xep0227:x.xml', '--shard', '0/2', '--dry-run'], exit: 2, stderr: /--shard "0\/2": expected k\/n with 1 ≤ k ≤ n/ },
    { argv: ['plan', '--source', 'xep0227:x.xml', '--target', 'mysql2://u:SECRETPW@h/db'], exit: 2, stderr: /unknown target "mysql2:\/\/u:\*\*\*@h\/db"/ },
  ];
  it.each(cases)('$argv → exit $exit', async ({ argv, exit, stderr, stdout }) => {
    const c = capture();
    expect(await main(argv, c.io)).toBe(exit);
    if (stderr) expect(c.err).toMatch(stderr);
    if (stdout) expect(c.out).toMatch(stdout);
    expect(c.err + c.out).not.toContain('SECRETPW');
  });

  it('maps --only names to record kinds', () => {
    expect([...parseKinds('users,archives')!].sort()).toEqual(['account', 'archived-message', 'legacy-collection']);
    expect(parseKinds(undefined)).toBeUndefined();
  });
});
