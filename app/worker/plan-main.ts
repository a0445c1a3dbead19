// `studio plan --model DIR --size WxH [--vram GB]`: the table of execution plans and the one chosen.
// `--measure PLAN` also runs the model's denoiser under that plan (random inputs, --steps steps) and prints
// what it measured next to what was predicted: time per step, peak host memory, peak VRAM on NVIDIA cards.

import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { parseSize } from '../shared/generation.js';
import { choiceOf, describePlan, gpuBudget, modulationPhaseBytes, parsePlan, transformerPhaseBytes, type ExecutionChoice, type PlanReport } from '../shared/vram-plan.js';
import { defaultPrecision, isPrecision, PRECISIONS, type Precision } from '../shared/precision.js';
import { noticeText } from '../shared/notices.js';
import { discoverDevice, usableProviders, type Device } from './device.js';
import { openModelFolder, type ModelFolder } from './model-folder.js';
import { providersFromEnv } from './ort.js';
import { memoryTerms, planReport } from './plan-report.js';
import { workerFamily } from './families.js';

const GB = 1024 ** 3;

/** Polls nvidia-smi from a separate process (session.run blocks this thread) and keeps the highest use. */
function sampleVram(): { stop: () => number | undefined } {
  let peak: number | undefined;
  const child = spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '100'], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.on('error', () => undefined);
  child.stdout.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      const mib = Number(line.trim());
      if (line.trim() && Number.isFinite(mib)) peak = Math.max(peak ?? 0, mib * 1024 * 1024);
    }
  });
  return {
    stop: () => {
      child.kill();
      return peak;
    },
  };
}

export interface Measured {
  readonly plan: string;
  readonly precision: Precision;
  readonly loadMs: number;
  readonly quantizeMs: number;
  /** Computing the timestep modulation (once per timestep of a schedule; cached after). */
  readonly modulationMs: number;
  readonly msPerStep: number[];
  readonly peakRssBytes: number;
  /** Peak resident memory after each step: it must not grow after the first. */
  readonly peakRssAfterStep: number[];
  readonly peakVramBytes?: number;
  readonly peakLoadedParts: number;
  /** The planner's peak for what was measured: the modulation phase, then the transformer's, plus the runtime. */
  readonly predictedPeakBytes: number;
}

async function measure(folder: ModelFolder, plan: ExecutionChoice, width: number, height: number, steps: number, textTokens: number, threads: number, device: Device): Promise<Measured> {
  const vram = sampleVram();
  const precision = device.summary.precision ?? 'f32';
  const providers = usableProviders(providersFromEnv(), device.summary);
  const m = await workerFamily(folder.family).measure(folder, plan, { width, height, textTokens }, steps, { intraOpThreads: threads, providers, precision });
  const peakVramBytes = vram.stop();
  const memory = await memoryTerms(folder, width, height, device, textTokens);
  const predictedPeakBytes =
    Math.max(modulationPhaseBytes(memory, device.budget, m.modulationBlocks), transformerPhaseBytes(memory, device.budget, plan)) + device.budget.runtimeOverheadBytes;
  return {
    plan: describePlan(plan),
    precision,
    loadMs: m.loadMs,
    quantizeMs: m.quantizeMs,
    modulationMs: m.modulationMs ?? 0,
    msPerStep: m.msPerStep,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    peakRssAfterStep: m.peakRssAfterStep ?? [],
    ...(peakVramBytes ? { peakVramBytes } : {}),
    peakLoadedParts: m.peakLoadedParts,
    predictedPeakBytes,
  };
}

function printTable(name: string, report: PlanReport): void {
  const d = report.device;
  process.stdout.write(`${name} at ${report.width}x${report.height} on ${d.name} via ${d.provider} (${(d.memoryBytes / GB).toFixed(1)} GB to plan with):\n`);
  for (const u of d.unavailable) {
    process.stdout.write(`  ${u.provider} unavailable${u.notices?.length ? ':' : `: ${u.reason}`}\n`);
    for (const n of u.notices ?? []) process.stdout.write(`    - ${noticeText(n)}\n`);
  }
  if (d.note) process.stdout.write(`  ${noticeText(d.note)}\n`);
  console.table(
    report.plans.map((p) => ({
      plan: describePlan(choiceOf(p)),
      precision: p.precision,
      'peak GB': (p.peakVramBytes / GB).toFixed(1),
      'text enc GB': (p.phases.textEncoder / GB).toFixed(1),
      'denoiser GB': (p.phases.transformer / GB).toFixed(1),
      'VAE GB': (p.phases.vae / GB).toFixed(1),
      'peak RAM GB': (p.peakRamBytes / GB).toFixed(1),
      's/step': p.secondsPerStep.toFixed(2),
      fits: p.fits ? 'yes' : 'no',
      chosen: p === report.chosen ? '<-' : '',
    })),
  );
  process.stdout.write(report.chosen ? `chosen: ${report.chosen.label}\n` : `${report.advice ? noticeText(report.advice) : ''}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      size: { type: 'string', default: '1024x1024' },
      vram: { type: 'string' },
      ram: { type: 'string' },
      measure: { type: 'string' },
      steps: { type: 'string', default: '2' },
      'text-tokens': { type: 'string', default: '128' },
      json: { type: 'boolean' },
      precision: { type: 'string' },
      provider: { type: 'string' },
    },
    strict: true,
  });
  if (!values.model) {
    process.stderr.write('usage: studio plan --model DIR [--size WxH] [--vram GB [--provider cuda|dml] [--precision bf16|fp16|f32]] [--ram GB] [--measure PLAN [--steps N]] [--json]\n');
    return 2;
  }
  const size = parseSize(values.size);
  if (!size || size.width % 16 || size.height % 16) {
    process.stderr.write(`studio plan: --size must be WxH in multiples of 16, got ${values.size}\n`);
    return 2;
  }
  const threads = Number(process.env.STUDIO_THREADS) || availableParallelism();
  const providers = providersFromEnv();
  // --precision, or STUDIO_PRECISION as the worker reads it.
  values.precision ??= process.env.STUDIO_PRECISION;
  if (values.precision !== undefined && !isPrecision(values.precision)) {
    process.stderr.write(`studio plan: --precision must be one of ${PRECISIONS.join(', ')}, got ${values.precision}\n`);
    return 2;
  }
  const providerText = values.provider ?? 'cuda';
  if (providerText !== 'cuda' && providerText !== 'dml') {
    process.stderr.write(`studio plan: --provider must be cuda or dml (the card --vram plans for), got ${providerText}\n`);
    return 2;
  }
  const provider: 'cuda' | 'dml' = providerText;
  const device = await discoverDevice(providers, threads, values.vram ? Number(values.vram) : undefined, values.vram ? undefined : values.precision);
  // --vram plans for a card of that size even where this machine has none (or only a CPU), in the precision
  // that provider runs (bf16 on CUDA, fp16 on DirectML) unless --precision says otherwise.
  const planned = values.vram
    ? {
        summary: {
          ...device.summary,
          provider,
          name: `a ${values.vram} GB ${provider === 'cuda' ? 'CUDA' : 'DirectML'} card`,
          memoryBytes: Number(values.vram) * GB,
          precision: values.precision ?? defaultPrecision(provider),
        },
        budget: gpuBudget(Number(values.vram) * GB, values.ram ? Number(values.ram) * GB : device.budget.ramBytes, Number(process.env.STUDIO_GPU_TFLOPS) || 150, Number(process.env.STUDIO_PCIE_GBS) || 20),
      }
    : values.ram
      ? { ...device, budget: { ...device.budget, ramBytes: Number(values.ram) * GB } }
      : device;
  const folder = await openModelFolder(values.model);
  const { report } = await planReport(folder, size.width, size.height, planned);
  const measured = values.measure
    ? await measure(folder, parsePlan(values.measure) ?? { kind: 'resident', vaeTiled: false }, size.width, size.height, Number(values.steps), Number(values['text-tokens']), threads, planned)
    : undefined;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...report, ...(measured ? { measured } : {}) })}\n`);
  } else {
    printTable(folder.name, report);
    if (measured) {
      const predicted = report.plans.find((p) => describePlan({ ...choiceOf(p), vaeTiled: false }) === measured.plan.replace('+tiled', ''));
      process.stdout.write(
        `measured ${measured.plan}: load ${(measured.loadMs / 1000).toFixed(1)} s${measured.quantizeMs > 100 ? ` (+ quantizing ${(measured.quantizeMs / 1000).toFixed(1)} s)` : ''}, ` +
          `steps ${measured.msPerStep.map((m) => (m / 1000).toFixed(2)).join(' / ')} s, peak host RSS ${(measured.peakRssBytes / GB).toFixed(2)} GB` +
          `${measured.peakVramBytes ? `, peak VRAM ${(measured.peakVramBytes / GB).toFixed(1)} GB` : ''}` +
          `${predicted ? ` (predicted ${(predicted.peakVramBytes / GB).toFixed(1)} GB, ${predicted.secondsPerStep.toFixed(2)} s/step)` : ''}\n`,
      );
    }
  }
  return report.chosen || measured ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (e) {
  process.stderr.write(`studio plan: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
