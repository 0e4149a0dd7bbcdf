// ejabberd `muc_room.opts` (mod_muc_room:make_opts/2, stored as Erlang term text) → MongooseIM's room option
// vocabulary (mod_muc_rdbms, storage-facts §1.9) and affiliations. Facts: storage-facts §2.5;
// processone/ejabberd: src/mod_muc_room.erl (make_opts, #config{}), src/mod_muc.erl (opts_to_binary).
import { type ErlangTerm, formatErlangTerm, isAtom, proplist, termText } from './erlang-term-text.js';
import type { MucAffiliation } from '../records.js';

export interface MappedRoom {
  options: Record<string, string | number | boolean>;
  affiliations: Array<{ jid: string; affiliation: MucAffiliation }>;
  /** ejabberd options with no MongooseIM counterpart that differ from ejabberd's defaults: key → value text. */
  dropped: Map<string, string>;
  /** Affiliation entries that could not be read, with the reason. */
  problems: string[];
}

const STRING_OPTIONS = ['title', 'description', 'password'] as const;
/** ejabberd booleans MongooseIM reads with the same name and meaning. */
const BOOLEAN_OPTIONS = [
  'allow_change_subj',
  'allow_query_users',
  'allow_visitor_status',
  'allow_visitor_nickchange',
  'public',
  'public_list',
  'persistent',
  'moderated',
  'members_by_default',
  'members_only',
  'allow_user_invites',
  'password_protected',
  // ejabberd `anonymous`: only moderators see real JIDs, as MongooseIM's `anonymous`.
  'anonymous',
] as const;

/**
 * ejabberd options MongooseIM has no place for, with the values that mean "nothing lost" (ejabberd's defaults
 * or behaviour MongooseIM has anyway). A room whose value differs gets a note.
 */
const HARMLESS_DEFAULTS: Record<string, string[]> = {
  captcha_protected: ['false'],
  logging: ['false'],
  allow_voice_requests: ['true'],
  voice_request_min_interval: ['1800'],
  allow_subscription: ['false'],
  mam: ['true', 'false'],
  presence_broadcast: ['[moderator,participant,visitor]'],
  vcard: ['<<>>', '<<"">>'],
  vcard_xupdate: ['undefined'],
  pubsub: ['<<>>', '<<"">>'],
  enable_hats: ['false'],
  lang: ['<<>>', '<<"">>', '<<"en">>'],
  captcha_whitelist: ['[]'],
  roles: ['[]'],
  hats_users: ['[]'],
  hats_defs: ['[]'],
  allow_private_messages_from_visitors: ['anyone'],
  hibernation_time: ['undefined'],
  subscribers: ['[]'],
  salt: [],
};
/** Read into other options or meaningless in storage. */
const CONSUMED = new Set<string>([
  ...STRING_OPTIONS,
  ...BOOLEAN_OPTIONS,
  'max_users',
  'subject',
  'subject_author',
  'affiliations',
  'affiliation',
  'allowpm',
  'allow_private_messages',
  'salt',
  'hibernation_time',
]);

const AFFILIATIONS: ReadonlySet<string> = new Set(['owner', 'admin', 'member', 'outcast', 'none']);

/** Maps a parsed opts term. Throws an Error with the reason when the term is not a proplist at all. */
export function mapMucRoomOptions(opts: ErlangTerm): MappedRoom {
  if (opts.type !== 'list') throw new Error(`opts is ${opts.type === 'map' ? 'a map' : `a ${opts.type}`}, not a property list`);
  const props = proplist(opts);
  const options: MappedRoom['options'] = {};
  const dropped = new Map<string, string>();
  const problems: string[] = [];

  for (const key of STRING_OPTIONS) {
    const value = props.get(key);
    if (value === undefined) continue;
    const text = termText(value);
    if (text === undefined) problems.push(`option ${key} = ${formatErlangTerm(value)} is not text`);
    else options[key] = text;
  }
  for (const key of BOOLEAN_OPTIONS) {
    const value = props.get(key);
    if (isAtom(value, 'true')) options[key] = true;
    else if (isAtom(value, 'false')) options[key] = false;
    else if (value !== undefined) problems.push(`option ${key} = ${formatErlangTerm(value)} is not a boolean`);
  }
  const maxUsers = props.get('max_users');
  if (maxUsers?.type === 'integer') options.max_users = Number(maxUsers.value);
  else if (maxUsers !== undefined) problems.push(`option max_users = ${formatErlangTerm(maxUsers)} is not an integer`);

  // Private messages: `allowpm` (23.04+: anyone | participants | moderators | none) replaced the boolean
  // `allow_private_messages`; MongooseIM keeps only the boolean.
  const allowpm = props.get('allowpm');
  const allowPrivate = props.get('allow_private_messages');
  if (isAtom(allowpm)) {
    options.allow_private_messages = allowpm.name !== 'none';
    if (allowpm.name !== 'anyone' && allowpm.name !== 'none') dropped.set('allowpm', allowpm.name);
  } else if (isAtom(allowPrivate, 'true') || isAtom(allowPrivate, 'false')) {
    options.allow_private_messages = allowPrivate.name === 'true';
  }

  const subject = props.get('subject');
  if (subject !== undefined) {
    const text = subjectText(subject);
    if (text === undefined) problems.push(`option subject = ${formatErlangTerm(subject)} is not text`);
    else if (text !== '') options.subject = text;
  }
  const author = props.get('subject_author');
  if (author !== undefined) {
    // 23.04+: {Nick, #jid{}}; before: the nick alone.
    const nick = author.type === 'tuple' ? termText(author.items[0]) : termText(author);
    if (nick === undefined) problems.push(`option subject_author = ${formatErlangTerm(author)} is not a nick`);
    else if (nick !== '') options.subject_author = nick;
  }

  const affiliations: MappedRoom['affiliations'] = [];
  const affTerm = props.get('affiliations') ?? props.get('affiliation');
  if (affTerm?.type === 'list') {
    for (const entry of affTerm.items) {
      const read = readAffiliation(entry);
      if (typeof read === 'string') problems.push(read);
      else if (read.affiliation !== 'none') affiliations.push(read);
    }
  } else if (affTerm !== undefined) problems.push(`affiliations = ${formatErlangTerm(affTerm)} is not a list`);

  for (const [key, value] of props) {
    if (CONSUMED.has(key)) continue;
    const text = formatErlangTerm(value);
    if (!(HARMLESS_DEFAULTS[key] ?? []).includes(text)) dropped.set(key, text);
  }
  return { options, affiliations, dropped, problems };
}

/** `[{text, Lang, Data}, …]` (the first with an empty language, else the first), or a binary or string (old data). */
function subjectText(subject: ErlangTerm): string | undefined {
  if (subject.type === 'list' && subject.items.length > 0 && subject.items.every((i) => i.type === 'tuple')) {
    const texts = subject.items.filter((i): i is Extract<ErlangTerm, { type: 'tuple' }> => i.type === 'tuple' && isAtom(i.items[0], 'text') && i.items.length === 3);
    const chosen = texts.find((t) => termText(t.items[1]) === '') ?? texts[0];
    return chosen ? termText(chosen.items[2]) : undefined;
  }
  return termText(subject);
}

/** `{{U, S, R}, {Aff, Reason}}` or, in older data, `{{U, S, R}, Aff}`. */
function readAffiliation(entry: ErlangTerm): { jid: string; affiliation: MucAffiliation } | string {
  const bad = `affiliation entry ${formatErlangTerm(entry)} is not {{User, Server, Resource}, Affiliation}`;
  if (entry.type !== 'tuple' || entry.items.length !== 2) return bad;
  const [who, what] = entry.items as [ErlangTerm, ErlangTerm];
  if (who.type !== 'tuple' || who.items.length !== 3) return bad;
  const [u, s, r] = who.items.map(termText);
  if (u === undefined || s === undefined || r === undefined || s === '') return bad;
  const aff = what.type === 'tuple' ? what.items[0] : what;
  if (!isAtom(aff) || !AFFILIATIONS.has(aff.name)) return `affiliation ${formatErlangTerm(what)} of ${u}@${s} is not owner, admin, member, outcast or none`;
  const bare = u === '' ? s : `${u}@${s}`;
  return { jid: r === '' ? bare : `${bare}/${r}`, affiliation: aff.name as MucAffiliation };
}
