// The downloads the UI starts from the catalog: one RepositoryDownload each, progress as events, and
// what arrives put to use (a base model registered, a LoRA imported into the library).

import { randomUUID } from 'node:crypto';
import { mkdir, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CATALOG, type CatalogEntry } from '../../shared/catalog.js';
import type { CatalogItem, DownloadSource, DownloadState } from '../../shared/contract.js';
import { notice } from '../../shared/notices.js';
import { StudioError, serializeError } from '../../shared/result.js';
import { DEFAULT_SOURCES, type HubSource } from './hub-client.js';
import { checkMirrorUrl, type Lookup } from './mirror-url.js';
import { RepositoryDownload } from './pull.js';

export interface DownloadsOptions {
  readonly modelsDir: string;
  readonly env?: NodeJS.ProcessEnv;
  /** A finished download: register the model or import the LoRA files. */
  readonly onInstalled: (entry: CatalogEntry, dir: string, files: readonly string[]) => Promise<void>;
  /** How mirror host names are resolved before they are checked (tests); the system resolver by default. */
  readonly lookup?: Lookup;
}

interface Running {
  readonly id: string;
  readonly entry: CatalogEntry;
  readonly download: RepositoryDownload;
  state: DownloadState;
}

export class Downloads {
  private readonly running = new Map<string, Running>();
  private readonly listeners = new Set<(s: DownloadState) => void>();

  constructor(private readonly options: DownloadsOptions) {}

  onChange(listener: (s: DownloadState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(r: Running, patch: Partial<DownloadState>): DownloadState {
    r.state = { ...r.state, ...patch };
    for (const l of this.listeners) l(r.state);
    return r.state;
  }

  /** Entries can share a repository folder (the Lightning LoRAs): each has its own completion marker. */
  private markerFor(entry: CatalogEntry): string {
    return join(this.folderFor(entry), `.studio-complete-${entry.id}`);
  }

  folderFor(entry: CatalogEntry): string {
    return join(this.options.modelsDir, (entry.huggingface ?? entry.modelscope)!.repo.replace('/', '--'));
  }

  private sourceFor(entry: CatalogEntry, choice: DownloadSource, mirror?: string): { source: HubSource; repo: string; revision: string; include: readonly string[] }[] {
    const env = this.options.env ?? process.env;
    const hf = entry.huggingface;
    const ms = entry.modelscope;
    const hfEndpoint = choice === 'mirror' ? (mirror ?? env.HF_ENDPOINT ?? 'https://hf-mirror.com') : (env.HF_ENDPOINT ?? DEFAULT_SOURCES.huggingface.endpoint);
    const hfSource = hf && { source: { kind: 'huggingface' as const, endpoint: hfEndpoint, label: choice === 'mirror' ? `mirror ${hfEndpoint}` : 'Hugging Face' }, ...hf };
    const msSource = ms && { source: { kind: 'modelscope' as const, endpoint: env.MODELSCOPE_ENDPOINT ?? DEFAULT_SOURCES.modelscope.endpoint, label: 'ModelScope' }, ...ms };
    // The chosen source first; the other hub stays as a fallback for files the first cannot deliver.
    const ordered = choice === 'modelscope' ? [msSource, hfSource] : [hfSource, msSource];
    return ordered.filter((s): s is NonNullable<typeof s> => s !== undefined);
  }

  async catalog(): Promise<{ items: CatalogItem[]; freeBytes: number; modelsDir: string }> {
    await mkdir(this.options.modelsDir, { recursive: true });
    const fs = await statfs(this.options.modelsDir);
    const items = await Promise.all(
      CATALOG.map(async (e): Promise<CatalogItem> => {
        const installed = (await stat(this.markerFor(e)).catch(() => undefined)) !== undefined;
        return {
          id: e.id,
          title: e.title,
          kind: e.kind,
          family: e.family,
          ...(e.speedEntryId ? { speedEntryId: e.speedEntryId } : {}),
          plannable: e.planSizes !== undefined,
          runnable: e.runnable,
          approxBytes: e.approxBytes,
          installed,
          sources: [...(e.huggingface ? (['huggingface', 'mirror'] as const) : []), ...(e.modelscope ? (['modelscope'] as const) : [])],
          ...(e.note ? { note: e.note } : {}),
        };
      }),
    );
    return { items, freeBytes: fs.bavail * fs.bsize, modelsDir: this.options.modelsDir };
  }

  list(): DownloadState[] {
    return [...this.running.values()].map((r) => r.state);
  }

  async start(entryId: string, choice: DownloadSource, mirror?: string): Promise<DownloadState> {
    const entry = CATALOG.find((e) => e.id === entryId);
    if (!entry) throw new StudioError('not-found', notice('error.catalogUnknown', { id: entryId }), entryId);
    if (mirror !== undefined) {
      // The endpoints the user set in the environment are theirs to choose, wherever they point.
      const env = this.options.env ?? process.env;
      await checkMirrorUrl(mirror, [env.HF_ENDPOINT], this.options.lookup);
    }
    for (const r of this.running.values()) {
      if (r.entry.id === entryId && (r.state.status === 'running' || r.state.status === 'paused')) return r.state;
    }
    const sources = this.sourceFor(entry, choice, mirror);
    const primary = sources[0]!;
    const dest = this.folderFor(entry);
    const id = randomUUID();
    const download = new RepositoryDownload({
      repo: primary.repo,
      revision: primary.revision,
      sources: sources.map((s) => s.source),
      include: primary.include,
      dest,
      env: this.options.env ?? process.env,
      onProgress: (progress) => this.emit(r, { progress }),
    });
    const r: Running = { id, entry, download, state: { id, entryId, title: entry.title, status: 'running', progress: null } };
    this.running.set(id, r);
    this.follow(r);
    return r.state;
  }

  private follow(r: Running): void {
    void r.download.finished.then(
      async (result) => {
        if (!result) return; // paused or cancelled: the control call reports it
        try {
          await this.options.onInstalled(r.entry, result.dest, result.files.map((f) => join(result.dest, f.path)));
          await mkdir(this.folderFor(r.entry), { recursive: true });
          await writeFile(this.markerFor(r.entry), new Date().toISOString());
        } catch (e) {
          // Not an unhandled rejection (which would end the process): the download fails, saying why.
          const message = e instanceof Error ? e.message : String(e);
          this.emit(r, { status: 'failed', error: new StudioError(e instanceof StudioError ? e.code : 'storage-failed', notice('error.download.installFailed', { title: r.entry.title, message }), r.entry.id).toJSON() });
          return;
        }
        this.emit(r, { status: 'done' });
      },
      (e: unknown) => this.emit(r, { status: 'failed', error: serializeError(e) }),
    );
  }

  async control(id: string, action: 'pause' | 'resume' | 'cancel'): Promise<DownloadState> {
    const r = this.running.get(id);
    if (!r) throw new StudioError('not-found', notice('error.downloadGone'), id);
    if (action === 'pause') {
      await r.download.pause();
      return this.emit(r, { status: 'paused' });
    }
    if (action === 'resume') {
      r.download.resume();
      this.follow(r);
      return this.emit(r, { status: 'running' });
    }
    await r.download.cancel();
    return this.emit(r, { status: 'cancelled', progress: null });
  }
}
