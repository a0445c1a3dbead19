// Qwen-Image (and Qwen-Image-2512) as a family of the worker's registry: the runner, the planner's sizes
// and style-slot cost, and the transformer measurement of `studio plan --measure`.

import { FAMILIES } from '../../shared/model-families.js';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import { styleSlotBytes } from '../../shared/vram-plan.js';
import type { FamilyRunner, WorkerFamily } from '../family-runner.js';
import { gaussianNoise } from '../noise.js';
import { openTransformer } from './components.js';
import { graphMemory, graphMemoryInput, type GraphMemoryInput } from './graph-memory.js';
import { modelSizes } from './model-sizes.js';
import { asQwenFolder } from './qwen-folder.js';
import { componentLayouts, QwenImageRunner, STYLE_SLOT_RANK } from './qwen-image-runner.js';

/** The weights and configs the memory terms are built from, opened once per folder. */
const memoryInputs = new Map<string, Promise<GraphMemoryInput>>();

export const qwenImageFamily: WorkerFamily = {
  id: 'qwen-image',

  async open(folder, session, plan, notify): Promise<FamilyRunner> {
    const runner = await QwenImageRunner.open(asQwenFolder(folder), session, plan, notify);
    return {
      folder,
      plan,
      sampler: runner.sampler,
      get device() {
        return runner.device;
      },
      get precision() {
        return runner.precision;
      },
      async generate(job, onProgress, signal, onNote) {
        if (job.initImage) throw new StudioError('invalid-request', notice('error.imageInputUnsupported', { family: FAMILIES['qwen-image'].title }), 'initImage');
        const sampler = job.sampler ?? runner.sampler;
        if (sampler.name !== 'flow-match-euler') throw new StudioError('invalid-request', notice('error.samplerWrongFamily', { sampler: sampler.name, family: FAMILIES['qwen-image'].title }));
        const image = await runner.generate(job.request, onProgress, signal, job.loras, sampler, onNote);
        return { ...image, sampler };
      },
      release: () => runner.release(),
    };
  },

  sizes: (folder) => modelSizes(asQwenFolder(folder)),

  styleSlotBytes: (sizes, count, bytesPerValue) => styleSlotBytes(sizes, count, STYLE_SLOT_RANK, bytesPerValue),

  async memory(folder, width, height, precision, provider, textTokens) {
    let input = memoryInputs.get(folder.dir);
    if (!input) {
      input = graphMemoryInput(asQwenFolder(folder));
      memoryInputs.set(folder.dir, input);
      input.catch(() => memoryInputs.delete(folder.dir));
    }
    return graphMemory(await input, width, height, precision, provider, textTokens);
  },

  async measure(folder, plan, size, steps, session) {
    const qwen = asQwenFolder(folder);
    const t0 = performance.now();
    let quantizeMs = 0;
    const layouts = componentLayouts(qwen, plan);
    const model = await openTransformer(qwen.components.transformer, qwen.root, session, [], undefined, async (weights) => {
      // The layout makes (or checks) the n-bit cache: timed apart from loading.
      const q0 = performance.now();
      const layout = await layouts.transformer!(weights);
      quantizeMs = performance.now() - q0;
      return layout;
    });
    const msPerStep: number[] = [];
    const peakRssAfterStep: number[] = [];
    try {
      // As a job does: the schedule's modulation first (its sessions come and go), then the blocks load.
      const m0 = performance.now();
      await model.prepareModulation([0.9]);
      const modulationMs = performance.now() - m0;
      await model.load();
      const loadMs = performance.now() - t0 - quantizeMs - modulationMs;
      const cfg = model.config;
      const gridH = size.height / 16;
      const gridW = size.width / 16;
      const input = {
        hidden: gaussianNoise(1, gridH * gridW * cfg.inChannels),
        batch: 1,
        gridH,
        gridW,
        encoder: gaussianNoise(2, size.textTokens * cfg.jointAttentionDim),
        textTokens: size.textTokens,
        textLengths: [size.textTokens],
        timesteps: Float32Array.of(0.9),
      };
      for (let i = 0; i < steps; i++) {
        const s = performance.now();
        await model.run(input);
        msPerStep.push(performance.now() - s);
        peakRssAfterStep.push(process.resourceUsage().maxRSS * 1024);
      }
      return { loadMs, quantizeMs, modulationMs, modulationBlocks: model.layout.modulationBlocks, msPerStep, peakRssAfterStep, peakLoadedParts: model.peakLoadedParts };
    } finally {
      await model.release();
    }
  },
};
