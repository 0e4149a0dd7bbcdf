// File-based sources share one check: the location names a readable regular file, or the operator is told.
import { stat } from 'node:fs/promises';
import { SourceError, UsageError } from '../errors.js';

/** Throws UsageError for an empty location or a non-file, SourceError when the file cannot be opened. */
export async function assertSourceFile(scheme: string, location: string, example: string): Promise<void> {
  if (location === '') throw new UsageError(`${scheme} needs a file: ${scheme}:${example}`);
  try {
    const info = await stat(location);
    if (!info.isFile()) throw new UsageError(`${scheme}:${location} is not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new SourceError('not-found', `cannot open ${scheme}:${location}: ${(err as Error).message}`, { cause: err });
  }
}
