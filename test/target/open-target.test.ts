// Target URLs: which schemes open which dialect, passwords never shown, unknown schemes refused before I/O.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { describeTarget, openDialect, validateTargetUrl } from '../../src/target/open-target.js';
import { freshMysqlDatabase } from '../support/databases.js';
import { isSelected } from './target-dialects.js';

describe('target URLs', () => {
  it.each(['pglite:memory', 'pglite:./x', 'postgres://u:p@h/db', 'postgresql://u:p@h:5432/db', 'mysql://u:p@h:3306/db', 'mariadb://u:p@h/db'])('accepts %s', (url) => {
    expect(() => validateTargetUrl(url)).not.toThrow();
  });

  it.each(['mysql2://u:SECRETPW@h/db', 'sqlite:x.db', 'mysql:/h/db'])('refuses %s with the schemes it knows, password hidden', (url) => {
    let error: unknown;
    try {
      validateTargetUrl(url);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/use postgres:\/\/.*mysql:\/\/.*mariadb:\/\/.*pglite:DIR/);
    expect((error as Error).message).not.toContain('SECRETPW');
  });

  it.each([
    ['mysql://mim:S3cret@db.internal:3306/mongooseim', 'mysql://mim:***@db.internal:3306/mongooseim'],
    ['mariadb://mim:p%40ss@db/mim', 'mariadb://mim:***@db/mim'],
    ['postgres://mim:S3cret@db/mim', 'postgres://mim:***@db/mim'],
  ])('shows %s as %s', (url, shown) => {
    expect(describeTarget(url)).toBe(shown);
  });

  it.runIf(isSelected('mysql'))('opens mariadb:// like mysql://, with the password hidden in its name', async () => {
    const database = await freshMysqlDatabase('url');
    try {
      const url = database.url.replace(/^mysql:/, 'mariadb:');
      const dialect = await openDialect(url);
      expect(dialect.label).toBe('MySQL/MariaDB');
      expect(dialect.db.displayName).not.toContain(new URL(database.url).password);
      expect(dialect.db.displayName).toContain('***');
      await dialect.db.close();
      // No database in the URL: refused with the shape to use.
      await expect(openDialect(database.url.replace(/\/[^/]*$/, '/'))).rejects.toThrow(/names no database/);
    } finally {
      await database.drop();
    }
  });
});
