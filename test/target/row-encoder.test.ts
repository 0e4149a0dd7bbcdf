// Record → row decisions that need no database.
import { describe, expect, it } from 'vitest';
import { RecordError } from '../../src/errors.js';
import type { AccountRecord } from '../../src/records.js';
import { MongooseimRowEncoder } from '../../src/target/mongooseim/row-encoder.js';
import { DEFAULT_TARGET_SETTINGS } from '../../src/target/mongooseim/target-settings.js';

const unrecoverable: AccountRecord = {
  kind: 'account',
  jid: { local: 'erin', domain: 'example.com' },
  credential: { type: 'none', reason: 'the Openfire password cannot be decrypted with this key' },
  location: { source: 'test', table: 'ofUser', key: 'erin' },
};

describe('accounts without a recoverable password', () => {
  it('are rejected by default, saying how to keep them', async () => {
    const encoder = new MongooseimRowEncoder({ ...DEFAULT_TARGET_SETTINGS, origin: {} }, Buffer.alloc(32));
    await expect(Promise.resolve().then(() => encoder.encode(unrecoverable))).rejects.toThrow(RecordError);
    await expect(Promise.resolve().then(() => encoder.encode(unrecoverable))).rejects.toThrow(/--accounts-without-password locked/);
  });

  it('become locked plain rows (empty password, which MongooseIM never accepts) when the operator asks', async () => {
    const encoder = new MongooseimRowEncoder({ ...DEFAULT_TARGET_SETTINGS, origin: {}, accountsWithoutPassword: 'locked' }, Buffer.alloc(32));
    const encoded = await encoder.encode(unrecoverable);
    expect(encoded.rows).toEqual([{ table: 'users', username: 'erin', server: 'example.com', password: '', pass_details: null, created_at: null }]);
  });
});
