// A LoRA that patches the text encoder: its side branches must equal merging W + (alpha/r) * up @ down.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FixtureCases } from '../fixtures/fixture-folder.js';
import { gaussianNoise } from '../noise.js';
import { openTextEncoder } from '../qwen-image/components.js';
import { encodeSafetensors, readSafetensorsHeader, readTensorBytes, type TensorToWrite } from '../safetensors/safetensors.js';
import { openWeightSet } from '../safetensors/weight-set.js';
import { loadLoraParts } from './lora-weights.js';

const fixtures = new URL('../../../test-fixtures/qwen-image/', import.meta.url).pathname;
const targets: [string, number, number][] = [
  ['model.layers.0.self_attn.q_proj', 64, 64],
  ['model.layers.1.mlp.up_proj', 128, 64],
];
const RANK = 2;
const ALPHA = 1;

describe('LoRAs on the text encoder', () => {
  it('side branches equal the merged weights, in PEFT and kohya keys, and route by component', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'te-lora-'));
    const loraTensors: TensorToWrite[] = [];
    const kohyaTensors: TensorToWrite[] = [];
    const updates = new Map<string, Float32Array>();
    targets.forEach(([module, out, inF], i) => {
      const down = gaussianNoise(50 + i, RANK * inF).map((v) => v * 0.3);
      const up = gaussianNoise(60 + i, out * RANK).map((v) => v * 0.3);
      const delta = new Float32Array(out * inF);
      for (let o = 0; o < out; o++) for (let c = 0; c < inF; c++) for (let r = 0; r < RANK; r++) delta[o * inF + c]! += (ALPHA / RANK) * up[o * RANK + r]! * down[r * inF + c]!;
      updates.set(module, delta);
      const alpha = { dtype: 'F32' as const, shape: [], data: new Uint8Array(Float32Array.of(ALPHA).buffer) };
      loraTensors.push({ name: `text_encoder.${module}.lora_A.weight`, dtype: 'F32', shape: [RANK, inF], data: new Uint8Array(down.map((v) => (v * ALPHA) / RANK).buffer) });
      loraTensors.push({ name: `text_encoder.${module}.lora_B.weight`, dtype: 'F32', shape: [out, RANK], data: new Uint8Array(up.buffer) });
      const k = `lora_te_${module.replaceAll('.', '_')}`;
      kohyaTensors.push({ name: `${k}.lora_down.weight`, dtype: 'F32', shape: [RANK, inF], data: new Uint8Array(down.buffer) });
      kohyaTensors.push({ name: `${k}.lora_up.weight`, dtype: 'F32', shape: [out, RANK], data: new Uint8Array(up.buffer) });
      kohyaTensors.push({ name: `${k}.alpha`, ...alpha });
    });
    writeFileSync(join(dir, 'peft.safetensors'), encodeSafetensors(loraTensors));
    writeFileSync(join(dir, 'kohya.safetensors'), encodeSafetensors(kohyaTensors));

    // The reference: a text encoder whose weights have the update merged in.
    const merged = join(dir, 'merged');
    cpSync(join(fixtures, 'text_encoder'), merged, { recursive: true });
    const header = await readSafetensorsHeader(join(fixtures, 'text_encoder', 'model.safetensors'));
    const tensors: TensorToWrite[] = [];
    for (const t of header.tensors.values()) {
      let data = (await readTensorBytes(header, t.name)).slice();
      const delta = updates.get(t.name.replace(/\.weight$/, ''));
      if (delta) data = new Uint8Array(new Float32Array(data.buffer).map((v, i) => v + delta[i]!).buffer);
      tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data });
    }
    writeFileSync(join(merged, 'model.safetensors'), encodeSafetensors(tensors));

    const cases = await FixtureCases.open(join(fixtures, 'text_encoder', 'cases.safetensors'));
    const ids = await cases.ints('single.input_ids');
    const mask = ids.map(() => 1);
    const reference = await openTextEncoder(merged, merged, { intraOpThreads: 1 });
    const expected = await reference.lastHiddenState(ids, mask, 1);
    await reference.release();

    const teDir = join(fixtures, 'text_encoder');
    const weights = await openWeightSet(teDir, ['model'], teDir, 'text encoder');
    const transformerDir = join(fixtures, 'transformer');
    const transformer = await openWeightSet(transformerDir, ['diffusion_pytorch_model'], transformerDir, 'transformer');
    for (const file of ['peft.safetensors', 'kohya.safetensors']) {
      const parts = await loadLoraParts(join(dir, file), { transformer, textEncoder: weights });
      expect(parts.transformer).toBeUndefined();
      expect([...parts.textEncoder!.modules.keys()]).toEqual(targets.map((t) => t[0]));
      const model = await openTextEncoder(teDir, teDir, { intraOpThreads: 1 }, [parts.textEncoder!]);
      const out = await model.lastHiddenState(ids, mask, 1);
      expect(out.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0), file).toBeLessThan(1e-4);
      model.loraScales = [0];
      const plain = await openTextEncoder(teDir, teDir, { intraOpThreads: 1 });
      expect([...(await model.lastHiddenState(ids, mask, 1))]).toEqual([...(await plain.lastHiddenState(ids, mask, 1))]);
      await Promise.all([model.release(), plain.release()]);
    }
  });
});
