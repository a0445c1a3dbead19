// The catalog's planning sizes are the published Qwen-Image shards, counted as the worker counts a folder.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOG, QWEN_IMAGE_SIZES } from './catalog.js';

interface Inventory {
  readonly config: Record<string, unknown>;
  readonly shards: readonly { readonly tensors: readonly { readonly name: string; readonly dtype: string; readonly shape: readonly number[] }[] }[];
}
const BYTES: Record<string, number> = { BF16: 2, F16: 2, F32: 4 };

function inventory(component: string): { tensors: { name: string; bytes: number }[]; config: Record<string, unknown> } {
  const inv = JSON.parse(readFileSync(new URL(`../../test-fixtures/full-size/qwen-image/${component}.json`, import.meta.url), 'utf8')) as Inventory;
  return { config: inv.config, tensors: inv.shards.flatMap((s) => s.tensors.map((t) => ({ name: t.name, bytes: t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype]! }))) };
}
const sum = (xs: { bytes: number }[]) => xs.reduce((a, t) => a + t.bytes, 0);

describe('catalog planning sizes', () => {
  it('match the published shard headers of Qwen-Image', () => {
    const t = inventory('transformer');
    const e = inventory('text_encoder');
    const v = inventory('vae');
    const layers = t.config.num_layers as number;
    expect(QWEN_IMAGE_SIZES.blockBytes).toEqual(Array.from({ length: layers }, (_, i) => sum(t.tensors.filter((x) => x.name.startsWith(`transformer_blocks.${i}.`)))));
    expect(QWEN_IMAGE_SIZES.transformerOtherBytes).toBe(sum(t.tensors.filter((x) => !x.name.startsWith('transformer_blocks.'))));
    expect(QWEN_IMAGE_SIZES.textEncoderBytes).toBe(sum(e.tensors.filter((x) => !x.name.startsWith('visual.') && x.name !== 'lm_head.weight')));
    expect(QWEN_IMAGE_SIZES.vaeBytes).toBe(sum(v.tensors.filter((x) => !x.name.startsWith('encoder.') && !x.name.startsWith('quant_conv.'))));
    expect([QWEN_IMAGE_SIZES.heads, QWEN_IMAGE_SIZES.headDim]).toEqual([t.config.num_attention_heads, t.config.attention_head_dim]);
    expect(QWEN_IMAGE_SIZES.textWidth).toBe(e.config.hidden_size);
  });

  it('pairs each plannable base model with a speed LoRA of the catalog', () => {
    for (const base of CATALOG.filter((e) => e.planSizes)) {
      const speed = CATALOG.find((e) => e.id === base.speedEntryId);
      expect(speed, base.id).toMatchObject({ kind: 'speed-lora', family: base.family, runnable: true });
    }
  });
});
