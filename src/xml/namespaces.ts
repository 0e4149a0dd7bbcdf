// XML namespaces used across adapters and the target, one constant each.
export const NS_CLIENT = 'jabber:client';
export const NS_ROSTER = 'jabber:iq:roster';
export const NS_PRIVATE = 'jabber:iq:private';
export const NS_PRIVACY = 'jabber:iq:privacy';
export const NS_VCARD = 'vcard-temp';
/** https://xmpp.org/extensions/xep-0227.html */
export const NS_PIE = 'urn:xmpp:pie:0';
export const NS_PIE_LEGACY = 'http://www.xmpp.org/extensions/xep-0227.html#ns';
export const NS_PIE_SCRAM = 'urn:xmpp:pie:0#scram';
export const NS_PIE_MAM = 'urn:xmpp:pie:0#mam';
export const NS_XINCLUDE = 'http://www.w3.org/2001/XInclude';
/** https://xmpp.org/extensions/xep-0313.html */
export const NS_MAM = 'urn:xmpp:mam:2';
export const NS_MAM_TMP = 'urn:xmpp:mam:tmp';
export const NS_FORWARD = 'urn:xmpp:forward:0';
/** https://xmpp.org/extensions/xep-0203.html */
export const NS_DELAY = 'urn:xmpp:delay';
export const NS_DELAY_LEGACY = 'jabber:x:delay';
/** https://xmpp.org/extensions/xep-0359.html */
export const NS_SID = 'urn:xmpp:sid:0';
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
export const NS_OCCUPANT_ID = 'urn:xmpp:occupant-id:0';
export const NS_HINTS = 'urn:xmpp:hints';
/** https://xmpp.org/extensions/xep-0136.html */
export const NS_ARCHIVE = 'urn:xmpp:archive';
export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_PUBSUB_OWNER = 'http://jabber.org/protocol/pubsub#owner';
export const NS_BOOKMARKS = 'storage:bookmarks';
export const NS_BOOKMARKS2 = 'urn:xmpp:bookmarks:1';
