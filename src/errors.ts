// Every error the tool raises, each with a `code` and one of three fates:
// RecordError: reject the record, count it, go on.
// SourceError / TargetError: retry with backoff, then fail the stream.
// UsageError / InternalError: stop (exit 2, or "please report").
import type { SourceLocation } from './records.js';

export abstract class MigrateError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One record cannot be migrated; it goes to the reject report with its location. */
export class RecordError extends MigrateError {
  readonly code: string;
  readonly location: SourceLocation | undefined;
  constructor(code: string, message: string, location?: SourceLocation, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.location = location;
  }
}

/** The source cannot be read (connection lost, unreadable file). */
export class SourceError extends MigrateError {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The target refused something that is not a per-record data problem. */
export class TargetError extends MigrateError {
  readonly code: string;
  /**
   * Whether trying again can help (default true): a lost connection, a deadlock or a lock timeout can; a run
   * lock held by another run cannot, and is never retried.
   */
  readonly retryable: boolean;
  constructor(code: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options);
    this.code = code;
    this.retryable = options?.retryable ?? true;
  }
}

/** The operator asked for something impossible or ambiguous: exit code 2. */
export class UsageError extends MigrateError {
  readonly code = 'usage';
}

/** `plan` found a reason not to run: exit code 4. */
export class PlanRefusedError extends MigrateError {
  readonly code = 'plan-refused';
  constructor(message: string, readonly reasons: string[]) {
    super(message);
  }
}

/** A bug in xmpp-migrate. */
export class InternalError extends MigrateError {
  readonly code = 'internal';
}

/** Removes passwords from DSNs/URLs before they reach any output. */
export function redactSecrets(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@/\s]*)@/gi, '$1***@')
    .replace(/(password=)[^&\s]*/gi, '$1***');
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return redactSecrets(error.message);
  return redactSecrets(String(error));
}
