// The weights of one model component: a single safetensors file or a sharded set behind an index,
// addressed by tensor name, with every file located relative to a root ONNX Runtime may read under.

import { access, readFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
import { readSafetensorsHeader, type SafetensorsDtype } from './safetensors.js';

export interface WeightRef {
  readonly name: string;
  /** Absolute path of the file holding the tensor. */
  readonly file: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly byteLength: number;
}

export class WeightSet {
  constructor(
    /** The folder external-data locations are resolved against. */
    readonly root: string,
    readonly label: string,
    private readonly refs: ReadonlyMap<string, WeightRef>,
    readonly files: readonly string[],
  ) {}

  has(name: string): boolean {
    return this.refs.has(name);
  }

  names(): string[] {
    return [...this.refs.keys()];
  }

  get totalBytes(): number {
    let n = 0;
    for (const r of this.refs.values()) n += r.byteLength;
    return n;
  }

  /** The tensor, checked against the shape the architecture expects for this config. */
  get(name: string, expectedShape?: readonly number[]): WeightRef {
    const ref = this.refs.get(name);
    if (!ref) throw new StudioError('model-unsupported', notice('error.tensorMissing', { label: this.label, name }), name);
    if (expectedShape && ref.shape.join() !== expectedShape.join()) {
      throw new StudioError(
        'model-unsupported',
        notice('error.tensorShape', { label: this.label, name, shape: ref.shape.join(', '), expected: expectedShape.join(', ') }),
        name,
      );
    }
    return ref;
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * Opens `<dir>/<stem>.safetensors` or the shards listed in `<dir>/<stem>.safetensors.index.json`.
 * `root` must contain `dir` (for the Hugging Face cache: the `models--org--name` folder, so that
 * snapshot symlinks into `blobs/` stay inside it).
 */
export async function openWeightSet(dir: string, stems: readonly string[], root: string, label: string): Promise<WeightSet> {
  for (const stem of stems) {
    const single = join(dir, `${stem}.safetensors`);
    const index = join(dir, `${stem}.safetensors.index.json`);
    if (await exists(index)) return openSharded(index, dir, root, label);
    if (await exists(single)) return openFiles([single], undefined, root, label);
  }
  throw new StudioError(
    'model-not-found',
    notice('error.weightsMissing', { label, files: stems.map((s) => `${s}.safetensors`).join(' / '), dir }),
    dir,
  );
}

async function openSharded(indexFile: string, dir: string, root: string, label: string): Promise<WeightSet> {
  let index: { weight_map?: Record<string, string> };
  try {
    index = JSON.parse(await readFile(indexFile, 'utf8')) as typeof index;
  } catch (e) {
    throw new StudioError('model-unsupported', notice('error.jsonInvalid', { file: `${label}: ${basename(indexFile)}`, problem: (e as Error).message }), indexFile);
  }
  const map = index.weight_map;
  if (!map || typeof map !== 'object') throw new StudioError('model-unsupported', notice('error.weightIndexNoMap', { label, file: basename(indexFile) }), indexFile);
  const shardNames = [...new Set(Object.values(map))];
  for (const shard of shardNames) {
    if (shard.includes('/') || shard.includes('\\') || shard.startsWith('.')) {
      throw new StudioError('model-unsupported', notice('error.weightIndexOutside', { label, file: basename(indexFile), shard }), shard);
    }
    if (!(await exists(join(dir, shard)))) {
      throw new StudioError(
        'model-not-found',
        notice('error.weightShardMissing', { label, shard, file: basename(indexFile) }),
        join(dir, shard),
      );
    }
  }
  return openFiles(
    shardNames.map((s) => join(dir, s)),
    map,
    root,
    label,
  );
}

async function openFiles(files: readonly string[], expected: Record<string, string> | undefined, root: string, label: string): Promise<WeightSet> {
  const refs = new Map<string, WeightRef>();
  for (const file of files) {
    const header = await readSafetensorsHeader(file);
    locationUnder(root, file); // throws when the file lies outside the root
    for (const t of header.tensors.values()) {
      refs.set(t.name, { name: t.name, file, dtype: t.dtype, shape: t.shape, offset: t.offset, byteLength: t.byteLength });
    }
  }
  if (expected) {
    for (const [name, shard] of Object.entries(expected)) {
      const ref = refs.get(name);
      if (!ref || basename(ref.file) !== shard) {
        throw new StudioError('model-unsupported', notice('error.weightShardLacks', { label, name, shard }), name);
      }
    }
  }
  return new WeightSet(root, label, refs, files);
}

/** The deepest folder containing every path: where ONNX Runtime may read all of a session's weights. */
export function commonRoot(paths: readonly string[]): string {
  const split = paths.map((p) => p.split(sep));
  const first = split[0] ?? [];
  let n = first.length;
  for (const parts of split) {
    let i = 0;
    while (i < n && i < parts.length && parts[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join(sep) || sep;
}

/** A weight's external-data location relative to the session's folder, always with forward slashes. */
export function locationUnder(root: string, file: string): string {
  const rel = relative(root, file);
  if (rel.startsWith('..')) throw new Error(`${file} is not inside ${root}`);
  return rel.split(sep).join('/');
}
