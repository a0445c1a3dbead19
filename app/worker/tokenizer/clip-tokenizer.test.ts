import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from './clip-tokenizer.js';
import { fixText, whitespaceClean } from './text-cleaner.js';

const dir = new URL('../../../test-fixtures/clip_tokenizer/', import.meta.url).pathname;

describe('CLIP tokenizer', () => {
  it('pads with the configured pad token and truncates to start + 75 + end', async () => {
    const eos = await ClipTokenizer.fromFolder(dir);
    const bang = await ClipTokenizer.fromFolder(join(dir, 'tokenizer_2'), dir);
    const ids = eos.encodePadded('a photo of a cat');
    expect(ids.slice(0, 7)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    expect(ids.slice(7).every((v) => v === 49407)).toBe(true);
    expect(bang.encodePadded('a photo of a cat').slice(7).every((v) => v === 0)).toBe(true);
    const long = eos.encodePadded('cat '.repeat(200));
    expect(long).toHaveLength(77);
    expect(long[76]).toBe(49407);
    expect(long.slice(1, 76).every((v) => v === 2368)).toBe(true);
  });

  it('names the missing file of an incomplete tokenizer folder', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'clip-tok-'));
    await expect(ClipTokenizer.fromFolder(empty)).rejects.toThrow(/vocab\.json is missing/);
    writeFileSync(join(empty, 'vocab.json'), '{"a</w>": 0}');
    await expect(ClipTokenizer.fromFolder(empty)).rejects.toThrow(/merges\.txt is missing/);
  });
});

describe('ftfy-equivalent cleaning', () => {
  it('decodes entities until a line holds "<", and leaves partly decodable references alone', () => {
    expect(fixText('Tom &amp; Jerry &#x2019;s')).toBe("Tom & Jerry 's");
    expect(fixText('a &lt; b\nc &amp; d')).toBe('a < b\nc & d');
    expect(fixText('<b> &amp; </b>\nx &amp; y')).toBe('<b> &amp; </b>\nx &amp; y');
    expect(fixText('&#123abc;')).toBe('&#123abc;');
    expect(fixText('P&EACUTE;REZ')).toBe('PÉREZ');
  });

  it('repairs C1 controls, ligatures, widths, quotes, line breaks and control characters, then composes', () => {
    expect(fixText('\x93quoted\x94 ﬁne ＡＢＣ\u3000x\r\ny\u0007 e\u0301')).toBe('"quoted" fine ABC x\ny é');
    expect(fixText('\x1b[31mred\x1b[0m')).toBe('red');
  });

  it('collapses Unicode white space (not U+200B) like the regex module', () => {
    expect(whitespaceClean(' a\u00a0\u2003b\u200bc \t')).toBe('a b\u200bc');
  });
});
