// Validates and dispatches the renderer's calls; shared by the Electron IPC glue and the browser host.

import { invokeParamSchemas, isInvokeMethod, type InvokeMethod, type InvokeResults, type ValidParams } from '../shared/contract.js';
import { assertNever, fail, ok, serializeError, StudioError, type Result } from '../shared/result.js';
import { issueNotice } from '../shared/generation.js';
import { notice } from '../shared/notices.js';
import type { Studio } from './studio.js';

export type Dispatch = (method: unknown, params: unknown) => Promise<Result<unknown>>;

function call<K extends InvokeMethod>(studio: Studio, host: 'electron' | 'browser', method: K, params: ValidParams<K>, trash?: Trash, reveal?: Reveal, pickFolder?: PickFolder): InvokeResults[K] | Promise<InvokeResults[K]>;
function call(studio: Studio, host: 'electron' | 'browser', method: InvokeMethod, params: unknown, trash?: Trash, reveal?: Reveal, pickFolder?: PickFolder): unknown {
  switch (method) {
    case 'app.info':
      return studio.info(host);
    case 'generate.start': {
      const { jobId, request } = studio.submit(params);
      return { jobId, request };
    }
    case 'generate.cancel':
      return { cancelled: studio.jobs.cancel((params as ValidParams<'generate.cancel'>).jobId) };
    case 'history.list':
      return studio.history.page(params as ValidParams<'history.list'>);
    case 'history.count':
      return studio.history.count(params as ValidParams<'history.count'>);
    case 'history.get':
      return studio.history.get((params as ValidParams<'history.get'>).id);
    case 'history.setFavorite': {
      const p = params as ValidParams<'history.setFavorite'>;
      return studio.history.setFavorite(p.id, p.favorite);
    }
    case 'history.delete':
      return studio.history.delete((params as ValidParams<'history.delete'>).id, trash);
    case 'export.start': {
      const p = params as ValidParams<'export.start'>;
      return studio.exports.start({ ...(p.ids ? { ids: p.ids } : {}), ...(p.filters ? { filters: p.filters } : {}) }, p.kind, p.id);
    }
    case 'plan.get': {
      const p = params as ValidParams<'plan.get'>;
      return studio.plan(p.modelId, p.width, p.height, p.loras);
    }
    case 'catalog.list':
      return studio.downloads.catalog();
    case 'downloads.start': {
      const p = params as ValidParams<'downloads.start'>;
      return studio.downloads.start(p.entryId, p.source, p.mirror);
    }
    case 'downloads.control': {
      const p = params as ValidParams<'downloads.control'>;
      return studio.downloads.control(p.id, p.action);
    }
    case 'downloads.list':
      return { items: studio.downloads.list() };
    case 'history.reveal': {
      const path = studio.history.imagePath((params as ValidParams<'history.reveal'>).id);
      if (reveal) reveal(path);
      return { path, shown: reveal !== undefined };
    }
    case 'library.loras':
      return { items: studio.loras.list() };
    case 'library.importLora':
      if (host !== 'electron') throw new StudioError('invalid-request', notice('error.desktopOnlyImport'));
      return studio.loras.import((params as ValidParams<'library.importLora'>).path);
    case 'jobs.list':
      return { items: studio.jobs.jobs() };
    case 'models.addFolder':
      return studio.addModelFolder((params as ValidParams<'models.addFolder'>).path);
    case 'models.pickFolder':
      if (!pickFolder) throw new StudioError('invalid-request', notice('error.desktopOnlyPicker'));
      return pickFolder().then((path) => ({ path }));
    case 'plan.catalog': {
      const p = params as ValidParams<'plan.catalog'>;
      return studio.planCatalog(p.entryId, p.width, p.height);
    }
    case 'library.deleteLora':
      return studio.loras.remove((params as ValidParams<'library.deleteLora'>).id).then((deleted) => ({ deleted }));
    case 'library.setPreview': {
      const p = params as ValidParams<'library.setPreview'>;
      return studio.loras.setPreview(p.id, studio.history.thumbPath(p.generationId));
    }
    case 'a1111.get':
      return studio.api.state();
    case 'a1111.configure':
      return studio.api.configure(params as ValidParams<'a1111.configure'>);
    default:
      return assertNever(method, 'method');
  }
}

/** Moves a file to the system trash (Electron's shell.trashItem); absent in the browser host. */
export type Trash = (file: string) => Promise<void>;
/** Shows a file in the system file manager (Electron's shell.showItemInFolder). */
export type Reveal = (file: string) => void;
/** The system's folder picker (Electron's dialog.showOpenDialog); null when closed without a choice. */
export type PickFolder = () => Promise<string | null>;

export function createDispatch(studio: Studio, host: 'electron' | 'browser', trash?: Trash, reveal?: Reveal, pickFolder?: PickFolder): Dispatch {
  return async (method, params) => {
    if (!isInvokeMethod(method)) return fail('invalid-request', notice('error.unknownMethod', { method: String(method).slice(0, 100) }));
    const parsed = invokeParamSchemas[method].safeParse(params ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail('invalid-request', issueNotice(issue), parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    try {
      return ok(await call(studio, host, method, parsed.data as never, trash, reveal, pickFolder));
    } catch (e) {
      if (!(e instanceof StudioError)) console.error(`studio: ${method} failed:`, e);
      return { ok: false, error: serializeError(e) };
    }
  };
}
