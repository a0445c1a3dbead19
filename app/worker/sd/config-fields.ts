// Strict reading of a component's config.json: each field checked, each problem naming the file.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';

export function configError(file: string, reason: string): StudioError {
  return new StudioError('model-unsupported', notice('error.modelFileInvalid', { file, reason }), file);
}

export async function readConfigFile(dir: string, name = 'config.json'): Promise<{ raw: Record<string, unknown>; file: string }> {
  const file = join(dir, name);
  const text = await readFile(file, 'utf8').catch(() => {
    throw new StudioError('model-not-found', notice('error.modelFileMissing', { file }), file);
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw configError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw configError(file, 'not a JSON object');
  return { raw: raw as Record<string, unknown>, file };
}

/** Typed accessors over a raw config that name the file and field in every error. */
export class ConfigFields {
  constructor(
    readonly raw: Readonly<Record<string, unknown>>,
    readonly file: string,
  ) {}

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  positive(key: string, fallback?: number): number {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw configError(this.file, `${key} must be a positive whole number, got ${JSON.stringify(v)}`);
    return v;
  }

  number(key: string, fallback?: number): number {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw configError(this.file, `${key} must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  optionalNumber(key: string): number | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    return this.number(key);
  }

  string(key: string, fallback?: string): string {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'string') throw configError(this.file, `${key} must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  optionalString(key: string): string | undefined {
    const v = this.raw[key];
    return v === undefined || v === null ? undefined : this.string(key);
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'boolean') throw configError(this.file, `${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  strings(key: string, fallback?: readonly string[]): string[] {
    const v = this.raw[key] ?? fallback;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw configError(this.file, `${key} must be a list of strings, got ${JSON.stringify(v)}`);
    return [...v];
  }

  /** A list of positive integers, or one number repeated `length` times (diffusers accepts both). */
  positives(key: string, length: number, fallback?: number | readonly number[]): number[] {
    const v = this.raw[key] ?? fallback;
    const list = typeof v === 'number' ? Array.from({ length }, () => v) : v;
    if (!Array.isArray(list) || list.length !== length || !list.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0)) {
      throw configError(this.file, `${key} must be ${length} positive whole numbers (one per block), got ${JSON.stringify(v)}`);
    }
    return [...(list as number[])];
  }
}
