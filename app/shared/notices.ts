// What main and the worker tell the user, as keys with parameters: the renderer renders them in the
// user's language, the CLI and the logs in English from the templates below.

/**
 * English templates, one per notice. `{name}` is replaced by the parameter of that name. Every key must
 * also have a Simplified Chinese template in `app/renderer/i18n/notices-zh.ts` (the compiler checks it).
 * Keys are grouped by the part of the studio that raises them: `error.*` for failures, `note.*` for things
 * a running job wants the user to know, `validation.*` for a request field that is not acceptable,
 * `lora.*` for a LoRA file refused at import, `plan.*`/`device.*` for the execution planner's texts.
 * A parameter may itself be a notice (a reason inside a sentence); it is rendered in the same language.
 */
export const NOTICES = {
  'error.internal': 'Something unexpected went wrong: {message}',
  'error.cancelled': 'The generation was cancelled.',
  'error.shuttingDown': 'The studio is shutting down.',
  // --- ui: every existing message of main and the worker, converted ---
  // Requests and the contract
  'error.unknownMethod': 'Unknown method {method}.',
  'error.desktopOnlyImport': 'Import by path is only for the desktop app; the browser uploads files.',
  'validation.invalid': '{field}: {problem}',
  'validation.promptEmpty': 'The prompt is empty: describe the image you want',
  'validation.promptLong': 'The prompt is longer than {max} characters',
  'validation.negativeLong': 'The negative prompt is longer than {max} characters',
  'validation.seedWhole': 'The seed must be a whole number',
  'validation.seedNegative': 'The seed cannot be negative',
  'validation.seedMax': 'The seed must be at most {max}',
  'validation.stepsWhole': 'Steps must be a whole number',
  'validation.stepsRange': 'Steps must be between {min} and {max}',
  'validation.guidanceMin': 'Guidance must be at least 1.0',
  'validation.guidanceMax': 'Guidance must be at most 20',
  'validation.widthNumber': 'Width must be a number of pixels',
  'validation.widthWhole': 'Width must be a whole number of pixels',
  'validation.widthMin': 'Width must be at least {min} pixels',
  'validation.widthMax': 'Width must be at most {max} pixels',
  'validation.widthMultiple': 'Width must be a multiple of {step} pixels',
  'validation.heightNumber': 'Height must be a number of pixels',
  'validation.heightWhole': 'Height must be a whole number of pixels',
  'validation.heightMin': 'Height must be at least {min} pixels',
  'validation.heightMax': 'Height must be at most {max} pixels',
  'validation.heightMultiple': 'Height must be a multiple of {step} pixels',
  'validation.tooManyPixels': 'The image is larger than {max} megapixels',
  'validation.loraStrength': 'LoRA strength must be between -2 and 2',
  'validation.loraCount': 'At most 8 LoRAs at once',
  'validation.batchRange': 'Batch must be between 1 and {max} images',
  // Models and LoRAs the main process knows
  'error.modelUnknown': 'The model "{id}" is not installed. Choose another model, or add it under Models.',
  'error.loraUnknown': 'The LoRA "{id}" is not in the library any more. Choose another style or import it again.',
  'error.twoSpeedLoras': 'Two speed LoRAs at once ({first} and {second}): choose one.',
  'error.imageGone': 'That image is not in the history any more.',
  // Saving images
  // The worker process
  'error.workerStartTimeout': 'The image worker did not start within {seconds} s. Generate again to retry; if it keeps happening, restart the studio.',
  'error.workerStartFailed': 'The image worker failed to start: {exit}.',
  'error.workerCrashedPlanning': 'The image worker stopped while planning: {exit}.',
  'error.workerCrashedRestarted': 'The image worker stopped while generating: {exit}. It has been restarted; generate again to retry.',
  'error.workerCrashedRepeatedly': 'The image worker stopped while generating: {exit}. It crashed repeatedly and will be restarted with the next job.',
  'exit.signal': 'it was killed by {signal}',
  'exit.killed': 'it was killed by SIGKILL (out of memory, or ended by another program)',
  'exit.code': 'it exited with code {code}',
  // Model folders
  'error.modelFolderMissing': 'There is no model folder at {dir}.',
  'error.modelIndexMissing': '{dir} has no model_index.json. Point the studio at a diffusers-layout model folder (the one holding model_index.json and a folder per component).',
  'error.jsonInvalid': '{file} is not valid JSON ({problem}).',
  'error.modelComponentMissing': '{dir} has no {component}/ folder; the download is incomplete.',
  // engine
  'error.precisionUnsupported': 'The {provider} provider cannot compute in {precision}; it supports {supported}.',
  'error.textEncoderNonFinite': 'The text encoder produced {count} invalid (NaN or infinite) values; the image was not made.',
  'error.nonFiniteStep': 'Step {step} produced {count} invalid (NaN or infinite) values; the image was not made.',
  'error.vaeNonFinite': 'The VAE produced {count} invalid (NaN or infinite) values; the image was not saved.',
  'note.textEncoderRerun': 'The text encoder gave {count} invalid values in {from}; it ran again in {to}.',
  'note.transformerRerun': 'The transformer gave {count} invalid values in {from}; it runs in {to} from this step on.',
  'note.vaeRerun': 'The VAE gave {count} invalid values in {from}; it ran again in {to}.',
  'note.denoiserRerun': 'The {denoiser} gave {count} invalid values in {from}; it runs in {to} from this step on.',
  'error.configTooLarge': '{file}: {key} is {value}, more than any model of this kind has (at most {max}); the folder does not hold a model the studio can run.',
  'plan.resident': 'everything loaded at once, {precision}',
  'plan.sequential': 'one component at a time (text encoder, {denoiser}, VAE), {precision}',
  'plan.streamed': '{denoiser} streamed in groups of {blocks} blocks ({pinned} kept loaded), {precision}',
  'plan.int8': '8-bit weights (MatMulNBits), one component at a time, {precision} activations',
  'plan.int4': '4-bit weights (MatMulNBits), one component at a time, {precision} activations',
  'plan.int4Streamed': '4-bit weights, {denoiser} streamed in groups of {blocks} blocks ({pinned} kept loaded), {precision} activations',
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
  'error.configNotPositive': '{file}: {key} must be a positive number, got {value}.',
  'error.configNotPositiveInteger': '{file}: {key} must be a positive integer, got {value}.',
  'error.configHeads': '{file}: {heads} heads over hidden size {hidden} with {kvHeads} key/value heads is not a valid layout.',
  'error.configEditing': '{file}: {flag} is set; the studio runs the text-to-image {family} transformer only.',
  'error.configRopeAxes': '{file}: axes_dims_rope must be three even integers.',
  'error.configRopeSum': '{file}: axes_dims_rope [{axes}] must add up to attention_head_dim {headDim}.',
  'error.configPacking': '{file}: in_channels {inChannels} is not out_channels x patch_size^2; only 2x2-packed latents are supported.',
  'error.vaeBaseDim': '{file}: base_dim must be a positive integer.',
  'error.vaeDownsample': '{file}: temperal_downsample must have one entry fewer than dim_mult.',
  'error.vaeAttention': '{file}: attention in the down/up blocks (attn_scales) is not part of the {family} VAE.',
  'error.vaeLatentStats': '{file}: latents_mean and latents_std need {count} values.',
  'error.vaeChannels': '{file}: only 3-channel (RGB) images are supported.',
  'error.configJointDim': "The text encoder's hidden size {hidden} does not match the transformer's joint_attention_dim {jointDim}.",
  'error.tokenizerVocab': 'The tokenizer knows {tokens} tokens but the text encoder embeds only {vocab}; tokenizer/ and text_encoder/ come from different models.',
  'error.tokenizerNotBpe': '{file} is not a byte-level BPE tokenizer.',
  'error.tokenizerMissing': '{dir} has neither tokenizer.json nor vocab.json and merges.txt.',
  'error.tensorMissing': '{label}: tensor {name} is missing; is this the right model folder?',
  'error.tensorShape': '{label}: tensor {name} has shape [{shape}] but the config implies [{expected}]; the weights do not belong to this config.',
  'error.weightsMissing': '{label}: no {files} (or its .index.json) in {dir}.',
  'error.weightIndexNoMap': '{label}: {file} has no weight_map.',
  'error.weightIndexOutside': '{label}: {file} names a shard outside its folder: {shard}.',
  'error.weightShardMissing': '{label}: shard {shard} listed in {file} is missing; the download is incomplete.',
  'error.weightShardLacks': '{label}: the index places {name} in {shard}, but that shard does not hold it.',
  // Running a model
  'error.oneSpeedLora': 'Choose one speed LoRA at a time.',
  'error.sizeMultiple': 'Width and height must be multiples of {multiple} pixels for this model.',
  'error.stepInvalid': 'Step {step} produced {count} invalid (NaN or infinite) latent values; the image was not made.',
  'error.vaeInvalid': 'The VAE produced {count} invalid (NaN or infinite) values; the image was not saved.',
  'error.noPlanFits': 'No execution plan fits this device.',
  'error.outOfMemoryNoPlan': 'Out of memory with plan {plan}, and no smaller plan is left (tried {tried}). Try a smaller image size or close other programs using the GPU.',
  'error.quantNothing': '{label}: no linear layer can be quantized to {bits} bits.',
  'error.quantTruncated': '{label}: {file} ends inside {name} (truncated?).',
  'error.quantDiskFull': 'The disk is full: the {bits}-bit copy of the {label} did not fit in {dir}; nothing was kept. Free some space and generate again.',
  'note.planFallback': 'Out of memory with plan {from}; trying {to}.',
  'note.quantMaking': 'Making the {bits}-bit copy of the {label} (once).',
  'note.quantRemaking': '{problem} Making it again.',
  'note.quantProgress': 'Quantizing the {label} to {bits} bits: {percent}%',
  'plan.advice': 'Nothing fits in {memory} GB at {width}x{height}: the smallest plan needs {needed} GB. Try a smaller image size.',
  'device.vramAssumed': 'The card did not report its memory; planning for 8 GB (set STUDIO_VRAM_GB to say).',
  // LoRA files applied by the worker
  'error.loraAlphaDtype': '{file}: {key} has dtype {dtype}; alpha must be a float.',
  'error.loraUnmatched': 'This LoRA does not fit the loaded model: {count} of {total} tensors match no layer of it ({shown}). It was probably made for another base model; nothing was applied.',
  'error.loraMixedFormats': '{file} mixes LoRA key formats ({formats}).',
  'error.loraHalfPair': '{file}: {target} has only one of its two LoRA matrices.',
  'error.loraShape': '{file}: the LoRA for {target} has shapes [{down}] and [{up}], but the layer is [{layer}]; it was made for another model size.',
  'error.loraEmpty': '{file} holds no LoRA weights.',
  'error.loraNoTransformer': '{file} holds no LoRA weights for the transformer.',
  'error.loraDtype': '{file}: LoRA tensor {name} has dtype {dtype}.',
  'error.styleSlotTarget': '{file} patches {target}, which style slots do not cover; load it as a fixed LoRA instead.',
  'error.styleSlotRank': '{file} has rank {rank}; style slots hold at most rank {max}.',
  // LoRA import: why a file is refused before it reaches the library
  'lora.pickle':
    '{name} is a PyTorch pickle file. Opening a pickle can run any code it contains on your computer, so the studio never opens one. Download the .safetensors version of this LoRA instead (most publishers offer one), or convert it with a trusted tool in a sandbox.',
  'lora.tooShort': '{name} is {size} bytes: too short to be a safetensors file. Download it again.',
  'lora.notSafetensors': '{name} is not a safetensors file, or it is damaged: its first bytes make no sense as a safetensors header. Download it again from where you got it.',
  'lora.truncated': '{name} is incomplete: the file ends before its header says it should (an interrupted download?). Download it again.',
  'lora.damaged': '{name} is damaged: its header is not a valid safetensors header. Download it again.',
  'lora.notAFile': '{file} does not exist or is not a file.',
  'lora.noWeights': '{name} is a safetensors file but holds no LoRA weights (no lora_down/lora_up or lora_A/lora_B keys); is it a full model?',
  'lora.otherFamily': '{name} is a LoRA for {family}, not for a model the studio runs ({runs}); it was not added.',
  'lora.unknownFamily': '{name} holds LoRA weights for no model the studio knows ({runs}); it was not added.',
  'error.loraFolderCount': '{name} should hold exactly one LoRA file; it holds {count}.',
  'error.outsideLibrary': 'Refusing to write outside the LoRA library: {path}',
  'error.fileMissing': '{file} does not exist.',
  // Downloads
  'error.hubUnreachable': '{source} cannot be reached. Check the network connection, or choose another download source (ModelScope or the mirror).',
  'error.hubRefused': '{source} refused access (HTTP {status}): the repository may be gated or private; a token may be needed.',
  'error.hubNoRepo': '{source} has no such repository or revision (HTTP 404).',
  'error.hubHttp': '{source} answered HTTP {status} while listing files. Try again later, or choose another download source.',
  'error.hubBadListing': '{source} returned an unexpected file list. Try again later, or choose another download source.',
  'error.repoListFailed': 'Could not list {repo}: {reason}',
  'error.repoPathOutside': 'The repository lists a file outside its folder: {path}',
  'error.repoNoMatch': '{repo} has no files matching {patterns}.',
  'error.diskSpaceDownload': 'Not enough disk space in {dir}: the download needs {needed} GB, {free} GB are free; free {more} GB more or choose another folder.',
  'error.downloadStopped': 'The download was stopped; it resumes from where it was.',
  'error.downloadPaused': 'Paused.',
  'error.downloadCancelled': 'Cancelled.',
  'error.downloadFileFailed': 'Could not download {file} from {sources}. Check the network connection and press Resume to continue where it stopped, or choose another download source.',
  'error.hashMismatch': '{file}: the downloaded bytes do not match the published hash (got {got}, expected {expected}); the file was discarded, not installed. Press Resume to download it again.',
  'error.fileChanged': 'The file changed on the server during the download (ETag {before} became {after}); start it again.',
  'error.catalogUnknown': 'Unknown catalog entry "{id}".',
  'error.downloadGone': 'That download is not running any more.',
  // The command line
  'error.cliSize': '--size must look like 1024x1024, got "{value}"',
  'error.cliNumber': '--{name} must be a number, got "{value}"',
  'error.cliRepo': 'Give a repository as org/name or org/name@revision, e.g. studio pull {example}',
  'error.cliSource': '--source must be hf, modelscope or auto',
  'error.cliStopped': 'Stopped; run the same command again to resume.',
  'error.cliLoraUsage': 'usage: studio lora inspect FILE',
  'error.quantCacheMissing': "No {bits}-bit cache of the {label} yet.",
  'error.quantCacheUnreadable': "The {bits}-bit cache manifest in {dir} is unreadable.",
  'error.quantCacheVersion': "The cache in {dir} was made by another version or for another setting; it must be made again.",
  'error.quantCacheOtherWeights': "The {bits}-bit cache in {dir} was made from different {label} weights (the model files changed); it must be made again.",
  'error.quantCacheFileSize': "The {bits}-bit cache file {file} is missing or has the wrong size; it will not be used.",
  'error.quantCacheHash': "The {bits}-bit cache file {file} does not match its manifest's hash (changed or corrupted); it will not be used.",
  'error.quantCacheMisfit': "The {bits}-bit cache in {dir} does not fit the {label} ({name}).",
  'error.databaseTooNew': "The history database {file} was written by a newer version of the studio (schema {found}; this version knows up to {supported}). Update the studio; the file has not been changed.",
  'error.untrustedSender': "Untrusted sender.",
  'error.uploadFailed': "The upload of {name} failed; nothing was added. Try again.",
  'error.uploadTooLarge': "{name} is larger than {max} GB; nothing was added.",
  'error.connectionLost': "The connection to the studio was lost. It reconnects by itself; try again in a moment.",
  'validation.seedNumber': "The seed must be a number",
  'error.vaeDimMult': "{file}: dim_mult must be positive integers of at most 16.",
  'error.vaeResBlocks': "{file}: num_res_blocks must be a non-negative integer.",
  'error.vaeZDim': "{file}: z_dim must be a positive integer.",
  'error.catalogNotPlannable': "The studio cannot predict how {title} runs before it is downloaded.",
  'error.folderNotAbsolute': "\"{path}\" is not a full folder path. Give the whole path, e.g. D:\\models\\my-model or /home/you/models/my-model.",
  'error.folderMissing': "There is no folder at {path}. Check the path and try again.",
  'error.folderNotFolder': "{path} is a file, not a folder. Choose the folder that holds model_index.json.",
  'error.folderIsRoot': "{path} is a whole drive. Choose the model's own folder, the one that holds model_index.json.",
  'error.loraGone': "That LoRA is not in the library any more.",
  'error.desktopOnlyPicker': "The folder picker is part of the desktop app; in the browser, type the folder's path.",
  // --- end ui ---
  // sdxl: model families, Stable Diffusion components, image input
  'error.modelFileInvalid': '{file} cannot be used: {reason}.',
  'error.loraDoesNotFit': 'The LoRA {file} does not fit the loaded model: {count} of its {total} tensors match no layer ({keys}). It was probably made for another base model; nothing was applied.',
  'error.loraShapeMismatch': 'The LoRA {file} does not fit {module}: {reason}. It was made for another model size; nothing was applied.',
  'error.storage.diskFull': 'The disk holding {dir} is full; nothing was saved there. Free some space and try again.',
  'error.storage.notAllowed': 'The studio may not write to {dir} ({code}); nothing was saved there.',
  'error.storage.missing': '{file} is not there any more ({message}).',
  'error.storage.failed': 'Could not write {file}: {message}',
  'error.database.corrupt': 'The history database {file} is damaged ({detail}); it has not been changed. Run `studio repair` (in the desktop app: Repair) to keep it as a studio.db.corrupt-<date> copy and start a new history holding every image that can still be read.',
  'error.data.notWritable': 'The studio cannot write to its data folder {dir} ({code}). Choose another folder with --data-dir or STUDIO_DATA_DIR, or make this one writable; nothing in it was changed.',
  'error.save.notRecorded': 'The image was saved as {file}, with its recipe inside, but could not be added to the history: {message}',
  'error.save.fileUnreadable': 'The image was not saved: {file} could not be read to record its hash ({message}).',
  'error.serve.badPort': '--port must be a whole number from 0 to 65535 (0 picks a free port), not "{value}".',
  'error.serve.portInUse': 'Port {port} on 127.0.0.1 is already in use (another studio, or another program). Choose another with --port, or --port 0 for any free port.',
  'note.repair.notNeeded': 'The history database {file} is sound; there is nothing to repair.',
  'note.repair.done': 'The damaged database is kept as {backup}. A new history was started with {recovered} image(s), {fromImages} of them read back from the recipe inside their own files; {unreadable} could not be read.',
  'error.database.empty': 'The history database {file} is empty (0 bytes), yet the images folder holds images: the history was lost, not started. The file has not been changed. Run `studio repair` (in the desktop app: Repair) to start a new history holding every image, read back from the recipe inside each file.',
  'error.latentsInvalid': 'Step {step} produced {count} invalid (NaN or infinite) latent values; the image was not made.',
  'error.componentsMismatch': '{file}: {reason}; the components of this folder do not belong together.',
  'error.unknownFamily': '{file} names the pipeline {className}, which is no model family the studio runs (it runs {known}).',
  'error.imageInputUnsupported': '{family} models do not take an input image.',
  'error.imageUndecodable': 'The input image {file} cannot be read as an image ({reason}).',
  'error.strengthTooLow': 'Strength {strength} with {steps} steps runs no step at all: steps x strength must be at least 1.',
  'error.loraWrongFamily': 'The LoRA {file} is a {preset} speed LoRA for {loraFamily} models; the chosen model is {modelFamily}.',
  'error.samplerWrongFamily': 'The sampler {sampler} does not run {family} models.',
  // A LoRA of one family chosen with a model of another: refused before Generate (form) and at submit (main).
  'validation.loraOtherFamily': '{name} is a LoRA for {loraFamily} models; it cannot be used with {model} ({modelFamily}). Remove it, or choose a model of the {loraFamily} family.',
  'catalog.forModel': 'For {model}.',
  'catalog.live': '{steps} step at {size}: fast enough to render while typing.',
  'catalog.withLora': 'Use with {lora} for {steps} steps.',
  'catalog.loraFor': '{steps} steps with the {sampler} sampler, on {model}.',
  'validation.strengthRange': 'Strength must be above 0 and at most 1',
  'validation.initImageSource': 'Give the input image as a file or as a history image, not both or neither',
  // --- api track: the browser host's connection and the A1111 API setting ---
  'error.hostUnreachable': 'Cannot reach the studio. Is `studio serve` still running? If you opened this page yourself, open the link it printed instead.',
  'error.noAccessToken': 'This page has no access token: open the link that `studio serve` printed.',
  'error.apiListenNeedsAuth': '--listen makes the A1111 API reachable from other machines, so it needs credentials: add --api-auth USER:PASSWORD.',
  'error.apiAuthFormat': 'API credentials look like USER:PASSWORD (several separated by commas).',
  'error.apiPortInUse': 'Port {port} is already in use; choose another port for the A1111 API.',
  'error.apiFromCommandLine': 'The A1111 API was started from the command line (studio serve --api); stop the studio and start it without --api to change it here.',
  'error.apiCredentialsHalf': 'Give both a user name and a password for the A1111 API, or neither.',
  'error.apiPortInvalid': '--api-port must be a port number from 0 to 65535, got "{value}".',
  'error.export.idInUse': 'An export named {id} is already running.',
  'error.workerWedged': 'The image worker did not stop within {seconds} s of the cancel (it seemed stuck), so it was stopped and restarted; the job was not finished. Jobs waiting behind it go on.',
  'error.planTimeout': 'The image worker did not answer the plan request within {seconds} s.',
  'dialog.startFailed': 'The studio could not start',
  'dialog.repair': 'Repair',
  'dialog.quit': 'Quit',
} as const satisfies Record<string, string>;

export type NoticeKey = keyof typeof NOTICES;
/** A parameter is a plain value, or a notice rendered in the same language (a reason inside a sentence). */
export type NoticeParam = string | number | Notice;
export type NoticeParams = Readonly<Record<string, NoticeParam>>;

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
export function fillTemplate(template: string, params: NoticeParams = {}, templates: Readonly<Record<NoticeKey, string>> = NOTICES): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => {
    if (!Object.hasOwn(params, k)) return m;
    const v = params[k]!;
    return typeof v === 'object' ? noticeText(v, templates) : String(v);
  });
}

/** The English text of a notice (CLI, logs, and the `message` every serialized error still carries). */
export function noticeText(n: Notice, templates: Readonly<Record<NoticeKey, string>> = NOTICES): string {
  return fillTemplate(templates[n.key], n.params, templates);
}
