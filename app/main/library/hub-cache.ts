// Finds models the user already has in a Hugging Face cache, so they are used in place, never copied.

import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub (what huggingface_hub itself uses). */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface', 'hub');
}

export interface CachedRepo {
  readonly repo: string;
  /** The snapshot folder of the revision (refs/main unless one is asked for). */
  readonly snapshot: string;
  readonly revision: string;
}

export async function findInHubCache(repo: string, revision = 'main', env: NodeJS.ProcessEnv = process.env): Promise<CachedRepo | undefined> {
  const folder = join(hubCacheDir(env), `models--${repo.replace('/', '--')}`);
  const ref = await readFile(join(folder, 'refs', revision), 'utf8').catch(() => undefined);
  const commit = ref?.trim() ?? (/^[0-9a-f]{40}$/.test(revision) ? revision : undefined);
  if (!commit) return undefined;
  const snapshot = join(folder, 'snapshots', commit);
  return (await stat(snapshot).catch(() => undefined))?.isDirectory() ? { repo, snapshot, revision: commit } : undefined;
}

/** Every cached repository whose snapshot holds a diffusers model_index.json. */
export async function listCachedModels(env: NodeJS.ProcessEnv = process.env): Promise<CachedRepo[]> {
  const dir = hubCacheDir(env);
  const entries = await readdir(dir).catch(() => [] as string[]);
  const found: CachedRepo[] = [];
  for (const e of entries) {
    if (!e.startsWith('models--')) continue;
    const repo = e.slice('models--'.length).replace('--', '/');
    const cached = await findInHubCache(repo, 'main', env);
    if (cached && (await stat(join(cached.snapshot, 'model_index.json')).catch(() => undefined))) found.push(cached);
  }
  return found;
}
