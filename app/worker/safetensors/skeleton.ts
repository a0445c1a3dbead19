// Writes "skeleton" checkpoints from a tensor inventory: real safetensors headers and file sizes with
// sparse, unwritten data, so loading and planning can be tested at full scale without the weights.

import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DTYPE_BYTES, type SafetensorsDtype } from './safetensors.js';

export interface Inventory {
  readonly component: string;
  readonly config?: Record<string, unknown>;
  readonly config_text?: string;
  readonly index_file?: string | null;
  readonly index_metadata?: Record<string, unknown>;
  readonly file_metadata?: Record<string, string> | null;
  readonly shards: readonly { file: string; tensors: readonly { name: string; dtype: string; shape: readonly number[] }[] }[];
}

/** Writes `<out>/<component>/` with config.json, the shards and the index when sharded. */
export async function writeSkeleton(inventory: Inventory, out: string): Promise<string> {
  const dir = join(out, inventory.component);
  await mkdir(dir, { recursive: true });
  if (inventory.config_text !== undefined) await writeFile(join(dir, 'config.json'), inventory.config_text);
  else if (inventory.config) await writeFile(join(dir, 'config.json'), JSON.stringify(inventory.config, null, 2));
  const weightMap: Record<string, string> = {};
  for (const shard of inventory.shards) {
    const header: Record<string, unknown> = {};
    if (inventory.file_metadata) header.__metadata__ = inventory.file_metadata;
    let offset = 0;
    for (const t of shard.tensors) {
      const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype as SafetensorsDtype];
      header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
      weightMap[t.name] = shard.file;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    const fh = await open(join(dir, shard.file), 'w');
    try {
      await fh.write(Buffer.concat([len, Buffer.from(json)]), 0, undefined, 0);
      await fh.truncate(8 + Buffer.byteLength(json) + offset);
    } finally {
      await fh.close();
    }
  }
  if (inventory.index_file) {
    await writeFile(join(dir, inventory.index_file), JSON.stringify({ metadata: inventory.index_metadata ?? {}, weight_map: weightMap }, null, 2));
  }
  return dir;
}
