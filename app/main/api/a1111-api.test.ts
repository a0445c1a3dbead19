// The A1111-compatible API driven as its clients drive it: the request bodies and the reads below are
// taken from their source code (file named at each test), against a real studio, worker and demo model.

import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoot } from '../paths.js';
import { testStudio } from '../test-support/test-studio.js';
import { fixtureModelFolder } from '../../worker/test-support/fixture-model.js';
import { sdTurboFolder } from '../../worker/test-support/sd-layout.js';
import { A1111Service, type GenerationAnswer } from './a1111-service.js';
import { startApiServer, type ApiServer } from './api-server.js';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

interface Info {
  seed: number;
  all_seeds: number[];
  infotexts: string[];
  sampler_name: string;
  sd_model_name: string;
  width: number;
  height: number;
  steps: number;
  cfg_scale: number;
}

interface Progress {
  progress: number;
  eta_relative: number;
  state: { job_count: number; job_no: number; sampling_step: number; sampling_steps: number; interrupted: boolean };
  current_image: string | null;
}

const fixtureLora = join(appRoot(), 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors');

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    ...(signal ? { signal } : {}),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function json<T>(a: Answer): T {
  return JSON.parse(a.text) as T;
}

/** Bytes as they are: request lines and paths fetch would normalise or refuse to send. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (d) => (out += String(d)));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(), 5000).unref();
  });
}

/** What every client does with `images`: base64 PNGs that decode (webuiapi: Image.open(BytesIO(b64decode(i)))). */
async function decodePng(b64: string): Promise<{ width: number; height: number; text: string }> {
  const bytes = Buffer.from(b64, 'base64');
  const meta = await sharp(bytes).metadata();
  expect(meta.format).toBe('png');
  return { width: meta.width, height: meta.height, text: bytes.toString('latin1') };
}

describe('A1111-compatible API', () => {
  const studio = testStudio();
  let keepUnsaved = true;
  let checkpoint: string | undefined;
  let service: A1111Service;
  let server: ApiServer;
  let base: string;
  beforeAll(async () => {
    await studio.loras.import(copyFileToName(fixtureLora, 'anime-style.safetensors'));
    // An installed model next to the demo: the fixture's tiny Qwen-Image folder.
    await studio.models.registerFolder('local:Qwen--Qwen-Image', fixtureModelFolder(mkdtempSync(join(tmpdir(), 'api-model-'))), 'Qwen/Qwen-Image', 'download');
    service = new A1111Service({ studio, keepUnsavedImages: () => keepUnsaved, checkpoint: { get: () => checkpoint, set: (id) => (checkpoint = id) } });
    server = await startApiServer({ service, host: '127.0.0.1', port: 0, credentials: [], corsOrigins: [] });
    base = server.url;
  });
  afterAll(async () => {
    await server.close();
    service.dispose();
    await studio.close();
  });

  it('Open WebUI (backend/open_webui/routers/images.py): lists models, sets one through options, generates n images', async () => {
    // get_models(): GET sd-models, reads title and model_name.
    const models = json<{ title: string; model_name: string }[]>(await call(base, 'GET', '/sdapi/v1/sd-models', undefined, { authorization: '' }));
    expect(models.map((m) => m.model_name)).toEqual(expect.arrayContaining(['demo', 'local:Qwen--Qwen-Image']));
    const demo = models.find((m) => m.model_name === 'demo')!;
    // set_image_model(): GET options, change sd_model_checkpoint, POST all the options back.
    const options = json<Record<string, unknown>>(await call(base, 'GET', '/sdapi/v1/options', undefined, { authorization: '' }));
    expect(typeof options.sd_model_checkpoint).toBe('string');
    options.sd_model_checkpoint = demo.title;
    expect((await call(base, 'POST', '/sdapi/v1/options', options, { authorization: '' })).status).toBe(200);
    expect(json<Record<string, unknown>>(await call(base, 'GET', '/sdapi/v1/options')).sd_model_checkpoint).toBe(demo.title);
    // image_generations(): {prompt, batch_size: n, width, height} plus steps and negative_prompt when configured.
    const data = { prompt: 'a lighthouse at dusk', batch_size: 2, width: 256, height: 256, steps: 2, negative_prompt: 'blurry' };
    const r = await call(base, 'POST', '/sdapi/v1/txt2img', data, { authorization: '' });
    expect(r.status).toBe(200);
    const res = json<GenerationAnswer>(r);
    expect(res.images).toHaveLength(2);
    for (const image of res.images) expect(await decodePng(image)).toMatchObject({ width: 256, height: 256 });
    // It stores {**data, 'info': res['info']} with each image: info is A1111's JSON string.
    const info = JSON.parse(res.info) as Info;
    expect(info.all_seeds).toHaveLength(2);
    expect(info.all_seeds[1]).toBe(info.all_seeds[0]! + 1);
    expect(info.seed).toBe(info.all_seeds[0]);
    expect(info.infotexts[0]).toContain(`Seed: ${info.all_seeds[0]}`);
    expect(info.infotexts[0]).toContain('Negative prompt: blurry');
    expect(res.parameters).toMatchObject(data);
    // Every API image is in the history with its recipe.
    for (const seed of info.all_seeds) {
      const page = studio.history.list({ limit: 5, prompt: 'a lighthouse at dusk', seed });
      expect(page.items).toHaveLength(1);
      expect(studio.history.get(page.items[0]!.id).recipe).toMatchObject({ seed, negativePrompt: 'blurry', steps: 2, modelId: 'demo' });
    }
  });

  it('SillyTavern (src/endpoints/stable-diffusion.js, public/scripts/extensions/stable-diffusion/index.js): lists, sets the model, generates', async () => {
    const auth = { Authorization: 'Basic ' }; // getBasicAuthHeader('') when the user set no credentials
    expect((await call(base, 'GET', '/sdapi/v1/options', undefined, auth)).status).toBe(200); // /ping
    const samplers = json<{ name: string }[]>(await call(base, 'GET', '/sdapi/v1/samplers', undefined, auth)).map((x) => x.name);
    expect(samplers).toEqual(['Euler']);
    const schedulers = json<{ name: string }[]>(await call(base, 'GET', '/sdapi/v1/schedulers', undefined, auth)).map((x) => x.name);
    expect(schedulers).toEqual(['automatic']);
    for (const path of ['/sdapi/v1/upscalers', '/sdapi/v1/latent-upscale-modes']) {
      expect(json<{ name: string }[]>(await call(base, 'GET', path, undefined, auth)).every((x) => typeof x.name === 'string')).toBe(true);
    }
    expect(json<unknown[]>(await call(base, 'GET', '/sdapi/v1/sd-vae', undefined, auth))).toEqual([]);
    const titles = json<{ title: string }[]>(await call(base, 'GET', '/sdapi/v1/sd-models', undefined, auth)).map((x) => x.title);
    // /set-model: POST {sd_model_checkpoint}, then poll progress until progress == 0 and job_count == 0.
    expect((await call(base, 'POST', '/sdapi/v1/options', { sd_model_checkpoint: titles.find((t) => t.includes('demo')) }, auth)).status).toBe(200);
    const idle = json<Progress>(await call(base, 'GET', '/sdapi/v1/progress', undefined, auth));
    expect([idle.progress, idle.state.job_count]).toEqual([0, 0]);
    // generateAutoImage(): the extension's body, forwarded with the server's own url and auth fields.
    const body = {
      url: 'http://localhost:7860',
      auth: '',
      prompt: 'a cat in a library, <lora:anime-style:0.7>',
      negative_prompt: 'lowres',
      sampler_name: 'DDIM',
      scheduler: 'normal',
      steps: 3,
      cfg_scale: 7,
      width: 256,
      height: 320,
      restore_faces: false,
      enable_hr: false,
      hr_upscaler: 'Latent',
      hr_scale: 2,
      denoising_strength: 0.7,
      hr_second_pass_steps: 0,
      seed: 1234,
      override_settings: { CLIP_stop_at_last_layers: 1 },
      override_settings_restore_afterwards: true,
      clip_skip: 1,
      save_images: true,
      send_images: true,
      do_not_save_grid: false,
      do_not_save_samples: false,
    };
    const r = await call(base, 'POST', '/sdapi/v1/txt2img', body, { ...auth, 'Content-Type': 'application/json' });
    expect(r.status).toBe(200);
    const data = json<GenerationAnswer>(r);
    expect(await decodePng(data.images[0]!)).toMatchObject({ width: 256, height: 320 });
    const info = JSON.parse(data.info) as Info;
    // DDIM is an A1111 sampler the flow-matching model does not run: it runs its own, and says which.
    expect(info).toMatchObject({ seed: 1234, sampler_name: 'Euler', steps: 3, cfg_scale: 7, width: 256, height: 320 });
    expect(info.infotexts[0]).toMatch(/Lora hashes: "anime-style: [0-9a-f]{12}"/);
    // The request is echoed, its own server's fields (url, auth) are not.
    expect(data.parameters).toMatchObject({ prompt: body.prompt, seed: 1234, steps: 3, sampler_name: 'DDIM' });
    expect(data.parameters).not.toHaveProperty('auth');
    // <lora:anime-style:0.7> was applied: the recipe names the LoRA and its strength; the text encoder never saw the tag.
    const page = studio.history.list({ limit: 5, seed: 1234 });
    const recipe = studio.history.get(page.items[0]!.id).recipe;
    expect(recipe.loras).toEqual([expect.objectContaining({ name: 'anime-style', strength: 0.7, role: 'style' })]);
    expect(recipe.prompt).toBe('a cat in a library');
    expect(recipe.guidance).toBe(7);
  });

  it('webuiapi (webuiapi/webuiapi.py): txt2img with its full payload, png_info, loras, model names', async () => {
    // WebUIApi.txt2img(prompt=..., seed=..., steps=4, width=256, height=256): every key of its payload.
    const payload = {
      enable_hr: false, hr_scale: 2, hr_upscaler: 'Latent', hr_second_pass_steps: 0, hr_resize_x: 0, hr_resize_y: 0, hr_checkpoint_name: null,
      hr_sampler_name: null, hr_scheduler: null, hr_prompt: '', hr_negative_prompt: '', denoising_strength: 0.7, firstphase_width: 0,
      firstphase_height: 0, prompt: 'a red fox in snow', styles: [], seed: 77, subseed: -1, subseed_strength: 0.0, seed_resize_from_h: 0,
      seed_resize_from_w: 0, batch_size: 1, n_iter: 2, steps: 4, cfg_scale: 7.0, width: 256, height: 256, restore_faces: false, tiling: false,
      do_not_save_samples: false, do_not_save_grid: false, negative_prompt: '', eta: 1.0, s_churn: 0, s_tmax: 0, s_tmin: 0, s_noise: 1,
      override_settings: {}, override_settings_restore_afterwards: true, sampler_name: 'Euler a', scheduler: 'automatic', sampler_index: 'Euler a',
      script_name: null, script_args: [], send_images: true, save_images: false, alwayson_scripts: {},
    };
    const r = await call(base, 'POST', '/sdapi/v1/txt2img', payload);
    expect(r.status).toBe(200);
    const result = json<GenerationAnswer>(r);
    // _to_api_result: images decoded, info = json.loads(r['info']), parameters = r['parameters'].
    expect(result.images).toHaveLength(2);
    const first = await decodePng(result.images[0]!);
    expect(first.text).toContain('parameters');
    const info = JSON.parse(result.info) as Info;
    expect(info.all_seeds).toEqual([77, 78]);
    expect(result.parameters).toMatchObject({ prompt: 'a red fox in snow', seed: 77, n_iter: 2, steps: 4, sampler_index: 'Euler a' });
    // png_info(image): POST {"image": b64_img(image)} (a data URL) -> info, parameters.
    const png = json<{ info: string; parameters: Record<string, string> }>(await call(base, 'POST', '/sdapi/v1/png-info', { image: `data:image/png;base64,${result.images[1]!}` }));
    expect(png.info).toBe(info.infotexts[1]);
    expect(png.parameters).toMatchObject({ Prompt: 'a red fox in snow', Seed: '78', Steps: '4', 'Size-1': '256', 'Size-2': '256' });
    // get_loras(), refresh_loras(), util_get_model_names(), get_scripts() (check_extensions).
    expect(json<{ name: string; path: string }[]>(await call(base, 'GET', '/sdapi/v1/loras'))).toEqual([expect.objectContaining({ name: 'anime-style', path: expect.stringMatching(/\.safetensors$/) })]);
    expect((await call(base, 'POST', '/sdapi/v1/refresh-loras')).status).toBe(200);
    expect(json<{ title: string }[]>(await call(base, 'GET', '/sdapi/v1/sd-models')).map((x) => x.title)).toContain('Qwen/Qwen-Image');
    expect(json<{ txt2img: string[] }>(await call(base, 'GET', '/sdapi/v1/scripts')).txt2img).toEqual([]);
  });

  it('reports progress that moves while a request runs, with the newest image of the batch', async () => {
    const running = call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'progress', batch_size: 3, steps: 6, width: 256, height: 256, seed: 5 });
    const seen: Progress[] = [];
    let done = false;
    void running.finally(() => (done = true));
    while (!done) {
      seen.push(json<Progress>(await call(base, 'GET', '/sdapi/v1/progress')));
      await new Promise((r) => setTimeout(r, 40));
    }
    expect((await running).status).toBe(200);
    const active = seen.filter((p) => p.state.job_count === 3);
    const values = [...new Set(active.map((p) => p.progress))];
    expect(values.length).toBeGreaterThanOrEqual(3);
    // Never backwards within the request.
    for (let i = 1; i < active.length; i++) expect(active[i]!.progress).toBeGreaterThanOrEqual(active[i - 1]!.progress);
    expect(active.some((p) => p.state.sampling_step > 0 && p.state.sampling_steps === 6)).toBe(true);
    expect(active.some((p) => p.state.job_no === 2)).toBe(true);
    // The current image: the step preview while denoising, else the batch's newest finished image.
    const images = active.filter((p) => p.current_image !== null);
    expect(images.length).toBeGreaterThan(0);
    for (const p of images.slice(0, 5)) expect(['jpeg', 'png']).toContain((await sharp(Buffer.from(p.current_image!, 'base64')).metadata()).format);
    expect(seen.every((p) => p.current_image === null || p.state.job_count > 0)).toBe(true);
    expect(json<Progress>(await call(base, 'GET', '/sdapi/v1/progress')).state.job_count).toBe(0);
  });

  it('interrupt ends the running request with the images made so far', async () => {
    const before = studio.history.list({ limit: 100, prompt: 'interrupted' }).items.length;
    const running = call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'interrupted', batch_size: 6, steps: 8, width: 256, height: 256, seed: 9 });
    await expect.poll(async () => json<Progress>(await call(base, 'GET', '/sdapi/v1/progress')).state.job_no, { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(1);
    expect(json<Record<string, unknown>>(await call(base, 'POST', '/sdapi/v1/interrupt'))).toEqual({});
    const r = await running;
    expect(r.status).toBe(200);
    const answer = json<GenerationAnswer>(r);
    expect(answer.images.length).toBeGreaterThanOrEqual(1);
    expect(answer.images.length).toBeLessThan(6);
    expect((JSON.parse(answer.info) as Info).all_seeds).toEqual(Array.from({ length: answer.images.length }, (_, i) => 9 + i));
    expect(studio.history.list({ limit: 100, prompt: 'interrupted' }).items.length - before).toBe(answer.images.length);
    expect(studio.jobs.jobs()).toEqual([]);
    expect(json<Progress>(await call(base, 'GET', '/sdapi/v1/progress')).state.interrupted).toBe(true);
  });

  it('a client that disconnects cancels its jobs', async () => {
    const aborter = new AbortController();
    const request = call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'gone', batch_size: 5, steps: 8, width: 256, height: 256 }, {}, aborter.signal);
    await expect.poll(() => studio.jobs.jobs().length, { timeout: 10_000, interval: 10 }).toBe(5);
    aborter.abort();
    await expect(request).rejects.toThrow();
    await expect.poll(() => studio.jobs.jobs().length, { timeout: 20_000, interval: 20 }).toBe(0);
    expect(studio.history.list({ limit: 10, prompt: 'gone' }).items.length).toBeLessThan(5);
  });

  it('save_images: false is honoured when the user chose not to keep those images', async () => {
    keepUnsaved = false;
    try {
      const events: string[] = [];
      const off = studio.jobs.onEvent((e) => events.push(e.type));
      const r = await call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'not kept', steps: 2, width: 256, height: 256, seed: 3, save_images: false });
      off();
      expect(await decodePng(json<GenerationAnswer>(r).images[0]!)).toMatchObject({ width: 256 });
      expect(studio.history.list({ limit: 5, prompt: 'not kept' }).items).toEqual([]);
      expect(events).toContain('delivered');
      expect(events).not.toContain('succeeded');
      // save_images: true is kept either way.
      await call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'kept', steps: 2, width: 256, height: 256, seed: 3, save_images: true });
      expect(studio.history.list({ limit: 5, prompt: 'kept' }).items).toHaveLength(1);
    } finally {
      keepUnsaved = true;
    }
  });

  it('answers every kind of bad input with a 4xx and a message, then still generates', async () => {
    const port = server.port;
    const bad: [string, Promise<Answer>, number][] = [
      ['wrong types', call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x', steps: 'many', width: [256] }), 422],
      ['missing prompt', call(base, 'POST', '/sdapi/v1/txt2img', { steps: 2 }), 422],
      ['a size not divisible by 16', call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x', width: 260, height: 256 }), 422],
      ['an unknown sampler', call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x', sampler_name: 'Warp Drive' }), 404],
      ['an unknown checkpoint', call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x', override_settings: { sd_model_checkpoint: 'sd_xl_base_1.0.safetensors [31e35c80fc]' } }), 422],
      ['an unknown checkpoint in options', call(base, 'POST', '/sdapi/v1/options', { sd_model_checkpoint: 'nope' }), 422],
      ['an unknown LoRA in the prompt', call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x <lora:does-not-exist:0.7>' }), 422],
      ['a LoRA strength that is no number', call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x <lora:anime-style:strong>' }), 422],
      ['a 20 MB body', call(base, 'POST', '/sdapi/v1/txt2img', JSON.stringify({ prompt: 'x'.repeat(20 * 1024 * 1024) })), 413],
      ['malformed JSON', call(base, 'POST', '/sdapi/v1/txt2img', '{"prompt": "x",'), 422],
      ['not JSON at all', call(base, 'POST', '/sdapi/v1/txt2img', 'prompt=x', { 'Content-Type': 'text/plain' }), 415],
      ['a wrong method', call(base, 'GET', '/sdapi/v1/txt2img'), 405],
      ['an unknown endpoint', call(base, 'GET', '/sdapi/v1/nope'), 404],
      ['hires fix', call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x', enable_hr: true }), 422],
      ['a script', call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x', script_name: 'x/y/z plot' }), 422],
      ['too many images', call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x', batch_size: 8, n_iter: 9 }), 422],
      ['a seed out of range', call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x', seed: 2 ** 32 }), 422],
      ['an image that is none', call(base, 'POST', '/sdapi/v1/png-info', { image: 'bm90IGFuIGltYWdl' }), 422],
      ['img2img on a model that cannot', call(base, 'POST', '/sdapi/v1/img2img', { prompt: 'x', init_images: ['iVBORw0KGgo='] }), 422],
    ];
    for (const [what, answer, status] of bad) {
      const a = await answer;
      expect(a.status, what).toBe(status);
      const body = json<{ detail: unknown }>(a);
      expect(JSON.stringify(body.detail).length, what).toBeGreaterThan(10);
    }
    const named = async (p: Promise<Answer>) => JSON.stringify(json<{ detail: unknown }>(await p).detail);
    expect(await named(call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x', steps: 'many' }))).toMatch(/"loc":\["body","steps"\]/);
    expect(await named(call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x', width: 260 }))).toMatch(/"loc":\["body","width"\].*multiple of 16/);
    expect(await named(call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x', override_settings: { sd_model_checkpoint: 'nope' } }))).toMatch(/override_settings.*sd_model_checkpoint.*nope/);
    expect(await named(call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x <lora:does-not-exist:0.7>' }))).toMatch(/does-not-exist/);
    for (const target of ['/sdapi/v1/%E0%A4%A', '/sdapi/v1/txt2img%zz', 'http://[', 'http://a:99999/', '*']) {
      expect(await raw(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`), target).toMatch(/^HTTP\/1\.1 4\d\d/);
    }
    expect(studio.jobs.jobs()).toEqual([]);
    const ok = await call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'after the storm', steps: 2, width: 256, height: 256 });
    expect(ok.status).toBe(200);
    expect(await decodePng(json<GenerationAnswer>(ok).images[0]!)).toMatchObject({ width: 256 });
  });

  it('refuses pages of other origins and other host names (CORS off, no DNS rebinding)', async () => {
    const fromPage = await call(base, 'POST', '/sdapi/v1/interrupt', undefined, { Origin: 'http://evil.example' });
    expect(fromPage.status).toBe(403);
    expect(json<{ detail: string }>(fromPage).detail).toMatch(/--cors-allow-origins/);
    expect(fromPage.headers.get('access-control-allow-origin')).toBeNull();
    expect((await raw(server.port, `GET /sdapi/v1/options HTTP/1.1\r\nHost: evil.example:${server.port}\r\nConnection: close\r\n\r\n`))).toMatch(/^HTTP\/1\.1 403/);
  });
});

describe('A1111-compatible img2img (the tiny SD-Turbo fixture in its official layout)', () => {
  const studio = testStudio();
  let service: A1111Service;
  let server: ApiServer;
  let sdTitle: string;
  beforeAll(async () => {
    mkdirSync(join(studio.layout.root, 'uploads'), { recursive: true });
    sdTitle = (await studio.models.registerFolder('local:sd-turbo', sdTurboFolder(mkdtempSync(join(tmpdir(), 'api-sd-'))), 'stabilityai/sd-turbo', 'download')).name;
    service = new A1111Service({ studio, keepUnsavedImages: () => true, checkpoint: { get: () => undefined, set: () => undefined } });
    server = await startApiServer({ service, host: '127.0.0.1', port: 0, credentials: [], corsOrigins: [] });
  });
  afterAll(async () => {
    await server.close();
    service.dispose();
    await studio.close();
  });

  it('webuiapi (webuiapi/webuiapi.py): img2img with its full payload starts from the image, records it, removes its copy', async () => {
    const input = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 200, g: 40, b: 40 } } }).png().toBuffer();
    // WebUIApi.img2img(images=[img], prompt=..., seed=..., steps=2, width=256, height=256, denoising_strength=0.5): every key.
    const payload = {
      init_images: [`data:image/png;base64,${input.toString('base64')}`], resize_mode: 0, denoising_strength: 0.5, mask_blur: 4, inpainting_fill: 0,
      inpaint_full_res: true, inpaint_full_res_padding: 0, inpainting_mask_invert: 0, initial_noise_multiplier: 1, prompt: 'a red barn', styles: [],
      seed: 21, subseed: -1, subseed_strength: 0, seed_resize_from_h: 0, seed_resize_from_w: 0, batch_size: 1, n_iter: 1, steps: 2, cfg_scale: 1.0,
      image_cfg_scale: 1.5, width: 256, height: 256, restore_faces: false, tiling: false, do_not_save_samples: false, do_not_save_grid: false,
      negative_prompt: '', eta: 1.0, s_churn: 0, s_tmax: 0, s_tmin: 0, s_noise: 1, override_settings: { sd_model_checkpoint: sdTitle },
      override_settings_restore_afterwards: true, sampler_name: 'Euler a', scheduler: 'automatic', sampler_index: 'Euler a', include_init_images: false,
      script_name: null, script_args: [], send_images: true, save_images: false, alwayson_scripts: {},
    };
    const r = await call(server.url, 'POST', '/sdapi/v1/img2img', payload);
    expect(r.status, r.text).toBe(200);
    const answer = json<GenerationAnswer>(r);
    expect(await decodePng(answer.images[0]!)).toMatchObject({ width: 256, height: 256 });
    expect(JSON.parse(answer.info)).toMatchObject({ seed: 21, denoising_strength: 0.5, sd_model_name: 'local:sd-turbo' });
    expect(answer.parameters).toMatchObject({ prompt: 'a red barn', denoising_strength: 0.5, init_images: null });
    const recipe = studio.history.get(studio.history.list({ limit: 5, prompt: 'a red barn' }).items[0]!.id).recipe;
    expect(recipe.initImage).toEqual({ source: expect.stringMatching(/^a1111-input-[0-9a-f]{12}-[0-9a-f]{6}\.upload$/), strength: 0.5, sha256: createHash('sha256').update(input).digest('hex') });
    await expect.poll(() => readdirSync(join(studio.layout.root, 'uploads'))).toEqual([]);
  });

  it('refuses what it cannot do, naming the field, and writes nothing', async () => {
    const png = (await sharp({ create: { width: 8, height: 8, channels: 3, background: 'white' } }).png().toBuffer()).toString('base64');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ prompt: 'x', init_images: [png], override_settings: { sd_model_checkpoint: 'demo' } }, /"loc":\["body","init_images"\].*cannot start from an image/],
      [{ prompt: 'x', init_images: [] , override_settings: { sd_model_checkpoint: sdTitle } }, /init_images.*Field required/],
      [{ prompt: 'x', init_images: ['bm90IGFuIGltYWdl'], override_settings: { sd_model_checkpoint: sdTitle } }, /"loc":\["body","init_images",0\].*Invalid encoded image/],
      [{ prompt: 'x', init_images: [png], denoising_strength: 1.5, override_settings: { sd_model_checkpoint: sdTitle } }, /"loc":\["body","denoising_strength"\]/],
      [{ prompt: 'x', init_images: [png], mask: png, override_settings: { sd_model_checkpoint: sdTitle } }, /mask.*no inpainting/],
    ];
    for (const [body, message] of cases) {
      const r = await call(server.url, 'POST', '/sdapi/v1/img2img', { steps: 2, width: 256, height: 256, ...body });
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(r.text).toMatch(message);
    }
    expect(studio.jobs.jobs()).toEqual([]);
    expect(readdirSync(join(studio.layout.root, 'uploads'), { withFileTypes: true }).length).toBe(0);
  });
});

describe('A1111-compatible API with credentials and CORS', () => {
  const studio = testStudio();
  let service: A1111Service;
  let server: ApiServer;
  beforeAll(async () => {
    service = new A1111Service({ studio, keepUnsavedImages: () => true, checkpoint: { get: () => undefined, set: () => undefined } });
    server = await startApiServer({ service, host: '127.0.0.1', port: 0, credentials: [{ user: 'ana', password: 's3:cret' }], corsOrigins: ['http://localhost:3000'] });
  });
  afterAll(async () => {
    await server.close();
    service.dispose();
    await studio.close();
  });

  it('asks for credentials with WWW-Authenticate, refuses wrong ones and the UI token', async () => {
    for (const headers of <Record<string, string>[]>[{}, { Authorization: 'Basic ' }, { Authorization: basic('ana', 'wrong') }, { Authorization: basic('bob', 's3:cret') }, { Authorization: 'Bearer the-ui-token' }]) {
      const r = await call(server.url, 'GET', '/sdapi/v1/sd-models', undefined, headers);
      expect(r.status, JSON.stringify(headers)).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Basic');
      expect(json<{ detail: string }>(r).detail).toMatch(/authenticated|Incorrect username or password/);
    }
    const ok = await call(server.url, 'GET', '/sdapi/v1/sd-models', undefined, { Authorization: basic('ana', 's3:cret') });
    expect(ok.status).toBe(200);
  });

  it('answers the configured origin with CORS headers, and its preflight', async () => {
    const preflight = await call(server.url, 'OPTIONS', '/sdapi/v1/txt2img', undefined, { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
    const r = await call(server.url, 'GET', '/sdapi/v1/samplers', undefined, { Origin: 'http://localhost:3000', Authorization: basic('ana', 's3:cret') });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect((await call(server.url, 'GET', '/sdapi/v1/samplers', undefined, { Origin: 'http://localhost:3001', Authorization: basic('ana', 's3:cret') })).status).toBe(403);
  });

  it('never listens beyond this machine without credentials', async () => {
    await expect(startApiServer({ service, host: '0.0.0.0', port: 0, credentials: [], corsOrigins: [] })).rejects.toThrow(/--api-auth/);
  });
});

function copyFileToName(file: string, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'api-lora-'));
  copyFileSync(file, join(dir, name));
  return join(dir, name);
}
