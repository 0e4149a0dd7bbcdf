// Classic MUC rooms as MongooseIM 6.8's mod_muc_rdbms stores them: muc_rooms.options is the JSON object jiffy
// encodes from the room's option proplist without `affiliations` (decoded back by kv_to_opt, which ignores any
// other key), and muc_room_aff.aff is aff_atom2db of each affiliation.
// Facts: esl/MongooseIM src/muc/mod_muc_rdbms.erl (store_room, kv_to_opt, aff_atom2db), src/muc/mod_muc_room.erl
// (make_opts order, set_opts), include/mod_muc_room.hrl (#config{} types) @ 475087c.
//
// In → Out (mucRoomOptionsJson):
//   {title: 'Lobby', persistent: true, max_users: 50} → {"title":"Lobby","persistent":true,"max_users":50}
//   {public: 'yes'}                                    → MucOptionError (public is a boolean)
//   {}                                                 → {"persistent":true}
import type { MucAffiliation } from '../records.js';

type OptionType = 'string' | 'boolean' | 'integer';

/**
 * Every option kv_to_opt reads back, in the order make_opts writes them, with the type set_opts expects.
 * `maygetmemberlist` (a list of role atoms) is left out: records carry no lists, and jiffy would hand
 * binaries back where the room expects atoms.
 */
const OPTIONS: ReadonlyArray<readonly [string, OptionType]> = [
  ['title', 'string'],
  ['description', 'string'],
  ['allow_change_subj', 'boolean'],
  ['allow_query_users', 'boolean'],
  ['allow_private_messages', 'boolean'],
  ['allow_visitor_status', 'boolean'],
  ['allow_visitor_nickchange', 'boolean'],
  ['public', 'boolean'],
  ['public_list', 'boolean'],
  ['persistent', 'boolean'],
  ['moderated', 'boolean'],
  ['members_by_default', 'boolean'],
  ['members_only', 'boolean'],
  ['allow_user_invites', 'boolean'],
  ['allow_multiple_sessions', 'boolean'],
  ['password_protected', 'boolean'],
  ['password', 'string'],
  ['anonymous', 'boolean'],
  ['max_users', 'integer'],
  ['subject', 'string'],
  ['subject_author', 'string'],
];
const OPTION_TYPES: ReadonlyMap<string, OptionType> = new Map(OPTIONS);

/** aff_atom2db: the muc_room_aff.aff codes. */
export const AFFILIATION_CODES: Readonly<Record<Exclude<MucAffiliation, 'none'>, number>> = { owner: 1, member: 2, admin: 3, outcast: 4 };

export class MucOptionError extends Error {
  override name = 'MucOptionError';
}

/**
 * The options object as JSON text, keys in make_opts order (so a re-run writes the same text). Only rooms
 * with `persistent = true` are stored by MongooseIM: a record that does not say is written persistent, as
 * every room in muc_rooms is. Throws MucOptionError for a key MongooseIM does not read or a value of the
 * wrong type (the room would crash or silently lose it when loaded).
 */
export function mucRoomOptionsJson(options: Readonly<Record<string, string | number | boolean>>): string {
  for (const [key, value] of Object.entries(options)) {
    const type = OPTION_TYPES.get(key);
    if (!type) throw new MucOptionError(`room option ${key} is not one MongooseIM's mod_muc_rdbms reads`);
    const ok =
      type === 'string' ? typeof value === 'string'
      : type === 'boolean' ? typeof value === 'boolean'
      : typeof value === 'number' && Number.isSafeInteger(value) && value > 0; // #config.max_users: pos_integer()
    if (!ok) throw new MucOptionError(`room option ${key} = ${JSON.stringify(value)} is not ${type === 'integer' ? 'a positive integer' : `a ${type}`}`);
  }
  const ordered: Record<string, string | number | boolean> = {};
  for (const [key] of OPTIONS) {
    const value = key === 'persistent' ? (options.persistent ?? true) : options[key];
    if (value !== undefined) ordered[key] = value;
  }
  return JSON.stringify(ordered);
}
