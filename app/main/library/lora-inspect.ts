// Inspects a LoRA file without trusting it: safetensors only (pickles are refused unopened), header
// validated, key format, base architecture, rank, targets and trainer metadata read from the header.

import { open, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { speedPresetFor } from '../../shared/lora-presets.js';
import { familyOfLoraArchitecture, loraArchitectureOf } from '../../shared/model-families.js';
import { notice, type Notice } from '../../shared/notices.js';
import { MAX_HEADER_BYTES, parseSafetensorsHeader, SafetensorsError, type SafetensorsHeader } from '../../shared/safetensors-format.js';
import { inspectOnThread } from './lora-inspect-thread-client.js';

/** The base architecture a LoRA was made for, as the family registry recognises it from the keys. */
export type LoraArchitecture = string;

export interface LoraReport {
  readonly ok: true;
  readonly file: string;
  readonly format: 'lightx2v' | 'peft' | 'kohya';
  readonly architecture: LoraArchitecture;
  readonly runnable: boolean;
  readonly rank: number;
  readonly modules: number;
  /** Module kinds patched, e.g. attn.to_q, img_mlp.net.0.proj. */
  readonly targets: readonly string[];
  readonly textEncoder: boolean;
  readonly role: 'speed' | 'style';
  readonly preset?: string;
  readonly triggerWords: readonly string[];
  readonly baseModel?: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface LoraRefusal {
  readonly ok: false;
  readonly file: string;
  /** Why, in words the user reads (in their language, through the renderer). */
  readonly reason: Notice;
  /** What exactly was wrong, for the technical reader (a header problem, a tensor name). */
  readonly detail?: string;
}

const PICKLE_EXTENSIONS = ['.bin', '.ckpt', '.pt', '.pth', '.pkl', '.pickle'];


/** Headers above this are parsed on a worker thread: an 84 MB header takes seconds of JSON.parse. */
export const THREAD_HEADER_BYTES = 1024 * 1024;

/** The header's bytes, or why the file is refused before any parsing. */
async function readHeaderBytes(file: string, name: string): Promise<{ bytes: Uint8Array; size: number } | LoraRefusal> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(8, size));
    await fh.read(head, 0, head.length, 0);
    // Pickles and torch.save zip archives, whatever their name says.
    if ((head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) || head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) {
      return { ok: false, file, reason: notice('lora.pickle', { name }) };
    }
    if (size < 8) return { ok: false, file, reason: notice('lora.tooShort', { name, size }) };
    const n = head.readBigUInt64LE(0);
    if (n < 2n || n > BigInt(MAX_HEADER_BYTES)) {
      return { ok: false, file, reason: notice('lora.notSafetensors', { name }), detail: `the header claims ${n} bytes, which no valid safetensors file has` };
    }
    if (8 + Number(n) > size) return { ok: false, file, reason: notice('lora.truncated', { name }), detail: `the header claims ${n} bytes but the file is only ${size} bytes` };
    const bytes = new Uint8Array(Number(n));
    await fh.read(bytes, 0, bytes.length, 8);
    return { bytes, size };
  } finally {
    await fh.close();
  }
}

function formatOf(keys: readonly string[]): LoraReport['format'] | undefined {
  if (keys.some((k) => k.startsWith('lora_unet_') || k.startsWith('lora_te'))) return 'kohya';
  if (keys.some((k) => /\.lora_[AB](\.default)?\.weight$/.test(k))) return 'peft';
  if (keys.some((k) => /\.lora_(down|up)\.weight$/.test(k))) return 'lightx2v';
  return undefined;
}

/** Trigger words as trainers record them (kohya ss_tag_frequency, modelspec, plain keys). */
function triggerWords(meta: Readonly<Record<string, string>>): string[] {
  const words = new Set<string>();
  for (const key of ['modelspec.trigger_phrase', 'trigger_words', 'trigger_word', 'ss_trigger_words']) {
    for (const w of (meta[key] ?? '').split(/[,\n]/)) if (w.trim()) words.add(w.trim());
  }
  try {
    const freq = JSON.parse(meta.ss_tag_frequency ?? '{}') as Record<string, Record<string, number>>;
    const tags = Object.values(freq).flatMap((t) => Object.entries(t));
    tags.sort((a, b) => b[1] - a[1]);
    for (const [tag] of tags.slice(0, 3)) words.add(tag.trim());
  } catch {
    // Malformed trainer metadata is not a reason to refuse the LoRA.
  }
  return [...words].slice(0, 20).map((w) => w.slice(0, 100));
}

/** The report of a parsed header: what the LoRA is, or why it is refused. Pure, so a thread can run it. */
export function inspectHeaderBytes(file: string, name: string, bytes: Uint8Array, size: number): LoraReport | LoraRefusal {
  let header: SafetensorsHeader;
  try {
    header = parseSafetensorsHeader(file, bytes, size);
  } catch (e) {
    if (e instanceof SafetensorsError) return { ok: false, file, reason: notice(/truncated/.test(e.message) ? 'lora.truncated' : 'lora.damaged', { name }), detail: e.message };
    throw e;
  }
  const keys = [...header.tensors.keys()];
  const format = formatOf(keys);
  if (!format) return { ok: false, file, reason: notice('lora.noWeights', { name }) };
  const downs = [...header.tensors.values()].filter((t) => /lora_(down|A)(\.default)?\.weight$/.test(t.name));
  // A loop, not Math.max(...downs): spreading 120,000 arguments overflows the stack.
  let rank = 0;
  for (const t of downs) rank = Math.max(rank, t.shape[0] ?? 0);
  const targets = new Set(
    downs.map((t) =>
      t.name
        .replace(/\.lora_(down|A)(\.default)?\.weight$/, '')
        .replace(/^(lora_unet_|lora_te\d?_|transformer\.|diffusion_model\.|base_model\.model\.|text_encoder\.)/, '')
        .replace(/^transformer_blocks[._]\d+[._]/, '')
        .replace(/^(model[._])?layers[._]\d+[._]/, ''),
    ),
  );
  const architecture = loraArchitectureOf({ names: keys, downShape: (k) => header.tensors.get(k)?.shape });
  const family = familyOfLoraArchitecture(architecture);
  const preset = family ? speedPresetFor(name, family.id) : undefined;
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(header.metadata)) if (k !== 'ss_tag_frequency' && k !== 'ss_dataset_dirs') meta[k.slice(0, 100)] = v.slice(0, 2000);
  return {
    ok: true,
    file,
    format,
    architecture,
    runnable: family !== undefined,
    rank,
    modules: downs.length,
    targets: [...targets].sort(),
    textEncoder: keys.some((k) => k.startsWith('lora_te') || k.startsWith('text_encoder.')),
    role: preset ? 'speed' : 'style',
    ...(preset ? { preset: preset.id } : {}),
    triggerWords: triggerWords(header.metadata),
    ...(header.metadata['modelspec.architecture'] || header.metadata.ss_base_model_version
      ? { baseModel: (header.metadata['modelspec.architecture'] ?? header.metadata.ss_base_model_version)!.slice(0, 200) }
      : {}),
    metadata: meta,
  };
}

/** `displayName` is the user's file name when the bytes sit in a temporary file (an upload). */
export async function inspectLoraFile(file: string, displayName = basename(file)): Promise<LoraReport | LoraRefusal> {
  const name = basename(displayName);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return { ok: false, file, reason: notice('lora.notAFile', { file }) };
  if (PICKLE_EXTENSIONS.includes(extname(name).toLowerCase())) return { ok: false, file, reason: notice('lora.pickle', { name }) };
  const read = await readHeaderBytes(file, name);
  if ('ok' in read) return read;
  if (read.bytes.length > THREAD_HEADER_BYTES) {
    const off = await inspectOnThread(file, name, read.bytes, read.size);
    if (off) return off;
  }
  return inspectHeaderBytes(file, name, read.bytes, read.size);
}
