// The slice of ltx (https://github.com/xmppjs/ltx) that xmpp-migrate calls.
declare module 'ltx' {
  export type Node = Element | string;
  export class Element {
    constructor(name: string, attrs?: Record<string, string | undefined>);
    name: string;
    attrs: Record<string, string>;
    children: Node[];
    parent: Element | null;
    is(name: string, xmlns?: string): boolean;
    getName(): string;
    getNS(): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildByAttr(attr: string, val: string, xmlns?: string, recursive?: boolean): Element | undefined;
    getChildElements(): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    text(): string;
    attr(name: string): string | undefined;
    c(name: string, attrs?: Record<string, string | undefined>): Element;
    cnode(child: Element): Element;
    t(text: string): Element;
    up(): Element;
    root(): Element;
    remove(el: Element | string, xmlns?: string): Element;
    clone(): Element;
    toString(): string;
  }
  export function parse(text: string, options?: unknown): Element;
  export function createElement(name: string, attrs?: Record<string, string | undefined> | null, ...children: Array<Node | Node[]>): Element;
  export function escapeXML(s: string): string;
  export function escapeXMLText(s: string): string;
  export function equal(a: Element, b: Element): boolean;
}
