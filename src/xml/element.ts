// XML stays XML: stanzas are ltx Elements (name, attrs, children of Element | string), the same model
// xmpp.js uses. Parsing is strict (saxes: well-formedness, duplicate attributes, illegal characters),
// because a lenient parser would turn a malformed stanza into silently different data.
// `xmlns` stays an ordinary attribute, exactly as exml stores it.
import { Element, createElement } from 'ltx';
import { SaxesParser } from 'saxes';

export { Element, createElement };
export type XmlNode = Element | string;

export class XmlParseError extends Error {
  override name = 'XmlParseError';
}

/** A reusable strict parser: creating a saxes parser per stanza costs more than parsing a small one. */
class StanzaParser {
  private readonly parser = new SaxesParser({ xmlns: false, fragment: false, position: true });
  private stack: Element[] = [];
  private root: Element | undefined;
  private failure: Error | undefined;

  constructor() {
    this.parser.on('opentag', (tag) => {
      const el = new Element(tag.name, tag.attributes as Record<string, string>);
      const parent = this.stack[this.stack.length - 1];
      if (parent) {
        el.parent = parent;
        parent.children.push(el);
      } else {
        this.root = el;
      }
      this.stack.push(el);
    });
    this.parser.on('closetag', () => {
      this.stack.pop();
    });
    this.parser.on('text', (text) => {
      const parent = this.stack[this.stack.length - 1];
      if (parent) appendText(parent, text);
      else if (text.trim() !== '') this.failure ??= new XmlParseError('text outside the root element');
    });
    this.parser.on('cdata', (text) => {
      const parent = this.stack[this.stack.length - 1];
      if (parent) appendText(parent, text);
    });
    this.parser.on('error', (err) => {
      this.failure ??= err;
    });
  }

  parse(text: string): Element {
    this.stack = [];
    this.root = undefined;
    this.failure = undefined;
    try {
      this.parser.write(text).close();
    } catch (err) {
      this.failure ??= err as Error;
    }
    if (this.failure) {
      const message = this.failure.message.replace(/^undefined:/, '');
      // saxes cannot always continue after an error: start afresh for the next stanza.
      parserPool = undefined;
      throw new XmlParseError(`malformed XML: ${message}`);
    }
    if (!this.root) throw new XmlParseError('malformed XML: no root element');
    return this.root;
  }
}

function appendText(parent: Element, text: string): void {
  const last = parent.children[parent.children.length - 1];
  if (typeof last === 'string') parent.children[parent.children.length - 1] = last + text;
  else parent.children.push(text);
}

let parserPool: StanzaParser | undefined;

/** Parses one XML document (a stanza) strictly; throws XmlParseError with the reason. */
export function parseXml(text: string): Element {
  parserPool ??= new StanzaParser();
  return parserPool.parse(text);
}

/** Serialises an element as XML text (attribute values and text escaped). */
export function serializeXml(el: Element): string {
  return el.toString();
}

/** The text of the first child element with this name (and namespace), or undefined. */
export function childText(el: Element, name: string, xmlns?: string): string | undefined {
  const child = el.getChild(name, xmlns);
  return child ? child.getText() : undefined;
}

/** Child elements only (no text nodes). */
export function childElements(el: Element): Element[] {
  return el.children.filter((c): c is Element => typeof c !== 'string');
}

/** Deep copy without the parent link, so the copy can be attached elsewhere. */
export function cloneElement(el: Element): Element {
  const copy = new Element(el.name, { ...el.attrs });
  for (const child of el.children) {
    if (typeof child === 'string') copy.children.push(child);
    else {
      const c = cloneElement(child);
      c.parent = copy;
      copy.children.push(c);
    }
  }
  return copy;
}

/** Removes direct children matching the predicate; returns how many were removed. */
export function removeChildren(el: Element, predicate: (child: Element) => boolean): number {
  const before = el.children.length;
  el.children = el.children.filter((c) => typeof c === 'string' || !predicate(c));
  return before - el.children.length;
}

/** The namespace an element is in: its own xmlns, else inherited through parents. */
export function namespaceOf(el: Element): string | undefined {
  return el.getNS();
}
