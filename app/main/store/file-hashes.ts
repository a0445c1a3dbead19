// SHA-256 of model files, computed once per (path, size, mtime) and remembered, since weights are gigabytes.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { Db } from './database.js';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function cachedSha256(db: Db, file: string): Promise<{ sha256: string; bytes: number }> {
  const info = await stat(file);
  const mtime = Math.floor(info.mtimeMs);
  const row = db.prepare('SELECT sha256 FROM file_hashes WHERE path = ? AND bytes = ? AND mtime_ms = ?').get(file, info.size, mtime) as
    | { sha256: string }
    | undefined;
  if (row) return { sha256: row.sha256, bytes: info.size };
  const sha256 = await sha256File(file);
  db.prepare('INSERT OR REPLACE INTO file_hashes (path, bytes, mtime_ms, sha256) VALUES (?, ?, ?, ?)').run(file, info.size, mtime, sha256);
  return { sha256, bytes: info.size };
}
