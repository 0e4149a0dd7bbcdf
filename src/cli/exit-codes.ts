// Exit codes scripts can trust; the only place errors become numbers.
import { InternalError, MigrateError, PlanRefusedError, UsageError } from '../errors.js';

export const EXIT = {
  /** Everything finished; nothing was rejected; verify found parity. */
  ok: 0,
  /** The run failed or was interrupted: re-run the same command to resume. */
  failed: 1,
  /** The command line was wrong: nothing was done. */
  usage: 2,
  /** Finished, but some records were rejected: see the reject report. */
  finishedWithRejects: 3,
  /** `plan` (or `run --plan`) refused: see its reasons. */
  planRefused: 4,
  /** `verify` found source and target differ (and `smoke`: a login, roster or archive differs). */
  parityFailed: 5,
  /** `audit` found error-level findings, or `loadtest` went past its error budget. */
  checksFailed: 6,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0  finished: nothing rejected (verify: parity)
  1  failed or interrupted: re-run the same command to resume from the checkpoint
  2  usage error: nothing was done
  3  finished with rejects: see the reject report (NDJSON)
  4  plan refused: see the reasons printed
  5  verify: source and target differ (smoke: a login, roster or archive differs)
  6  audit: error-level findings (loadtest: errors past --max-error-rate)`;

export function exitCodeForError(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof PlanRefusedError) return EXIT.planRefused;
  if (error instanceof InternalError) return EXIT.failed;
  if (error instanceof MigrateError) return EXIT.failed;
  return EXIT.failed;
}
