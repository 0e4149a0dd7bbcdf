// Live control of a running migration without a restart (`--control-file`): an operator pauses, resumes or
// re-rates a run against a production database by writing one line into a file, e.g.
//   echo pause > migrate.ctl      echo 'rate=200' > migrate.ctl      echo resume > migrate.ctl
// The runner reads it between batches, so a pause takes effect after the batch in flight.
import { readFile } from 'node:fs/promises';

export interface ControlState {
  paused: boolean;
  /** Why, for the log: the file's words after `pause`. */
  reason: string;
  /** Records per second; 0 = unlimited; undefined = as the command line said. */
  rate: number | undefined;
}

export interface RunControl {
  read(): Promise<ControlState>;
  /** How often a paused run looks again. */
  readonly pollMs: number;
  describe(): string;
}

export class ControlFile implements RunControl {
  constructor(readonly path: string, readonly pollMs = 1000) {}

  describe(): string {
    return `control file ${this.path}`;
  }

  async read(): Promise<ControlState> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      // No file (or not yet): run as the command line says.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { paused: false, reason: '', rate: undefined };
      throw err;
    }
    return parseControl(text);
  }
}

/** `pause [reason]`, `resume`, `rate=N` (records/s, 0 = unlimited), one per line; blank lines and `#` comments ignored. */
export function parseControl(text: string): ControlState {
  const state: ControlState = { paused: false, reason: '', rate: undefined };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const rate = /^rate\s*=\s*(\d+)$/.exec(line);
    if (rate) state.rate = Number(rate[1]);
    else if (/^pause\b/.test(line)) {
      state.paused = true;
      state.reason = line.slice('pause'.length).trim() || 'paused by the control file';
    } else if (line === 'resume' || line === 'run') state.paused = false;
    // Anything else is ignored rather than fatal: a typo must not kill a run that has been going for hours.
  }
  return state;
}
