// What main and the worker tell the user, as keys with parameters: the renderer renders them in the
// user's language, the CLI and the logs in English from the templates below.

/**
 * English templates, one per notice. `{name}` is replaced by the parameter of that name. Every key must
 * also have a Simplified Chinese template in `app/renderer/i18n/notices-zh.ts` (the compiler checks it).
 * Keys are grouped by the part of the studio that raises them: `error.*` for failures, `note.*` for things
 * a running job wants the user to know.
 */
export const NOTICES = {
  'error.internal': 'Something unexpected went wrong: {message}',
  'error.cancelled': 'The generation was cancelled.',
  'error.shuttingDown': 'The studio is shutting down.',
  // engine
  'error.precisionUnsupported': 'The {provider} provider cannot compute in {precision}; it supports {supported}.',
  'error.textEncoderNonFinite': 'The text encoder produced {count} invalid (NaN or infinite) values; the image was not made.',
  'error.nonFiniteStep': 'Step {step} produced {count} invalid (NaN or infinite) values; the image was not made.',
  'error.vaeNonFinite': 'The VAE produced {count} invalid (NaN or infinite) values; the image was not saved.',
  'note.textEncoderRerun': 'The text encoder gave {count} invalid values in {from}; it ran again in {to}.',
  'note.transformerRerun': 'The transformer gave {count} invalid values in {from}; it runs in {to} from this step on.',
  'note.vaeRerun': 'The VAE gave {count} invalid values in {from}; it ran again in {to}.',
  'error.configTooLarge': '{file}: {key} is {value}, more than any model of this kind has (at most {max}); the folder does not hold a model the studio can run.',
  'plan.resident': 'everything loaded at once, {precision}',
  'plan.sequential': 'one component at a time (text encoder, transformer, VAE), {precision}',
  'plan.streamed': 'transformer streamed in groups of {blocks} blocks ({pinned} kept loaded), {precision}',
  'plan.int8': '8-bit weights (MatMulNBits), one component at a time, {precision} activations',
  'plan.int4': '4-bit weights (MatMulNBits), one component at a time, {precision} activations',
  'plan.int4Streamed': '4-bit weights, transformer streamed in groups of {blocks} blocks ({pinned} kept loaded), {precision} activations',
  'plan.nothingFits': 'Nothing fits in {memory} GB at {width}x{height}: the smallest plan ({smallest}) needs {needs} GB. Try a smaller image size.',
  'gpu.noDriver': 'No NVIDIA driver was found (nvidia-smi did not answer). Install the NVIDIA driver for your card, then start the studio again.',
  'gpu.driverTooOld': 'The NVIDIA driver {driver} is too old for CUDA {cuda}: it needs {minimum} or newer. Update the driver.',
  'gpu.runtimeMissing': 'The CUDA provider for ONNX Runtime {version} is not installed. Run `{command}` (a download of a few hundred MB, once), or `{command} --from FILE` with a package downloaded elsewhere.',
  'gpu.runtimeStale': 'The installed CUDA provider does not match ONNX Runtime {version}. Run `{command}` again.',
  'gpu.librariesMissing': 'The CUDA provider needs {libraries} (CUDA {cuda} with cuDNN 9), which were not found. Install them, for example `pip install {packages}`, then run `studio gpu install --lib-path <the folder holding them>` again, or add that folder to LD_LIBRARY_PATH.',
  'gpu.useDirectml': 'On {platform} the GPU path is DirectML, which ships with the studio (STUDIO_PROVIDERS=dml,cpu, the default there).',
  'gpu.noCudaBuild': 'ONNX Runtime has no CUDA provider for {platform}; the studio runs on the CPU here.',
  'gpu.providerFailed': 'The {provider} provider could not start: {reason}',
  'gpu.ready': 'The CUDA provider (CUDA {cuda}) is installed in {dir} and finds every library it needs.',
  'gpu.install.linuxOnly': 'The CUDA provider is installed on Linux x64 only; this is {platform}.',
  'gpu.install.fromMissing': '{path} does not exist.',
  'gpu.install.fromIncomplete': '{path} does not hold {files}.',
  'gpu.install.downloading': 'Downloading the CUDA provider from {source}.',
  'gpu.install.noNugetManifest': 'This onnxruntime-node has no CUDA package to download; install from a file with --from.',
  'gpu.install.done': 'Installed the CUDA provider (CUDA {cuda}, from {source}) in {dir}.',
  'error.badSetting': '{name} is set to "{value}", which the studio does not understand. Use one of: {allowed}. Change or unset it and start the studio again.',
  // robust: downloads, storage, export, library, worker watchdog
  'error.download.incompleteModel':
    'The download of {repo} is not a complete model: {count} file(s) missing ({missing}). The file list the hub sent may have been cut short; nothing was marked installed. Try again, or choose another source.',
  'error.download.listingLoop': '{source} kept sending more pages of the file list ({pages} so far); the listing was abandoned.',
  'error.download.mirrorInvalid': '"{url}" is not a mirror address the studio can use (it must look like https://hf-mirror.com).',
  'error.download.mirrorNotHttps': 'The mirror {url} must use https; plain http is allowed only to this computer.',
  'error.download.mirrorPrivate':
    'The mirror {url} points to a private or link-local address ({address}), which the studio does not fetch from on request. To use a mirror on your own network, set HF_ENDPOINT to it before starting the studio.',
  'error.download.mirrorUnresolved': 'The mirror {url} cannot be found ({message}).',
  'error.download.installFailed': '{title} was downloaded, but putting it to use failed: {message}',
  'note.library.folderSkipped': 'LoRA library: {reason}; the folder {folder} is left out until it is fixed or removed.',
  'error.seed.invalid': 'The seed "{value}" is not a whole number from 0 to {max}; seeds are never wrapped into another seed.',
  // sdxl: model families, Stable Diffusion components, image input
  'error.modelFileMissing': '{file} is missing; the model folder is incomplete.',
  'error.modelFileInvalid': '{file} cannot be used: {reason}.',
  'error.loraDoesNotFit': 'The LoRA {file} does not fit the loaded model: {count} of its {total} tensors match no layer ({keys}). It was probably made for another base model; nothing was applied.',
  'error.loraShapeMismatch': 'The LoRA {file} does not fit {module}: {reason}. It was made for another model size; nothing was applied.',
  'error.loraEmpty': 'The file {file} holds no LoRA weights.',
  // --- api track: the browser host's connection and the A1111 API setting ---
  'error.connectionLost': 'The connection to the studio was lost.',
  'error.hostUnreachable': 'Cannot reach the studio. Is `studio serve` still running? If you opened this page yourself, open the link it printed instead.',
  'error.noAccessToken': 'This page has no access token: open the link that `studio serve` printed.',
} as const satisfies Record<string, string>;

export type NoticeKey = keyof typeof NOTICES;
export type NoticeParams = Readonly<Record<string, string | number>>;

/** A message for the user: a key into the templates and the values that fill it. */
export interface Notice {
  readonly key: NoticeKey;
  readonly params?: NoticeParams;
}

export function isNoticeKey(key: unknown): key is NoticeKey {
  return typeof key === 'string' && Object.hasOwn(NOTICES, key);
}

export function notice(key: NoticeKey, params?: NoticeParams): Notice {
  return params === undefined ? { key } : { key, params };
}

/** Fills a template; an unknown parameter stays visible as `{name}` so a missing value is noticed. */
export function fillTemplate(template: string, params: NoticeParams = {}): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (Object.hasOwn(params, k) ? String(params[k]) : m));
}

/** The English text of a notice (CLI, logs, and the `message` every serialized error still carries). */
export function noticeText(n: Notice, templates: Readonly<Record<NoticeKey, string>> = NOTICES): string {
  return fillTemplate(templates[n.key], n.params);
}
