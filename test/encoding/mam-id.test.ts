// MAM ids: (µs << 8) | node and the base-32 external form, against storage-facts §1.5.1 and values
// computed with Erlang (integer_to_binary(Id, 32), binary_to_integer(B, 32)) on OTP 25.
import { describe, expect, it } from 'vitest';
import {
  MAM_ID_MAX,
  MAM_MICROS_MAX,
  decodeMamExternalId,
  encodeMamExternalId,
  mamId,
  mamIdParts,
} from '../../src/encoding/mam-id.js';
import { RecordError, UsageError } from '../../src/errors.js';

function micros(iso: string, extraMicros: bigint): bigint {
  return BigInt(Date.parse(iso)) * 1000n + extraMicros;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof RecordError ? err.code : (err as Error).name;
  }
  return undefined;
}

describe('mamId', () => {
  it.each([
    // [what, µs, node, id, external]
    ['the worked example, node 0', micros('2024-01-01T12:00:00.123Z', 456n), 0, 436252262431604736n, 'C3F13S7B4G00'],
    ['the worked example, node 5', micros('2024-01-01T12:00:00.123Z', 456n), 5, 436252262431604741n, 'C3F13S7B4G05'],
    ['node 255', 1704110400123456n, 255, 436252262431604991n, 'C3F13S7B4G7V'],
    ['the epoch', 0n, 0, 0n, '0'],
    ['1 µs, node 1', 1n, 1, 257n, '81'],
    ['the last µs, node 255', MAM_MICROS_MAX, 255, MAM_ID_MAX, '7VVVVVVVVVVVV'],
  ])('%s', (_what, us, node, id, external) => {
    expect(mamId(us, node)).toBe(id);
    expect(mamIdParts(id)).toEqual({ micros: us, node });
    expect(encodeMamExternalId(id)).toBe(external);
    expect(decodeMamExternalId(external)).toBe(id);
  });

  it('puts the last representable time at 3111-09-16T23:10:18.963967Z', () => {
    expect(MAM_MICROS_MAX).toBe(micros('3111-09-16T23:10:18.963Z', 967n));
  });

  it.each([
    ['a time before 1970', -1n, 0, 'mam-id-out-of-range'],
    ['a time after 3111-09-16T23:10:18.963967Z', MAM_MICROS_MAX + 1n, 0, 'mam-id-out-of-range'],
    ['milliseconds mistaken for seconds·10^6', 1704110400123456n * 1000n, 0, 'mam-id-out-of-range'],
    ['node 256', 1n, 256, 'UsageError'],
    ['node -1', 1n, -1, 'UsageError'],
    ['node 1.5', 1n, 1.5, 'UsageError'],
  ])('refuses %s', (_what, us, node, code) => {
    expect(codeOf(() => mamId(us, node))).toBe(code);
  });

  it('raises UsageError (not RecordError) for a bad node: the node comes from configuration', () => {
    expect(() => mamId(1n, 300)).toThrow(UsageError);
  });
});

describe('external ids', () => {
  it.each([
    ['lower case', 'c3f13s7b4g05', 436252262431604741n],
    ['mixed case', 'C3f13S7b4G05', 436252262431604741n],
    ['leading zeros', '000C3F13S7B4G05', 436252262431604741n],
    ['the largest id', '7vvvvvvvvvvvv', MAM_ID_MAX],
  ])('decodes %s as MongooseIM does', (_what, text, id) => {
    expect(decodeMamExternalId(text)).toBe(id);
  });

  it.each([
    ['an empty string', ''],
    ['a digit beyond V', 'C3F13S7B4G0W'],
    ['a sign (Erlang takes it, no MongooseIM id has one)', '-5'],
    ['a plus sign', '+5'],
    ['spaces', ' C3F13S7B4G05'],
    ['one past the largest id', '8000000000000'],
    ['a decimal id', '436252262431604741.0'],
  ])('refuses %s (RecordError invalid-mam-id)', (_what, text) => {
    expect(codeOf(() => decodeMamExternalId(text))).toBe('invalid-mam-id');
  });

  it('refuses to encode ids outside 0..2^63-1', () => {
    expect(codeOf(() => encodeMamExternalId(-1n))).toBe('mam-id-out-of-range');
    expect(codeOf(() => encodeMamExternalId(MAM_ID_MAX + 1n))).toBe('mam-id-out-of-range');
  });

  it('orders external ids of equal length like the ids, so RSM keys sort by time', () => {
    const ids = [mamId(1704110400123456n, 0), mamId(1704110400123457n, 0), mamId(1704110400123457n, 9), mamId(1704110401000000n, 3)];
    const external = ids.map(encodeMamExternalId);
    expect([...external].sort()).toEqual(external);
  });
});
