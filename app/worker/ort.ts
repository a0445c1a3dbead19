// The one module that touches onnxruntime-node: provider table, session options, input checks, release.

import type * as Ort from 'onnxruntime-node';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { installedRuntime } from './gpu/gpu-runtime.js';
import { providerPrecisions, type Precision } from '../shared/precision.js';
import { notice, noticeText } from '../shared/notices.js';
import { StudioError } from '../shared/result.js';

/** onnxruntime-node is CommonJS: imported from ESM, its exports arrive as the default export. */
export type OrtModule = (typeof Ort)['default'];
export type Session = Ort.InferenceSession;
export type OrtTensor = Ort.Tensor;

let loaded: Promise<OrtModule> | undefined;

/**
 * Imported on first use, never at module load, so processes that only plan or validate stay light. From
 * the GPU runtime folder when one is installed (the same onnxruntime-node with the CUDA provider beside it,
 * see gpu/gpu-runtime.ts), else the one the studio ships.
 */
export function loadOrt(): Promise<OrtModule> {
  loaded ??= (async () => {
    const runtime = process.env.STUDIO_GPU_RUNTIME === 'off' ? undefined : installedRuntime();
    if (runtime) return ((await import(pathToFileURL(join(runtime.layout.ortDir, 'dist', 'index.js')).href)) as { default: OrtModule }).default;
    return (await import('onnxruntime-node')).default;
  })();
  return loaded;
}

/** Where onnxruntime-node was loaded from: the GPU runtime folder or the shipped package. */
export function ortSource(): 'gpu-runtime' | 'bundled' {
  return process.env.STUDIO_GPU_RUNTIME !== 'off' && installedRuntime() ? 'gpu-runtime' : 'bundled';
}

/**
 * The providers to try when STUDIO_PROVIDERS does not say: DirectML then the CPU on Windows (DirectML ships
 * with onnxruntime-node there), CUDA then the CPU on Linux once the GPU runtime is installed, else the CPU.
 */
export function defaultProviders(platform = process.platform): Provider[] {
  if (platform === 'win32') return ['dml', 'cpu'];
  if (platform === 'linux' && process.env.STUDIO_GPU_RUNTIME !== 'off' && installedRuntime()) return ['cuda', 'cpu'];
  return ['cpu'];
}

export type Provider = 'cuda' | 'dml' | 'cpu';
export const PROVIDERS: readonly Provider[] = ['cuda', 'dml', 'cpu'];

export interface SessionConfig {
  /** The folder that external-data locations are resolved against. */
  readonly externalDataFolder: string;
  /** Fixed so that results are reproducible run to run; 0 lets ONNX Runtime choose. */
  readonly intraOpThreads: number;
  /** Tried in order; the first that creates the session wins. Default: the CPU provider. */
  readonly providers?: readonly Provider[];
  /** The precision the graph computes in: a provider without it is skipped (the CPU has no bfloat16). */
  readonly precision?: Precision;
  /** False for sessions that live for one run (streamed groups): no CPU arena holding their peak after. */
  readonly cpuArena?: boolean;
  /** Told which provider was used, and why the ones before it were not. */
  readonly onProvider?: (used: Provider, skipped: readonly { provider: Provider; reason: string }[]) => void;
}

/** The providers to try on this platform, from STUDIO_PROVIDERS (e.g. "cuda,cpu") or the default. */
export function providersFromEnv(value = process.env.STUDIO_PROVIDERS): Provider[] {
  if (!value) return defaultProviders();
  const list = value.split(',').map((p) => p.trim().toLowerCase());
  const bad = list.filter((p) => !PROVIDERS.includes(p as Provider));
  if (bad.length > 0) throw new Error(`STUDIO_PROVIDERS names unknown providers: ${bad.join(', ')} (known: ${PROVIDERS.join(', ')})`);
  return list as Provider[];
}

/**
 * Creates the session on the first provider that loads. A provider that cannot load (no CUDA libraries,
 * no DirectML device) throws a catchable error in ONNX Runtime; it is recorded and the next one is tried.
 */
export async function createSession(model: Uint8Array, config: SessionConfig): Promise<Session> {
  const providers = config.providers ?? ['cpu'];
  const skipped: { provider: Provider; reason: string }[] = [];
  const precision = config.precision ?? 'f32';
  for (const provider of providers) {
    if (!providerPrecisions(provider).includes(precision)) {
      skipped.push({ provider, reason: noticeText(precisionUnsupported(provider, precision)) });
      continue;
    }
    try {
      const session = await createOn(provider, model, config);
      config.onProvider?.(provider, skipped);
      return session;
    } catch (e) {
      skipped.push({ provider, reason: (e as Error).message.split('\n')[0]!.slice(0, 300) });
    }
  }
  if (skipped.every((s) => !providerPrecisions(s.provider).includes(precision))) {
    throw new StudioError('invalid-request', precisionUnsupported(providers[providers.length - 1] ?? 'cpu', precision), precision);
  }
  throw new Error(`no execution provider could run the model: ${skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ')}`);
}

/** The notice for a precision a provider has no kernels for, naming the ones it has. */
export function precisionUnsupported(provider: Provider, precision: Precision) {
  return notice('error.precisionUnsupported', { provider: PROVIDER_NAMES[provider], precision, supported: providerPrecisions(provider).join(', ') });
}

export const PROVIDER_NAMES: Record<Provider, string> = { cuda: 'CUDA', dml: 'DirectML', cpu: 'CPU' };

async function createOn(provider: Provider, model: Uint8Array, config: SessionConfig): Promise<Session> {
  const ort = await loadOrt();
  // The Node binding passes only the device id to CUDA and DirectML (js/node/src/session_options_helper.cc):
  // no memory limit or arena strategy reaches them, so plans keep a margin instead (shared/vram-plan.ts).
  // Session config entries do reach the runtime: on a GPU, weights are allocated outside the arena (no
  // doubling for them), and a node the GPU cannot run fails the session instead of moving to the CPU.
  const gpu = provider !== 'cpu';
  return ort.InferenceSession.create(model, {
    executionProviders: [provider],
    enableMemPattern: memPatternFor(provider),
    ...(config.cpuArena === false ? { enableCpuMemArena: false } : {}),
    // A provider that cannot load is an expected, reported fallback, not an error worth a log line.
    logSeverityLevel: provider === 'cpu' ? 2 : 4,
    graphOptimizationLevel: 'all',
    intraOpNumThreads: config.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    extra: {
      session: {
        model_external_initializers_file_folder_path: config.externalDataFolder,
        // Prepacking copies MatMul weights into anonymous memory; without it they stay memory-mapped.
        disable_prepacking: '1',
        ...(gpu ? { use_device_allocator_for_initializers: '1', disable_cpu_ep_fallback: '1' } : {}),
      },
    },
  });
}

/**
 * ONNX Runtime's memory pattern (on by default) plans one block for all of a run's intermediates from the
 * second run on, next to what the first run allocated: measured on the CPU it doubles resident memory
 * (demo VAE at 1024x1024, medium transformer) for no gain in step time (npm run bench:engine). DirectML
 * requires it off. CUDA's arena reuses its blocks either way; off there too until the GPU check script
 * (scripts/gpu-check.sh) says otherwise. STUDIO_MEM_PATTERN=on|off overrides, for that measurement.
 */
export const MEM_PATTERN: Record<Provider, boolean> = { cpu: false, cuda: false, dml: false };

function memPatternFor(provider: Provider): boolean {
  const forced = process.env.STUDIO_MEM_PATTERN;
  return forced === 'on' ? true : forced === 'off' ? false : MEM_PATTERN[provider];
}

export async function floatTensor(data: Float32Array, dims: readonly number[]): Promise<OrtTensor> {
  const ort = await loadOrt();
  return new ort.Tensor('float32', data, dims);
}

/** Float32 values as IEEE half-precision bits, rounded to nearest even (what a float16 graph input takes). */
export function toFloat16Bits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = mant & ((1 << shift) - 1);
      let h = mant >>> shift;
      if (rest > half || (rest === half && h & 1)) h++;
      out[i] = sign | h;
    } else {
      let h = (e << 10) | (mant >>> 13);
      const rest = mant & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
      out[i] = sign | h;
    }
  }
  return out;
}

export async function float16Tensor(data: Float32Array, dims: readonly number[]): Promise<OrtTensor> {
  const ort = await loadOrt();
  return new ort.Tensor('float16', toFloat16Bits(data), dims);
}

export async function int64Tensor(data: BigInt64Array, dims: readonly number[]): Promise<OrtTensor> {
  const ort = await loadOrt();
  return new ort.Tensor('int64', data, dims);
}

/** Runs a session after checking that the feeds are exactly its inputs, naming shapes in every error. */
export async function run(session: Session, label: string, feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
  const expected = [...session.inputNames].sort();
  const given = Object.keys(feeds).sort();
  if (expected.join() !== given.join()) {
    throw new Error(`${label}: inputs [${given.join(', ')}] do not match the graph's [${expected.join(', ')}]`);
  }
  try {
    return await session.run(feeds);
  } catch (e) {
    const shapes = Object.entries(feeds)
      .map(([k, t]) => `${k}: ${t.type}[${t.dims.join(', ')}]`)
      .join('; ');
    throw new Error(`${label} failed with inputs {${shapes}}: ${(e as Error).message}`, { cause: e });
  }
}

export function outputFloats(outputs: Record<string, OrtTensor>, name: string): Float32Array {
  const t = outputs[name];
  if (!t) throw new Error(`missing output ${name}`);
  if (t.type !== 'float32') throw new Error(`output ${name} is ${t.type}, expected float32`);
  return t.data as Float32Array;
}

export async function release(session: Session | undefined): Promise<void> {
  await session?.release();
}

/**
 * A session that exists only while it is needed: created on first use from its graph, released by
 * unload(). Plans that keep one component on the device at a time (or stream groups of transformer blocks
 * through it) unload what they have finished with; the graph bytes stay, so loading again is cheap to ask for.
 */
export class LazySession {
  private session: Session | undefined;
  private creating: Promise<Session> | undefined;

  constructor(
    readonly label: string,
    private readonly graph: Uint8Array,
    private readonly config: SessionConfig,
  ) {}

  get loaded(): boolean {
    return this.session !== undefined;
  }

  async get(): Promise<Session> {
    if (this.session) return this.session;
    this.creating ??= createSession(this.graph, this.config).finally(() => (this.creating = undefined));
    this.session = await this.creating;
    return this.session;
  }

  /** Runs with the feeds this graph declares, picked from a larger set (parts of a split graph share one). */
  async run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
    const session = await this.get();
    const picked: Record<string, OrtTensor> = {};
    for (const name of session.inputNames) {
      const t = feeds[name];
      if (t) picked[name] = t;
    }
    return run(session, this.label, picked);
  }

  async unload(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.release();
  }
}
