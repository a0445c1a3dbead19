// Execution plans for the full-size Qwen-Image on cards from 8 to 80 GB, from skeleton checkpoints. The
// memory terms are checked against arithmetic done here on the official tensor inventory (not against the
// planner's own numbers); how predictions meet measurements is streaming-memory.test.ts and bench:engine.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { choiceOf, describePlan, estimatedMemory, gpuBudget, planFor, styleSlotBytes, type ComponentSizes, type GraphMemory } from '../../shared/vram-plan.js';
import { QWEN_IMAGE_SIZES } from '../../shared/model-families.js';
import { noticeText } from '../../shared/notices.js';
import { openModelFolder } from '../model-folder.js';
import { writeSkeleton, type Inventory } from '../safetensors/skeleton.js';
import { graphMemory, graphMemoryInput, type GraphMemoryInput } from './graph-memory.js';
import { modelSizes } from './model-sizes.js';
import { asQwenFolder } from './qwen-folder.js';

const GB = 1024 ** 3;
const inventories = new URL('../../../test-fixtures/full-size/qwen-image/', import.meta.url).pathname;
const studioBin = new URL('../../../bin/studio.js', import.meta.url).pathname;
const inventory = (c: string) => JSON.parse(readFileSync(join(inventories, `${c}.json`), 'utf8')) as Inventory;
const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

describe('VRAM planning for full-size Qwen-Image', () => {
  const root = mkdtempSync(join(tmpdir(), 'qwen-plan-'));
  let sizes: ComponentSizes;
  let input: GraphMemoryInput;
  let bf16: GraphMemory;
  beforeAll(async () => {
    for (const c of ['transformer', 'text_encoder', 'vae']) await writeSkeleton(inventory(c), root);
    for (const d of ['scheduler', 'tokenizer']) mkdirSync(join(root, d));
    writeFileSync(join(root, 'model_index.json'), JSON.stringify({ _class_name: 'QwenImagePipeline' }));
    const folder = asQwenFolder(await openModelFolder(root));
    sizes = await modelSizes(folder);
    input = await graphMemoryInput(folder);
    bf16 = graphMemory(input, 1024, 1024, 'bf16', 'cuda');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads the real sizes from the headers', () => {
    expect(sizes.blockBytes).toHaveLength(60);
    expect(sizes.bytesPerWeight).toBe(2);
    expect((sizes.transformerOtherBytes + sizes.blockBytes.reduce((a, b) => a + b, 0)) / GB).toBeCloseTo(38.05, 1);
    expect(sizes.textEncoderBytes / GB).toBeCloseTo(13.17, 1);
  });

  it('holds the blocks in bf16 as stored, without the modulation linears, and the modulation in float32', () => {
    // Arithmetic on the inventory: every block tensor but img_mod / txt_mod, 2 bytes per value.
    const tensors = inventory('transformer').shards.flatMap((s) => s.tensors);
    const inBlock = (i: number) => tensors.filter((t) => t.name.startsWith(`transformer_blocks.${i}.`));
    const isMod = (name: string) => /\.(img_mod|txt_mod)\./.test(name);
    for (const i of [0, 31, 59]) {
      expect(bf16.blockWeights[i]).toBe(inBlock(i).filter((t) => !isMod(t.name)).reduce((a, t) => a + 2 * elements(t.shape), 0));
    }
    expect(bf16.modulationWeightsPerBlock).toBe(inBlock(0).filter((t) => isMod(t.name)).reduce((a, t) => a + 4 * elements(t.shape), 0));
    expect(bf16.converted).toEqual({ transformer: false, textEncoder: false, vae: true });
    // float32 plans hold twice the bytes; fp16 converts the same count of values.
    const f32 = graphMemory(input, 1024, 1024, 'f32', 'cuda');
    expect(f32.blockWeights[0]).toBe(2 * bf16.blockWeights[0]!);
    expect(graphMemory(input, 1024, 1024, 'fp16', 'dml').blockWeights[0]).toBe(bf16.blockWeights[0]);
  });

  it('counts activations of a 1024x1024 step from the graph: at least the MLP hidden state twice, and no [tokens x tokens] scores', () => {
    const tokens = 64 * 64 + 256;
    const mlp = tokens * 4 * 3072 * 2; // [T, 4d] bf16: net.0.proj's output and GELU's output are alive together
    expect(bf16.transformerActivations).toBeGreaterThan(2 * mlp);
    const scores = 24 * tokens * tokens * 4; // float32 scores of one block's 24 heads
    expect(bf16.transformerActivations).toBeLessThan(scores / 2);
    expect(bf16.attentionScores).toBe(0);
    // DirectML's attention is counted unfused: there the scores are there.
    expect(graphMemory(input, 1024, 1024, 'fp16', 'dml').attentionScores).toBeGreaterThanOrEqual(scores / 2);
    // Activations grow with the image: 2048x2048 has four times the image tokens.
    expect(graphMemory(input, 2048, 2048, 'bf16', 'cuda').transformerActivations).toBeGreaterThan(3 * bf16.transformerActivations);
  });

  it.each([8, 12, 16, 24, 48, 80])('a %i GB card gets a plan that fits, not 4-bit from 24 GB up', (vram) => {
    const r = planFor(sizes, bf16, 1024, 1024, 1, gpuBudget(vram * GB, 32 * GB));
    expect(r.chosen).toBeDefined();
    expect(r.chosen!.fits).toBe(true);
    expect(r.chosen!.peakVramBytes).toBeLessThanOrEqual(vram * GB * 0.92);
    expect(r.chosen!.precision).toBe('bf16');
    if (vram >= 24) expect(r.chosen!.kind).not.toMatch(/int4/);
    if (vram >= 48) expect(r.chosen!.kind).toBe('resident');
  });

  it('never gives a bigger card coarser weights, nor the same weights slower', () => {
    const fidelity = { 'int4-streamed': 0, int4: 0, int8: 1, streamed: 2, sequential: 2, resident: 2 } as const;
    const chosen = [8, 12, 16, 24, 32, 48, 80].map((v) => planFor(sizes, bf16, 1024, 1024, 1, gpuBudget(v * GB, 32 * GB)).chosen!);
    for (let i = 1; i < chosen.length; i++) {
      const [a, b] = [chosen[i - 1]!, chosen[i]!];
      expect(fidelity[b.kind]).toBeGreaterThanOrEqual(fidelity[a.kind]);
      if (fidelity[b.kind] === fidelity[a.kind]) expect(b.secondsPerStep).toBeLessThanOrEqual(a.secondsPerStep + 1e-9);
    }
  });

  it('counts the style slots (only when styles are chosen) and a speed LoRA with the transformer', () => {
    const budget = gpuBudget(80 * GB, 32 * GB);
    const plain = planFor(sizes, bf16, 1024, 1024, 1, budget).plans.find((p) => p.kind === 'sequential')!;
    const slots = styleSlotBytes(sizes, 1, 32, 2);
    expect(slots / GB).toBeCloseTo(0.39, 1); // 1 slot of rank 32 over 60 blocks at width 3072, float16 inputs
    const withAdapters = planFor(sizes, bf16, 1024, 1024, 1, budget, { styleSlotBytes: slots, loraBytes: 0.8 * GB }).plans.find((p) => p.kind === 'sequential')!;
    expect(withAdapters.phases.transformer - plain.phases.transformer).toBeCloseTo(slots + 0.8 * GB, -6);
    // Slot inputs are copied to the card at every step.
    expect(withAdapters.secondsPerStep - plain.secondsPerStep).toBeCloseTo(slots / 20e9, 3);
  });

  it('says what would fit when nothing does, as a notice', () => {
    const r = planFor(sizes, graphMemory(input, 2048, 2048, 'bf16', 'cuda'), 2048, 2048, 1, gpuBudget(2 * GB, 32 * GB));
    expect(r.chosen).toBeUndefined();
    expect(r.advice).toMatchObject({ key: 'plan.advice', params: { memory: '2', width: 2048, height: 2048 } });
    expect(r.advice && noticeText(r.advice)).toMatch(/Nothing fits in 2 GB at 2048x2048: the smallest plan needs \d+\.\d GB\. Try a smaller image size\./);
  });

  it('plans a catalog entry from its published sizes (before download) as it plans the downloaded folder', () => {
    expect(QWEN_IMAGE_SIZES.blockBytes).toEqual(sizes.blockBytes);
    for (const [w, h] of [
      [512, 512],
      [1024, 1024],
      [1536, 1536],
    ] as const) {
      const graphs = graphMemory(input, w, h, 'bf16', 'cuda');
      const estimate = estimatedMemory(QWEN_IMAGE_SIZES, w, h, 'bf16');
      expect(estimate.blockWeights[0]).toBeCloseTo(graphs.blockWeights[0]!, -6);
      expect(estimate.modulationWeightsPerBlock).toBeCloseTo(graphs.modulationWeightsPerBlock, -6);
      expect(Math.abs(estimate.transformerActivations / graphs.transformerActivations - 1)).toBeLessThan(0.1);
      for (const vram of [8, 12, 16, 24, 48, 80]) {
        const a = planFor(sizes, graphs, w, h, 1, gpuBudget(vram * GB, 32 * GB));
        const b = planFor(QWEN_IMAGE_SIZES, estimate, w, h, 1, gpuBudget(vram * GB, 32 * GB));
        // The same kind of plan, predicted within 5% (streamed group sizes may differ by a step).
        expect(b.chosen?.kind).toBe(a.chosen!.kind);
        expect(Math.abs(b.chosen!.peakVramBytes / a.chosen!.peakVramBytes - 1)).toBeLessThan(0.05);
      }
    }
  });

  it('tiles the VAE above 1536x1536', () => {
    expect(planFor(sizes, graphMemory(input, 2048, 2048, 'bf16', 'cuda'), 2048, 2048, 1, gpuBudget(80 * GB, 64 * GB)).chosen?.vaeTiled).toBe(true);
    expect(planFor(sizes, bf16, 1024, 1024, 1, gpuBudget(80 * GB, 64 * GB)).chosen?.vaeTiled).toBe(false);
  });

  it('`studio plan` prints the table and the choice in seconds, without reading the weights', () => {
    const started = Date.now();
    const r = spawnSync(process.execPath, [studioBin, 'plan', '--model', root, '--size', '1328x1328', '--vram', '12', '--ram', '32'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/on a 12 GB CUDA card via cuda/);
    expect(r.stdout).toMatch(/chosen: .+bf16/);
    expect(Date.now() - started).toBeLessThan(20_000);
    const json = spawnSync(process.execPath, [studioBin, 'plan', '--model', root, '--vram', '24', '--ram', '32', '--json'], { encoding: 'utf8' });
    const report = JSON.parse(json.stdout) as { device: { memoryBytes: number }; chosen: Parameters<typeof choiceOf>[0] };
    expect(report.device.memoryBytes).toBe(24 * GB);
    expect(report.chosen.fits).toBe(true);
    expect(report.chosen.peakVramBytes).toBeLessThanOrEqual(24 * GB * 0.92);
    expect(describePlan(choiceOf(report.chosen))).not.toMatch(/int4/);
    const dml = spawnSync(process.execPath, [studioBin, 'plan', '--model', root, '--vram', '16', '--provider', 'dml', '--json'], { encoding: 'utf8' });
    expect((JSON.parse(dml.stdout) as { chosen: { precision: string } }).chosen.precision).toBe('fp16');
  });
});
