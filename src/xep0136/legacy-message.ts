// The `<message>` a client would have sent, for archives that kept only its parts (XEP-0136 collections,
// mod_archive bodies, Openfire rows without a stanza). RFC 6121 §5.2: body, subject and thread children.
// https://www.rfc-editor.org/rfc/rfc6121#section-5.2
import { Element, cloneElement } from '../xml/element.js';

export interface LegacyMessageParts {
  type: 'chat' | 'groupchat' | 'normal';
  from?: string;
  to?: string;
  body?: string;
  subject?: string;
  thread?: string;
  /** Children the store kept (instead of `body`); `subject` and `thread` are added when they are missing. */
  children?: readonly Element[];
}

/** `<message from to type><subject/><body/><thread/></message>`, or the kept children inside the envelope. */
export function legacyMessage(parts: LegacyMessageParts): Element {
  const attrs: Record<string, string> = {};
  if (parts.from !== undefined) attrs.from = parts.from;
  if (parts.to !== undefined) attrs.to = parts.to;
  attrs.type = parts.type;
  const message = new Element('message', attrs);
  const kept = (parts.children ?? []).map(cloneElement);
  const has = (name: string): boolean => kept.some((c) => c.name === name && (c.attrs.xmlns === undefined || c.attrs.xmlns === 'jabber:client'));
  if (parts.subject !== undefined && !has('subject')) append(message, textElement('subject', parts.subject));
  if (parts.children === undefined) {
    if (parts.body !== undefined) append(message, textElement('body', parts.body));
  } else {
    for (const child of kept) append(message, child);
  }
  if (parts.thread !== undefined && !has('thread')) append(message, textElement('thread', parts.thread));
  return message;
}

/** True when the message carries nothing a reader could show or act on (no child at all). */
export function isEmptyMessage(message: Element): boolean {
  return message.children.every((c) => typeof c === 'string');
}

function textElement(name: string, text: string): Element {
  const el = new Element(name);
  if (text !== '') el.children.push(text);
  return el;
}

function append(parent: Element, child: Element): void {
  child.parent = parent;
  parent.children.push(child);
}
