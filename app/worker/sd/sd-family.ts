// The Stable Diffusion families (SDXL-Turbo / SDXL, SD-Turbo / SD 2.x) in the worker's registry: runner,
// the planner's sizes with a UNet cost model, and the UNet measurement of `studio plan --measure`. The
// planner sizes every component in the precision it runs in under the plan (sd-precision): the UNet and text
// encoders in the plan's precision (fp16 files under a bf16 plan run in fp16: the same two bytes), the VAE
// in half precision unless it upcasts (SDXL's force_upcast).

import type { FamilyInfo } from '../../shared/model-families.js';
import type { ComponentSizes, DenoiserModel } from '../../shared/vram-plan.js';
import type { WorkerFamily } from '../family-runner.js';
import { withComponents, type ModelFolder } from '../model-folder.js';
import { gaussianNoise } from '../noise.js';
import { openWeightSet, type WeightSet } from '../safetensors/weight-set.js';
import { openSdWeights, targetOf } from './sd-components.js';
import { SD_STYLE_SLOT_RANK, SdRunner } from './sd-runner.js';
import { sdModelPrecision, vaeNeedsUpcast } from './sd-precision.js';
import type { UnetConfig } from './unet-config.js';
import { UnetModel } from './unet-model.js';
import { unetStyleTargets } from './unet-graph.js';
import { weightStems } from './weight-files.js';

/** Prompt tokens the CLIP encoders always produce. */
const TEXT_TOKENS = 77;

function dirsOf(folder: ModelFolder) {
  const f = withComponents(folder, ['unet', 'textEncoder', 'vae'] as const);
  const c = folder.components as Readonly<Record<string, string | undefined>>;
  return { textEncoder: f.components.textEncoder, ...(c.textEncoder2 ? { textEncoder2: c.textEncoder2 } : {}), unet: f.components.unet, vae: f.components.vae, root: folder.root };
}

function bytesOf(w: WeightSet, filter: (name: string) => boolean): number {
  let n = 0;
  for (const name of w.names()) if (filter(name)) n += w.get(name).byteLength;
  return n;
}

/** Resolution level (0 = latent size, each level halves it) of a UNet weight. */
function levelOf(name: string, levels: number): number {
  let m = /^down_blocks\.(\d+)\./.exec(name);
  if (m) return Number(m[1]);
  m = /^up_blocks\.(\d+)\./.exec(name);
  if (m) return levels - 1 - Number(m[1]);
  return name.startsWith('mid_block.') ? levels - 1 : 0;
}

/**
 * What one UNet call costs at a size, from its weights and config: every conv and linear weight meets the
 * latent positions of its resolution level; attention adds its score matrices (self-attention over the
 * positions, cross-attention over 77 text tokens). Activations, in the plan's precision (the UNet computes
 * in it, sd-precision): the feature maps around the widest attention, plus the skip tensors the up path
 * keeps, plus in float32 plans the largest score matrix. Half-precision plans are GPU plans, whose fused
 * attention kernels (flash / memory-efficient) never hold the score matrix; the CPU's float32 kernel does.
 */
export function unetCost(cfg: UnetConfig, weights: WeightSet): DenoiserModel {
  const levels = cfg.blockOut.length;
  const params = new Array<number>(levels).fill(0);
  for (const name of weights.names()) {
    const shape = weights.get(name).shape;
    if (shape.length < 2) continue;
    params[levelOf(name, levels)]! += shape.reduce((a, b) => a * b, 1);
  }
  const attention = cfg.down.map((b) => (b.cross ? b.resnets * b.transformerLayers : 0));
  cfg.up.forEach((b, i) => {
    if (b.cross) attention[levels - 1 - i]! += b.resnets * b.transformerLayers;
  });
  if (cfg.mid) attention[levels - 1]! += cfg.mid.transformerLayers;
  const heads = cfg.down.map((b) => b.heads);
  const tokens = (width: number, height: number, level: number) => Math.ceil(width / 8 / 2 ** level) * Math.ceil(height / 8 / 2 ** level);
  let slotWidths = 0;
  for (const [outF, inF] of unetStyleTargets(cfg).values()) slotWidths += outF + inF;
  return {
    label: 'UNet',
    // Per slot and patched linear: A [rank, in] and B [out, rank], fed in the compute precision.
    slotBytes: (count, rank, bytesPerValue) => count * rank * bytesPerValue * slotWidths,
    kinds: ['resident', 'sequential'],
    flops: (width, height, batch) => {
      let macs = 0;
      for (let l = 0; l < levels; l++) {
        const t = tokens(width, height, l);
        macs += params[l]! * t + attention[l]! * 2 * t * (t + TEXT_TOKENS) * cfg.blockOut[l]!;
      }
      return 2 * macs * batch;
    },
    activationBytes: (width, height, batch, bytesPerValue) => {
      const scores = bytesPerValue === 4;
      let peak = 0;
      let skips = 0;
      for (let l = 0; l < levels; l++) {
        const t = tokens(width, height, l);
        const c = cfg.blockOut[l]!;
        skips += (cfg.down[l]!.resnets + 1) * c * t;
        peak = Math.max(peak, (scores && attention[l]! > 0 ? heads[l]! * t * t : 0) + 12 * c * t);
      }
      return (peak + skips) * bytesPerValue * batch;
    },
  };
}

export function sdFamily(info: FamilyInfo): WorkerFamily {
  return {
    id: info.id,

    open: (folder, session, plan) => SdRunner.open(info, folder, session, plan),

    async sizes(folder): Promise<ComponentSizes> {
      const dirs = dirsOf(folder);
      const opened = await openSdWeights(dirs);
      const vae = await openWeightSet(dirs.vae, weightStems('diffusion_pytorch_model'), dirs.root, 'VAE');
      const unet = opened.unetWeights;
      const cfg = opened.unetConfig;
      const blocks = [...cfg.down.map((_, i) => `down_blocks.${i}.`), 'mid_block.', ...cfg.up.map((_, i) => `up_blocks.${i}.`)];
      const sample = unet.get('conv_in.weight');
      const te = [opened.te, ...(opened.te2 ? [opened.te2] : [])];
      const widest = cfg.blockOut.reduce((a, b) => Math.max(a, b), 0);
      const widestHeads = cfg.down.find((b) => b.out === widest)?.heads ?? 1;
      return {
        vaeUpcast: vaeNeedsUpcast(opened.vae.config, opened.te2 !== undefined),
        textEncoderBytes: te.reduce((n, e) => n + e.weights.totalBytes, 0),
        blockBytes: blocks.map((p) => bytesOf(unet, (n) => n.startsWith(p))),
        transformerOtherBytes: bytesOf(unet, (n) => !blocks.some((p) => n.startsWith(p))),
        vaeBytes: bytesOf(vae, (n) => !n.startsWith('encoder.') && !n.startsWith('quant_conv.')),
        bytesPerWeight: sample.byteLength / sample.shape.reduce((a, b) => a * b, 1),
        width: widest,
        heads: widestHeads,
        headDim: widest / widestHeads,
        textLayers: te.reduce((n, e) => Math.max(n, e.config.layers), 0),
        textWidth: te.reduce((n, e) => Math.max(n, e.config.hidden), 0),
        denoiser: unetCost(cfg, unet),
      };
    },

    styleSlotBytes: (sizes, count, bytesPerValue) => sizes.denoiser?.slotBytes?.(count, SD_STYLE_SLOT_RANK, bytesPerValue) ?? 0,

    async measure(folder, plan, size, steps, session) {
      void plan;
      const dirs = dirsOf(folder);
      const t0 = performance.now();
      const opened = await openSdWeights(dirs);
      // In the precision a job's UNet runs in under this plan (sd-precision), for the provider it is built for.
      const precision = sdModelPrecision(session.precision ?? 'f32', opened.unetWeights);
      const unet = await UnetModel.fromWeights(opened.unetWeights, opened.unetConfig, { ...session, precision }, [], undefined, { precision, target: targetOf(session) });
      await unet.load();
      const loadMs = performance.now() - t0;
      const cfg = unet.config;
      const h = size.height / 8;
      const w = size.width / 8;
      const input = {
        sample: gaussianNoise(1, cfg.inChannels * h * w),
        batch: 1,
        height: h,
        width: w,
        timesteps: Float32Array.of(999),
        context: gaussianNoise(2, TEXT_TOKENS * cfg.crossAttentionDim),
        tokens: TEXT_TOKENS,
        ...(cfg.addTime ? { textEmbeds: gaussianNoise(3, cfg.addTime.textEmbedDim), timeIds: Float32Array.of(size.height, size.width, 0, 0, size.height, size.width) } : {}),
        ...(cfg.timeCondProjDim ? { timestepCond: new Float32Array(cfg.timeCondProjDim) } : {}),
      };
      const msPerStep: number[] = [];
      try {
        for (let i = 0; i < steps; i++) {
          const s = performance.now();
          await unet.run(input);
          msPerStep.push(performance.now() - s);
        }
      } finally {
        await unet.release();
      }
      return { loadMs, quantizeMs: 0, msPerStep, peakLoadedParts: 1 };
    },
  };
}
