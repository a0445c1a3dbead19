// SDXL-Turbo at full size: skeleton checkpoints of the official fp16 variant files (real headers and file
// sizes, no weights), assembled into the official layout. The graphs build against every tensor of the
// real checkpoints, and the planner sizes the folder from its headers.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuBudget, estimatedMemory, gpuBudget, planFor, type ComponentSizes, type PlanReport } from '../../shared/vram-plan.js';
import { workerFamily } from '../families.js';
import { openModelFolder } from '../model-folder.js';
import { writeSkeleton, type Inventory } from '../safetensors/skeleton.js';
import { buildDecoderGraph, buildEncoderGraph, parseAutoencoderConfig } from './autoencoder-kl.js';
import { buildClipTextGraph } from './clip-text-graph.js';
import { clipUses, openSdWeights } from './sd-components.js';
import { buildUnetGraph } from './unet-graph.js';
import { openWeightSet } from '../safetensors/weight-set.js';

const here = new URL('.', import.meta.url).pathname;
const inventories = join(here, '../../../test-fixtures/full-size/sdxl-turbo');
const tokenizerFiles = join(here, '../../../test-fixtures/clip_tokenizer');
const GB = 1024 ** 3;

function unused(graph: Uint8Array, names: readonly string[]): string[] {
  const text = Buffer.from(graph).toString('latin1');
  return names.filter((n) => !text.includes(n));
}

describe('SDXL-Turbo at full size (skeletons of the fp16 variant files)', () => {
  const root = mkdtempSync(join(tmpdir(), 'sdxl-skeleton-'));
  const dir = join(root, 'sdxl-turbo');
  beforeAll(async () => {
    for (const f of readdirSync(inventories).filter((n) => n.endsWith('.fp16.json'))) {
      await writeSkeleton(JSON.parse(readFileSync(join(inventories, f), 'utf8')) as Inventory, dir);
    }
    for (const [name, pad] of [['tokenizer', ''], ['tokenizer_2', 'tokenizer_2']] as const) {
      mkdirSync(join(dir, name));
      for (const f of ['vocab.json', 'merges.txt']) cpSync(join(tokenizerFiles, f), join(dir, name, f));
      for (const f of ['tokenizer_config.json', 'special_tokens_map.json']) cpSync(join(tokenizerFiles, pad, f), join(dir, name, f));
    }
    mkdirSync(join(dir, 'scheduler'));
    writeFileSync(join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: 'EulerAncestralDiscreteScheduler', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, timestep_spacing: 'trailing', steps_offset: 1 }));
    writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'StableDiffusionXLPipeline', force_zeros_for_empty_prompt: true }));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('builds the UNet, both text encoders and the VAE against every tensor they need', async () => {
    const folder = await openModelFolder(dir);
    expect(folder.family).toBe('sdxl-turbo');
    const c = folder.components;
    const opened = await openSdWeights({ textEncoder: c.textEncoder!, textEncoder2: c.textEncoder2!, unet: c.unet!, vae: c.vae!, root: dir });
    expect(opened.unetWeights.files.map((f) => f.split('/').pop())).toEqual(['diffusion_pytorch_model.fp16.safetensors']);
    expect(opened.unetConfig).toMatchObject({ blockOut: [320, 640, 1280], crossAttentionDim: 2048, addTime: { timeDim: 256, inputDim: 2816, textEmbedDim: 1280 } });
    expect(unused(buildUnetGraph(opened.unetWeights, opened.unetConfig), opened.unetWeights.names())).toEqual([]);
    const uses = clipUses(true, opened.te.config.layers, opened.te2!.config.layers);
    // text_encoder hands over its penultimate layer: the last layer and the final norm are never read.
    const te1 = buildClipTextGraph(opened.te.weights, opened.te.config, uses.first);
    expect(unused(te1, opened.te.weights.names()).every((n) => n.includes('layers.11.') || n.includes('final_layer_norm') || n.includes('position_ids'))).toBe(true);
    expect(unused(buildClipTextGraph(opened.te2!.weights, opened.te2!.config, uses.second!), opened.te2!.weights.names()).filter((n) => !n.includes('position_ids'))).toEqual([]);
    const vae = await openWeightSet(c.vae!, ['diffusion_pytorch_model', 'diffusion_pytorch_model.fp16'], dir, 'VAE');
    const vaeConfig = parseAutoencoderConfig(JSON.parse(readFileSync(join(c.vae!, 'config.json'), 'utf8')) as Record<string, unknown>, 'vae/config.json');
    expect(vaeConfig.scalingFactor).toBe(0.13025);
    expect(unused(Buffer.concat([buildDecoderGraph(vae, vaeConfig), buildEncoderGraph(vae, vaeConfig)]), vae.names())).toEqual([]);
  });

  it('sizes the folder for the planner: the fp16 bytes on disk, UNet plans only, float32 on the card', async () => {
    const folder = await openModelFolder(dir);
    const sizes = await workerFamily(folder.family).sizes(folder);
    expect(sizes.bytesPerWeight).toBe(2);
    const unetBytes = sizes.blockBytes.reduce((a, b) => a + b, 0) + sizes.transformerOtherBytes;
    expect(unetBytes / GB).toBeCloseTo(4.78, 1);
    expect(sizes.textEncoderBytes / GB).toBeCloseTo(1.52, 1);
    // The SD graphs compute in float32 whatever the card's precision: 9.6 GB of UNet weights on the card, so
    // 8 GB is too little...
    const plan = (s: ComponentSizes, w: number, h: number, budget: ReturnType<typeof gpuBudget>) => planFor(s, estimatedMemory(s, w, h, 'bf16'), w, h, 1, budget);
    expect(estimatedMemory(sizes, 512, 512, 'bf16').precision).toBe('f32');
    const small = plan(sizes, 512, 512, gpuBudget(8 * GB, 32 * GB));
    expect(small.chosen).toBeUndefined();
    expect(small.advice).toMatchObject({ key: 'plan.advice', params: { memory: '8' } });
    // ...and 12 GB holds one component at a time.
    const card = plan(sizes, 512, 512, gpuBudget(12 * GB, 32 * GB));
    expect(card.plans.map((p) => p.kind)).toEqual(['resident', 'sequential']);
    expect(card.chosen?.kind).toBe('sequential');
    expect(card.plans[1]!.label).toContain('UNet');
    // 1024x1024 costs more than 512x512, in time and in memory.
    const big = plan(sizes, 1024, 1024, gpuBudget(12 * GB, 32 * GB));
    expect(big.plans[0]!.secondsPerStep).toBeGreaterThan(3 * card.plans[0]!.secondsPerStep);
    expect(big.plans[0]!.peakVramBytes).toBeGreaterThan(card.plans[0]!.peakVramBytes);
    expect(plan(sizes, 512, 512, cpuBudget(16 * GB, 2)).chosen).toBeDefined();
  });

  it('`studio plan` prints the table for the skeleton folder', () => {
    const bin = join(here, '../../../bin/studio.js');
    const r = spawnSync(process.execPath, [bin, 'plan', '--model', dir, '--size', '512x512', '--vram', '12', '--json'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as PlanReport;
    expect(report.plans.map((p) => p.kind)).toEqual(['resident', 'sequential']);
    expect(report.chosen?.kind).toBe('sequential');
  });
});
