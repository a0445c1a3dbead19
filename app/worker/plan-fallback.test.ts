// Out-of-memory fallback: a plan that runs out of memory gives way to the next smaller one, the user is
// told, and anything else fails as it is. A CUDA allocation failure cannot happen on this machine (no
// GPU), so the attempt throws ONNX Runtime's own CUDA error text, verbatim.
import { describe, expect, it } from 'vitest';
import { cpuBudget, describePlan, fallbacksAfter, gpuBudget, isOutOfMemory, parsePlan, planFor, type ComponentSizes, type ExecutionChoice, type GraphMemory } from '../shared/vram-plan.js';
import { discoverDevice } from './device.js';
import { withPlanFallback } from './plan-fallback.js';

const GB = 1024 ** 3;
const CUDA_OOM =
  '[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running MatMul node. Name:\'/blocks.12/MatMul\' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 2415919104';

// Full-size Qwen-Image proportions (from the inventories): 60 blocks of 634 MB (a third of it modulation),
// 13.2 GB text encoder, in bf16 as stored: resident fits 80 GB, so the whole ladder is walked.
const budget80 = gpuBudget(80 * GB, 64 * GB);
/** The memory terms graph-memory gives for these proportions (bf16, CUDA, 1024x1024). */
const memory = (precision: 'bf16' | 'f32'): GraphMemory => {
  const w = precision === 'f32' ? 2 : 1;
  return {
    precision,
    textEncoderWeights: 13.17 * GB * w,
    textEncoderActivations: 0.05 * GB * w,
    blockWeights: Array.from({ length: 60 }, () => 0.423 * GB * w),
    transformerOtherWeights: 0.03 * GB * w,
    transformerActivations: 0.25 * GB * w,
    modulationWeightsPerBlock: 0.423 * GB,
    modulationOtherWeights: 0.1 * GB,
    vaeWeights: 0.25 * GB,
    vaeActivations: 1.5 * GB,
    vaeTiledActivations: 0.5 * GB,
    attentionScores: 0,
    converted: { textEncoder: precision === 'f32', transformer: precision === 'f32', vae: true },
  };
};
const bf16 = memory('bf16');
const sizes: ComponentSizes = {
  textEncoderBytes: 13.17 * GB,
  blockBytes: Array.from({ length: 60 }, () => 0.634 * GB),
  transformerOtherBytes: 0.03 * GB,
  vaeBytes: 0.14 * GB,
  bytesPerWeight: 2,
  width: 3072,
  heads: 24,
  headDim: 128,
  textLayers: 28,
  textWidth: 3584,
};

describe('plans by name and out-of-memory fallback', () => {
  it('parses the plans a user can name and refuses the rest', () => {
    expect(parsePlan('streamed:8+tiled')).toEqual({ kind: 'streamed', groupBlocks: 8, vaeTiled: true });
    expect(parsePlan('streamed:4:10')).toEqual({ kind: 'streamed', groupBlocks: 4, pinnedGroups: 10, vaeTiled: false });
    expect(describePlan(parsePlan('int4-streamed:2:3+tiled')!)).toBe('int4-streamed:2:3+tiled');
    expect(() => parsePlan('streamed:4:x')).toThrow(/pinned groups must be a whole number/);
    expect(parsePlan('int4')).toEqual({ kind: 'int4', vaeTiled: false });
    expect(parsePlan('auto')).toBeUndefined();
    expect(() => parsePlan('streamed')).toThrow(/needs the blocks per group/);
    expect(() => parsePlan('int3')).toThrow(/unknown plan/);
    expect(() => parsePlan('resident:2')).toThrow(/takes no block count/);
  });

  it('knows an out-of-memory error when it sees one', () => {
    expect(isOutOfMemory(CUDA_OOM)).toBe(true);
    expect(isOutOfMemory('CUDA failure 2: out of memory ; GPU=0')).toBe(true);
    expect(isOutOfMemory('std::bad_alloc')).toBe(true);
    expect(isOutOfMemory('Invalid input shape')).toBe(false);
  });

  it('falls from the chosen plan to smaller ones until one fits, and says so', async () => {
    const result = planFor(sizes, bf16, 1024, 1024, 1, budget80);
    const first: ExecutionChoice = { kind: result.chosen!.kind, vaeTiled: false };
    expect(first.kind).toBe('resident');
    const tried: string[] = [];
    const notes: string[] = [];
    const outcome = await withPlanFallback(
      first,
      (failed) => fallbacksAfter(sizes, bf16, 1024, 1024, 1, budget80, failed),
      (plan) => {
        tried.push(describePlan(plan));
        // The card turns out to be far smaller than it said: only quantized weights fit.
        if (!plan.kind.startsWith('int')) return Promise.reject(new Error(CUDA_OOM));
        return Promise.resolve('image');
      },
      (from, to) => notes.push(`${describePlan(from)} -> ${describePlan(to)}`),
    );
    expect(outcome.value).toBe('image');
    expect(tried[0]).toBe('resident');
    expect(tried.length).toBeGreaterThan(2);
    expect(new Set(tried).size).toBe(tried.length);
    expect(outcome.plan.kind).toMatch(/^int/);
    expect(notes).toEqual(tried.slice(1).map((t, i) => `${tried[i]} -> ${t}`));
  });

  it('passes other errors through, and gives up with a clear message when nothing smaller is left', async () => {
    await expect(withPlanFallback({ kind: 'resident', vaeTiled: false }, (f) => fallbacksAfter(sizes, bf16, 1024, 1024, 1, budget80, f), () => Promise.reject(new Error('Invalid input shape')), () => undefined)).rejects.toThrow('Invalid input shape');
    await expect(withPlanFallback({ kind: 'resident', vaeTiled: false }, (f) => fallbacksAfter(sizes, bf16, 1024, 1024, 1, budget80, f), () => Promise.reject(new Error(CUDA_OOM)), () => undefined)).rejects.toMatchObject({
      code: 'inference-failed',
      message: expect.stringMatching(/^Out of memory with plan int4-streamed:[\d:]+, and no smaller plan is left \(tried resident, .*\)\. Try a smaller image size/),
    });
  });

  it('plans on the CPU with float32-widened weights, and reports a provider that cannot load with the reason', async () => {
    const cpu = planFor(sizes, memory('f32'), 1024, 1024, 1, cpuBudget(24 * GB, 2));
    // Widened to float32 and converted at load: more than twice the bf16 weights of the text encoder and blocks.
    expect(cpu.plans.find((p) => p.kind === 'resident')!.peakVramBytes).toBeGreaterThan(2 * (13.17 + 25.4) * GB);
    expect(cpu.chosen?.kind).toMatch(/^int/);
    // A provider this platform's onnxruntime-node cannot have (DirectML off Windows, CUDA on Windows): the
    // answer is the same on a machine with a working GPU, unlike asking for CUDA here.
    const absent = process.platform === 'win32' ? 'cuda' : 'dml';
    const device = await discoverDevice([absent, 'cpu'], 2);
    expect(device.summary.provider).toBe('cpu');
    expect(device.summary.unavailable).toEqual([{ provider: absent, reason: expect.stringMatching(/.+/), notices: [expect.objectContaining({ key: expect.stringMatching(/^gpu\./) })] }]);
  });
});
