// SDXL-Turbo and SD-Turbo at full size: skeleton checkpoints (real headers and file sizes, no weights; see
// test-support/sd-skeleton) in the official layout. The graphs build against every tensor of the real SDXL
// checkpoints, and the planner sizes the folders from their headers in the precision each plan runs them in.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuBudget, estimatedMemory, gpuBudget, planFor, type ComponentSizes, type PlanReport } from '../../shared/vram-plan.js';
import { defaultPrecision, type Precision } from '../../shared/precision.js';
import { discoverDevice, type Device } from '../device.js';
import { workerFamily } from '../families.js';
import { planReport } from '../plan-report.js';
import { openModelFolder } from '../model-folder.js';
import { sdTurboSkeleton, sdxlTurboSkeleton } from '../test-support/sd-skeleton.js';
import { buildDecoderGraph, buildEncoderGraph, parseAutoencoderConfig } from './autoencoder-kl.js';
import { buildClipTextGraph } from './clip-text-graph.js';
import { clipUses, openSdWeights } from './sd-components.js';
import { buildUnetGraph } from './unet-graph.js';
import { openWeightSet } from '../safetensors/weight-set.js';

const here = new URL('.', import.meta.url).pathname;
const GB = 1024 ** 3;

function unused(graph: Uint8Array, names: readonly string[]): string[] {
  const text = Buffer.from(graph).toString('latin1');
  return names.filter((n) => !text.includes(n));
}

describe('SDXL-Turbo at full size (skeletons of the fp16 variant files)', () => {
  const root = mkdtempSync(join(tmpdir(), 'sdxl-skeleton-'));
  const dir = join(root, 'sdxl-turbo');
  beforeAll(async () => {
    await sdxlTurboSkeleton(dir, 'fp16');
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

  it('sizes the folder for the planner: the fp16 bytes on disk, held in the plan\'s precision', async () => {
    const folder = await openModelFolder(dir);
    const sizes = await workerFamily(folder.family).sizes(folder);
    expect(sizes.bytesPerWeight).toBe(2);
    const unetBytes = sizes.blockBytes.reduce((a, b) => a + b, 0) + sizes.transformerOtherBytes;
    expect(unetBytes / GB).toBeCloseTo(4.78, 1);
    expect(sizes.textEncoderBytes / GB).toBeCloseTo(1.52, 1);
    // The UNet and text encoders compute in the plan's precision (fp16 files under bf16 run in fp16: two bytes a
    // weight either way), twice that in float32; the SDXL VAE decodes in float32 under every plan (force_upcast).
    const held = (m: ReturnType<typeof estimatedMemory>) => m.blockWeights.reduce((a, b) => a + b, 0) + m.transformerOtherWeights;
    const bf16 = estimatedMemory(sizes, 1024, 1024, 'bf16');
    const f32 = estimatedMemory(sizes, 1024, 1024, 'f32');
    expect(bf16.precision).toBe('bf16');
    expect(held(bf16)).toBe(unetBytes);
    expect(held(f32)).toBe(2 * unetBytes);
    expect(bf16.textEncoderWeights).toBe(sizes.textEncoderBytes);
    expect(sizes.vaeUpcast).toBe(true);
    expect(bf16.vaeWeights).toBe(f32.vaeWeights);
    expect(bf16.vaeWeights).toBe(2 * sizes.vaeBytes);
    // Half-precision UNet activations: half the bytes and no score matrix (fused attention on the GPU).
    expect(bf16.transformerActivations).toBeLessThan(f32.transformerActivations / 2);
    const plan = (s: ComponentSizes, w: number, h: number, budget: ReturnType<typeof gpuBudget>, p: 'bf16' | 'f32' = 'bf16') => planFor(s, estimatedMemory(s, w, h, p), w, h, 1, budget);
    // In float32 an 8 GB card holds no plan (9.6 GB of UNet weights); in bf16 one component at a time fits...
    expect(plan(sizes, 512, 512, gpuBudget(8 * GB, 32 * GB), 'f32').chosen).toBeUndefined();
    const small = plan(sizes, 512, 512, gpuBudget(8 * GB, 32 * GB));
    expect(small.plans.map((p) => [p.kind, p.fits])).toEqual([
      ['resident', false],
      ['sequential', true],
    ]);
    expect(small.chosen?.kind).toBe('sequential');
    // ...and 12 GB holds everything at once.
    const card = plan(sizes, 512, 512, gpuBudget(12 * GB, 32 * GB));
    expect(card.chosen?.kind).toBe('resident');
    expect(card.plans[1]!.label).toContain('UNet');
    // 1024x1024 costs more than 512x512, in time and in memory.
    const big = plan(sizes, 1024, 1024, gpuBudget(12 * GB, 32 * GB));
    expect(big.plans[0]!.secondsPerStep).toBeGreaterThan(3 * card.plans[0]!.secondsPerStep);
    expect(big.plans[0]!.peakVramBytes).toBeGreaterThan(card.plans[0]!.peakVramBytes);
    expect(plan(sizes, 512, 512, cpuBudget(16 * GB, 2), 'f32').chosen).toBeDefined();
  });

  it('`studio plan` prints the table for the skeleton folder', () => {
    const bin = join(here, '../../../bin/studio.js');
    const r = spawnSync(process.execPath, [bin, 'plan', '--model', dir, '--size', '512x512', '--vram', '12', '--json'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as PlanReport;
    expect(report.plans.map((p) => [p.kind, p.precision])).toEqual([
      ['resident', 'bf16'],
      ['sequential', 'bf16'],
    ]);
    expect(report.chosen?.kind).toBe('resident');
  });
});

describe('`studio plan` for full-size SDXL-Turbo and SD-Turbo on 8, 12, 16 and 24 GB cards', () => {
  const root = mkdtempSync(join(tmpdir(), 'sd-plans-'));
  const dirs = { xl16: join(root, 'sdxl-fp16'), xl32: join(root, 'sdxl-f32'), turbo: join(root, 'sd-turbo') };
  beforeAll(async () => {
    await sdxlTurboSkeleton(dirs.xl16, 'fp16');
    await sdxlTurboSkeleton(dirs.xl32, 'f32');
    await sdTurboSkeleton(dirs.turbo);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const bin = join(here, '../../../bin/studio.js');
  let cpu: Device;
  beforeAll(async () => {
    cpu = await discoverDevice(['cpu'], 2);
  });
  /** A card of `vram` GB as `studio plan --vram` plans it (the provider's precision unless given), through the same planReport. */
  const table = async (dir: string, size: string, vram: number, provider: 'cuda' | 'dml' = 'cuda', precision?: Precision) => {
    const [width, height] = size.split('x').map(Number) as [number, number];
    const device: Device = { summary: { ...cpu.summary, provider, memoryBytes: vram * GB, precision: precision ?? defaultPrecision(provider) }, budget: gpuBudget(vram * GB, 32 * GB) };
    const { report } = await planReport(await openModelFolder(dir), width, height, device);
    return { chosen: report.chosen?.kind, precision: report.plans[0]!.precision, plans: report.plans.map((p) => ({ kind: p.kind, fits: p.fits, gb: p.peakVramBytes / GB })) };
  };

  it('`studio plan --vram` gives those tables for each folder', async () => {
    for (const [dir, size, vram] of [
      [dirs.xl16, '1024x1024', 12],
      [dirs.xl32, '512x512', 8],
      [dirs.turbo, '512x512', 8],
    ] as const) {
      const r = spawnSync(process.execPath, [bin, 'plan', '--model', dir, '--size', size, '--vram', String(vram), '--ram', '32', '--json'], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const report = JSON.parse(r.stdout) as PlanReport;
      const mine = await table(dir, size, vram);
      expect({ chosen: report.chosen?.kind, plans: report.plans.map((p) => [p.kind, p.fits, p.peakVramBytes / GB]) }).toEqual({ chosen: mine.chosen, plans: mine.plans.map((p) => [p.kind, p.fits, p.gb]) });
    }
  });

  const cards = [8, 12, 16, 24];

  it('SDXL-Turbo at 1024x1024: one component at a time on 8 and 12 GB, everything resident from 16 GB, in bf16', async () => {
    const plans = await Promise.all(cards.map((gb) => table(dirs.xl16, '1024x1024', gb)));
    expect(plans.map((p) => p.chosen)).toEqual(['sequential', 'sequential', 'resident', 'resident']);
    expect(plans.every((p) => p.precision === 'bf16')).toBe(true);
    // The peaks are the card's and not the model's: the same on every card.
    const [resident, sequential] = plans[0]!.plans;
    expect(resident!.gb).toBeGreaterThan(8);
    expect(resident!.gb).toBeLessThan(16);
    expect(sequential!.gb).toBeLessThan(8);
    // The float32 files are converted to bf16 at load: the same plans. In float32 (--precision f32) the UNet
    // alone holds 9.6 GB: no plan on 8 or 12 GB, and one component at a time needs about twice the memory.
    expect(await Promise.all(cards.map((gb) => table(dirs.xl32, '1024x1024', gb)))).toEqual(plans);
    const f32 = await Promise.all(cards.map((gb) => table(dirs.xl16, '1024x1024', gb, 'cuda', 'f32')));
    expect(f32.map((p) => p.chosen)).toEqual([undefined, undefined, 'sequential', 'resident']);
    expect(f32[0]!.plans[1]!.gb).toBeGreaterThan(1.8 * sequential!.gb);
  });

  it('SDXL-Turbo at 512x512: resident from 12 GB; DirectML plans the same card in fp16', async () => {
    expect((await Promise.all(cards.map((gb) => table(dirs.xl16, '512x512', gb)))).map((p) => p.chosen)).toEqual(['sequential', 'resident', 'resident', 'resident']);
    const dml = await table(dirs.xl16, '512x512', 8, 'dml');
    expect(dml.precision).toBe('fp16');
    expect(dml.chosen).toBe('sequential');
  });

  it('SD-Turbo runs resident on every card, at 512x512 and 1024x1024', async () => {
    for (const size of ['512x512', '1024x1024']) {
      const plans = await Promise.all(cards.map((gb) => table(dirs.turbo, size, gb)));
      expect(plans.map((p) => p.chosen)).toEqual(['resident', 'resident', 'resident', 'resident']);
      expect(plans[0]!.plans[0]!.gb).toBeLessThan(6);
    }
  });
});
