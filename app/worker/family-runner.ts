// What the worker asks of a model family's code: open a folder under an execution plan and generate, size
// the folder for the planner, and (optionally) measure its denoiser. Each family implements it in its own
// folder; app/worker/families.ts lists them.

import type { Notice } from '../shared/notices.js';
import type { ResolvedRequest } from '../shared/generation.js';
import type { FamilyId } from '../shared/model-families.js';
import type { Precision } from '../shared/precision.js';
import type { SamplerSettings } from '../shared/samplers.js';
import type { ComponentSizes, ExecutionChoice, GraphMemory } from '../shared/vram-plan.js';
import type { WorkerLora } from '../shared/worker-protocol.js';
import type { ModelFolder } from './model-folder.js';
import type { SessionConfig } from './ort.js';

export type SessionOptions = Omit<SessionConfig, 'externalDataFolder'>;

export interface StepProgress {
  readonly phase: 'encoding' | 'denoising' | 'decoding';
  readonly step: number;
  readonly totalSteps: number;
}

export interface GeneratedImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  readonly durations: { encodeMs: number; denoiseMs: number; decodeMs: number };
}

/** Image-to-image input as the main process sends it: RGB at the request's size, and the strength. */
export interface InitImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  readonly strength: number;
}

export interface GenerateJob {
  readonly request: ResolvedRequest;
  readonly loras: readonly WorkerLora[];
  /** A speed LoRA's sampler; the folder's own scheduler otherwise. */
  readonly sampler?: SamplerSettings;
  readonly initImage?: InitImage;
}

export interface FamilyRunner {
  readonly folder: ModelFolder;
  readonly plan: ExecutionChoice;
  /** The sampler of the folder's scheduler config. */
  readonly sampler: SamplerSettings;
  /** Where it runs, in words, for the recipe. */
  readonly device: string;
  /** The precision the denoiser computes in, for the recipe. */
  readonly precision: Precision;
  generate(job: GenerateJob, onProgress: (p: StepProgress) => void, signal: AbortSignal, onNote: (n: Notice) => void): Promise<GeneratedImage & { readonly sampler: SamplerSettings }>;
  release(): Promise<void>;
}

export interface DenoiserMeasurement {
  readonly loadMs: number;
  /** Making (or checking) a quantized cache, timed apart from loading. */
  readonly quantizeMs: number;
  /** Computing the timestep modulation (once per timestep of a schedule; cached after), for families that split it out. */
  readonly modulationMs?: number;
  /** Blocks per modulation session, for families that split it out. */
  readonly modulationBlocks?: number;
  readonly msPerStep: number[];
  /** Peak resident memory after each step: it must not grow after the first. */
  readonly peakRssAfterStep?: number[];
  readonly peakLoadedParts: number;
}

export interface WorkerFamily {
  readonly id: FamilyId;
  open(folder: ModelFolder, session: SessionOptions, plan: ExecutionChoice, notify: (note: Notice) => void): Promise<FamilyRunner>;
  /** The sizes the planner needs, from the safetensors headers only. */
  sizes(folder: ModelFolder): Promise<ComponentSizes>;
  /** Bytes of `count` style slots riding with the denoiser, fed as `bytesPerValue`-byte values. */
  styleSlotBytes(sizes: ComponentSizes, count: number, bytesPerValue: number): number;
  /**
   * The memory terms of the graphs the family builds for a folder at a size, precision and provider. Absent:
   * the planner estimates them from the sizes (estimatedMemory).
   */
  memory?(folder: ModelFolder, width: number, height: number, precision: Precision, provider: 'cpu' | 'cuda' | 'dml', textTokens: number): Promise<GraphMemory>;
  /** Runs the denoiser alone under a plan on random inputs (studio plan --measure). */
  measure(folder: ModelFolder, plan: ExecutionChoice, size: { width: number; height: number; textTokens: number }, steps: number, session: SessionOptions): Promise<DenoiserMeasurement>;
}
