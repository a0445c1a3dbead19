import { noticeText } from '../../shared/notices.js';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appRoot } from '../paths.js';
import { inspectHeaderBytes, inspectLoraFile, THREAD_HEADER_BYTES } from './lora-inspect.js';
import { LoraLibrary, safeName } from './lora-library.js';
import { runCli } from '../test-support/run-cli.js';

const fixtureLora = join(appRoot(), 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors');

/** A minimal safetensors file from tensor names and shapes (zero data). */
function safetensors(tensors: Record<string, number[]>, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.alloc(offset)]);
}

function write(dir: string, name: string, data: Buffer): string {
  const f = join(dir, name);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, data);
  return f;
}

describe('LoRA inspection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lora-inspect-'));

  it.each([
    ['lightx2v', { 'transformer_blocks.0.attn.to_q.lora_down.weight': [4, 64], 'transformer_blocks.0.attn.to_q.lora_up.weight': [64, 4], 'transformer_blocks.0.attn.to_q.alpha': [] }],
    ['peft', { 'transformer.transformer_blocks.0.img_mlp.net.0.proj.lora_A.weight': [8, 64], 'transformer.transformer_blocks.0.img_mlp.net.0.proj.lora_B.weight': [256, 8] }],
    ['kohya', { 'lora_unet_transformer_blocks_0_attn_add_q_proj.lora_down.weight': [16, 64], 'lora_unet_transformer_blocks_0_attn_add_q_proj.lora_up.weight': [64, 16], 'lora_unet_transformer_blocks_0_attn_add_q_proj.alpha': [] }],
  ])('recognises the %s key format of a Qwen-Image LoRA', async (format, tensors) => {
    const r = await inspectLoraFile(write(dir, `${format}.safetensors`, safetensors(tensors)));
    expect(r).toMatchObject({ ok: true, format, architecture: 'qwen-image', runnable: true, modules: 1, role: 'style' });
  });

  it('reads the fixture Lightning-format LoRA: rank, targets, trainer metadata, speed tag from the name', async () => {
    const copy = write(dir, 'Qwen-Image-Lightning-4steps-V1.0.safetensors', readFileSync(fixtureLora));
    const r = await inspectLoraFile(copy);
    expect(r).toMatchObject({ ok: true, format: 'lightx2v', architecture: 'qwen-image', rank: 4, modules: 24, role: 'speed', preset: 'lightning-4' });
    expect(r.ok && r.targets).toContain('attn.to_q');
  });

  it('recognises an SDXL LoRA (runnable) and flags one for a base model no family runs', async () => {
    const r = await inspectLoraFile(write(dir, 'sdxl.safetensors', safetensors({ 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight': [4, 320], 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight': [320, 4], 'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': [4, 1280], 'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight': [5120, 4] }, { ss_tag_frequency: '{"data": {"mycat": 12, "solo": 3}}', ss_base_model_version: 'sdxl_base_v1-0' })));
    expect(r).toMatchObject({ ok: true, architecture: 'sdxl', runnable: true, textEncoder: true, baseModel: 'sdxl_base_v1-0' });
    expect(r.ok && r.triggerWords).toEqual(['mycat', 'solo']);
    // kohya SDXL keys with the feed-forward names Flux also uses are still SDXL.
    const ff = await inspectLoraFile(write(dir, 'sdxl-ff.safetensors', safetensors({ 'lora_unet_input_blocks_4_1_transformer_blocks_0_ff_net_2.lora_down.weight': [4, 2560], 'lora_unet_input_blocks_4_1_transformer_blocks_0_ff_net_2.lora_up.weight': [640, 4] })));
    expect(ff).toMatchObject({ ok: true, architecture: 'sd1', runnable: false });
    const flux = await inspectLoraFile(write(dir, 'flux.safetensors', safetensors({ 'lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight': [4, 3072], 'lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight': [9216, 4] })));
    expect(flux).toMatchObject({ ok: true, architecture: 'flux', runnable: false });
  });

  it.each([
    ['a pickled .bin', 'pytorch_lora_weights.bin', Buffer.from([0x80, 0x04, 0x95, 0x00, 0, 0, 0, 0, 0]), /pytorch_lora_weights\.bin is a PyTorch pickle file\. Opening a pickle can run any code/],
    ['a .ckpt', 'model.ckpt', Buffer.from('anything'), /is a PyTorch pickle file/],
    ['a pickle renamed .safetensors', 'sneaky.safetensors', Buffer.from([0x80, 0x02, 0x7d, 0x71, 0, 0, 0, 0, 0, 0]), /sneaky\.safetensors is a PyTorch pickle file/],
    ['a torch zip renamed .safetensors', 'zip.safetensors', Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(20)]), /is a PyTorch pickle file/],
    ['a truncated safetensors', 'cut.safetensors', safetensors({ 'a.lora_down.weight': [4, 64], 'a.lora_up.weight': [64, 4] }).subarray(0, 200), /cut\.safetensors is incomplete.*truncated or damaged download/],
    ['a header claiming 100 GB', 'huge.safetensors', (() => { const b = Buffer.alloc(16); b.writeBigUInt64LE(100n * 1024n ** 3n); return b; })(), /huge\.safetensors is not a safetensors file, or it is damaged.*claims 107374182400 bytes, which no valid safetensors file has/],
    ['a full model, not a LoRA', 'model.safetensors', safetensors({ 'transformer_blocks.0.attn.to_q.weight': [64, 64] }), /holds no LoRA weights/],
  ])('refuses %s with the reason', async (_, name, data, pattern) => {
    const r = await inspectLoraFile(write(dir, name, data));
    expect(r.ok).toBe(false);
    expect(!r.ok && `${noticeText(r.reason)} ${r.detail ?? ''}`).toMatch(pattern);
  });

  /** A kohya-style LoRA with this many modules (two tensors each), rank 2 apart from one of rank 7. */
  function manyModules(modules: number): Buffer {
    const tensors: Record<string, number[]> = {};
    for (let i = 0; i < modules; i++) {
      const rank = i === modules - 1 ? 7 : 2;
      tensors[`lora_unet_transformer_blocks_${i}_attn_to_q.lora_down.weight`] = [rank, 1];
      tensors[`lora_unet_transformer_blocks_${i}_attn_to_q.lora_up.weight`] = [1, rank];
    }
    return safetensors(tensors);
  }

  it('reads a header of 300,000 tensors without overflowing the stack, parsing it off the main thread', async () => {
    // 150,000 lora_down weights: past the ~130,000 arguments a Math.max(...spread) takes.
    const data = manyModules(150_000);
    const file = write(dir, 'huge-header.safetensors', data);
    const header = data.subarray(8, 8 + Number(data.readBigUInt64LE(0)));
    expect(header.length).toBeGreaterThan(THREAD_HEADER_BYTES);
    // The pure function the thread runs, timed: how long such a parse holds a thread on this machine now.
    const t0 = performance.now();
    expect(inspectHeaderBytes(file, 'huge-header.safetensors', header, data.length)).toMatchObject({ ok: true, format: 'kohya', rank: 7, modules: 150_000 });
    const parseMs = performance.now() - t0;
    // Through the file, as the library reads it: the event loop keeps turning meanwhile.
    let last = performance.now();
    let longestGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 5);
    try {
      expect(await inspectLoraFile(file)).toMatchObject({ ok: true, rank: 7, modules: 150_000 });
      // A parse that blocked would end just before this line, with no tick since it began.
      longestGap = Math.max(longestGap, performance.now() - last);
    } finally {
      clearInterval(ticker);
    }
    expect(longestGap).toBeLessThan(parseMs / 2);
    rmSync(file);
  });

  it('prints its report from `studio lora inspect`, exiting 1 for a refusal', () => {
    const ok = spawnSync(process.execPath, [join(appRoot(), 'bin', 'studio.js'), 'lora', 'inspect', fixtureLora], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, format: 'lightx2v', architecture: 'qwen-image', rank: 4 });
    const bad = spawnSync(process.execPath, [join(appRoot(), 'bin', 'studio.js'), 'lora', 'inspect', write(dir, 'weights.pt', Buffer.from([0x80, 0x02]))], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect((JSON.parse(bad.stdout) as { reason: string }).reason).toMatch(/pickle/);
  });
});

describe('LoRA library', () => {
  it('imports a file into its own folder, de-duplicates by content, keeps names safe', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lora-lib-'));
    const library = new LoraLibrary(join(root, 'library'));
    const src = mkdtempSync(join(tmpdir(), 'lora-src-'));
    const file = write(src, 'Anime Style (v2).safetensors', readFileSync(fixtureLora));
    const first = await library.import(file);
    expect(first.duplicate).toBe(false);
    expect(first.lora).toMatchObject({ name: 'Anime Style (v2)', report: { architecture: 'qwen-image', rank: 4 } });
    expect(readFileSync(first.lora.file).equals(readFileSync(fixtureLora))).toBe(true);
    const again = await library.import(write(src, 'copy-with-another-name.safetensors', readFileSync(fixtureLora)));
    expect(again).toMatchObject({ duplicate: true, lora: { id: first.lora.id } });
    expect(await library.list()).toHaveLength(1);
    expect(readdirSync(root)).toEqual(['library']);
  });

  it('imports a style folder with its preview image', async () => {
    const library = new LoraLibrary(mkdtempSync(join(tmpdir(), 'lora-lib-')));
    const folder = mkdtempSync(join(tmpdir(), 'logo-style-'));
    write(folder, 'logo.safetensors', readFileSync(fixtureLora));
    write(folder, 'preview.png', Buffer.from('\x89PNG fake'));
    const { lora } = await library.import(folder);
    expect(lora.preview).toMatch(/preview\.png$/);
    expect(readFileSync(lora.preview!).toString('latin1')).toContain('PNG');
  });

  it('never writes outside the library, whatever the file or its metadata is called', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lora-lib-'));
    const library = new LoraLibrary(join(root, 'library'));
    const src = mkdtempSync(join(tmpdir(), 'lora-src-'));
    const tensors = { 'transformer_blocks.0.attn.to_q.lora_down.weight': [2, 64], 'transformer_blocks.0.attn.to_q.lora_up.weight': [64, 2] };
    const evil = write(src, '..%2F..%2Fevil.safetensors', safetensors(tensors, { ss_output_name: '../../../outside', name: '/etc/passwd' }));
    const { lora } = await library.import(evil);
    expect(lora.folder.startsWith(join(root, 'library'))).toBe(true);
    expect(readdirSync(root)).toEqual(['library']);
    expect(safeName('../../x')).toBe('x');
    expect(safeName('..')).toBe('lora-unnamed');
    expect(safeName('CON.safetensors')).toBe('lora-CON');
    expect(safeName('a/b\\c:d*e?.safetensors')).toBe('c-d-e-');
  });

  it('refuses a pickle on import and leaves the library unchanged', async () => {
    const library = new LoraLibrary(mkdtempSync(join(tmpdir(), 'lora-lib-')));
    const src = mkdtempSync(join(tmpdir(), 'lora-src-'));
    await expect(library.import(write(src, 'pytorch_lora_weights.bin', Buffer.from([0x80, 0x04])))).rejects.toThrow(/pickle/);
    expect(await library.list()).toEqual([]);
    expect(readdirSync(library.dir)).toEqual([]);
  });
});

describe('LoRA library under faults', () => {
  it('rebuilds a damaged meta.json from the weights, leaves out a folder without weights, and removes a killed import', async () => {
    const library = new LoraLibrary(mkdtempSync(join(tmpdir(), 'lora-lib-')));
    const src = mkdtempSync(join(tmpdir(), 'lora-src-'));
    const { lora } = await library.import(write(src, 'Ink Wash.safetensors', readFileSync(fixtureLora)));
    // What a kill mid-write leaves: a cut meta.json; a folder holding only a cut meta.json; a staging folder.
    writeFileSync(join(lora.folder, 'meta.json'), '{"id": "abc", "na');
    write(library.dir, 'Broken/meta.json', Buffer.from('{'));
    write(library.dir, '.importing-0123456789abcdef-1a2b3c4d/lora.safetensors', Buffer.from('half'));
    const listed = await library.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: lora.id, name: 'Ink Wash', sha256: lora.sha256, file: lora.file, report: { architecture: 'qwen-image', rank: 4 } });
    expect(JSON.parse(readFileSync(join(lora.folder, 'meta.json'), 'utf8'))).toMatchObject({ id: lora.id, name: 'Ink Wash' });
    expect(library.problems).toEqual([{ folder: join(library.dir, 'Broken'), reason: 'Broken has neither a readable meta.json nor lora.safetensors' }]);
    expect(readdirSync(library.dir).sort()).toEqual(['Broken', 'Ink Wash']);
  });

  it('`studio serve` starts with a damaged meta.json in the library', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lora-serve-'));
    const library = new LoraLibrary(join(dataDir, 'loras'));
    const { lora } = await library.import(write(mkdtempSync(join(tmpdir(), 'lora-src-')), 'style.safetensors', readFileSync(fixtureLora)));
    writeFileSync(join(lora.folder, 'meta.json'), '');
    write(library.dir, 'Empty/meta.json', Buffer.from('not json'));
    const r = await runCli(['serve', '--port', '0', '--data-dir', dataDir], { until: /is running/ });
    expect(r.matched).toMatch(/Studio .* is running/);
    expect(r.stderr).toMatch(/LoRA library: Empty has neither a readable meta\.json nor lora\.safetensors/);
  });

  it('ten simultaneous imports of one file make one entry; the other nine are duplicates of it', async () => {
    const library = new LoraLibrary(mkdtempSync(join(tmpdir(), 'lora-lib-')));
    const src = mkdtempSync(join(tmpdir(), 'lora-src-'));
    const files = Array.from({ length: 10 }, (_, i) => write(src, `upload-${i}.safetensors`, readFileSync(fixtureLora)));
    const results = await Promise.all(files.map((f) => library.import(f, 'Same Style.safetensors')));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.lora.id)).size).toBe(1);
    expect(new Set(results.map((r) => r.lora.folder)).size).toBe(1);
    expect(readdirSync(library.dir)).toEqual(['Same Style']);
    expect(await library.list()).toHaveLength(1);
  });
});
