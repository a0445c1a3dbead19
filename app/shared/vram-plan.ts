// Execution plans for a model on a device: from the real tensor sizes, predicted peak VRAM, peak host RAM
// and time per step for each way of running it, and the fastest one that fits the budget.
//
// The predictions are a model, not a measurement: activations are estimated from the token count and
// width, compute time from the transformer's FLOPs and the card's sustained throughput, streaming time
// from PCIe bandwidth. They are meant to rank plans and to say early that something will not fit.

import { notice, type Notice } from './notices.js';
import type { Precision } from './precision.js';

/**
 * The component that runs at every step, as its family describes it: what plan labels call it, the plan
 * kinds the family's runner has, and its own estimates of activations, FLOPs and style-slot inputs. Each
 * estimate left out falls back to the MMDiT formulas below (the denoiser as a stack of equal blocks).
 */
export interface DenoiserModel {
  readonly label: string;
  readonly kinds?: readonly PlanKind[];
  /** Peak activation bytes of one call with `batch` rows. */
  readonly activationBytes?: (width: number, height: number, batch: number) => number;
  /** FLOPs of one step with `batch` rows. */
  readonly flops?: (width: number, height: number, batch: number) => number;
  /** Float32 bytes of `count` style slots of `rank`. */
  readonly slotBytes?: (count: number, rank: number) => number;
}

export interface ComponentSizes {
  /** Absent: a transformer of `blockBytes` blocks, estimated with the formulas below. */
  readonly denoiser?: DenoiserModel;
  readonly textEncoderBytes: number;
  /** Weight bytes of each transformer block, in order. */
  readonly blockBytes: readonly number[];
  /** Transformer weights outside the blocks (embeddings, norm_out, proj_out). */
  readonly transformerOtherBytes: number;
  readonly vaeBytes: number;
  /** Bytes per stored weight element (2 for bf16/fp16, 4 for f32). */
  readonly bytesPerWeight: number;
  readonly width: number;
  readonly heads: number;
  readonly headDim: number;
  readonly textLayers: number;
  readonly textWidth: number;
}

export interface DeviceBudget {
  readonly vramBytes: number;
  readonly ramBytes: number;
  /** Sustained dense half-precision throughput, in TFLOP/s (an RTX 4090 sustains about 150). */
  readonly tflops: number;
  /** Host-to-device bandwidth in GB/s (PCIe 4.0 x16 sustains about 20). */
  readonly pcieGBs: number;
  /**
   * Bytes per float weight once loaded, when the device widens them: the CPU provider computes in float32,
   * so bf16 weights take 4 bytes there. Absent: as stored.
   */
  readonly computeBytesPerWeight?: number;
  /** True where session inputs are copied to the device at every run (GPU providers). */
  readonly copiesInputs?: boolean;
  /** Memory the runtime itself takes (CUDA context and workspaces); default 1.2 GB for a GPU. */
  readonly runtimeOverheadBytes?: number;
}

export type PlanKind = 'resident' | 'sequential' | 'streamed' | 'int8' | 'int4' | 'int4-streamed';

export interface PlanPrediction {
  readonly kind: PlanKind;
  readonly label: string;
  readonly peakVramBytes: number;
  readonly peakRamBytes: number;
  readonly secondsPerStep: number;
  /** Loading and moving components around, per image. */
  readonly secondsOverhead: number;
  readonly fits: boolean;
  /** Blocks per streamed group, for streamed plans. */
  readonly groupBlocks?: number;
  readonly vaeTiled: boolean;
}

export interface PlanResult {
  readonly plans: readonly PlanPrediction[];
  readonly chosen: PlanPrediction | undefined;
  /** Why nothing fits, when nothing does. */
  readonly advice?: Notice;
}

const GB = 1024 ** 3;
/** CUDA context, cuDNN/cuBLAS workspaces and the allocator's slack. */
const GPU_RUNTIME_OVERHEAD = 1.2 * GB;
/** Keep this share of the card free: drivers and other programs move the goalposts. */
const SAFETY = 0.92;
const VAE_TILE_ABOVE = 1536 * 1536;

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

export function imageTokens(width: number, height: number): number {
  return Math.floor(width / 16) * Math.floor(height / 16);
}

/** Transformer activations at a size: the residual streams, attention and MLP intermediates of one block. */
function transformerActivations(s: ComponentSizes, tokens: number, batch: number): number {
  const joint = tokens + 256; // text tokens: a long prompt
  const half = 2;
  return batch * joint * s.width * half * 14 + batch * s.heads * joint * 64 * half;
}

function vaeActivations(pixels: number, tiled: boolean): number {
  // The decoder's last stages hold ~128-384 channels at full resolution in half precision.
  const effective = tiled ? Math.min(pixels, 512 * 512) : pixels;
  return effective * 384 * 2 * 3;
}

function textEncoderActivations(s: ComponentSizes): number {
  return 1024 * s.textWidth * 2 * 16;
}

/** What rides along with the transformer: LoRA side branches and style-slot inputs (bytes as computed). */
export interface Adapters {
  readonly loraBytes?: number;
  readonly styleSlotBytes?: number;
}

/** Float32 bytes of style slots: per block, 8 attention linears (d x d) and 4 MLP ones (d x 4d). */
export function styleSlotBytes(sizes: ComponentSizes, count: number, rank: number): number {
  const perBlock = 8 * (2 * sizes.width) + 4 * (5 * sizes.width);
  return count * rank * 4 * perBlock * sizes.blockBytes.length;
}

export function planFor(stored: ComponentSizes, width: number, height: number, batch: number, device: DeviceBudget, adapters: Adapters = {}): PlanResult {
  const widen = (device.computeBytesPerWeight ?? stored.bytesPerWeight) / stored.bytesPerWeight;
  // Float plans hold widened weights; quantized plans use the stored sizes as the source of their codes.
  const sizes: ComponentSizes = {
    ...stored,
    textEncoderBytes: stored.textEncoderBytes * widen,
    blockBytes: stored.blockBytes.map((b) => b * widen),
    transformerOtherBytes: stored.transformerOtherBytes * widen,
    vaeBytes: stored.vaeBytes * widen,
    bytesPerWeight: stored.bytesPerWeight * widen,
  };
  const tokens = imageTokens(width, height);
  const RUNTIME_OVERHEAD = device.runtimeOverheadBytes ?? GPU_RUNTIME_OVERHEAD;
  const blocks = sum(sizes.blockBytes);
  // LoRA side branches and style-slot inputs travel with the transformer whatever the plan.
  const slotBytes = adapters.styleSlotBytes ?? 0;
  const other = sizes.transformerOtherBytes + (adapters.loraBytes ?? 0) + slotBytes;
  const transformer = blocks + other;
  const denoiser = sizes.denoiser;
  const label = denoiser?.label ?? 'denoiser';
  const act = denoiser?.activationBytes?.(width, height, batch) ?? transformerActivations(sizes, tokens, batch);
  const vaeTiled = width * height > VAE_TILE_ABOVE;
  const vaeAct = vaeActivations(width * height, vaeTiled);
  const teAct = textEncoderActivations(sizes);
  const params = (blocks + sizes.transformerOtherBytes) / sizes.bytesPerWeight;
  // 2 FLOPs per parameter per token, plus attention over the joint sequence. Each block has two streams:
  // image tokens pass only the image linears, text tokens only the text ones, and the AdaLN modulation
  // (6d x d per stream against 12d x d for attention and MLP: a third of the parameters) acts once per step
  // on the timestep embedding. So every token meets a third of the parameters: ~73 TFLOP at 1024x1024.
  const joint = tokens + 256;
  const flops = denoiser?.flops?.(width, height, batch) ?? batch * (2 * (params / 3) * joint + 4 * sizes.blockBytes.length * joint * joint * sizes.width);
  const compute = flops / (device.tflops * 1e12);
  // Style-slot matrices are session inputs: a GPU provider copies them to the card at every run.
  const inputCopy = device.copiesInputs ? slotBytes / (device.pcieGBs * 1e9) : 0;
  const pcie = (bytes: number) => bytes / (device.pcieGBs * 1e9);
  const budget = device.vramBytes * SAFETY;
  const plans: PlanPrediction[] = [];
  const add = (p: Omit<PlanPrediction, 'fits' | 'vaeTiled'>) =>
    (denoiser?.kinds ?? PLAN_KINDS).includes(p.kind) &&
    plans.push({ ...p, secondsPerStep: p.secondsPerStep + inputCopy, vaeTiled, fits: p.peakVramBytes <= budget && p.peakRamBytes <= device.ramBytes * SAFETY });

  add({
    kind: 'resident',
    label: 'everything loaded at once',
    peakVramBytes: sizes.textEncoderBytes + transformer + sizes.vaeBytes + Math.max(act, vaeAct, teAct) + RUNTIME_OVERHEAD,
    peakRamBytes: 2 * GB,
    secondsPerStep: compute,
    secondsOverhead: 0,
  });
  add({
    kind: 'sequential',
    label: `one component at a time (text encoder, ${label}, VAE)`,
    peakVramBytes: Math.max(sizes.textEncoderBytes + teAct, transformer + act, sizes.vaeBytes + vaeAct) + RUNTIME_OVERHEAD,
    peakRamBytes: 2 * GB,
    secondsPerStep: compute,
    secondsOverhead: pcie(sizes.textEncoderBytes + transformer + sizes.vaeBytes),
  });
  // Streamed: two groups of blocks on the card at a time (one computing, one arriving).
  const perBlock = Math.max(...sizes.blockBytes);
  const roomForBlocks = budget - other - act - RUNTIME_OVERHEAD;
  const groupBlocks = Math.max(1, Math.min(sizes.blockBytes.length, Math.floor(roomForBlocks / (2 * perBlock))));
  if (groupBlocks < sizes.blockBytes.length) {
    add({
      kind: 'streamed',
      label: `${label} streamed in groups of ${groupBlocks} blocks`,
      peakVramBytes: Math.max(sizes.textEncoderBytes + teAct, other + 2 * groupBlocks * perBlock + act, sizes.vaeBytes + vaeAct) + RUNTIME_OVERHEAD,
      peakRamBytes: 2 * GB + 2 * groupBlocks * perBlock,
      // Transfers overlap the compute of the other group; the slower of the two sets the pace.
      secondsPerStep: Math.max(compute, pcie(blocks)),
      secondsOverhead: pcie(sizes.textEncoderBytes + sizes.vaeBytes),
      groupBlocks,
    });
  }
  for (const [kind, bits] of [
    ['int8', 8],
    ['int4', 4],
  ] as const) {
    // MatMulNBits: the block linears at `bits` plus a float32 scale per 32 (int4) or 64 (int8) values.
    const ratio = (bits / 8 + 4 / (bits === 4 ? 32 : 64)) / sizes.bytesPerWeight;
    const qBlocks = blocks * ratio;
    const qTe = sizes.textEncoderBytes * ratio;
    add({
      kind,
      label: `${bits}-bit weights (MatMulNBits), one component at a time`,
      peakVramBytes: Math.max(qTe + teAct, qBlocks + other + act, sizes.vaeBytes + vaeAct) + RUNTIME_OVERHEAD,
      peakRamBytes: 2 * GB,
      // Dequantizing kernels run a little slower than dense half precision.
      secondsPerStep: compute * (bits === 4 ? 1.25 : 1.1),
      secondsOverhead: pcie(qTe + qBlocks + sizes.vaeBytes),
    });
  }
  const fittingQ4 = plans.find((p) => p.kind === 'int4');
  if (fittingQ4 && !fittingQ4.fits) {
    const q4 = (0.5 + 4 / 32) / sizes.bytesPerWeight;
    const qPerBlock = perBlock * q4;
    const room = budget - other - act - RUNTIME_OVERHEAD;
    const g = Math.max(1, Math.floor(room / (2 * qPerBlock)));
    add({
      kind: 'int4-streamed',
      label: `4-bit weights, ${label} streamed in groups of ${g} blocks`,
      peakVramBytes: Math.max(sizes.textEncoderBytes * q4 + teAct, other + 2 * g * qPerBlock + act, sizes.vaeBytes + vaeAct) + RUNTIME_OVERHEAD,
      peakRamBytes: 2 * GB,
      secondsPerStep: Math.max(compute * 1.25, pcie(blocks * q4)),
      secondsOverhead: 0,
      groupBlocks: g,
    });
  }
  // Fastest first (what a 4-step image costs end to end), with quantized plans weighed down so that full
  // precision wins unless it is clearly slower or does not fit: quantization costs some fidelity.
  const fidelity: Record<PlanKind, number> = { resident: 1, sequential: 1, streamed: 1, int8: 1.4, int4: 1.6, 'int4-streamed': 1.6 };
  const cost = (p: PlanPrediction) => (p.secondsPerStep * 4 + p.secondsOverhead) * fidelity[p.kind];
  const chosen = plans.filter((p) => p.fits).sort((a, b) => cost(a) - cost(b))[0];
  const smallest = [...plans].sort((a, b) => a.peakVramBytes - b.peakVramBytes)[0]!;
  return {
    plans,
    chosen,
    ...(chosen
      ? {}
      : {
          advice: notice('plan.advice', { memory: (device.vramBytes / GB).toFixed(0), width, height, needed: (smallest.peakVramBytes / GB).toFixed(1) }),
        }),
  };
}

/** What the engine needs to know to run a plan. */
export interface ExecutionChoice {
  readonly kind: PlanKind;
  /** Blocks per streamed group (streamed plans). */
  readonly groupBlocks?: number;
  readonly vaeTiled: boolean;
}

export const RESIDENT: ExecutionChoice = { kind: 'resident', vaeTiled: false };

/** Weight bits of a plan's linears: undefined for the checkpoint's own precision. */
export function planBits(kind: PlanKind): 4 | 8 | undefined {
  return kind === 'int8' ? 8 : kind === 'int4' || kind === 'int4-streamed' ? 4 : undefined;
}

/** Every plan but `resident` loads each component only while it works and releases it after. */
export function oneAtATime(kind: PlanKind): boolean {
  return kind !== 'resident';
}

export function isStreamed(kind: PlanKind): boolean {
  return kind === 'streamed' || kind === 'int4-streamed';
}

const PLAN_KINDS: readonly PlanKind[] = ['resident', 'sequential', 'streamed', 'int8', 'int4', 'int4-streamed'];

/**
 * A plan named by the user (STUDIO_PLAN, `--plan`): `resident`, `sequential`, `streamed:<blocks>`, `int8`,
 * `int4`, `int4-streamed:<blocks>`, with `+tiled` to decode the VAE in tiles. Undefined for "choose for me".
 */
export function parsePlan(text: string | undefined): ExecutionChoice | undefined {
  if (!text || text === 'auto') return undefined;
  const [main, ...flags] = text.split('+');
  const [kind, groups] = main!.split(':');
  if (!PLAN_KINDS.includes(kind as PlanKind)) throw new Error(`unknown plan "${text}" (plans: ${PLAN_KINDS.join(', ')}, auto; add +tiled for a tiled VAE)`);
  const bad = flags.filter((f) => f !== 'tiled');
  if (bad.length) throw new Error(`unknown plan option ${bad.join(', ')} in "${text}"`);
  const streamed = isStreamed(kind as PlanKind);
  const n = groups === undefined ? undefined : Number(groups);
  if (streamed && (n === undefined || !Number.isInteger(n) || n < 1)) throw new Error(`plan "${text}" needs the blocks per group, e.g. ${kind}:4`);
  if (!streamed && groups !== undefined) throw new Error(`plan "${kind}" takes no block count`);
  return { kind: kind as PlanKind, ...(n ? { groupBlocks: n } : {}), vaeTiled: flags.includes('tiled') };
}

export function describePlan(p: ExecutionChoice): string {
  return `${p.kind}${p.groupBlocks ? `:${p.groupBlocks}` : ''}${p.vaeTiled ? '+tiled' : ''}`;
}

/** The device a plan is made for, as the UI and CLI show it. */
export interface DeviceSummary {
  /** Where sessions run: the first provider that loads. */
  readonly provider: 'cuda' | 'dml' | 'cpu';
  readonly name: string;
  /** The memory plans are fitted into: the card's VRAM, or system RAM on the CPU. */
  readonly memoryBytes: number;
  readonly freeBytes?: number;
  readonly ramBytes: number;
  /** Providers asked for that could not load, and why. */
  readonly unavailable: readonly { readonly provider: string; readonly reason: string }[];
  /** Said when a number is an assumption (e.g. VRAM not reported on DirectML). */
  readonly note?: Notice;
  /** The precision the engine computes in on this device (the provider's default or STUDIO_PRECISION). */
  readonly precision?: Precision;
  /** CUDA compute capability of the card, when nvidia-smi reports it. */
  readonly computeCapability?: number;
}

export interface PlanReport extends PlanResult {
  readonly device: DeviceSummary;
  readonly width: number;
  readonly height: number;
  /** A plan the user named (STUDIO_PLAN), used instead of the planner's choice. */
  readonly forced?: string;
}

/**
 * The budget for a GPU. The engine computes in float32 on every provider (its graphs cast half-precision
 * weights at the edge), so float weights take 4 bytes on the card too; quantized weights stay packed.
 */
export function gpuBudget(vramBytes: number, ramBytes: number, tflops = 150, pcieGBs = 20): DeviceBudget {
  return { vramBytes, ramBytes, tflops, pcieGBs, computeBytesPerWeight: 4, copiesInputs: true };
}

/** The budget for the CPU provider: weights live in RAM, widened to float32; "PCIe" is reading from disk. */
export function cpuBudget(ramBytes: number, threads: number): DeviceBudget {
  // Sustained float32 through ONNX Runtime's CPU kernels, attention included: ~0.06 TFLOP/s per core
  // (npm run bench:plans on a 2-core AVX-512 machine).
  return { vramBytes: ramBytes * 0.8, ramBytes, tflops: 0.06 * Math.max(1, threads), pcieGBs: 2, computeBytesPerWeight: 4, runtimeOverheadBytes: 0.25 * GB };
}

/**
 * Plans to try after `failed` ran out of memory, most capable first: the device evidently has less room than
 * the failed plan's predicted peak, so the planner is asked again with budgets below it (streamed plans get
 * smaller groups as the budget shrinks). Plans predicted to need less than the failed one, each once.
 */
export function fallbacksAfter(
  sizes: ComponentSizes,
  width: number,
  height: number,
  batch: number,
  device: DeviceBudget,
  failed: ExecutionChoice,
  adapters: Adapters = {},
): ExecutionChoice[] {
  const all = planFor(sizes, width, height, batch, device, adapters).plans;
  const failedPeak = all.find((p) => p.kind === failed.kind && (p.groupBlocks === undefined || p.groupBlocks === failed.groupBlocks))?.peakVramBytes;
  const limit = failedPeak ?? device.vramBytes;
  const seen = new Set<string>([describePlan(failed)]);
  const out: ExecutionChoice[] = [];
  // A few rungs, not every possible group size: each attempt reloads the model.
  for (const factor of [0.85, 0.7, 0.55, 0.4, 0.3, 0.2, 0.1]) {
    const chosen = planFor(sizes, width, height, batch, { ...device, vramBytes: (limit * factor) / SAFETY }, adapters).chosen;
    if (!chosen || chosen.peakVramBytes >= limit) continue;
    const choice = { ...choiceOf(chosen), vaeTiled: chosen.vaeTiled || failed.vaeTiled };
    if (seen.has(describePlan(choice))) continue;
    seen.add(describePlan(choice));
    out.push(choice);
  }
  return out;
}

export function choiceOf(p: PlanPrediction): ExecutionChoice {
  return { kind: p.kind, ...(p.groupBlocks ? { groupBlocks: p.groupBlocks } : {}), vaeTiled: p.vaeTiled };
}

/** Errors that mean a device (or the host) ran out of memory, as ONNX Runtime and CUDA word them. */
export function isOutOfMemory(message: string): boolean {
  return /out of memory|failed to allocate memory|bad_alloc|cudaErrorMemoryAllocation|CUBLAS_STATUS_ALLOC_FAILED|CUDNN_STATUS_ALLOC_FAILED|E_OUTOFMEMORY/i.test(message);
}
