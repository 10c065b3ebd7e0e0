/**
 * s3/xml: S3's XML. Answers are written here (escaping every text); requests (DeleteObjects,
 * CompleteMultipartUpload, CreateBucket) are read with fast-xml-parser, after its validator, so a
 * malformed document is refused as MalformedXML rather than half understood.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export type XmlValue = string | number | boolean | XmlTree | XmlValue[] | undefined;
export interface XmlTree {
  readonly [tag: string]: XmlValue;
}

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`,
  );
}

function element(tag: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => element(tag, v)).join('');
  if (typeof value === 'object') return `<${tag}>${children(value)}</${tag}>`;
  return `<${tag}>${escapeXml(String(value))}</${tag}>`;
}

function children(tree: XmlTree): string {
  return Object.entries(tree)
    .map(([tag, v]) => element(tag, v))
    .join('');
}

/** A whole answer: the declaration, then `root` (in S3's namespace) holding `tree`. */
export function xmlDocument(root: string, tree: XmlTree): string {
  const ns = root === 'Error' ? '' : ` xmlns="${NS}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${children(tree)}</${root}>`;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  // numeric character references (`&#x85;`, as clients write characters XML text cannot hold):
  // decoded; the named entities HTML adds are refused before parsing (see references)
  htmlEntities: true,
  ignoreDeclaration: true,
  removeNSPrefix: true,
  isArray: (name) => name === 'Object' || name === 'Part',
});

const XML_ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

/** A code point XML 1.0 may hold (its `Char` production). */
const xmlChar = (c: number) =>
  c === 0x9 ||
  c === 0xa ||
  c === 0xd ||
  (c >= 0x20 && c <= 0xd7ff) ||
  (c >= 0xe000 && c <= 0xfffd) ||
  (c >= 0x10000 && c <= 0x10ffff);

/** Whether every reference of the document (outside CDATA and comments) is one XML defines. */
function references(text: string): boolean {
  const plain = text.replace(/<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->/g, '');
  for (const m of plain.matchAll(/&([^;&<]*)(;?)/g)) {
    const [, name = '', semi] = m;
    if (semi !== ';') return false;
    if (XML_ENTITIES.has(name)) continue;
    const num = /^#x([0-9a-fA-F]{1,6})$/.exec(name)?.[1] ?? /^#([0-9]{1,7})$/.exec(name)?.[1];
    if (num === undefined) return false;
    if (!xmlChar(Number.parseInt(num, name[1] === 'x' ? 16 : 10))) return false;
  }
  return true;
}

/** The parsed document, or undefined when it is not well-formed XML. */
export function parseXml(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '' || !references(text) || XMLValidator.validate(text) !== true) return undefined;
  try {
    const parsed = parser.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
