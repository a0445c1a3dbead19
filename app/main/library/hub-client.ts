// Lists a repository's files and where to download them, on Hugging Face (or an HF_ENDPOINT-style mirror)
// and on ModelScope. Sizes and sha256 come from the hubs' own listings.

import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';

export type HubKind = 'huggingface' | 'modelscope';

export interface HubSource {
  readonly kind: HubKind;
  /** e.g. https://huggingface.co, https://hf-mirror.com, https://www.modelscope.cn */
  readonly endpoint: string;
  readonly label: string;
}

export interface RemoteFile {
  readonly path: string;
  readonly size: number;
  /** Known for LFS files on Hugging Face and for every file on ModelScope. */
  readonly sha256?: string;
  /** Git blob sha1 of small (non-LFS) files on Hugging Face. */
  readonly gitSha1?: string;
}

export const DEFAULT_SOURCES: Record<HubKind, HubSource> = {
  huggingface: { kind: 'huggingface', endpoint: 'https://huggingface.co', label: 'Hugging Face' },
  modelscope: { kind: 'modelscope', endpoint: 'https://www.modelscope.cn', label: 'ModelScope' },
};

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

export function defaultRevision(kind: HubKind): string {
  return kind === 'huggingface' ? 'main' : 'master';
}

export function fileUrl(source: HubSource, repo: string, revision: string, path: string): string {
  const base = trimSlash(source.endpoint);
  if (source.kind === 'huggingface') return `${base}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
  return `${base}/api/v1/models/${repo}/repo?Revision=${encodeURIComponent(revision)}&FilePath=${encodeURIComponent(path)}`;
}

async function getJson(url: string, label: string, headers: Record<string, string>, signal?: AbortSignal): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json', ...headers }, ...(signal ? { signal } : {}) });
  } catch (e) {
    throw new StudioError('not-found', notice('error.hubUnreachable', { source: label }), `${url}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`);
  }
  if (res.status === 401 || res.status === 403) throw new StudioError('not-found', notice('error.hubRefused', { source: label, status: res.status }), url);
  if (res.status === 404) throw new StudioError('not-found', notice('error.hubNoRepo', { source: label }), url);
  if (!res.ok) throw new StudioError('not-found', notice('error.hubHttp', { source: label, status: res.status }), url);
  return res.json();
}

/** Every file of the repository at the revision, with sizes and hashes. */
export async function listRepoFiles(source: HubSource, repo: string, revision: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<RemoteFile[]> {
  const base = trimSlash(source.endpoint);
  if (source.kind === 'huggingface') {
    const data = (await getJson(`${base}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`, source.label, headers, signal)) as {
      type: string;
      path: string;
      size: number;
      oid?: string;
      lfs?: { oid: string; size: number };
    }[];
    if (!Array.isArray(data)) throw new StudioError('not-found', notice('error.hubBadListing', { source: source.label }));
    return data
      .filter((f) => f.type === 'file')
      .map((f) => ({ path: f.path, size: f.lfs?.size ?? f.size, ...(f.lfs ? { sha256: f.lfs.oid } : f.oid ? { gitSha1: f.oid } : {}) }));
  }
  const data = (await getJson(`${base}/api/v1/models/${repo}/repo/files?Revision=${encodeURIComponent(revision)}&Recursive=true`, source.label, headers, signal)) as {
    Code?: number;
    Data?: { Files?: { Path: string; Size: number; Sha256?: string; Type: string }[] };
  };
  const files = data.Data?.Files;
  if (!Array.isArray(files)) throw new StudioError('not-found', notice('error.hubBadListing', { source: source.label }));
  return files.filter((f) => f.Type === 'blob').map((f) => ({ path: f.Path, size: f.Size, ...(f.Sha256 ? { sha256: f.Sha256 } : {}) }));
}
