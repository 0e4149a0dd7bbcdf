// What each MongooseIM module serves, which migrated data it reads, its storage backend default, and what it
// costs when nobody uses it. Facts from esl/MongooseIM @ 6.8.0: each module's config_spec() (backend
// defaults: src/mod_last.erl, src/mod_private.erl, src/roster/mod_roster.erl, src/offline/mod_offline.erl,
// src/vcard/mod_vcard.erl, src/privacy/mod_privacy.erl, src/muc/mod_muc.erl, src/pubsub/mod_pubsub.erl,
// src/pubsub_old/mod_pubsub_old.erl), its hooks(), and doc/modules/*.md.
import type { RecordKind } from '../records.js';

export interface ExtensionFacts {
  module: string;
  /** The protocol it implements, for messages. */
  protocol: string;
  /** Record kinds whose presence in the source shows the deployment used this extension. */
  kinds: RecordKind[];
  /** Its `backend` when the option is not set; undefined for modules that store nothing. */
  defaultBackend?: 'mnesia' | 'rdbms';
  /**
   * When enabled while the source shows no use: how severe, and what it costs. Undefined: never reported as
   * unused (a module every deployment needs, such as offline storage).
   */
  unused?: { severity: 'warn' | 'info'; cost: string };
  /** Deprecated by the XSF or by MongooseIM: what to use instead. */
  deprecated?: { why: string; instead: string };
}

export const EXTENSIONS: readonly ExtensionFacts[] = [
  { module: 'mod_roster', protocol: 'roster (RFC 6121)', kinds: ['roster-item'], defaultBackend: 'mnesia' },
  {
    module: 'mod_vcard',
    protocol: 'XEP-0054 vcard-temp',
    kinds: ['vcard'],
    defaultBackend: 'mnesia',
    unused: { severity: 'info', cost: 'an IQ handler and, with `search = true` (the default), a user directory service (vjud.@HOST@) whose vcard_search index is kept on every vCard change' },
  },
  { module: 'mod_private', protocol: 'XEP-0049 private XML storage', kinds: ['private-xml'], defaultBackend: 'rdbms' },
  { module: 'mod_offline', protocol: 'XEP-0160 offline messages', kinds: ['offline-message'], defaultBackend: 'mnesia' },
  {
    module: 'mod_last',
    protocol: 'XEP-0012 Last Activity',
    kinds: ['last-activity'],
    defaultBackend: 'mnesia',
    unused: { severity: 'warn', cost: 'it writes the time and status of every session end to its store (hooks unset_presence and session_cleanup): one database write per logout, on every node, for data no client asked for' },
  },
  {
    module: 'mod_privacy',
    protocol: 'XEP-0016 Privacy Lists',
    kinds: ['privacy-list'],
    defaultBackend: 'mnesia',
    unused: { severity: 'warn', cost: 'every stanza a user sends or receives is checked against their active list' },
    deprecated: { why: 'XEP-0016 is Deprecated by the XSF (superseded by XEP-0191 Blocking Command)', instead: 'mod_blocking' },
  },
  { module: 'mod_blocking', protocol: 'XEP-0191 Blocking Command', kinds: ['blocklist'] /* starts mod_privacy with its own options */, defaultBackend: 'mnesia' },
  {
    module: 'mod_muc',
    protocol: 'XEP-0045 Multi-User Chat',
    kinds: ['muc-room', 'muc-registration'],
    defaultBackend: 'mnesia',
    unused: { severity: 'info', cost: 'a routed MUC service (conference.@HOST@) and its room processes' },
  },
  {
    module: 'mod_pubsub',
    protocol: 'XEP-0163 PEP',
    kinds: ['pep-item'],
    defaultBackend: 'rdbms',
    unused: { severity: 'info', cost: 'PEP notifications on presence and caps for every user' },
  },
  {
    module: 'mod_pubsub_old',
    protocol: 'XEP-0060 Publish-Subscribe (old implementation)',
    kinds: ['pep-item'],
    defaultBackend: 'mnesia',
    unused: { severity: 'info', cost: 'a pubsub service with its node tree and PEP notifications on presence for every user' },
    deprecated: { why: 'MongooseIM deprecates mod_pubsub_old', instead: 'mod_pubsub (when the deployment needs PEP only)' },
  },
];

/** XEP-0136 (Message Archiving) modules other servers have; MongooseIM has none. */
export const XEP0136_MODULES: readonly string[] = ['mod_archive', 'mod_archive_odbc', 'mod_archive_sql', 'mod_archive2', 'mod_archive_manage'];

export function extensionFacts(module: string): ExtensionFacts | undefined {
  return EXTENSIONS.find((e) => e.module === module);
}
