// The bundled catalog: what the studio knows how to run, where each piece lives on both hubs, how big it is.

import { FAMILIES, type CatalogEntry } from './model-families.js';

export const CATALOG_VERSION = 1;

export { QWEN_IMAGE_SIZES, type CatalogEntry, type CatalogKind, type CatalogSource } from './model-families.js';

/** Every family's catalog entries, in registry order. */
export const CATALOG: readonly CatalogEntry[] = Object.values(FAMILIES).flatMap((f) => f.catalog);

/** Matches a repo-relative path against a glob with * (no slash) and ** (any depth). */
export function globMatch(glob: string, path: string): boolean {
  const re = glob
    .split('**')
    .map((part) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${re}$`).test(path);
}

/** "org/name" or "org/name@revision". */
export function parseRepoSpec(spec: string): { repo: string; revision: string | undefined } | undefined {
  const m = /^([A-Za-z0-9][\w.-]*\/[\w.-]+)(?:@([\w./-]+))?$/.exec(spec);
  return m ? { repo: m[1]!, revision: m[2] } : undefined;
}
