// Execution plans for a model on a device: predicted peak device memory, peak host RAM and time per step
// for each way of running it, and the fastest one that fits the budget.
//
// The memory terms come from the graphs the engine builds for the device's precision at the planned size
// (graph-memory in the worker): the weights as sessions hold them and the peak of live activations. The
// device adds what no graph shows: the runtime's own memory, and how much the allocator reserves above the
// live peak (ONNX Runtime's arenas grow by doubling; the Node binding cannot change that, see DeviceBudget).
// Compute time comes from the transformer's FLOPs and the device's sustained throughput, streaming time from
// PCIe bandwidth. The predictions rank plans and say early that something will not fit;
// `npm run bench:engine` and `npm run bench:plans` print them next to measurements.

import { notice, noticeText, type Notice } from './notices.js';
import { bytesPer, type Precision } from './precision.js';

/**
 * The component that runs at every step, as its family describes it: what plan labels call it, the plan
 * kinds the family's runner has, and its own estimates of activations, FLOPs and style-slot inputs. Each
 * estimate left out falls back to the MMDiT formulas below (the denoiser as a stack of equal blocks).
 */
export interface DenoiserModel {
  readonly label: string;
  readonly kinds?: readonly PlanKind[];
  /** Peak activation bytes of one call with `batch` rows, with activations of `bytesPerValue` (the plan's precision). */
  readonly activationBytes?: (width: number, height: number, batch: number, bytesPerValue: number) => number;
  /** FLOPs of one step with `batch` rows. */
  readonly flops?: (width: number, height: number, batch: number) => number;
  /** Bytes of `count` style slots of `rank`, fed as values of `bytesPerValue`. */
  readonly slotBytes?: (count: number, rank: number, bytesPerValue: number) => number;
  /** The precision the family computes in when it does not follow the device's. */
  readonly precision?: Precision;
  /** Share of each block's stored weights that runs once per timestep (the modulation linears of an MMDiT). */
  readonly modulationShare?: number;
}

export interface ComponentSizes {
  /** Absent: a transformer of `blockBytes` blocks, estimated with the formulas below. */
  readonly denoiser?: DenoiserModel;
  readonly textEncoderBytes: number;
  /** Stored weight bytes of each transformer block, in order (modulation included). */
  readonly blockBytes: readonly number[];
  /** Transformer weights outside the blocks (embeddings, norm_out, proj_out). */
  readonly transformerOtherBytes: number;
  readonly vaeBytes: number;
  /** Bytes per stored weight element (2 for bf16/fp16, 4 for f32). */
  readonly bytesPerWeight: number;
  /** The VAE decodes in float32 under half-precision plans (an SDXL VAE whose config asks for it: force_upcast). */
  readonly vaeUpcast?: boolean;
  readonly width: number;
  readonly heads: number;
  readonly headDim: number;
  readonly textLayers: number;
  readonly textWidth: number;
}

/**
 * Memory of the graphs the engine builds, for one precision and image size (worker/qwen-image/graph-memory):
 * weights as the sessions hold them (as stored, or converted at load) and peaks of live activations.
 */
export interface GraphMemory {
  readonly precision: Precision;
  readonly textEncoderWeights: number;
  readonly textEncoderActivations: number;
  /** Each transformer block without its modulation linears (those run in the modulation sessions). */
  readonly blockWeights: readonly number[];
  /** Input projections, proj_out and other weights of the transformer graph outside the blocks. */
  readonly transformerOtherWeights: number;
  readonly transformerActivations: number;
  /** The modulation sessions' float32 weights: per block, and the timestep embedding with norm_out. */
  readonly modulationWeightsPerBlock: number;
  readonly modulationOtherWeights: number;
  readonly vaeWeights: number;
  readonly vaeActivations: number;
  readonly vaeTiledActivations: number;
  /** Score buffers of attention nodes the provider runs unfused (0 with fused kernels); included in the activations. */
  readonly attentionScores: number;
  /** Whether each component's weights are converted at load (stored in another type than they compute in). */
  readonly converted: { readonly textEncoder: boolean; readonly transformer: boolean; readonly vae: boolean };
}

export interface DeviceBudget {
  readonly vramBytes: number;
  readonly ramBytes: number;
  /** Sustained dense throughput in the planned precision, in TFLOP/s (an RTX 4090 sustains about 150 in bf16). */
  readonly tflops: number;
  /** Host-to-device bandwidth in GB/s (PCIe 4.0 x16 sustains about 20). */
  readonly pcieGBs: number;
  /** True where session inputs are copied to the device at every run (GPU providers). */
  readonly copiesInputs?: boolean;
  /** Memory the runtime itself takes (CUDA context and library workspaces; the process on the CPU). */
  readonly runtimeOverheadBytes: number;
  /**
   * How much memory the allocator holds per byte of live activations at the peak. ONNX Runtime's arenas
   * extend by doubling (kNextPowerOfTwo) and the Node binding cannot ask for kSameAsRequested, so up to
   * twice the live peak is reserved on CUDA; on the CPU it is measured (npm run bench:engine).
   */
  readonly activationFactor: number;
  /** Creating one session (building kernels, placing weights): paid per streamed group per step. */
  readonly sessionSeconds: number;
  /**
   * Memory per byte of weights converted at load (a cast folded by ONNX Runtime): on the CPU the folding
   * leaves ~13% more than the converted tensors (measured); on a GPU the conversion happens in host memory.
   */
  readonly convertedWeightFactor: number;
}

export type PlanKind = 'resident' | 'sequential' | 'streamed' | 'int8' | 'int4' | 'int4-streamed';

/** Peak memory of each phase of a job under a plan (the largest is the plan's peak). */
export interface PhasePeaks {
  readonly textEncoder: number;
  readonly modulation: number;
  readonly transformer: number;
  readonly vae: number;
}

export interface PlanPrediction {
  readonly kind: PlanKind;
  /** English, for the CLI and logs; the UI renders `notice`. */
  readonly label: string;
  readonly notice: Notice;
  readonly precision: Precision;
  readonly peakVramBytes: number;
  readonly phases: PhasePeaks;
  readonly peakRamBytes: number;
  readonly secondsPerStep: number;
  /** Loading and moving components around, per image. */
  readonly secondsOverhead: number;
  readonly fits: boolean;
  /** Blocks per streamed group, for streamed plans. */
  readonly groupBlocks?: number;
  /** Streamed groups that stay loaded from step to step. */
  readonly pinnedGroups?: number;
  /** Blocks per modulation session: as many as fit next to what stays loaded. */
  readonly modulationBlocks: number;
  readonly vaeTiled: boolean;
}

export interface PlanResult {
  readonly plans: readonly PlanPrediction[];
  readonly chosen: PlanPrediction | undefined;
  /** Why nothing fits, when nothing does. */
  readonly advice?: Notice;
}

const GB = 1024 ** 3;
/** Keep this share of the card free: drivers and other programs move the goalposts. */
const SAFETY = 0.92;
const VAE_TILE_ABOVE = 1536 * 1536;
/** Text tokens planned for: a long prompt (the template's 34 plus ~220), as the reference pipeline allows. */
export const PLANNED_TEXT_TOKENS = 256;
/** Tokens of the prompt template around the text (Qwen-Image's: 34). */
const TEMPLATE_TOKENS = 34;

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

export function imageTokens(width: number, height: number): number {
  return Math.floor(width / 16) * Math.floor(height / 16);
}

/** What rides along with the transformer: LoRA side branches and style-slot inputs (bytes as computed). */
export interface Adapters {
  readonly loraBytes?: number;
  readonly styleSlotBytes?: number;
}

/** Bytes of style slots fed per step: per block, 8 attention linears (d x d) and 4 MLP ones (d x 4d). */
export function styleSlotBytes(sizes: ComponentSizes, count: number, rank: number, bytesPerValue = 4): number {
  const perBlock = 8 * (2 * sizes.width) + 4 * (5 * sizes.width);
  return count * rank * bytesPerValue * perBlock * sizes.blockBytes.length;
}

/**
 * Memory terms estimated from stored sizes alone, for a model whose graphs the worker cannot build here: a
 * catalog entry before its download, or a family without graph analysis. Weights are held in the compute
 * precision (the modulation share in float32, as the studio runs it; a VAE that upcasts in float32). Activations follow the family's own
 * estimate or, for an MMDiT, the live peak the graph analysis finds for Qwen-Image: ~9.5 values per joint
 * token and width plus one head's worth of scores; the text encoder ~19 values per position and width over
 * the prompt and its template; the VAE decoder ~480 values per pixel (a ~320x320 region when tiled).
 * plan.test.ts keeps these within reach of the graph-derived terms (worker/qwen-image/graph-memory), which
 * replace them wherever a folder is at hand.
 */
export function estimatedMemory(sizes: ComponentSizes, width: number, height: number, precision: Precision, textTokens = PLANNED_TEXT_TOKENS): GraphMemory {
  const p = sizes.denoiser?.precision ?? precision;
  const value = bytesPer(p);
  const held = value / sizes.bytesPerWeight;
  const share = sizes.denoiser?.modulationShare ?? 0;
  const joint = imageTokens(width, height) + textTokens;
  const pixels = width * height;
  const own = sizes.denoiser?.activationBytes;
  const vaeValue = sizes.vaeUpcast ? bytesPer('f32') : value;
  const vaeHeld = vaeValue / sizes.bytesPerWeight;
  return {
    precision: p,
    textEncoderWeights: sizes.textEncoderBytes * held,
    textEncoderActivations: (textTokens + TEMPLATE_TOKENS) * sizes.textWidth * value * 19,
    blockWeights: sizes.blockBytes.map((b) => b * (1 - share) * held),
    transformerOtherWeights: sizes.transformerOtherBytes * held,
    transformerActivations: own ? own(width, height, 1, value) : joint * sizes.width * value * 9.5 + sizes.heads * joint * 64 * value,
    modulationWeightsPerBlock: (sum(sizes.blockBytes) / Math.max(1, sizes.blockBytes.length)) * share * (4 / sizes.bytesPerWeight),
    modulationOtherWeights: 0,
    vaeWeights: sizes.vaeBytes * vaeHeld,
    vaeActivations: pixels * 480 * vaeValue,
    vaeTiledActivations: Math.min(pixels, 320 * 320) * 480 * vaeValue,
    attentionScores: 0,
    converted: { textEncoder: held !== 1, transformer: held !== 1, vae: vaeHeld !== 1 },
  };
}

/** FLOPs of one denoiser call (the modulation excluded: it runs once per schedule). */
export function transformerFlops(sizes: ComponentSizes, width: number, height: number, batch: number): number {
  const own = sizes.denoiser?.flops;
  if (own) return own(width, height, batch);
  const joint = imageTokens(width, height) + PLANNED_TEXT_TOKENS;
  // Each block has two streams: image tokens pass only the image linears, text tokens only the text ones,
  // so every token meets the attention and MLP weights of one stream: 12 d^2 per block (a third of the
  // blocks' parameters with modulation). Attention adds 4 d T^2 per block.
  const d = sizes.width;
  return batch * sizes.blockBytes.length * (2 * 12 * d * d * joint + 4 * joint * joint * d);
}

/** Bytes per held weight of a plan's block linears relative to the compute precision's (MatMulNBits: codes plus a float32 scale per 32 or 64). */
function weightRatio(kind: PlanKind, precision: Precision): number {
  const bits = planBits(kind);
  if (!bits) return 1;
  return (bits / 8 + 4 / (bits === 4 ? 32 : 64)) / (precision === 'f32' ? 4 : 2);
}

/**
 * Peak memory of the transformer's phase under a plan, without the runtime's own: what stays loaded (the
 * blocks, or the head, tail, pinned groups and one streamed group), activations at the allocator's factor,
 * and what rides along (LoRA branches, style-slot inputs). The modulation phase comes before it.
 */
export function transformerPhaseBytes(memory: GraphMemory, device: DeviceBudget, choice: Pick<ExecutionChoice, 'kind' | 'groupBlocks' | 'pinnedGroups'>, adapters: Adapters = {}, batch = 1): number {
  const ratio = weightRatio(choice.kind, memory.precision);
  const held = memory.converted.transformer && ratio === 1 ? device.convertedWeightFactor : 1;
  const blocks = sum(memory.blockWeights) * ratio * held;
  const perBlock = Math.max(...memory.blockWeights) * ratio * held;
  const other = memory.transformerOtherWeights * held + (adapters.loraBytes ?? 0) + (adapters.styleSlotBytes ?? 0);
  const act = memory.transformerActivations * device.activationFactor * batch;
  if (!isStreamed(choice.kind) || !choice.groupBlocks) return other + blocks + act;
  // The front session (input projections and kept blocks) keeps its arena at the activation peak while a
  // streamed group runs with activations of its own: two activation peaks at once.
  const loaded = Math.min(memory.blockWeights.length, ((choice.pinnedGroups ?? 1) + 1) * choice.groupBlocks);
  return other + loaded * perBlock + 2 * act;
}

export function planFor(sizes: ComponentSizes, memory: GraphMemory, width: number, height: number, batch: number, device: DeviceBudget, adapters: Adapters = {}): PlanResult {
  const f = device.activationFactor;
  const overhead = device.runtimeOverheadBytes;
  const budget = device.vramBytes * SAFETY;
  const ram = device.ramBytes * SAFETY;
  const vaeTiled = width * height > VAE_TILE_ABOVE;
  const teAct = memory.textEncoderActivations * f * batch;
  const trAct = memory.transformerActivations * f * batch;
  const vaeAct = (vaeTiled ? memory.vaeTiledActivations : memory.vaeActivations) * f;
  const conv = (converted: boolean) => (converted ? device.convertedWeightFactor : 1);
  const blocks = sum(memory.blockWeights) * conv(memory.converted.transformer);
  const perBlock = Math.max(...memory.blockWeights) * conv(memory.converted.transformer);
  const layers = memory.blockWeights.length;
  const slotBytes = adapters.styleSlotBytes ?? 0;
  const other = memory.transformerOtherWeights * conv(memory.converted.transformer) + (adapters.loraBytes ?? 0) + slotBytes;
  const teWeights = memory.textEncoderWeights * conv(memory.converted.textEncoder);
  const vaeWeights = memory.vaeWeights * conv(memory.converted.vae);
  const modAll = memory.modulationWeightsPerBlock * layers + memory.modulationOtherWeights;
  const compute = transformerFlops(sizes, width, height, batch) / (device.tflops * 1e12);
  const denoiser = denoiserNotice(sizes);
  const pcie = (bytes: number) => bytes / (device.pcieGBs * 1e9);
  // Style-slot matrices are session inputs: a GPU provider copies them to the card at every run.
  const inputCopy = device.copiesInputs ? pcie(slotBytes) : 0;
  // The modulation runs in sessions of as many blocks as fit next to what stays loaded (at least one).
  const modulationBlocks = (resident: number) => {
    const room = budget - overhead - resident - memory.modulationOtherWeights;
    return Math.max(1, Math.min(layers, Math.floor(room / Math.max(1, memory.modulationWeightsPerBlock))));
  };
  const modulationPeak = (resident: number) => memory.modulationOtherWeights + modulationBlocks(resident) * memory.modulationWeightsPerBlock;
  const phase = { textEncoder: teWeights + teAct, vae: vaeWeights + vaeAct };
  const plans: PlanPrediction[] = [];
  const kinds = sizes.denoiser?.kinds ?? PLAN_KINDS;
  const add = (p: Omit<PlanPrediction, 'fits' | 'vaeTiled' | 'peakVramBytes' | 'precision' | 'label' | 'modulationBlocks'>, resident = 0) => {
    if (!kinds.includes(p.kind)) return;
    const peak = Math.max(p.phases.textEncoder, p.phases.modulation, p.phases.transformer, p.phases.vae) + overhead;
    plans.push({
      ...p,
      label: planLabel(p.notice),
      precision: memory.precision,
      modulationBlocks: modulationBlocks(resident),
      peakVramBytes: peak,
      secondsPerStep: p.secondsPerStep + inputCopy,
      vaeTiled,
      fits: peak <= budget && p.peakRamBytes <= ram,
    });
  };
  const hostBase = 2 * GB;

  const residentAll = teWeights + blocks + other + vaeWeights;
  const residentAct = Math.max(teAct, trAct, vaeAct);
  add({
    kind: 'resident',
    notice: notice('plan.resident', { precision: memory.precision }),
    phases: { textEncoder: residentAll + residentAct, modulation: residentAll + modulationPeak(residentAll), transformer: residentAll + residentAct, vae: residentAll + residentAct },
    peakRamBytes: hostBase,
    secondsPerStep: compute,
    secondsOverhead: pcie(modAll),
  }, residentAll);
  add({
    kind: 'sequential',
    notice: notice('plan.sequential', { denoiser, precision: memory.precision }),
    phases: { ...phase, modulation: modulationPeak(0), transformer: transformerPhaseBytes(memory, device, { kind: 'sequential' }, adapters, batch) },
    peakRamBytes: hostBase,
    secondsPerStep: compute,
    secondsOverhead: pcie(teWeights + blocks + other + vaeWeights + modAll),
  });

  // Streamed: groups of g blocks; p groups stay loaded, the others are loaded for each use, one at a time.
  type Candidate = Omit<PlanPrediction, 'fits' | 'vaeTiled' | 'peakVramBytes' | 'precision' | 'label' | 'modulationBlocks'>;
  const fitsBudget = (c: Candidate) => Math.max(c.phases.textEncoder, c.phases.modulation, c.phases.transformer, c.phases.vae) + overhead <= budget;
  const streamed = (kind: 'streamed' | 'int4-streamed', perBlockBytes: number, computeFactor: number, teBytes: number) => {
    let best: Candidate | undefined;
    for (const g of [1, 2, 3, 4, 6, 8, 12, 16, 24, 30].filter((n) => n < layers)) {
      const groups = Math.ceil(layers / g);
      const room = budget - overhead - other - trAct - g * perBlockBytes;
      const pinned = Math.max(0, Math.min(groups - 1, Math.floor(room / (g * perBlockBytes))));
      const moved = Math.max(0, layers - pinned * g) * perBlockBytes;
      const candidate: Candidate = {
        kind,
        notice: notice(kind === 'streamed' ? 'plan.streamed' : 'plan.int4Streamed', { denoiser, blocks: g, pinned: pinned * g, precision: memory.precision }),
        phases: { textEncoder: teBytes + teAct, modulation: modulationPeak(0), transformer: transformerPhaseBytes(memory, device, { kind, groupBlocks: g, pinnedGroups: pinned }, adapters, batch), vae: phase.vae },
        peakRamBytes: hostBase + g * perBlockBytes,
        // Session creation blocks the thread (the binding has no async load): transfers add to compute.
        secondsPerStep: compute * computeFactor + pcie(moved) + (groups - pinned) * device.sessionSeconds,
        secondsOverhead: pcie(teBytes + vaeWeights + modAll),
        groupBlocks: g,
        pinnedGroups: pinned,
      };
      const better = !best || (fitsBudget(candidate) && (!fitsBudget(best) || candidate.secondsPerStep < best.secondsPerStep)) || (!fitsBudget(best) && candidate.phases.transformer < best.phases.transformer);
      if (better) best = candidate;
    }
    if (best) add(best);
  };
  streamed('streamed', perBlock, 1, teWeights);

  // MatMulNBits: the block linears at `bits` plus a float32 scale per 32 (int4) or 64 (int8) values.
  for (const [kind, bits] of [
    ['int8', 8],
    ['int4', 4],
  ] as const) {
    const qBlocks = blocks * weightRatio(kind, memory.precision);
    const qTe = memory.textEncoderWeights * weightRatio(kind, memory.precision);
    add({
      kind,
      notice: notice(kind === 'int8' ? 'plan.int8' : 'plan.int4', { precision: memory.precision }),
      phases: { textEncoder: qTe + teAct, modulation: modulationPeak(0), transformer: transformerPhaseBytes(memory, device, { kind }, adapters, batch), vae: phase.vae },
      peakRamBytes: hostBase,
      // Dequantizing kernels run a little slower than dense half precision.
      secondsPerStep: compute * (bits === 4 ? 1.25 : 1.1),
      secondsOverhead: pcie(qTe + qBlocks + vaeWeights + modAll),
    });
  }
  const q4 = weightRatio('int4', memory.precision);
  if (!plans.find((p) => p.kind === 'int4')?.fits) streamed('int4-streamed', perBlock * q4, 1.25, memory.textEncoderWeights * q4);

  // Fastest first (what a 4-step image costs end to end), with quantized plans weighed down so that full
  // precision wins unless it is clearly slower or does not fit: quantization costs some fidelity.
  const fidelity: Record<PlanKind, number> = { resident: 1, sequential: 1, streamed: 1, int8: 1.4, int4: 1.6, 'int4-streamed': 1.6 };
  const cost = (p: PlanPrediction) => (p.secondsPerStep * 4 + p.secondsOverhead) * fidelity[p.kind];
  const chosen = plans.filter((p) => p.fits).sort((a, b) => cost(a) - cost(b))[0];
  const smallest = [...plans].sort((a, b) => a.peakVramBytes - b.peakVramBytes)[0]!;
  if (chosen) return { plans, chosen };
  return { plans, chosen, advice: notice('plan.advice', { memory: (device.vramBytes / GB).toFixed(0), width, height, needed: (smallest.peakVramBytes / GB).toFixed(1) }) };
}

/** English text of a plan notice (the CLI's table; the UI renders the notice in the user's language). */
function planLabel(n: Notice): string {
  return noticeText(n);
}

/** How plan notices name the denoiser: the family's own term for it (a technical name, left untranslated). */
function denoiserNotice(sizes: ComponentSizes): string {
  return sizes.denoiser?.label ?? 'denoiser';
}

/** What the engine needs to know to run a plan. */
export interface ExecutionChoice {
  readonly kind: PlanKind;
  /** Blocks per streamed group (streamed plans). */
  readonly groupBlocks?: number;
  /** Streamed groups kept loaded (streamed plans; one when not said). */
  readonly pinnedGroups?: number;
  /** Blocks per modulation session (all when not said). */
  readonly modulationBlocks?: number;
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
 * A plan named by the user (STUDIO_PLAN, `--plan`): `resident`, `sequential`, `streamed:<blocks>[:<pinned
 * groups>]`, `int8`, `int4`, `int4-streamed:<blocks>[:<pinned groups>]`, with `+tiled` to decode the VAE in
 * tiles. Undefined for "choose for me".
 */
export function parsePlan(text: string | undefined): ExecutionChoice | undefined {
  if (!text || text === 'auto') return undefined;
  const [main, ...flags] = text.split('+');
  const [kind, groups, pinnedText, ...extra] = main!.split(':');
  if (!PLAN_KINDS.includes(kind as PlanKind)) throw new Error(`unknown plan "${text}" (plans: ${PLAN_KINDS.join(', ')}, auto; add +tiled for a tiled VAE)`);
  const bad = flags.filter((f) => f !== 'tiled');
  if (bad.length) throw new Error(`unknown plan option ${bad.join(', ')} in "${text}"`);
  const streamed = isStreamed(kind as PlanKind);
  const n = groups === undefined ? undefined : Number(groups);
  const pinned = pinnedText === undefined ? undefined : Number(pinnedText);
  if (streamed && (n === undefined || !Number.isInteger(n) || n < 1)) throw new Error(`plan "${text}" needs the blocks per group, e.g. ${kind}:4`);
  if (pinned !== undefined && (!Number.isInteger(pinned) || pinned < 0)) throw new Error(`plan "${text}": the pinned groups must be a whole number`);
  if (extra.length > 0) throw new Error(`plan "${text}" has too many parts`);
  if (!streamed && groups !== undefined) throw new Error(`plan "${kind}" takes no block count`);
  return { kind: kind as PlanKind, ...(n ? { groupBlocks: n } : {}), ...(pinned !== undefined ? { pinnedGroups: pinned } : {}), vaeTiled: flags.includes('tiled') };
}

export function describePlan(p: ExecutionChoice): string {
  return `${p.kind}${p.groupBlocks ? `:${p.groupBlocks}` : ''}${p.groupBlocks && p.pinnedGroups !== undefined ? `:${p.pinnedGroups}` : ''}${p.vaeTiled ? '+tiled' : ''}`;
}

/** The device a plan is made for, as the UI and CLI show it. */
export interface DeviceSummary {
  /** Where sessions run: the first provider that loads. */
  readonly provider: 'cuda' | 'dml' | 'cpu';
  readonly name: string;
  /** CPU threads the CPU provider runs on (the CPU provider only). */
  readonly threads?: number;
  /** The memory plans are fitted into: the card's VRAM, or system RAM on the CPU. */
  readonly memoryBytes: number;
  readonly freeBytes?: number;
  readonly ramBytes: number;
  /**
   * Providers asked for that could not load: ONNX Runtime's reason, and what is missing and what to do
   * about it as notices (driver, CUDA provider, CUDA/cuDNN libraries), for the UI and `studio plan`.
   */
  readonly unavailable: readonly { readonly provider: string; readonly reason: string; readonly notices?: readonly Notice[] }[];
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
 * The budget for a GPU. The CUDA context and cuBLAS/cuDNN workspaces take about 1.2 GB. The Node binding
 * passes only the device id to CUDA, so no memory limit reaches the arena and its default growth
 * (doubling) applies: activations are counted twice. Creating a streamed group's session costs ~30 ms
 * besides its transfer (an estimate until scripts/gpu-check.sh measures it).
 */
export function gpuBudget(vramBytes: number, ramBytes: number, tflops = 150, pcieGBs = 20): DeviceBudget {
  return { vramBytes, ramBytes, tflops, pcieGBs, copiesInputs: true, runtimeOverheadBytes: 1.2 * GB, activationFactor: 2, sessionSeconds: 0.03, convertedWeightFactor: 1 };
}

/**
 * The CPU's memory figures, measured by `npm run bench:engine` on this engine: a worker process with
 * ONNX Runtime loaded and a session created holds ~106 MB before any weight or activation; resident memory
 * grows by ~2.4x the live activation peak the graphs show (arena growth by doubling, allocation alignment,
 * MLAS scratch buffers), and by ~1.13x the weights ONNX Runtime converts at load (bf16 to f32: what the
 * constant folding leaves besides the converted tensors). Weights used as stored stay memory-mapped.
 */
export const CPU_PROCESS_BYTES = 106 * 1024 ** 2;
export const CPU_ACTIVATION_FACTOR = 2.4;
export const CPU_CONVERTED_WEIGHT_FACTOR = 1.13;

/** Peak of the modulation phase with nothing else loaded: the sessions hold as many blocks as the budget allows. */
export function modulationPhaseBytes(memory: GraphMemory, device: DeviceBudget, modulationBlocks = memory.blockWeights.length): number {
  return memory.modulationOtherWeights + Math.min(modulationBlocks, memory.blockWeights.length) * memory.modulationWeightsPerBlock;
}

/** The budget for the CPU provider: weights live in RAM; "PCIe" is reading from disk. */
export function cpuBudget(ramBytes: number, threads: number): DeviceBudget {
  // Sustained float32 through ONNX Runtime's CPU kernels, attention included: ~0.06 TFLOP/s per core
  // (npm run bench:plans on a 2-core AVX-512 machine).
  return {
    vramBytes: ramBytes * 0.8,
    ramBytes,
    tflops: 0.06 * Math.max(1, threads),
    pcieGBs: 2,
    runtimeOverheadBytes: CPU_PROCESS_BYTES,
    activationFactor: CPU_ACTIVATION_FACTOR,
    sessionSeconds: 0.02,
    convertedWeightFactor: CPU_CONVERTED_WEIGHT_FACTOR,
  };
}

/**
 * Plans to try after `failed` ran out of memory, most capable first: the device evidently has less room than
 * the failed plan's predicted peak, so the planner is asked again with budgets below it (streamed plans get
 * smaller groups as the budget shrinks). Plans predicted to need less than the failed one, each once.
 */
export function fallbacksAfter(
  sizes: ComponentSizes,
  memory: GraphMemory,
  width: number,
  height: number,
  batch: number,
  device: DeviceBudget,
  failed: ExecutionChoice,
  adapters: Adapters = {},
): ExecutionChoice[] {
  const all = planFor(sizes, memory, width, height, batch, device, adapters).plans;
  const failedPeak = all.find((p) => p.kind === failed.kind && (p.groupBlocks === undefined || p.groupBlocks === failed.groupBlocks))?.peakVramBytes;
  const limit = failedPeak ?? device.vramBytes;
  const seen = new Set<string>([describePlan(failed)]);
  const out: ExecutionChoice[] = [];
  // A few rungs, not every possible group size: each attempt reloads the model.
  for (const factor of [0.85, 0.7, 0.55, 0.4, 0.3, 0.2, 0.1]) {
    const chosen = planFor(sizes, memory, width, height, batch, { ...device, vramBytes: (limit * factor) / SAFETY }, adapters).chosen;
    if (!chosen || chosen.peakVramBytes >= limit) continue;
    const choice = { ...choiceOf(chosen), vaeTiled: chosen.vaeTiled || failed.vaeTiled };
    if (seen.has(describePlan(choice))) continue;
    seen.add(describePlan(choice));
    out.push(choice);
  }
  return out;
}

export function choiceOf(p: PlanPrediction): ExecutionChoice {
  return { kind: p.kind, ...(p.groupBlocks ? { groupBlocks: p.groupBlocks } : {}), ...(p.pinnedGroups !== undefined ? { pinnedGroups: p.pinnedGroups } : {}), modulationBlocks: p.modulationBlocks, vaeTiled: p.vaeTiled };
}

/** Errors that mean a device (or the host) ran out of memory, as ONNX Runtime and CUDA word them. */
export function isOutOfMemory(message: string): boolean {
  return /out of memory|failed to allocate memory|bad_alloc|cudaErrorMemoryAllocation|CUBLAS_STATUS_ALLOC_FAILED|CUDNN_STATUS_ALLOC_FAILED|E_OUTOFMEMORY/i.test(message);
}
