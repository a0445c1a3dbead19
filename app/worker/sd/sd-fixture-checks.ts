// Checks the Stable Diffusion family components (SDXL-Turbo, SD-Turbo, LCM) and the CLIP tokenizer against
// their reference fixture folders. Every name, shape and setting is read from the manifest. With
// `--precision fp16` the components run their float16 graphs and the pipeline runs as a job would on a
// float16 device (sd-precision: the SDXL VAE upcast); tolerances widen as HALF_TOLERANCE says.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { caseResult, FixtureCases, HALF_SD_PIPELINE_TOLERANCE, HALF_TOLERANCE, readManifest, UnsupportedFixture, type CaseResult, type FixtureManifest, type FixtureOptions } from '../fixtures/fixture-folder.js';
import type { GraphPrecision } from '../qwen-image/graph-ops.js';
import type { SessionOptions } from './sd-components.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { alphasCumprod, discreteSamplerFromConfig, discreteSchedule, trainSigmas, type DiscreteSamplerName } from '../../shared/discrete-samplers.js';
import { AutoencoderKl } from './autoencoder-kl.js';
import { ClipTextEncoder } from './clip-text-encoder.js';
import { concatChannels } from './prompt-embeds.js';
import { UnetModel, type UnetInput } from './unet-model.js';
import { ancestralSigmas, DiscreteSampler } from './sampler-steps.js';
import { loadSdLora, sgmModuleName } from './sd-lora.js';
import { openSdPipeline } from './sd-components.js';
import type { SdPrompt } from './prompt-embeds.js';

type Checker = (dir: string, m: FixtureManifest, o: FixtureOptions) => AsyncGenerator<CaseResult>;

interface TensorSpec {
  readonly key: string;
  readonly shape: number[];
}
interface CaseSpec {
  readonly name: string;
  readonly inputs: Record<string, TensorSpec>;
  readonly outputs: Record<string, TensorSpec>;
  readonly [k: string]: unknown;
}

/** Sessions on the CPU provider (or the given ones), one thread: reproducible. `precision` is the plan's. */
function sessionFor(o: FixtureOptions): SessionOptions {
  return { intraOpThreads: 1, ...(o.providers ? { providers: o.providers } : {}), precision: o.precision ?? 'f32' };
}

/** A component's graphs in the checked precision. */
function graphFor(o: FixtureOptions): GraphPrecision {
  return { precision: o.precision ?? 'f32', target: o.providers?.[0] ?? 'cpu' };
}

const half = (o: FixtureOptions) => o.precision !== undefined && o.precision !== 'f32';

/** The manifest's float32 tolerance, widened to HALF_TOLERANCE in half precision. */
function tolerance(m: FixtureManifest, o: FixtureOptions = {}): { atol: number; rtol: number } {
  const t = (m.tolerance_suggestion ?? {}) as Record<string, unknown>;
  const base = { atol: typeof t.atol === 'number' ? t.atol : 1e-4, rtol: typeof t.rtol === 'number' ? t.rtol : 0 };
  return half(o) ? { atol: Math.max(base.atol, HALF_TOLERANCE.atol), rtol: Math.max(base.rtol, HALF_TOLERANCE.rtol) } : base;
}

/** A folder named in a manifest string such as "../text_encoder_2/config.json + ...". */
function folderFrom(dir: string, spec: string): string {
  const first = resolve(dir, spec.split(' ')[0]!);
  return /\.(json|safetensors)$/.test(first) ? dirname(first) : first;
}

async function* clipTokenizer(dir: string, m: FixtureManifest): AsyncGenerator<CaseResult> {
  const data = JSON.parse(await readFile(join(dir, m.cases_file ?? 'cases.json'), 'utf8')) as {
    cases: { name: string; text: string; ids: number[]; ids_77_pad_eos?: number[]; ids_77_pad_0?: number[] }[];
  };
  const padEos = await ClipTokenizer.fromFolder(dir);
  const pad0 = existsSync(join(dir, 'tokenizer_2')) ? await ClipTokenizer.fromFolder(join(dir, 'tokenizer_2'), dir) : undefined;
  const exact = (name: string, output: string, ours: readonly number[], want: readonly number[]): CaseResult => {
    const same = ours.length === want.length && ours.every((v, i) => v === want[i]);
    const mismatches = same ? 0 : Math.max(ours.length, want.length) - ours.filter((v, i) => v === want[i]).length;
    return { family: m.family, component: m.component, case: name, output, maxAbs: mismatches, maxRel: 0, atol: 0, rtol: 0, pass: same, note: 'exact: maxAbs counts ids that differ' };
  };
  for (const c of data.cases) {
    yield exact(c.name, 'ids', padEos.encode(c.text), c.ids);
    if (c.ids_77_pad_eos) yield exact(c.name, 'ids_77_pad_eos', padEos.encodePadded(c.text, c.ids_77_pad_eos.length), c.ids_77_pad_eos);
    if (c.ids_77_pad_0) {
      if (!pad0) throw new UnsupportedFixture(`${dir} has ids_77_pad_0 cases but no tokenizer_2/ configuration`);
      yield exact(c.name, 'ids_77_pad_0', pad0.encodePadded(c.text, c.ids_77_pad_0.length), c.ids_77_pad_0);
    }
  }
}

/** SDXL: both CLIP encoders, every hidden state, the pooled outputs and encode_prompt's result. */
async function* sdxlTextEncoders(dir: string, m: FixtureManifest, o: FixtureOptions): AsyncGenerator<CaseResult> {
  const session = sessionFor(o);
  const files = m.files as Record<string, string>;
  const te2Dir = folderFrom(dir, files.text_encoder_2 ?? '../text_encoder_2');
  const root = resolve(dir, '..');
  const use = (layers: number) => ({ hiddenIndex: layers - 1, finalNorm: false, pooled: true, allHiddenStates: true });
  const te1 = await ClipTextEncoder.open(dir, root, 'text_encoder', false, { hiddenIndex: 0, finalNorm: false, pooled: false }, session);
  const te2 = await ClipTextEncoder.open(te2Dir, root, 'text_encoder_2', true, { hiddenIndex: 0, finalNorm: false, pooled: false }, session);
  const enc1 = ClipTextEncoder.fromWeights(te1.weights, te1.config, use(te1.config.layers), session, [], graphFor(o));
  const enc2 = ClipTextEncoder.fromWeights(te2.weights, te2.config, use(te2.config.layers), session, [], graphFor(o));
  const cases = await FixtureCases.open(join(dir, 'cases.safetensors'));
  const { atol, rtol } = tolerance(m, o);
  try {
    for (const c of m.cases as CaseSpec[]) {
      const [batch, tokens] = c.inputs.input_ids!.shape as [number, number];
      const o1 = await enc1.run(await cases.ints(c.inputs.input_ids!.key), batch);
      const o2 = await enc2.run(await cases.ints(c.inputs.input_ids_2!.key), batch);
      const ours: Record<string, Float32Array | undefined> = {
        'te1.all_hidden_states': o1.allHiddenStates,
        'te1.last_hidden_state': o1.lastHiddenState,
        'te1.pooler_output': o1.pooled,
        'te2.all_hidden_states': o2.allHiddenStates,
        'te2.last_hidden_state': o2.lastHiddenState,
        'te2.pooler_output': o2.pooled,
        'te2.text_embeds': o2.textEmbeds,
        prompt_embeds: concatChannels(o1.hidden, te1.config.hidden, o2.hidden, te2.config.hidden, batch * tokens),
        pooled_prompt_embeds: o2.textEmbeds,
      };
      for (const [name, spec] of Object.entries(c.outputs)) {
        const actual = ours[name];
        if (!actual) throw new UnsupportedFixture(`text encoder output ${name} of case ${c.name} is not one the studio computes`);
        yield caseResult(m, c.name, name, actual, await cases.floats(spec.key), atol, rtol);
      }
    }
  } finally {
    await Promise.all([te1.release(), te2.release(), enc1.release(), enc2.release()]);
  }
}

/** SD 2.x: one CLIP encoder whose normed last layer is the prompt embedding. */
async function* sdTextEncoder(dir: string, m: FixtureManifest, o: FixtureOptions): AsyncGenerator<CaseResult> {
  const session = sessionFor(o);
  const probe = await ClipTextEncoder.open(dir, resolve(dir, '..'), 'text_encoder', false, { hiddenIndex: 0, finalNorm: false, pooled: false }, session);
  const layers = probe.config.layers;
  const enc = ClipTextEncoder.fromWeights(probe.weights, probe.config, { hiddenIndex: layers, finalNorm: true, pooled: false, allHiddenStates: true }, session, [], graphFor(o));
  const cases = await FixtureCases.open(join(dir, 'cases.safetensors'));
  const { atol, rtol } = tolerance(m, o);
  try {
    for (const c of m.cases as CaseSpec[]) {
      const [batch] = c.inputs.input_ids!.shape as [number];
      const o = await enc.run(await cases.ints(c.inputs.input_ids!.key), batch);
      const ours: Record<string, Float32Array | undefined> = { all_hidden_states: o.allHiddenStates, last_hidden_state: o.lastHiddenState, prompt_embeds: o.hidden };
      for (const [name, spec] of Object.entries(c.outputs)) {
        const actual = ours[name];
        if (!actual) throw new UnsupportedFixture(`text encoder output ${name} of case ${c.name} is not one the studio computes`);
        yield caseResult(m, c.name, name, actual, await cases.floats(spec.key), atol, rtol);
      }
    }
  } finally {
    await Promise.all([probe.release(), enc.release()]);
  }
}

/** text_encoder_2's cases live with text_encoder's (the SDXL pipeline runs both on the same prompt). */
async function* sdxlTextEncoder2(dir: string, m: FixtureManifest, o: FixtureOptions): AsyncGenerator<CaseResult> {
  const sibling = resolve(dir, '..', 'text_encoder');
  const manifest = await readManifest(sibling);
  for await (const r of sdxlTextEncoders(sibling, manifest, o)) {
    if (r.output.startsWith('te2.') || r.output === 'pooled_prompt_embeds') yield { ...r, component: m.component };
  }
}

/** AutoencoderKL: decode cases (z -> sample) and encode cases (x -> mean, logvar and what follows from them). */
async function* vae(dir: string, m: FixtureManifest, o: FixtureOptions): AsyncGenerator<CaseResult> {
  const model = await AutoencoderKl.open(dir, dir, sessionFor(o), graphFor(o));
  const cases = await FixtureCases.open(join(dir, 'cases.safetensors'));
  const { atol, rtol } = tolerance(m, o);
  try {
    for (const c of m.cases as CaseSpec[]) {
      if (c.inputs.z) {
        const [b, , h, w] = c.inputs.z.shape;
        const out = await model.decode(await cases.floats(c.inputs.z.key), b!, h!, w!);
        yield caseResult(m, c.name, 'sample', out, await cases.floats(c.outputs.sample!.key), atol, rtol);
      } else if (c.inputs.x) {
        const [b, , h, w] = c.inputs.x.shape;
        const { mean, logvar } = await model.encode(await cases.floats(c.inputs.x.key), b!, h!, w!);
        const { scalingFactor, shiftFactor } = model.config;
        const ours: Record<string, Float32Array> = {
          mean,
          logvar,
          std: logvar.map((v) => Math.exp(0.5 * v)),
          mean_times_scaling_factor: mean.map((v) => (v - shiftFactor) * scalingFactor),
        };
        for (const [name, spec] of Object.entries(c.outputs)) {
          const actual = ours[name];
          if (!actual) throw new UnsupportedFixture(`VAE output ${name} of case ${c.name} is not one the studio computes`);
          yield caseResult(m, c.name, name, actual, await cases.floats(spec.key), atol, rtol);
        }
      } else throw new UnsupportedFixture(`VAE case ${c.name} has neither z nor x`);
    }
  } finally {
    await model.release();
  }
}

/** The UNet call of a fixture case, from its stored inputs. */
async function unetInput(cases: FixtureCases, inputs: Record<string, TensorSpec>): Promise<UnetInput> {
  const [batch, , height, width] = inputs.sample!.shape as [number, number, number, number];
  const [, tokens] = inputs.encoder_hidden_states!.shape as [number, number];
  const timesteps = await cases.floats(inputs.timestep!.key);
  return {
    sample: await cases.floats(inputs.sample!.key),
    batch,
    height,
    width,
    // A 0-dimensional timestep applies to the whole batch.
    timesteps: timesteps.length === batch ? timesteps : new Float32Array(batch).fill(timesteps[0]!),
    context: await cases.floats(inputs.encoder_hidden_states!.key),
    tokens,
    ...(inputs.text_embeds ? { textEmbeds: await cases.floats(inputs.text_embeds.key) } : {}),
    ...(inputs.time_ids ? { timeIds: await cases.floats(inputs.time_ids.key) } : {}),
    ...(inputs.timestep_cond ? { timestepCond: await cases.floats(inputs.timestep_cond.key) } : {}),
  };
}

async function* unet(dir: string, m: FixtureManifest, o: FixtureOptions): AsyncGenerator<CaseResult> {
  const model = await UnetModel.open(dir, dir, sessionFor(o), [], undefined, graphFor(o));
  const cases = await FixtureCases.open(join(dir, 'cases.safetensors'));
  const { atol, rtol } = tolerance(m, o);
  try {
    for (const c of m.cases as CaseSpec[]) {
      const out = await model.run(await unetInput(cases, c.inputs));
      for (const [name, spec] of Object.entries(c.outputs)) yield caseResult(m, c.name, name, out, await cases.floats(spec.key), atol, rtol);
    }
  } finally {
    await model.release();
  }
}

/** The sampler a reference scheduler class stands for. */
function samplerNameOf(className: string): DiscreteSamplerName {
  if (className.endsWith('EulerAncestralDiscreteScheduler')) return 'euler-ancestral';
  if (className.endsWith('LCMScheduler')) return 'lcm';
  if (className.endsWith('EulerDiscreteScheduler')) return 'euler';
  throw new UnsupportedFixture(`scheduler class ${className} is not one the studio implements`);
}

interface ScheduleData {
  readonly configs: Record<string, Record<string, unknown>>;
  readonly classes?: Record<string, string>;
  readonly step_cases?: (CaseSpec & { scheduler: string; num_inference_steps: number; step_index: number })[];
  readonly [config: string]: unknown;
}

/** Timesteps, sigmas and per-step constants of every schedule, then single steps on stored inputs. */
async function* scheduler(dir: string, m: FixtureManifest): AsyncGenerator<CaseResult> {
  const data = JSON.parse(await readFile(join(dir, m.cases_file ?? 'schedules.json'), 'utf8')) as ScheduleData;
  const tol = m.tolerance_suggestion ?? {};
  const atol = tol.schedule_atol ?? 1e-6;
  const stepAtol = tol.step_outputs_atol ?? 1e-5;
  const settingsOf = (name: string) => {
    const config = data.configs[name];
    if (!config) throw new UnsupportedFixture(`schedules.json has no config ${name}`);
    return discreteSamplerFromConfig(config, samplerNameOf(data.classes?.[name] ?? String(config._class_name)));
  };
  for (const name of Object.keys(data.configs)) {
    const block = data[name] as { schedules?: Record<string, unknown>[] } | undefined;
    const settings = settingsOf(name);
    for (const sch of block?.schedules ?? []) {
      const steps = sch.steps as number;
      const ours = discreteSchedule(steps, settings);
      const label = `${name}_${steps}steps`;
      yield caseResult(m, label, 'timesteps', ours.timesteps, sch.timesteps as number[], 0, 0);
      if (Array.isArray(sch.sigmas)) yield caseResult(m, label, 'sigmas', ours.sigmas, sch.sigmas as number[], atol, 1e-6);
      if (typeof sch.init_noise_sigma === 'number') yield caseResult(m, label, 'init_noise_sigma', [ours.initNoiseSigma], [sch.init_noise_sigma], atol, 1e-6);
      const per = (sch.per_step as Record<string, number | boolean>[] | undefined) ?? [];
      if (per.length === 0) continue;
      const sampler = new DiscreteSampler(settings, ours);
      const values = (key: string) => per.map((p) => Number(p[key]));
      if (settings.name === 'lcm') {
        const alphas = alphasCumprod(settings);
        yield caseResult(m, label, 'alpha_prod_t', ours.timesteps.map((t) => alphas[t]!), values('alpha_prod_t'), atol, 1e-6);
        yield caseResult(m, label, 'draws_noise', ours.timesteps.map((_, i) => Number(sampler.drawsNoise(i))), values('draws_noise'), 0, 0);
      } else {
        const sig = ours.timesteps.map((_, i) => ancestralSigmas(ours.sigmas[i]!, ours.sigmas[i + 1]!));
        if (settings.name === 'euler-ancestral') {
          yield caseResult(m, label, 'sigma_up', sig.map((s) => s.up), values('sigma_up'), atol, 1e-6);
          yield caseResult(m, label, 'sigma_down', sig.map((s) => s.down), values('sigma_down'), atol, 1e-6);
        }
        const scales = ours.timesteps.map((_, i) => sampler.scaleInput(Float32Array.of(1), i)[0]!);
        yield caseResult(m, label, 'input_scale', scales, values('input_scale'), atol, 1e-6);
      }
    }
  }
  if (!data.step_cases) return;
  const cases = await FixtureCases.open(join(dir, (m as { tensors_file?: string }).tensors_file ?? 'cases.safetensors'));
  for (const c of data.step_cases) {
    const settings = settingsOf(c.scheduler);
    const sampler = new DiscreteSampler(settings, discreteSchedule(c.num_inference_steps, settings));
    const sample = await cases.floats(c.inputs.sample!.key);
    const output = await cases.floats(c.inputs.model_output!.key);
    const noise = c.inputs.noise ? await cases.floats(c.inputs.noise.key) : undefined;
    yield caseResult(m, c.name, 'timestep', [sampler.timestep(c.step_index)], [Number(c.timestep)], 0, 0);
    const drew = sampler.drawsNoise(c.step_index);
    const expectsNoise = typeof c.noise_drawn === 'boolean' ? c.noise_drawn : noise !== undefined;
    yield caseResult(m, c.name, 'draws_noise', [Number(drew)], [Number(expectsNoise)], 0, 0);
    const step = sampler.step(output, c.step_index, sample, drew ? noise : undefined);
    const ours: Record<string, Float32Array> = {
      scaled_model_input: sampler.scaleInput(sample, c.step_index),
      prev_sample: step.prev,
      pred_original_sample: step.denoised,
      denoised: step.denoised,
    };
    for (const [name, spec] of Object.entries(c.outputs)) {
      const actual = ours[name];
      if (!actual) throw new UnsupportedFixture(`scheduler output ${name} of case ${c.name} is not one the studio computes`);
      yield caseResult(m, c.name, name, actual, await cases.floats(spec.key), stepAtol, 1e-6);
    }
  }
  for (const key of ['alphas_cumprod', 'train_sigmas_descending_with_0']) {
    if (!cases.has(key)) continue;
    const settings = settingsOf(Object.keys(data.configs)[0]!);
    const ours = key === 'alphas_cumprod' ? alphasCumprod(settings) : Float32Array.from([...trainSigmas(settings)].reverse().concat([0]));
    yield caseResult(m, 'training_schedule', key, ours, await cases.floats(key), 0, 1e-6);
  }
}

/** A kohya SDXL LoRA as side branches of the UNet and both text encoders, at each strength of the manifest. */
async function* lora(dir: string, m: FixtureManifest, o: FixtureOptions): AsyncGenerator<CaseResult> {
  const session = sessionFor(o);
  const bases = m.base_models as Record<string, string>;
  const files = m.files as { lora: string; cases: string };
  const root = resolve(dir, '..');
  const unetDir = folderFrom(dir, bases.unet!);
  const unetConfig = await UnetModel.readConfig(unetDir);
  const unetWeights = await UnetModel.openWeights(unetDir, root);
  const probe1 = await ClipTextEncoder.open(folderFrom(dir, bases.text_encoder!), root, 'text_encoder', false, { hiddenIndex: 0, finalNorm: false, pooled: false }, session);
  const probe2 = await ClipTextEncoder.open(folderFrom(dir, bases.text_encoder_2!), root, 'text_encoder_2', true, { hiddenIndex: 0, finalNorm: false, pooled: false }, session);
  const loraFile = join(dir, files.lora);
  const parts = await loadSdLora(loraFile, { unet: unetWeights, unetConfig, textEncoder: probe1.weights, textEncoder2: probe2.weights });
  const table = (m.mapping_table as { kohya: string; model: string; module: string }[] | undefined) ?? [];
  if (table.length > 0) {
    const component = { unet: parts.unet, te1: parts.textEncoder, te2: parts.textEncoder2 } as Record<string, typeof parts.unet>;
    const wrong = table.filter((e) => !component[e.model]?.modules.has(e.module));
    const sgm = table.filter((e) => e.model === 'unet' && `lora_unet_${sgmModuleName(e.module, unetConfig)?.replaceAll('.', '_')}` !== e.kohya);
    yield { family: m.family, component: m.component, case: 'mapping_table', output: 'modules', maxAbs: wrong.length + sgm.length, maxRel: 0, atol: 0, rtol: 0, pass: wrong.length + sgm.length === 0 && table.length === [...Object.values(parts)].reduce((n, p) => n + (p?.modules.size ?? 0), 0), note: 'exact: maxAbs counts kohya names mapped to another module' };
  }
  const unet = await UnetModel.fromWeights(unetWeights, unetConfig, session, parts.unet ? [parts.unet] : [], undefined, graphFor(o));
  const use = (layers: number) => ({ hiddenIndex: layers - 1, finalNorm: false, pooled: true });
  const te1 = ClipTextEncoder.fromWeights(probe1.weights, probe1.config, use(probe1.config.layers), session, parts.textEncoder ? [parts.textEncoder] : [], graphFor(o));
  const te2 = ClipTextEncoder.fromWeights(probe2.weights, probe2.config, use(probe2.config.layers), session, parts.textEncoder2 ? [parts.textEncoder2] : [], graphFor(o));
  const cases = await FixtureCases.open(join(dir, files.cases));
  const { atol, rtol } = tolerance(m, o);
  const c = m.case as CaseSpec;
  try {
    const input = await unetInput(cases, c.inputs);
    const [batch, tokens] = c.inputs.input_ids!.shape as [number, number];
    const ids1 = await cases.ints(c.inputs.input_ids!.key);
    const ids2 = await cases.ints(c.inputs.input_ids_2!.key);
    const strengths: [string, number][] = [['no_lora', 0], ...(m.scales as number[]).map((s): [string, number] => [`lora_scale_${s.toFixed(1)}`, s])];
    for (const [suffix, strength] of strengths) {
      const want = (name: string) => c.outputs[`${name}_${suffix}`];
      const unetOut = want('unet.noise_pred');
      if (unetOut) yield caseResult(m, 'unet', unetOut.key, await unet.run(input, [strength]), await cases.floats(unetOut.key), atol, rtol);
      te1.loraScales = [strength];
      te2.loraScales = [strength];
      const o1 = await te1.run(ids1, batch);
      const o2 = await te2.run(ids2, batch);
      const prompt = want('text.prompt_embeds');
      if (prompt) yield caseResult(m, 'text', prompt.key, concatChannels(o1.hidden, te1.config.hidden, o2.hidden, te2.config.hidden, batch * tokens), await cases.floats(prompt.key), atol, rtol);
      const pooled = want('text.pooled_prompt_embeds');
      if (pooled) yield caseResult(m, 'text', pooled.key, o2.textEmbeds!, await cases.floats(pooled.key), atol, rtol);
    }
  } finally {
    await Promise.all([unet.release(), te1.release(), te2.release(), probe1.release(), probe2.release()]);
  }
}

/** The first path in a manifest's description ("../scheduler/schedules.json (configs)"), resolved. */
function pathIn(dir: string, text: string, ext: string): string {
  const token = text.split(/[\s(]+/).find((t) => t.endsWith(ext));
  if (!token) throw new UnsupportedFixture(`no ${ext} path in "${text}"`);
  return resolve(dir, token);
}

function concat(xs: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/** Planar RGB [3, H, W] -> [H, W, 3]. */
function toHwc(planar: Float32Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(planar.length);
  for (let i = 0; i < plane; i++) for (let k = 0; k < 3; k++) out[i * 3 + k] = planar[k * plane + i]!;
  return out;
}

/** numpy's round-half-even, as image_uint8 = round(float32(image_np * 255)). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** End to end: the StableDiffusion(XL)Pipeline runs with their stored ids, noise and scheduler draws. */
async function* pipeline(dir: string, m: FixtureManifest, o: FixtureOptions): AsyncGenerator<CaseResult> {
  const comps = m.components as Record<string, string>;
  type PipelineCase = CaseSpec & {
    scheduler_config: string;
    num_inference_steps: number;
    height: number;
    width: number;
    guidance_scale: number;
    lora_scale?: number | null;
    lora_applied?: string | null;
    original_size?: [number, number];
    crops_coords_top_left?: [number, number];
    target_size?: [number, number];
  };
  const all = m.cases as PipelineCase[];
  const schedulesFile = pathIn(dir, comps.scheduler_configs ?? comps.scheduler ?? '', '.json');
  const schedules = JSON.parse(await readFile(schedulesFile, 'utf8')) as ScheduleData;
  const loraFiles = [...new Set(all.filter((c) => c.lora_applied).map((c) => pathIn(dir, c.lora_applied!, '.safetensors')))];
  const root = resolve(dir, '..', '..');
  const { pipeline: p } = await openSdPipeline(
    {
      textEncoder: folderFrom(dir, comps.text_encoder!),
      ...(comps.text_encoder_2 ? { textEncoder2: folderFrom(dir, comps.text_encoder_2) } : {}),
      unet: folderFrom(dir, comps.unet!),
      vae: folderFrom(dir, comps.vae!),
      root,
    },
    sessionFor(o),
    loraFiles,
  );
  const cases = await FixtureCases.open(join(dir, 'cases.safetensors'));
  const suggested = m.tolerance_suggestion ?? {};
  const tol: Record<string, number> = half(o)
    ? {
        ...suggested,
        latents_atol: HALF_SD_PIPELINE_TOLERANCE.latents.atol,
        latents_rtol: HALF_SD_PIPELINE_TOLERANCE.latents.rtol,
        per_step_unet_output_atol: HALF_SD_PIPELINE_TOLERANCE.prediction,
        image_np_atol: HALF_SD_PIPELINE_TOLERANCE.image,
        image_uint8_max_abs: HALF_SD_PIPELINE_TOLERANCE.imageLevels,
      }
    : suggested;
  const lat = { atol: tol.latents_atol ?? 1e-3, rtol: tol.latents_rtol ?? 1e-4 };
  const unetTol = tol.per_step_unet_output_atol ?? lat.atol;
  const imageAtol = tol.image_np_atol ?? 2e-3;
  const promptTol = half(o) ? HALF_TOLERANCE : { atol: 1e-4, rtol: 1e-4 };
  try {
    for (const c of all) {
      const config = schedules.configs[c.scheduler_config];
      if (!config) throw new UnsupportedFixture(`${schedulesFile} has no scheduler config ${c.scheduler_config}`);
      const settings = discreteSamplerFromConfig(config, samplerNameOf(schedules.classes?.[c.scheduler_config] ?? String(config._class_name)));
      const loraScales = loraFiles.map((f) => (c.lora_applied && pathIn(dir, c.lora_applied, '.safetensors') === f ? (c.lora_scale ?? 1) : 0));
      p.textEncoder.loraScales = loraScales;
      if (p.textEncoder2) p.textEncoder2.loraScales = loraScales;
      const prompt: SdPrompt = await p.encodePrompt(await cases.ints(c.inputs.input_ids!.key), c.inputs.input_ids_2 ? await cases.ints(c.inputs.input_ids_2.key) : undefined);
      const draws = c.inputs.scheduler_noise_per_step ? await cases.floats(c.inputs.scheduler_noise_per_step.key) : new Float32Array();
      let drawn = 0;
      const trace = await p.denoise({
        prompt,
        guidance: c.guidance_scale,
        width: c.width,
        height: c.height,
        steps: c.num_inference_steps,
        sampler: settings,
        noise: await cases.floats(c.inputs.initial_noise!.key),
        drawNoise: (count) => {
          if (drawn + count > draws.length) throw new Error(`case ${c.name} draws more scheduler noise than was stored`);
          return draws.subarray(drawn, (drawn += count));
        },
        ...(c.original_size && c.crops_coords_top_left && c.target_size ? { size: { originalSize: c.original_size, cropsTopLeft: c.crops_coords_top_left, targetSize: c.target_size } } : {}),
        loraScales,
      });
      const out = await p.decode(trace.latents, c.width, c.height);
      const imageNp = toHwc(out.image, c.width, c.height);
      const ours: Record<string, [ArrayLike<number>, number, number]> = {
        initial_latents_scaled: [trace.initialLatents, lat.atol, lat.rtol],
        prompt_embeds: [prompt.embeds, promptTol.atol, promptTol.rtol],
        ...(prompt.pooled ? { pooled_prompt_embeds: [prompt.pooled, promptTol.atol, promptTol.rtol] } : {}),
        negative_prompt_embeds: [new Float32Array(prompt.embeds.length), 0, 0],
        ...(prompt.pooled ? { negative_pooled_prompt_embeds: [new Float32Array(prompt.pooled.length), 0, 0] } : {}),
        ...(trace.timeIds ? { add_time_ids: [trace.timeIds, 0, 0] } : {}),
        unet_timestep_per_step: [trace.timesteps, 0, 0],
        unet_input_per_step: [concat(trace.unetInputs), lat.atol, lat.rtol],
        unet_output_per_step: [concat(trace.unetOutputs), unetTol, lat.rtol],
        latents_after_each_step: [concat(trace.latentsPerStep), lat.atol, lat.rtol],
        final_latents: [trace.latents, lat.atol, lat.rtol],
        // z = latents / scaling_factor: in float16 the latents' error bound grows by the same factor.
        vae_input_z: [out.z, half(o) ? lat.atol / p.vae.config.scalingFactor : lat.atol, lat.rtol],
        vae_output: [out.decoded, 2 * imageAtol, 0],
        image_np: [imageNp, imageAtol, 0],
        image_uint8: [imageNp.map((v) => roundHalfEven(Math.fround(v * 255))), tol.image_uint8_max_abs ?? 1, 0],
      };
      for (const [name, spec] of Object.entries(c.outputs)) {
        const mine = ours[name];
        if (!mine) throw new UnsupportedFixture(`pipeline output ${name} of case ${c.name} is not one the studio computes`);
        const expected = await cases.numbers(spec.key);
        yield caseResult(m, c.name, name, mine[0], expected, mine[1], mine[2]);
      }
    }
  } finally {
    await p.release();
  }
}

export const SD_FIXTURE_CHECKERS: Readonly<Record<string, Readonly<Record<string, Checker>>>> = {
  clip: { clip_tokenizer: clipTokenizer },
  'sdxl-turbo': { text_encoders: sdxlTextEncoders, text_encoder_2: sdxlTextEncoder2, vae, unet, scheduler, lora, pipeline },
  'sd-turbo': { text_encoder: sdTextEncoder, 'sd_turbo/text_encoder': sdTextEncoder, vae, 'sd_turbo/vae': vae, unet, 'sd_turbo/unet': unet, pipeline, 'sd_turbo/pipeline': pipeline },
};
