// MongooseIM MAM message ids, (µs << 8) | node, and their base-32 external form (XEP-0313 archive UIDs).
// https://github.com/esl/MongooseIM/blob/6.8.0/src/mam/mod_mam_utils.erl
import { RecordError, UsageError } from '../errors.js';
import type { Micros } from '../records.js';

/** The node byte is the low 8 bits of the id. */
export const MAM_NODE_MAX = 255;
/** Largest id MongooseIM accepts back from a client (external_binary_to_mess_id caps at signed BIGINT). */
export const MAM_ID_MAX = (1n << 63n) - 1n;
/** Largest timestamp an id can carry: 3111-09-16T23:10:18.963967Z. */
export const MAM_MICROS_MAX = MAM_ID_MAX >> 8n;

/**
 * The id of a message received at `micros` (µs since the epoch), written with node byte `node`.
 * Throws RecordError `mam-id-out-of-range` for a time before 1970 or after MAM_MICROS_MAX, and
 * UsageError for a node outside 0..255 (it comes from the operator's configuration).
 */
export function mamId(micros: Micros, node: number): bigint {
  if (!Number.isInteger(node) || node < 0 || node > MAM_NODE_MAX) {
    throw new UsageError(`MAM node number ${node} is not an integer from 0 to ${MAM_NODE_MAX}`);
  }
  if (micros < 0n || micros > MAM_MICROS_MAX) {
    throw new RecordError(
      'mam-id-out-of-range',
      `timestamp ${micros} µs is outside what a MAM id can hold (1970-01-01 to 3111-09-16); check the source's time unit`,
    );
  }
  return (micros << 8n) | BigInt(node);
}

/** Splits an id into its time and node byte (mod_mam_utils:decode_compact_uuid). */
export function mamIdParts(id: bigint): { micros: Micros; node: number } {
  return { micros: id >> 8n, node: Number(id & 0xffn) };
}

/**
 * The external form clients see in `<stanza-id id>`, `<result id>` and RSM: base 32, digits 0-9A-V,
 * upper case, no padding (Erlang integer_to_binary(Id, 32)).
 */
export function encodeMamExternalId(id: bigint): string {
  if (id < 0n || id > MAM_ID_MAX) {
    throw new RecordError('mam-id-out-of-range', `MAM id ${id} is outside 0..2^63-1`);
  }
  return id.toString(32).toUpperCase();
}

const EXTERNAL_ID = /^[0-9A-Va-v]+$/;

/**
 * Parses an external id, case-insensitively as MongooseIM does (binary_to_integer(B, 32)).
 * Stricter than MongooseIM in one way: a leading `+` or `-`, which Erlang accepts (and so MongooseIM
 * takes `-5` as id -5), is refused here because no id MongooseIM hands out has a sign.
 * Throws RecordError `invalid-mam-id`.
 */
export function decodeMamExternalId(text: string): bigint {
  if (!EXTERNAL_ID.test(text)) {
    throw new RecordError('invalid-mam-id', `${JSON.stringify(text)} is not a MAM id: expected base-32 digits 0-9 A-V`);
  }
  let id = 0n;
  for (const ch of text) id = id * 32n + BigInt(parseInt(ch, 32));
  if (id > MAM_ID_MAX) {
    throw new RecordError('invalid-mam-id', `${JSON.stringify(text)} is larger than the largest MAM id (7VVVVVVVVVVVV)`);
  }
  return id;
}
