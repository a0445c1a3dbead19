// Lists a repository's files and where to download them, on Hugging Face (or an HF_ENDPOINT-style mirror)
// and on ModelScope. Sizes and sha256 come from the hubs' own listings.

import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';

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

async function getPage(url: string, label: string, headers: Record<string, string>, signal?: AbortSignal): Promise<{ data: unknown; next: string | undefined }> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json', ...headers }, ...(signal ? { signal } : {}) });
  } catch (e) {
    throw new StudioError('not-found', notice('error.hubUnreachable', { source: label }), `${url}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`);
  }
  if (res.status === 401 || res.status === 403) throw new StudioError('not-found', notice('error.hubRefused', { source: label, status: res.status }), url);
  if (res.status === 404) throw new StudioError('not-found', notice('error.hubNoRepo', { source: label }), url);
  if (!res.ok) throw new StudioError('not-found', notice('error.hubHttp', { source: label, status: res.status }), url);
  return { data: await res.json(), next: nextPageUrl(res.headers.get('link'), url) };
}

/**
 * The `rel="next"` target of an RFC 8288 Link header, as huggingface_hub's `paginate` follows it,
 * resolved against the page that carried it. A mirror that passes the hub's absolute links through
 * unchanged would send us back to huggingface.co, so the next page stays on the origin we listed from.
 */
export function nextPageUrl(link: string | null, pageUrl: string): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!m) continue;
    const rels = /(?:^|;)\s*rel\s*=\s*"?([^";]+)"?/i.exec(m[2]!)?.[1]?.toLowerCase().split(/\s+/) ?? [];
    if (!rels.includes('next')) continue;
    let next: URL;
    try {
      next = new URL(m[1]!, pageUrl);
    } catch {
      return undefined;
    }
    const page = new URL(pageUrl);
    if (next.origin !== page.origin) next = new URL(`${next.pathname}${next.search}`, page.origin);
    return next.href;
  }
  return undefined;
}

/** A listing has at most this many pages (Hugging Face sends 1,000 entries a page): a loop guard. */
const MAX_PAGES = 10_000;

interface HfTreeEntry {
  type: string;
  path: string;
  size: number;
  oid?: string;
  lfs?: { oid: string; size: number };
}

/** Every file of the repository at the revision, with sizes and hashes. */
export async function listRepoFiles(source: HubSource, repo: string, revision: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<RemoteFile[]> {
  const base = trimSlash(source.endpoint);
  if (source.kind === 'huggingface') {
    // The tree API is paginated: each page names the next in its Link header.
    const files: RemoteFile[] = [];
    const seen = new Set<string>();
    let url: string | undefined = `${base}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
    for (let page = 0; url !== undefined; page++) {
      if (page >= MAX_PAGES || seen.has(url)) throw new StudioError('not-found', notice('error.download.listingLoop', { source: source.label, pages: page }), url);
      seen.add(url);
      const { data, next }: { data: unknown; next: string | undefined } = await getPage(url, source.label, headers, signal);
      if (!Array.isArray(data)) throw new StudioError('not-found', notice('error.hubBadListing', { source: source.label }));
      for (const f of data as HfTreeEntry[]) {
        if (f.type === 'file') files.push({ path: f.path, size: f.lfs?.size ?? f.size, ...(f.lfs ? { sha256: f.lfs.oid } : f.oid ? { gitSha1: f.oid } : {}) });
      }
      url = next;
    }
    return files;
  }
  // ModelScope answers a model's recursive listing in one response (its own client, HubApi.get_model_files,
  // reads no pages); a listing cut short is caught by the completeness check after the download.
  const { data } = await getPage(`${base}/api/v1/models/${repo}/repo/files?Revision=${encodeURIComponent(revision)}&Recursive=true`, source.label, headers, signal);
  const files = (data as { Data?: { Files?: { Path: string; Size: number; Sha256?: string; Type: string }[] } }).Data?.Files;
  if (!Array.isArray(files)) throw new StudioError('not-found', notice('error.hubBadListing', { source: source.label }));
  return files.filter((f) => f.Type === 'blob').map((f) => ({ path: f.Path, size: f.Size, ...(f.Sha256 ? { sha256: f.Sha256 } : {}) }));
}
