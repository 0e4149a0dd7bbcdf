// The layering rules of style.md, enforced: adapters never import the target, the runner or the CLI;
// the target never imports an adapter; only src/cli/ touches process argv, stdout or exit codes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

const files = sources(root).map((f) => ({ path: relative(root, f), imports: imports(f), text: readFileSync(f, 'utf8') }));

describe('module boundaries', () => {
  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('keeps adapters away from the target, the runner, the commands and the CLI', () => {
    const offenders = files
      .filter((f) => f.path.startsWith('adapters/'))
      .flatMap((f) => f.imports.filter((i) => /\/(target|pipeline|commands|cli)\//.test(i)).map((i) => `${f.path} imports ${i}`));
    expect(offenders).toEqual([]);
  });

  it('keeps the target ignorant of which server the data came from', () => {
    const offenders = files
      .filter((f) => f.path.startsWith('target/') || f.path.startsWith('encoding/'))
      .flatMap((f) => f.imports.filter((i) => /\/adapters\//.test(i)).map((i) => `${f.path} imports ${i}`));
    expect(offenders).toEqual([]);
  });

  it('lets only the CLI print or set exit codes', () => {
    const offenders = files
      .filter((f) => !f.path.startsWith('cli/'))
      .filter((f) => /console\.(log|error|warn)|process\.(stdout|stderr)\.write|process\.exit/.test(f.text))
      .map((f) => f.path);
    expect(offenders).toEqual([]);
  });
});
