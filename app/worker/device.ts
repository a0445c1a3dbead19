// What this machine can run on: which execution providers load, the GPU's name and memory, system RAM,
// and the budget plans are fitted into. A provider that cannot load is a reason in the summary, not a crash.

import { execFile } from 'node:child_process';
import { freemem, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { cpuBudget, gpuBudget, type DeviceBudget, type DeviceSummary } from '../shared/vram-plan.js';
import { DataType } from './onnx/onnx-model.js';
import { GraphBuilder } from './onnx/graph-builder.js';
import { createSession, PROVIDER_NAMES, type Provider } from './ort.js';
import { gpuStatus } from './gpu/gpu-runtime.js';
import { notice, noticeText, type Notice } from '../shared/notices.js';
import { defaultPrecision, type Precision } from '../shared/precision.js';

const GB = 1024 ** 3;

export interface Gpu {
  readonly name: string;
  readonly totalBytes: number;
  readonly freeBytes: number;
  /** CUDA compute capability, e.g. 8.9 (bfloat16 needs 8.0). */
  readonly computeCapability?: number;
  readonly driverVersion?: string;
}

/** The first NVIDIA card as nvidia-smi reports it (Linux and Windows drivers ship it); undefined without one. */
export async function nvidiaGpu(): Promise<Gpu | undefined> {
  try {
    const { stdout } = await promisify(execFile)('nvidia-smi', ['--query-gpu=name,memory.total,memory.free,compute_cap,driver_version', '--format=csv,noheader,nounits'], { timeout: 5000 });
    return parseNvidiaSmi(stdout);
  } catch {
    return undefined;
  }
}

/** One CSV line of nvidia-smi's query: name, total MiB, free MiB, compute capability, driver version. */
export function parseNvidiaSmi(stdout: string): Gpu | undefined {
  const [name, total, free, cap, driver] = stdout.trim().split('\n')[0]!.split(',').map((s) => s.trim());
  if (!name || !Number(total)) return undefined;
  const computeCapability = Number(cap);
  return {
    name,
    totalBytes: Number(total) * 1024 * 1024,
    freeBytes: Number(free) * 1024 * 1024,
    ...(Number.isFinite(computeCapability) && computeCapability > 0 ? { computeCapability } : {}),
    ...(driver && driver !== '[N/A]' ? { driverVersion: driver } : {}),
  };
}

/** Whether a provider can create a session here: a one-node graph, so this costs a provider's start-up only. */
export async function providerLoads(provider: Provider): Promise<{ ok: true } | { ok: false; reason: string }> {
  const g = new GraphBuilder('probe');
  g.output(g.input('x', DataType.FLOAT, [1]), 'y', DataType.FLOAT, [1]);
  try {
    const session = await createSession(g.encode({ '': 21 }), { externalDataFolder: '.', intraOpThreads: 1, providers: [provider] });
    await session.release();
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message.replace(/^no execution provider could run the model: \w+: /, '') };
  }
}

/**
 * What is missing for a provider that did not load, and what to do: for CUDA, the driver, the runtime
 * folder and each library the provider needs (gpu-runtime's status), else ONNX Runtime's own reason.
 */
export async function whyUnavailable(provider: Provider, reason: string): Promise<Notice[]> {
  const known = provider === 'cuda' ? await cudaProblems() : [];
  return known.length > 0 ? known : [notice('gpu.providerFailed', { provider: PROVIDER_NAMES[provider], reason })];
}

/** What the CUDA provider lacks here (driver, runtime folder, libraries), as notices; empty when nothing is known to be missing. */
async function cudaProblems(): Promise<Notice[]> {
  const gpu = await nvidiaGpu();
  const status = await gpuStatus(gpu ? { name: gpu.name, ...(gpu.driverVersion ? { version: gpu.driverVersion } : {}) } : undefined);
  return [...status.problems];
}

/** The providers sessions should try on this device: the asked-for list without the ones that could not load. */
export function usableProviders(providers: readonly Provider[], summary: DeviceSummary): Provider[] {
  const out = providers.filter((p) => !summary.unavailable.some((u) => u.provider === p));
  return out.length > 0 ? out : ['cpu'];
}

export interface Device {
  readonly summary: DeviceSummary;
  readonly budget: DeviceBudget;
}

/**
 * Discovers the device for a provider list (tried in order, as sessions will be). `vramGB` replaces the
 * reported memory (to plan for another card, or to enforce a budget below the card's size).
 */
export async function discoverDevice(providers: readonly Provider[], threads: number, vramGB?: number, precision?: Precision): Promise<Device> {
  const unavailable: { provider: string; reason: string; notices: Notice[] }[] = [];
  let provider: Provider = 'cpu';
  for (const p of providers) {
    if (p === 'cpu') break;
    // CUDA is asked for only when nothing it needs is known to be missing: the answer is then precise,
    // and ONNX Runtime never loads a provider whose libraries are absent.
    const known = p === 'cuda' ? await cudaProblems() : [];
    if (known.length > 0) {
      unavailable.push({ provider: p, reason: noticeText(known[0]!), notices: known });
      continue;
    }
    const r = await providerLoads(p);
    if (r.ok) {
      provider = p;
      break;
    }
    unavailable.push({ provider: p, reason: r.reason, notices: await whyUnavailable(p, r.reason) });
  }
  const ramBytes = totalmem();
  const tflops = Number(process.env.STUDIO_GPU_TFLOPS) || 150;
  const pcieGBs = Number(process.env.STUDIO_PCIE_GBS) || 20;
  if (provider === 'cpu') {
    const budget = cpuBudget(vramGB ? vramGB * GB : ramBytes, threads);
    return {
      summary: { provider, name: `CPU (${threads} threads)`, threads, memoryBytes: budget.vramBytes, freeBytes: freemem(), ramBytes, unavailable, precision: precision ?? defaultPrecision('cpu') },
      budget,
    };
  }
  const gpu = await nvidiaGpu();
  // DirectML does not report memory through anything this process can ask without native code.
  const assumed = !gpu && !vramGB;
  const vramBytes = vramGB ? vramGB * GB : (gpu?.totalBytes ?? 8 * GB);
  return {
    summary: {
      provider,
      name: gpu?.name ?? (provider === 'dml' ? 'DirectML GPU' : 'GPU'),
      memoryBytes: vramBytes,
      ...(gpu ? { freeBytes: gpu.freeBytes } : {}),
      ramBytes,
      unavailable,
      precision: precision ?? defaultPrecision(provider, gpu?.computeCapability),
      ...(gpu?.computeCapability ? { computeCapability: gpu.computeCapability } : {}),
      ...(assumed ? { note: notice('device.vramAssumed') } : {}),
    },
    budget: gpuBudget(vramBytes, ramBytes, tflops, pcieGBs),
  };
}
