// Test helper: the tiny reference components assembled into an official-layout Qwen-Image folder,
// as a plain folder or as a Hugging Face cache entry (snapshots symlinked into content-named blobs).

import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LIGHTNING_SAMPLER, schedulerConfigFor } from '../../shared/flow-match.js';

const fixtures = new URL('../../../test-fixtures/qwen-image/', import.meta.url).pathname;

/** A byte-level tokenizer whose ids fit the fixture text encoder's 1,024-entry vocabulary. */
function smallTokenizer(): object {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  let extra = 0;
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[String.fromCodePoint(printable.includes(b) ? b : 256 + extra++)] = b;
  const added = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'].map((content, i) => ({ id: 1000 + i, content, special: true }));
  return { model: { type: 'BPE', vocab, merges: [] }, added_tokens: added };
}

function plainFolder(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const c of ['transformer', 'text_encoder', 'vae']) {
    mkdirSync(join(dir, c));
    for (const f of readdirSync(join(fixtures, c))) if (f !== 'cases.safetensors' && f !== 'manifest.json') cpSync(join(fixtures, c, f), join(dir, c, f));
  }
  mkdirSync(join(dir, 'scheduler'));
  writeFileSync(join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify(schedulerConfigFor(LIGHTNING_SAMPLER)));
  mkdirSync(join(dir, 'tokenizer'));
  writeFileSync(join(dir, 'tokenizer', 'tokenizer.json'), JSON.stringify(smallTokenizer()));
  writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'QwenImagePipeline', _diffusers_version: '0.38.0' }));
}

export function fixtureModelFolder(parent: string): string {
  const dir = join(parent, 'tiny-qwen-image');
  plainFolder(dir);
  return dir;
}

/** models--org--name/{blobs/<sha256>, snapshots/<rev>/... -> ../../blobs/<sha256>, refs/main}. */
export function fixtureHubCache(parent: string, revision = 'abc123'): { repo: string; snapshot: string } {
  const staging = join(parent, 'staging');
  plainFolder(staging);
  const repo = join(parent, 'models--Qwen--Tiny-Image');
  const snapshot = join(repo, 'snapshots', revision);
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(join(repo, 'refs'), { recursive: true });
  writeFileSync(join(repo, 'refs', 'main'), revision);
  const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
  for (const file of walk(staging)) {
    const rel = relative(staging, file);
    const bytes = readFileSync(file);
    const sha = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(repo, 'blobs', sha), bytes);
    const link = join(snapshot, rel);
    mkdirSync(join(link, '..'), { recursive: true });
    symlinkSync(relative(join(link, '..'), join(repo, 'blobs', sha)), link);
  }
  return { repo, snapshot };
}
