// An XMPP stream (RFC 6120 §4) parsed incrementally and strictly (saxes): the <stream:stream> header once,
// then each top-level child as an ltx Element. A new parser is made for each stream restart (after STARTTLS
// and SASL success).
import { SaxesParser } from 'saxes';
import { Element } from '../xml/element.js';

export interface StreamParserEvents {
  open(attrs: Record<string, string>): void;
  element(el: Element): void;
  close(): void;
  error(err: Error): void;
}

export class XmppStreamParser {
  private readonly parser = new SaxesParser({ xmlns: false, fragment: false });
  private stack: Element[] = [];
  private depth = 0;
  private failed = false;

  constructor(private readonly events: StreamParserEvents) {
    this.parser.on('opentag', (tag) => {
      this.depth++;
      if (this.depth === 1) {
        events.open(tag.attributes as Record<string, string>);
        return;
      }
      const el = new Element(tag.name, tag.attributes as Record<string, string>);
      const parent = this.stack[this.stack.length - 1];
      if (parent) {
        el.parent = parent;
        parent.children.push(el);
      }
      this.stack.push(el);
    });
    this.parser.on('closetag', () => {
      this.depth--;
      if (this.depth === 0) {
        events.close();
        return;
      }
      const el = this.stack.pop()!;
      if (this.depth === 1) events.element(el);
    });
    this.parser.on('text', (text) => {
      const parent = this.stack[this.stack.length - 1];
      if (!parent) return; // whitespace keepalives between stanzas
      const last = parent.children[parent.children.length - 1];
      if (typeof last === 'string') parent.children[parent.children.length - 1] = last + text;
      else parent.children.push(text);
    });
    this.parser.on('error', (err) => {
      if (this.failed) return;
      this.failed = true;
      events.error(err);
    });
  }

  write(chunk: string): void {
    if (this.failed) return;
    try {
      this.parser.write(chunk);
    } catch (err) {
      if (!this.failed) {
        this.failed = true;
        this.events.error(err as Error);
      }
    }
  }
}
