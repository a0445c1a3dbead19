// The text repairs CLIP's tokenizer runs before splitting: the fixes of ftfy.fix_text (ftfy 6, default
// configuration) that change ordinary prompts, in ftfy's order and repeated until nothing changes, so that
// curly quotes, HTML entities, fullwidth forms, ligatures and stray control characters give the same ids
// as the reference tokenizer.

import { HTML_ENTITIES } from './html-entities.js';

/** Windows-1252 for bytes 0x80-0x9f; undefined bytes keep their C1 character ("sloppy" decoding). */
const CP1252_C1 = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

const HTML_ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;
const ANSI_RE = new RegExp(`${String.fromCharCode(0x1b)}\\[((?:\\p{Nd}|;)*)([a-zA-Z])`, 'gu');
const SINGLE_QUOTE_RE = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTE_RE = /[\u201c-\u201f]/g;
const C1_RE = /[\x80-\x9f]/g;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// ftfy's remove_control_chars set (built from code points: a literal would be a lint error).
const CONTROL_RE = new RegExp(`[${['\\u0000-\\u0008', '\\u000b', '\\u000e-\\u001f', '\\u007f', '\\u206a-\\u206f', '\\ufeff', '\\ufff9-\\ufffc'].join('')}]`, 'g');

const LIGATURES: Readonly<Record<string, string>> = {
  'Ĳ': 'IJ',
  'ĳ': 'ij',
  'ŉ': 'ʼn',
  'Ǳ': 'DZ',
  'ǲ': 'Dz',
  'ǳ': 'dz',
  'Ǆ': 'DŽ',
  'ǅ': 'Dž',
  'ǆ': 'dž',
  'Ǉ': 'LJ',
  'ǈ': 'Lj',
  'ǉ': 'lj',
  'Ǌ': 'NJ',
  'ǋ': 'Nj',
  'ǌ': 'nj',
  'ﬀ': 'ff',
  'ﬁ': 'fi',
  'ﬂ': 'fl',
  'ﬃ': 'ffi',
  'ﬄ': 'ffl',
  'ﬅ': 'ſt',
  'ﬆ': 'st',
};
const LIGATURE_RE = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'g');

/** Halfwidth and fullwidth forms (U+FF01-U+FFEF) to their NFKC forms, and the ideographic space to a space. */
const WIDTH_MAP: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>([['\u3000', ' ']]);
  for (let cp = 0xff01; cp < 0xfff0; cp++) {
    const c = String.fromCodePoint(cp);
    const alt = c.normalize('NFKC');
    if (alt !== c) map.set(c, alt);
  }
  return map;
})();
const WIDTH_RE = /[\u3000\uff01-\uffef]/g;

/** Python's html.unescape for one numeric character reference, as ftfy calls it. */
function numericReference(ref: string): string {
  const m = /^&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?/.exec(ref);
  if (!m) return ref;
  const num = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
  const rest = ref.slice(m[0].length);
  let char: string;
  if (num === 0) char = '\ufffd';
  else if (num === 0x0d) char = '\r';
  else if (num >= 0x80 && num <= 0x9f) char = CP1252_C1[num - 0x80]!;
  else if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) char = '\ufffd';
  else if ((num >= 0x01 && num <= 0x08) || num === 0x0b || (num >= 0x0e && num <= 0x1f) || num === 0x7f || (num >= 0xfdd0 && num <= 0xfdef) || (num & 0xfffe) === 0xfffe) char = '';
  else char = String.fromCodePoint(num);
  return char + rest;
}

function unescapeHtml(text: string): string {
  return text.replace(HTML_ENTITY_RE, (ref) => {
    const name = ref.slice(1, -1);
    const known = Object.hasOwn(HTML_ENTITIES, name) ? HTML_ENTITIES[name] : undefined;
    if (known !== undefined) return known;
    if (!ref.startsWith('&#')) return ref;
    const out = numericReference(ref);
    // A reference html.unescape decodes only in part (it stops before the semicolon) stays as it was.
    return out.includes(';') ? ref : out;
  });
}

function fixSegment(input: string, unescape: boolean): string {
  let text = input;
  for (;;) {
    const before = text;
    if (unescape) text = unescapeHtml(text);
    text = text.replace(C1_RE, (c) => CP1252_C1[c.charCodeAt(0) - 0x80]!);
    text = text.replace(LIGATURE_RE, (c) => LIGATURES[c]!);
    text = text.replace(WIDTH_RE, (c) => WIDTH_MAP.get(c) ?? c);
    text = text.replace(DOUBLE_QUOTE_RE, '"').replace(SINGLE_QUOTE_RE, "'");
    text = text.replace(/\r\n/g, '\n').replace(/[\r\u2028\u2029\u0085]/g, '\n');
    text = text.replace(LONE_SURROGATE_RE, '\ufffd');
    text = text.replace(ANSI_RE, '');
    text = text.replace(CONTROL_RE, '');
    text = text.normalize('NFC');
    if (text === before) return text;
  }
}

/**
 * ftfy.fix_text: line by line; HTML entities are decoded until a line containing "<" is seen (from then on
 * the text is taken to be HTML and left alone, as ftfy does).
 */
export function fixText(text: string): string {
  let unescape = true;
  let out = '';
  let pos = 0;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos) + 1;
    if (end === 0) end = text.length;
    const segment = text.slice(pos, end);
    if (unescape && segment.includes('<')) unescape = false;
    out += fixSegment(segment, unescape);
    pos = end;
  }
  return out;
}

/** Unicode White_Space, the `\s` of the `regex` module the reference tokenizer uses (not JavaScript's `\s`). */
export const WHITE_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WS_RUN = new RegExp(`[${WHITE_SPACE}]+`, 'g');
const WS_EDGE = new RegExp(`^[${WHITE_SPACE}\\x1c-\\x1f]+|[${WHITE_SPACE}\\x1c-\\x1f]+$`, 'g');

/** CLIP's whitespace_clean: runs of whitespace become one space, the ends are stripped. */
export function whitespaceClean(text: string): string {
  return text.replace(WS_RUN, ' ').replace(WS_EDGE, '');
}
