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
  ignoreDeclaration: true,
  removeNSPrefix: true,
  isArray: (name) => name === 'Object' || name === 'Part',
});

/** The parsed document, or undefined when it is not well-formed XML. */
export function parseXml(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '' || XMLValidator.validate(text) !== true) return undefined;
  try {
    const parsed = parser.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
