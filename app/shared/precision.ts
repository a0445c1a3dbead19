// The precision the engine computes in: chosen per provider, recorded in every recipe, shown in plans.
//
// - `f32`: everything in float32. The CPU default (its half-precision kernels are slow or upcast).
// - `bf16`: matmuls, attention and the per-token activations in bfloat16, the weights used as stored in
//   the official checkpoints; residual streams, norms, modulation and gates in float32. CUDA on compute
//   capability 8.0 and newer.
// - `fp16`: the same layout in float16, with the overflowing linears scaled (see graph-ops). DirectML
//   (which has no bfloat16 at all), CUDA cards older than 8.0, and the CPU provider for tests.

export const PRECISIONS = ['f32', 'fp16', 'bf16'] as const;
export type Precision = (typeof PRECISIONS)[number];

export function isPrecision(value: unknown): value is Precision {
  return typeof value === 'string' && (PRECISIONS as readonly string[]).includes(value);
}

/** Bytes one weight or activation value takes in this precision. */
export function bytesPer(p: Precision): 2 | 4 {
  return p === 'f32' ? 4 : 2;
}

export type PrecisionProvider = 'cuda' | 'dml' | 'cpu';

/**
 * The precisions a provider computes in. CUDA has bfloat16 kernels for every op the engine uses from
 * compute capability 8.0 (Ampere); older cards and DirectML have float16 only; the CPU provider runs
 * float16 graphs (to test them) but has no bfloat16 arithmetic.
 */
export function providerPrecisions(provider: PrecisionProvider, computeCapability?: number): readonly Precision[] {
  switch (provider) {
    case 'cpu':
      return ['f32', 'fp16'];
    case 'dml':
      return ['fp16', 'f32'];
    case 'cuda':
      return computeCapability === undefined || computeCapability >= 8 ? ['bf16', 'fp16', 'f32'] : ['fp16', 'f32'];
  }
}

/** The precision a provider runs in unless told otherwise: the first it supports. */
export function defaultPrecision(provider: PrecisionProvider, computeCapability?: number): Precision {
  return providerPrecisions(provider, computeCapability)[0]!;
}

/**
 * The precision each component computes in under a plan's precision. The VAE's convolutions have bfloat16
 * kernels on CUDA only from opset 22 and its upsampling (Resize) none at all, so under `bf16` it runs in
 * float16 with its norms in float32 (its activations stay far below float16's range).
 */
export function componentPrecision(plan: Precision, component: 'denoiser' | 'text-encoder' | 'vae' | 'modulation'): Precision {
  if (component === 'modulation') return 'f32';
  if (component === 'vae' && plan === 'bf16') return 'fp16';
  return plan;
}

/**
 * Where to go when a component's output is not finite: float16 overflowed, so bfloat16 (float32's range)
 * where the provider has it, else float32; bfloat16 itself falls back to float32.
 */
export function saferPrecision(p: Precision, available: readonly Precision[]): Precision | undefined {
  if (p === 'fp16' && available.includes('bf16')) return 'bf16';
  if (p !== 'f32' && available.includes('f32')) return 'f32';
  return undefined;
}
