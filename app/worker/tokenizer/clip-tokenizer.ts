// The CLIP byte-level BPE tokenizer of Stable Diffusion's text encoders, exact to transformers'
// CLIPTokenizer (the slow one, with ftfy): added tokens are cut out of the raw text first, each piece is
// cleaned (ftfy, whitespace, lower case), split into words, and each word merged by rank with "</w>" on
// its last symbol. Read from a diffusers tokenizer/ folder (vocab.json, merges.txt, tokenizer_config.json).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
import { fixText, WHITE_SPACE, whitespaceClean } from './text-cleaner.js';

/** openai/CLIP uses the first 49152 - 256 - 2 merges of its file; transformers slices merges.txt the same way. */
const MAX_MERGES = 49152 - 256 - 2;
const START = '<|startoftext|>';
const END = '<|endoftext|>';

const WORD_RE = new RegExp(`<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^${WHITE_SPACE}\\p{L}\\p{N}]+`, 'giu');

/** GPT-2's reversible map from bytes to printable characters. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const map = new Array<string>(256);
  for (const b of bs) map[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (map[b] === undefined) map[b] = String.fromCharCode(256 + n++);
  return map;
}
const BYTE_CHARS = bytesToUnicode();
const encoder = new TextEncoder();

function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return undefined;
}

async function readJson(file: string, label: string): Promise<unknown> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new StudioError('model-not-found', notice('error.modelFileMissing', { file }), file);
  });
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new StudioError('model-unsupported', notice('error.modelFileInvalid', { file, reason: `${label}: ${(e as Error).message}` }), file);
  }
}

export class ClipTokenizer {
  private readonly cache = new Map<string, string[]>();
  private readonly special: readonly string[];

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly ranks: ReadonlyMap<string, number>,
    /** Every added token (cut from the raw text before cleaning), longest first. */
    addedTokens: readonly string[],
    readonly padToken: string,
    readonly maxLength: number,
  ) {
    this.special = [...addedTokens].sort((a, b) => b.length - a.length);
  }

  /** Reads tokenizer files; `shared` is where vocab.json / merges.txt are when the folder has only the config. */
  static async fromFolder(dir: string, shared: string = dir): Promise<ClipTokenizer> {
    const vocabDir = (await readFile(join(dir, 'vocab.json')).then(() => true, () => false)) ? dir : shared;
    const vocabJson = await readJson(join(vocabDir, 'vocab.json'), 'vocab.json');
    if (!vocabJson || typeof vocabJson !== 'object' || Array.isArray(vocabJson)) {
      throw new StudioError('model-unsupported', notice('error.modelFileInvalid', { file: join(vocabDir, 'vocab.json'), reason: 'not a token-to-id object' }), vocabDir);
    }
    const vocab = new Map<string, number>();
    for (const [token, id] of Object.entries(vocabJson as Record<string, unknown>)) if (typeof id === 'number') vocab.set(token, id);
    const mergesFile = join(vocabDir, 'merges.txt');
    const mergesText = await readFile(mergesFile, 'utf8').catch(() => {
      throw new StudioError('model-not-found', notice('error.modelFileMissing', { file: mergesFile }), mergesFile);
    });
    const lines = mergesText.trim().split('\n').slice(1, MAX_MERGES + 1);
    const ranks = new Map<string, number>();
    lines.forEach((line, i) => {
      const parts = line.split(/\s+/).filter(Boolean);
      if (parts.length === 2) ranks.set(`${parts[0]} ${parts[1]}`, i);
    });
    const config = ((await readJson(join(dir, 'tokenizer_config.json'), 'tokenizer_config.json').catch(() => ({}))) ?? {}) as Record<string, unknown>;
    const specialMap = ((await readJson(join(dir, 'special_tokens_map.json'), 'special_tokens_map.json').catch(() => ({}))) ?? {}) as Record<string, unknown>;
    const pick = (key: string, fallback: string) => tokenContent(config[key]) ?? tokenContent(specialMap[key]) ?? fallback;
    const pad = pick('pad_token', END);
    const added = new Set<string>([pick('bos_token', START), pick('eos_token', END), pick('unk_token', END), pad]);
    const decoder = config.added_tokens_decoder;
    if (decoder && typeof decoder === 'object') {
      for (const entry of Object.values(decoder as Record<string, unknown>)) {
        const content = tokenContent(entry);
        if (content) added.add(content);
      }
    }
    for (const token of added) {
      if (!vocab.has(token)) {
        throw new StudioError('model-unsupported', notice('error.modelFileInvalid', { file: join(vocabDir, 'vocab.json'), reason: `the tokenizer's token ${JSON.stringify(token)} is not in the vocabulary` }), vocabDir);
      }
    }
    const maxLength = typeof config.model_max_length === 'number' && config.model_max_length <= 4096 ? config.model_max_length : 77;
    return new ClipTokenizer(vocab, ranks, [...added], pad, maxLength);
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  get bosId(): number {
    return this.vocab.get(START)!;
  }

  get eosId(): number {
    return this.vocab.get(END)!;
  }

  get padId(): number {
    return this.vocab.get(this.padToken)!;
  }

  /** The ids of the text without special tokens around it (`add_special_tokens=False`). */
  encode(text: string): number[] {
    const unk = this.vocab.get(END)!;
    const ids: number[] = [];
    for (const piece of this.splitAdded(text)) {
      if (piece.added) {
        ids.push(this.vocab.get(piece.text)!);
        continue;
      }
      const cleaned = whitespaceClean(fixText(piece.text)).toLowerCase();
      for (const word of cleaned.match(WORD_RE) ?? []) {
        let symbols = '';
        for (const b of encoder.encode(word)) symbols += BYTE_CHARS[b];
        for (const token of this.bpe(symbols)) ids.push(this.vocab.get(token) ?? unk);
      }
    }
    return ids;
  }

  /**
   * What the pipelines feed the text encoders: start token, at most maxLength - 2 ids, end token, then the
   * pad token up to maxLength (`padding="max_length", truncation=True`).
   */
  encodePadded(text: string, maxLength = this.maxLength): number[] {
    const body = this.encode(text).slice(0, maxLength - 2);
    const ids = [this.bosId, ...body, this.eosId];
    while (ids.length < maxLength) ids.push(this.padId);
    return ids;
  }

  /** Splits on literal added tokens (case-sensitive, leftmost and longest first), as the slow tokenizer's trie does. */
  private splitAdded(text: string): { text: string; added: boolean }[] {
    const out: { text: string; added: boolean }[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const hit = this.special.find((t) => text.startsWith(t, i));
      if (hit) {
        if (i > start) out.push({ text: text.slice(start, i), added: false });
        out.push({ text: hit, added: true });
        i += hit.length;
        start = i;
      } else i++;
    }
    if (start < text.length) out.push({ text: text.slice(start), added: false });
    return out;
  }

  private bpe(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    const chars = Array.from(token);
    let word = [...chars.slice(0, -1), `${chars[chars.length - 1]}</w>`];
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best]!;
      const second = word[best + 1]!;
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else merged.push(word[i]!);
      }
      word = merged;
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(token, word);
    return word;
  }
}
