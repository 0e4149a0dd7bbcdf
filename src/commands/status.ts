// `status`: the checkpoints of every migration into this target.
import type { Checkpoint, CheckpointKey } from '../target/target.js';
import { openTarget } from '../target/open-target.js';
import { DEFAULT_TARGET_SETTINGS } from '../target/mongooseim/target-settings.js';

export interface StatusOptions {
  target: string;
}

export interface StatusReport {
  target: string;
  checkpoints: Array<CheckpointKey & Checkpoint>;
}

export async function status(options: StatusOptions): Promise<StatusReport> {
  const target = await openTarget(options.target, { settings: { ...DEFAULT_TARGET_SETTINGS, origin: {} }, createSchema: false, dryRun: false });
  try {
    return { target: target.displayName, checkpoints: await target.listCheckpoints() };
  } finally {
    await target.close();
  }
}
