// The precision each Stable Diffusion component computes in under a plan's precision (shared/precision.ts:
// bf16 on CUDA 8.0+, fp16 on DirectML and older CUDA cards, f32 on the CPU), and where a component goes
// when half precision gives invalid values.
//
// - The UNet and the CLIP text encoders run in the plan's precision, except that a bf16 plan runs weights
//   stored as float16 (the official *.fp16.safetensors variants the catalog downloads) in float16: used as
//   stored (no converted copy at load), with float16's finer rounding, and these models are trained and
//   shipped for float16 inference. Weights stored in float32 or bfloat16 run in bfloat16 there.
// - The VAE runs in float16 under half-precision plans, except the SDXL VAE: its decoder overflows float16,
//   so an SDXL pipeline runs it in float32 whenever its config asks for it (`force_upcast`, as diffusers'
//   StableDiffusionXLPipeline does). The fp16-fixed SDXL VAE (madebyollin/sdxl-vae-fp16-fix, whose config
//   says `force_upcast: false`) runs in float16. SD 2.x pipelines never upcast (diffusers does not either).
//   Never bfloat16: its convolutions would run in float16 anyway (sd-graph-ops).

import { saferPrecision, type Precision } from '../../shared/precision.js';
import type { WeightSet } from '../safetensors/weight-set.js';
import type { AutoencoderConfig } from './autoencoder-kl.js';

/** The dtype most of a component's weight bytes are stored in. */
export function storedDtype(weights: WeightSet): string {
  const bytes = new Map<string, number>();
  for (const name of weights.names()) {
    const r = weights.get(name);
    bytes.set(r.dtype, (bytes.get(r.dtype) ?? 0) + r.byteLength);
  }
  return [...bytes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'F32';
}

/** The UNet's or a text encoder's precision under a plan, from how its weights are stored. */
export function sdModelPrecision(plan: Precision, weights: WeightSet): Precision {
  return plan === 'bf16' && storedDtype(weights) === 'F16' ? 'fp16' : plan;
}

/** Whether the VAE must decode in float32 under half precision: an SDXL VAE that asks for it. */
export function vaeNeedsUpcast(cfg: AutoencoderConfig, xl: boolean): boolean {
  return xl && cfg.forceUpcast;
}

export function sdVaePrecision(plan: Precision, cfg: AutoencoderConfig, xl: boolean): Precision {
  if (plan === 'f32' || vaeNeedsUpcast(cfg, xl)) return 'f32';
  return 'fp16';
}

/** Where a VAE goes after invalid values: float32 (a bfloat16 VAE would convolve in float16 again). */
export function saferVaePrecision(p: Precision, available: readonly Precision[]): Precision | undefined {
  return p !== 'f32' && available.includes('f32') ? 'f32' : undefined;
}

export { saferPrecision };
