import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixtureCases } from '../fixtures/fixture-folder.js';
import { openTransformer } from '../qwen-image/components.js';
import type { TransformerInput } from '../qwen-image/transformer-model.js';
import { encodeSafetensors, readSafetensorsHeader, readTensorBytes, type TensorToWrite } from '../safetensors/safetensors.js';
import { openWeightSet } from '../safetensors/weight-set.js';
import { loadLora } from './lora-weights.js';

const fixtures = new URL('../../../test-fixtures/qwen-image/', import.meta.url).pathname;
const transformerDir = join(fixtures, 'transformer');
const lightx2v = join(fixtures, 'lora', 'lora_lightx2v_format.safetensors');

/** The fixture LoRA re-keyed the way other trainers write it. */
async function rewrite(format: 'peft' | 'kohya' | 'prefixed', dir: string): Promise<string> {
  const header = await readSafetensorsHeader(lightx2v);
  const tensors: TensorToWrite[] = [];
  const alphas = new Map<string, number>();
  for (const t of header.tensors.values()) {
    const m = /^(.*)\.alpha$/.exec(t.name);
    if (m) alphas.set(m[1]!, new Float32Array((await readTensorBytes(header, t.name)).slice().buffer)[0]!);
  }
  for (const t of header.tensors.values()) {
    const m = /^(.*)\.(lora_down|lora_up|alpha)(\.weight)?$/.exec(t.name)!;
    const [, module, part] = m as unknown as [string, string, string];
    let data = (await readTensorBytes(header, t.name)).slice();
    if (format === 'peft') {
      if (part === 'alpha') continue;
      // PEFT files fold alpha / rank into the weights and carry no alpha.
      if (part === 'lora_down') data = new Uint8Array(new Float32Array(data.buffer).map((v) => v * (alphas.get(module)! / t.shape[0]!)).buffer);
      tensors.push({ name: `transformer.${module}.${part === 'lora_down' ? 'lora_A' : 'lora_B'}.weight`, dtype: 'F32', shape: t.shape, data });
    } else if (format === 'kohya') {
      tensors.push({ name: `lora_unet_${module.replaceAll('.', '_')}.${part}${part === 'alpha' ? '' : '.weight'}`, dtype: 'F32', shape: t.shape, data });
    } else {
      tensors.push({ name: `diffusion_model.${t.name}`, dtype: 'F32', shape: t.shape, data });
    }
  }
  const file = join(dir, `${format}.safetensors`);
  writeFileSync(file, encodeSafetensors(tensors));
  return file;
}

describe('LoRA side branches in the transformer', () => {
  // Outside the model folder on purpose: sessions read weights under the common root of model and LoRAs.
  const dir = mkdtempSync(join(tmpdir(), 'lora-formats-'));
  let input: TransformerInput;
  let expected1: Float32Array;
  beforeAll(async () => {
    const cases = await FixtureCases.open(join(fixtures, 'lora', 'cases.safetensors'));
    input = {
      hidden: await cases.floats('hidden_states'),
      batch: 1,
      gridH: 4,
      gridW: 4,
      encoder: await cases.floats('encoder_hidden_states'),
      textTokens: 7,
      textLengths: [7],
      timesteps: await cases.floats('timestep'),
    };
    expected1 = await cases.floats('sample_lora_scale_1.0');
  });
  afterAll(async () => (await import('node:fs')).rmSync(dir, { recursive: true, force: true }));

  it('reads alpha and rank as the reference merge does', async () => {
    const base = await openWeightSet(transformerDir, ['diffusion_pytorch_model'], transformerDir, 'transformer');
    const lora = await loadLora(lightx2v, base);
    expect(lora.format).toBe('lightx2v');
    expect(lora.modules.size).toBe(24);
    expect(lora.modules.get('transformer_blocks.0.attn.to_q')).toMatchObject({ rank: 4, alpha: 2 });
  });

  it.each(['peft', 'kohya', 'prefixed'] as const)('gives the same output from the %s key format', async (format) => {
    const file = await rewrite(format, dir);
    const model = await openTransformer(transformerDir, fixtures, { intraOpThreads: 1 }, [file]);
    const out = await model.run(input, [1]);
    await model.release();
    const maxDiff = out.reduce((m, v, i) => Math.max(m, Math.abs(v - expected1[i]!)), 0);
    expect(maxDiff).toBeLessThan(2e-4);
  });

  it('applies two LoRAs at once, and strength 0 gives the base output exactly', async () => {
    const base = await openTransformer(transformerDir, fixtures, { intraOpThreads: 1 });
    const plain = await base.run(input);
    await base.release();
    const twice = await openTransformer(transformerDir, fixtures, { intraOpThreads: 1 }, [lightx2v, await rewrite('kohya', dir)]);
    expect([...(await twice.run(input, [0, 0]))]).toEqual([...plain]);
    const half = await twice.run(input, [0.5, 0.5]);
    expect(half.reduce((m, v, i) => Math.max(m, Math.abs(v - expected1[i]!)), 0)).toBeLessThan(2e-4);
    await twice.release();
  });

  it('refuses a LoRA for another model, listing the keys that match nothing', async () => {
    const other = join(dir, 'sdxl.safetensors');
    writeFileSync(
      other,
      encodeSafetensors([
        { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight', dtype: 'F32', shape: [4, 320], data: new Uint8Array(4 * 320 * 4) },
        { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight', dtype: 'F32', shape: [320, 4], data: new Uint8Array(4 * 320 * 4) },
      ]),
    );
    const base = await openWeightSet(transformerDir, ['diffusion_pytorch_model'], transformerDir, 'transformer');
    await expect(loadLora(other, base)).rejects.toThrow(/does not fit the loaded model: 2 of 2 tensors match no layer of it \(lora_unet_down_blocks_0_attentions_0_proj_in/);
  });

  it('refuses a LoRA made for another size of the same architecture', async () => {
    const wrong = join(dir, 'wrong-size.safetensors');
    writeFileSync(
      wrong,
      encodeSafetensors([
        { name: 'transformer_blocks.0.attn.to_q.lora_down.weight', dtype: 'F32', shape: [4, 3072], data: new Uint8Array(4 * 3072 * 4) },
        { name: 'transformer_blocks.0.attn.to_q.lora_up.weight', dtype: 'F32', shape: [3072, 4], data: new Uint8Array(4 * 3072 * 4) },
      ]),
    );
    const base = await openWeightSet(transformerDir, ['diffusion_pytorch_model'], transformerDir, 'transformer');
    await expect(loadLora(wrong, base)).rejects.toThrow(/made for another model size/);
  });
});
