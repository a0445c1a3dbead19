// Execution plans for the full-size Qwen-Image on cards from 8 to 80 GB, from skeleton checkpoints.
import { noticeText } from '../../shared/notices.js';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gpuBudget, planFor, styleSlotBytes, type ComponentSizes } from '../../shared/vram-plan.js';
import { openModelFolder } from '../model-folder.js';
import { writeSkeleton, type Inventory } from '../safetensors/skeleton.js';
import { modelSizes } from './model-sizes.js';

const GB = 1024 ** 3;
const inventories = new URL('../../../test-fixtures/full-size/qwen-image/', import.meta.url).pathname;
const studioBin = new URL('../../../bin/studio.js', import.meta.url).pathname;

describe('VRAM planning for full-size Qwen-Image', () => {
  const root = mkdtempSync(join(tmpdir(), 'qwen-plan-'));
  let sizes: ComponentSizes;
  beforeAll(async () => {
    for (const c of ['transformer', 'text_encoder', 'vae']) await writeSkeleton(JSON.parse(readFileSync(join(inventories, `${c}.json`), 'utf8')) as Inventory, root);
    for (const d of ['scheduler', 'tokenizer']) mkdirSync(join(root, d));
    writeFileSync(join(root, 'model_index.json'), JSON.stringify({ _class_name: 'QwenImagePipeline' }));
    sizes = await modelSizes(await openModelFolder(root));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads the real sizes from the headers', () => {
    expect(sizes.blockBytes).toHaveLength(60);
    expect(sizes.bytesPerWeight).toBe(2);
    expect((sizes.transformerOtherBytes + sizes.blockBytes.reduce((a, b) => a + b, 0)) / GB).toBeCloseTo(38.05, 1);
    expect(sizes.textEncoderBytes / GB).toBeCloseTo(13.17, 1);
  });

  it.each([
    [8, 'int4-streamed'],
    [12, 'int4-streamed'],
    [16, 'int4'],
    [24, 'int8'],
    [48, 'int8'],
    [80, 'int8'],
    [128, 'resident'],
  ])('a %i GB card gets a plan whose predicted peak fits (%s)', (vram, kind) => {
    const r = planFor(sizes, 1024, 1024, 1, gpuBudget(vram * GB, 32 * GB));
    expect(r.chosen?.kind).toBe(kind);
    expect(r.chosen!.peakVramBytes).toBeLessThanOrEqual(vram * GB);
    expect(r.chosen!.fits).toBe(true);
  });

  it('counts the style slots and a speed LoRA with the transformer', () => {
    const budget = gpuBudget(80 * GB, 32 * GB);
    const plain = planFor(sizes, 1024, 1024, 1, budget).plans.find((p) => p.kind === 'int4')!;
    const slots = styleSlotBytes(sizes, 2, 32);
    expect(slots / GB).toBeCloseTo(1.58, 1); // 2 slots of rank 32 over 60 blocks at width 3072, float32
    const withAdapters = planFor(sizes, 1024, 1024, 1, budget, { styleSlotBytes: slots, loraBytes: 0.8 * GB }).plans.find((p) => p.kind === 'int4')!;
    expect(withAdapters.peakVramBytes - plain.peakVramBytes).toBeCloseTo(slots + 0.8 * GB, -6);
    // Slot inputs are copied to the card at every step.
    expect(withAdapters.secondsPerStep - plain.secondsPerStep).toBeCloseTo(slots / 20e9, 3);
  });

  it('says what would fit when nothing does', () => {
    const r = planFor(sizes, 2048, 2048, 1, gpuBudget(2 * GB, 32 * GB));
    expect(r.chosen).toBeUndefined();
    expect(r.advice && noticeText(r.advice)).toMatch(/Nothing fits in 2 GB at 2048x2048: the smallest plan needs \d+\.\d GB\. Try a smaller image size\./);
  });

  it('tiles the VAE above 1536x1536', () => {
    expect(planFor(sizes, 2048, 2048, 1, gpuBudget(80 * GB, 64 * GB)).chosen?.vaeTiled).toBe(true);
    expect(planFor(sizes, 1024, 1024, 1, gpuBudget(80 * GB, 64 * GB)).chosen?.vaeTiled).toBe(false);
  });

  it('`studio plan` prints the table and the choice in seconds, without reading the weights', () => {
    const started = Date.now();
    const r = spawnSync(process.execPath, [studioBin, 'plan', '--model', root, '--size', '1328x1328', '--vram', '12', '--ram', '32'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/chosen: 4-bit weights, transformer streamed in groups of \d+ blocks/);
    expect(Date.now() - started).toBeLessThan(15_000);
    const json = spawnSync(process.execPath, [studioBin, 'plan', '--model', root, '--vram', '24', '--ram', '32', '--json'], { encoding: 'utf8' });
    const report = JSON.parse(json.stdout) as { device: { memoryBytes: number }; chosen: { fits: boolean; peakVramBytes: number } };
    expect(report.device.memoryBytes).toBe(24 * GB);
    expect(report.chosen.fits).toBe(true);
    expect(report.chosen.peakVramBytes).toBeLessThanOrEqual(24 * GB * 0.92);
  });
});
