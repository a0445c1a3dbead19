// A LoRA that patches the modulation (img_mod / txt_mod of the blocks, norm_out) as Lightning LoRAs may:
// those linears live in the modulation graph, computed once per timestep and cached, so the side branch
// goes there and the cache must tell strengths apart. Checked against the same weights merged into a copy
// of the checkpoint, at two strengths, in the order a user might switch them.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gaussianNoise } from '../noise.js';
import { openTransformer } from '../qwen-image/components.js';
import { compare } from '../fixtures/fixture-folder.js';
import { encodeSafetensors, readSafetensorsHeader, readTensorBytes } from '../safetensors/safetensors.js';
import type { TransformerInput } from '../qwen-image/transformer-model.js';

const fixtures = new URL('../../../test-fixtures/qwen-image/', import.meta.url).pathname;
const TARGETS = ['transformer_blocks.0.img_mod.1', 'transformer_blocks.1.txt_mod.1', 'norm_out.linear', 'transformer_blocks.0.attn.to_q'];
const RANK = 4;
const ALPHA = 2;

async function readAll(file: string): Promise<Map<string, { shape: readonly number[]; data: Float32Array }>> {
  const header = await readSafetensorsHeader(file);
  const out = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const t of header.tensors.values()) out.set(t.name, { shape: t.shape, data: new Float32Array(Uint8Array.from(await readTensorBytes(header, t.name)).buffer) });
  return out;
}

const tensor = (name: string, shape: readonly number[], data: Float32Array) => ({ name, dtype: 'F32' as const, shape, data: new Uint8Array(data.buffer) });

describe('a LoRA on the modulation linears', () => {
  it('equals the merged weights at strengths 1 and 0.5, switched back and forth (the modulation cache keys the strength)', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'mod-lora-'));
    const base = join(parent, 'base');
    cpSync(join(fixtures, 'transformer'), base, { recursive: true });
    const weights = await readAll(join(base, 'diffusion_pytorch_model.safetensors'));
    const lora: ReturnType<typeof tensor>[] = [];
    const factors = new Map<string, { down: Float32Array; up: Float32Array; out: number; in: number }>();
    TARGETS.forEach((target, i) => {
      const [outF, inF] = weights.get(`${target}.weight`)!.shape as [number, number];
      const down = gaussianNoise(100 + i, RANK * inF).map((v) => v * 0.2);
      const up = gaussianNoise(200 + i, outF * RANK).map((v) => v * 0.2);
      factors.set(target, { down, up, out: outF, in: inF });
      lora.push(tensor(`${target}.lora_down.weight`, [RANK, inF], down), tensor(`${target}.lora_up.weight`, [outF, RANK], up), tensor(`${target}.alpha`, [], Float32Array.of(ALPHA)));
    });
    const loraFile = join(parent, 'mod-lora.safetensors');
    writeFileSync(loraFile, encodeSafetensors(lora));

    const merged = (strength: number) => {
      const dir = join(parent, `merged-${strength}`);
      cpSync(base, dir, { recursive: true });
      const out = [...weights].map(([name, t]) => {
        const f = factors.get(name.replace(/\.weight$/, ''));
        if (!f || !name.endsWith('.weight')) return tensor(name, t.shape, t.data);
        const w = Float32Array.from(t.data);
        for (let o = 0; o < f.out; o++) for (let c = 0; c < f.in; c++) for (let r = 0; r < RANK; r++) w[o * f.in + c]! += (strength * ALPHA) / RANK * f.up[o * RANK + r]! * f.down[r * f.in + c]!;
        return tensor(name, t.shape, w);
      });
      writeFileSync(join(dir, 'diffusion_pytorch_model.safetensors'), encodeSafetensors(out));
      return dir;
    };
    const config = JSON.parse(readFileSync(join(base, 'config.json'), 'utf8')) as { joint_attention_dim: number };
    const input: TransformerInput = {
      hidden: gaussianNoise(1, 16 * 64),
      batch: 1,
      gridH: 4,
      gridW: 4,
      encoder: gaussianNoise(2, 7 * config.joint_attention_dim),
      textTokens: 7,
      textLengths: [7],
      timesteps: Float32Array.of(0.6),
    };
    const reference = async (strength: number) => {
      const dir = merged(strength);
      const m = await openTransformer(dir, dir, { intraOpThreads: 1 });
      try {
        return await m.run(input);
      } finally {
        await m.release();
      }
    };
    const [one, half] = [await reference(1), await reference(0.5)];
    const model = await openTransformer(base, parent, { intraOpThreads: 1 }, [loraFile]);
    try {
      for (const [strength, expected] of [
        [1, one],
        [0.5, half],
        [1, one],
      ] as const) {
        const c = compare(await model.run(input, [strength]), expected, 2e-5, 1e-4);
        expect({ strength, failures: c.failures }).toEqual({ strength, failures: 0 });
      }
      // Two strengths of one timestep: two modulation runs, then the cache.
      expect(model.modulationRuns).toBe(2);
    } finally {
      await model.release();
    }
  });
});
