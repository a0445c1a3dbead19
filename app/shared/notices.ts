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
  'error.latentsInvalid': 'Step {step} produced {count} invalid (NaN or infinite) latent values; the image was not made.',
  'error.vaeInvalid': 'The VAE produced {count} invalid (NaN or infinite) values; the image was not saved.',
  'error.componentsMismatch': '{file}: {reason}; the components of this folder do not belong together.',
  // --- api track: the browser host's connection and the A1111 API setting ---
  'error.connectionLost': 'The connection to the studio was lost.',
  'error.hostUnreachable': 'Cannot reach the studio. Is `studio serve` still running? If you opened this page yourself, open the link it printed instead.',
  'error.noAccessToken': 'This page has no access token: open the link that `studio serve` printed.',
  'error.apiListenNeedsAuth': '--listen makes the A1111 API reachable from other machines, so it needs credentials: add --api-auth USER:PASSWORD.',
  'error.apiAuthFormat': 'API credentials look like USER:PASSWORD (several separated by commas).',
  'error.apiPortInUse': 'Port {port} is already in use; choose another port for the A1111 API.',
  'error.apiFromCommandLine': 'The A1111 API was started from the command line (studio serve --api); stop the studio and start it without --api to change it here.',
  'error.apiCredentialsHalf': 'Give both a user name and a password for the A1111 API, or neither.',
  'error.apiPortInvalid': '--api-port must be a port number from 0 to 65535, got "{value}".',
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
