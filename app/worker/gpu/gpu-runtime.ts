// The GPU runtime a Linux user gets: ONNX Runtime's CUDA provider for the exact onnxruntime-node the studio
// ships (1.29.0), installed in the user's data folder, never inside the app.
//
// The npm package carries only the CPU provider on Linux (and DirectML on Windows, which needs nothing
// more); its own installer would fetch the CUDA provider into node_modules at `npm install` time, which the
// offline install turns off (ONNXRUNTIME_NODE_INSTALL=skip) and which is read-only inside an AppImage or a deb. So `studio gpu
// install` makes a self-contained copy of onnxruntime-node (its JavaScript, its native binding and
// libonnxruntime, ~30 MB) under <data>/gpu-runtime/, puts the CUDA provider libraries next to
// libonnxruntime (where ONNX Runtime looks for them), and links the CUDA and cuDNN libraries the provider
// needs that the dynamic loader would not find on its own (pip's nvidia-* wheels, a CUDA toolkit outside
// the loader's path) into the same folder, which the provider's RUNPATH ($ORIGIN) searches. The worker
// then loads onnxruntime-node from there (ort.ts). The same works from a source checkout, an AppImage and a
// deb. Where the provider comes from: NuGet's Microsoft.ML.OnnxRuntime.Gpu.Linux at the same version (CUDA
// 12, cuDNN 9; downloaded with onnxruntime-node's own installer code), or a file or folder given with
// --from: that .nupkg, an npm tarball such as com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 (built from
// 1.29.0 for CUDA 13), or a folder holding the two libraries.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, cp, lstat, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { notice, noticeText, type Notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import { readElfDeps } from './elf-deps.js';
import { cudaCandidateDirs, loaderPath, resolveDependencies, type LoaderPath } from './library-search.js';

export const PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'] as const;
const MANIFEST = 'studio-gpu-runtime.json';

/**
 * The oldest NVIDIA Linux driver each CUDA major version runs on (CUDA Toolkit release notes, "CUDA
 * Toolkit and Minimum Required Driver Version for CUDA Minor Version Compatibility").
 */
export const CUDA_MIN_DRIVER: Record<number, string> = { 12: '525.60.13', 13: '580.65.06' };

export interface RuntimeManifest {
  readonly format: 'studio-gpu-runtime';
  readonly onnxruntimeVersion: string;
  /** CUDA major version the provider was built for (from the libraries it links). */
  readonly cuda: number;
  readonly source: string;
  readonly providerSha256: string;
  /** Folders CUDA libraries were linked from. */
  readonly libraryDirs: readonly string[];
}

/** The per-user folder the runtime lives in: STUDIO_GPU_RUNTIME, else gpu-runtime/ in the data folder (as app/main/paths.ts). */
export function gpuRuntimeDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.STUDIO_GPU_RUNTIME) return resolve(env.STUDIO_GPU_RUNTIME);
  const data = env.STUDIO_DATA_DIR
    ? resolve(env.STUDIO_DATA_DIR)
    : platform === 'win32'
      ? join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Studio')
      : platform === 'darwin'
        ? join(homedir(), 'Library', 'Application Support', 'Studio')
        : join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'studio');
  return join(data, 'gpu-runtime');
}

/** The onnxruntime-node package the studio ships (node_modules in a checkout, app.asar.unpacked when packaged). */
export function bundledOrtDir(): string {
  return dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
}

function packageVersion(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

export interface RuntimeLayout {
  readonly root: string;
  /** The copied onnxruntime-node package. */
  readonly ortDir: string;
  /** Where libonnxruntime and the providers are. */
  readonly binDir: string;
}

export function runtimeLayout(root = gpuRuntimeDir()): RuntimeLayout {
  const ortDir = join(root, 'node_modules', 'onnxruntime-node');
  return { root, ortDir, binDir: join(ortDir, 'bin', 'napi-v6', process.platform, process.arch) };
}

/** The installed runtime, if it is complete and matches the shipped onnxruntime-node version. */
export function installedRuntime(layout = runtimeLayout()): { manifest: RuntimeManifest; layout: RuntimeLayout } | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(layout.root, MANIFEST), 'utf8')) as RuntimeManifest;
    if (manifest.format !== 'studio-gpu-runtime' || manifest.onnxruntimeVersion !== packageVersion(bundledOrtDir())) return undefined;
    if (packageVersion(layout.ortDir) !== manifest.onnxruntimeVersion) return undefined;
    if (!PROVIDER_FILES.every((f) => existsSync(join(layout.binDir, f)))) return undefined;
    return { manifest, layout };
  } catch {
    return undefined;
  }
}

/** Finds the provider libraries in a folder tree. */
async function findProviderFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if ((PROVIDER_FILES as readonly string[]).includes(entry.name) && !out.has(entry.name)) out.set(entry.name, full);
    }
  };
  await walk(dir);
  return out;
}

/** The provider libraries from an npm tarball (.tgz): a minimal tar reader, gzip by zlib. */
function fromTarball(bytes: Buffer): Map<string, Buffer> {
  const tar = gunzipSync(bytes);
  const out = new Map<string, Buffer>();
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const name = header.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const prefix = header.toString('utf8', 345, 500).replace(/\0.*$/s, '');
    const size = parseInt(header.toString('utf8', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    const type = String.fromCharCode(header[156]!);
    const file = basename(prefix ? `${prefix}/${name}` : name);
    if ((type === '0' || type === '\0') && (PROVIDER_FILES as readonly string[]).includes(file)) out.set(file, Buffer.from(tar.subarray(at + 512, at + 512 + size)));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** The provider libraries from a NuGet package or zip, read with onnxruntime-node's own zip dependency. */
function fromZip(file: string): Map<string, Buffer> {
  const requireOrt = createRequire(join(bundledOrtDir(), 'package.json'));
  const AdmZip = requireOrt('adm-zip') as new (f: string) => { getEntries(): { entryName: string; getData(): Buffer }[] };
  const out = new Map<string, Buffer>();
  for (const e of new AdmZip(file).getEntries()) {
    const name = basename(e.entryName);
    if ((PROVIDER_FILES as readonly string[]).includes(name) && e.entryName.includes('linux-x64')) out.set(name, e.getData());
  }
  return out;
}

/** Downloads the provider from NuGet with onnxruntime-node's installer code into `binDir`. */
async function fromNuget(binDir: string, log: (line: string) => void): Promise<void> {
  const requireOrt = createRequire(join(bundledOrtDir(), 'package.json'));
  const utils = requireOrt('./script/install-utils.js') as { installPackages: (p: Set<unknown>, m: unknown[], f: unknown) => Promise<void> };
  const metadata = requireOrt('./script/install-metadata.js') as {
    manifests: Record<string, Record<string, { package: string; path: string }>>;
    packages: Record<string, unknown>;
    feeds: unknown;
  };
  const manifest = metadata.manifests['linux/x64:cuda12'];
  if (!manifest) throw new StudioError('internal', notice('gpu.install.noNugetManifest'));
  const packages = new Set<unknown>();
  const manifests: unknown[] = [];
  for (const file of PROVIDER_FILES) {
    const entry = manifest[`./${file}`];
    if (!entry) continue;
    const info = metadata.packages[entry.package];
    packages.add(info);
    manifests.push({ filepath: join(binDir, file), packagesInfo: info, pathInPackage: entry.path });
  }
  log(noticeText(notice('gpu.install.downloading', { source: 'NuGet Microsoft.ML.OnnxRuntime.Gpu.Linux' })));
  await utils.installPackages(packages, manifests, metadata.feeds);
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/** The CUDA major version a provider library was built for: the version of libcudart or libcublas it links. */
export async function providerCudaMajor(providerFile: string): Promise<number | undefined> {
  const { needed } = await readElfDeps(providerFile);
  for (const n of needed) {
    const m = /^lib(?:cudart|cublas|cublasLt)\.so\.(\d+)/.exec(n);
    if (m) return Number(m[1]);
  }
  return undefined;
}

export interface InstallOptions {
  /** A .nupkg/.zip, an npm .tgz, or a folder holding the provider libraries; absent: download from NuGet. */
  readonly from?: string;
  /** More folders to look for CUDA and cuDNN libraries in. */
  readonly libraryDirs?: readonly string[];
  readonly root?: string;
  readonly log?: (line: string) => void;
}

/**
 * Builds the runtime folder: a copy of the shipped onnxruntime-node, the provider libraries beside its
 * libonnxruntime, and links to the CUDA libraries found outside the loader's path. Made in a staging folder
 * and moved into place, so a failed install leaves the previous runtime (or none).
 */
export async function installGpuRuntime(o: InstallOptions = {}): Promise<RuntimeManifest> {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new StudioError('invalid-request', notice('gpu.install.linuxOnly', { platform: `${process.platform}/${process.arch}` }));
  const final = runtimeLayout(o.root ?? gpuRuntimeDir());
  const staging = runtimeLayout(`${final.root}.staging`);
  try {
    return await install(o, final, staging);
  } finally {
    await rm(staging.root, { recursive: true, force: true });
  }
}

/** The folder of an installed package (its package.json may not be exported). */
function packageRoot(name: string, from: string): string {
  let dir = dirname(createRequire(join(from, 'package.json')).resolve(name));
  while (!existsSync(join(dir, 'package.json')) || (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== name) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ${name} package above ${from}`);
    dir = parent;
  }
  return dir;
}

async function install(o: InstallOptions, final: RuntimeLayout, staging: RuntimeLayout): Promise<RuntimeManifest> {
  const log = o.log ?? (() => undefined);
  await rm(staging.root, { recursive: true, force: true });
  await mkdir(staging.binDir, { recursive: true });
  const source = bundledOrtDir();
  const version = packageVersion(source)!;
  // The package without the other platforms' binaries, and its one dependency beside it.
  await copyFile(join(source, 'package.json'), join(staging.ortDir, 'package.json'));
  for (const d of ['dist', 'lib']) if (existsSync(join(source, d))) await cp(join(source, d), join(staging.ortDir, d), { recursive: true });
  const ownBin = join(source, 'bin', 'napi-v6', process.platform, process.arch);
  for (const f of await readdir(ownBin)) if (!(PROVIDER_FILES as readonly string[]).includes(f)) await copyFile(join(ownBin, f), join(staging.binDir, f));
  await cp(packageRoot('onnxruntime-common', source), join(staging.root, 'node_modules', 'onnxruntime-common'), { recursive: true });

  let sourceLabel: string;
  if (o.from) {
    const from = resolve(o.from);
    const info = await stat(from).catch(() => {
      throw new StudioError('invalid-request', notice('gpu.install.fromMissing', { path: from }), from);
    });
    let files: Map<string, Buffer>;
    if (info.isDirectory()) files = new Map(await Promise.all([...(await findProviderFiles(from))].map(async ([n, f]) => [n, await readFile(f)] as const)));
    else if (/\.(tgz|tar\.gz)$/.test(from)) files = fromTarball(await readFile(from));
    else files = fromZip(from);
    const lacking = PROVIDER_FILES.filter((f) => !files.has(f));
    if (lacking.length) throw new StudioError('invalid-request', notice('gpu.install.fromIncomplete', { path: from, files: lacking.join(', ') }), from);
    for (const [name, bytes] of files) await writeFile(join(staging.binDir, name), bytes);
    sourceLabel = from;
  } else {
    await fromNuget(staging.binDir, log);
    sourceLabel = `nuget:Microsoft.ML.OnnxRuntime.Gpu.Linux@${version}`;
  }
  const provider = join(staging.binDir, PROVIDER_FILES[0]);
  const cuda = (await providerCudaMajor(provider)) ?? 12;
  // Link what the loader would not find by itself but the usual places (or --lib-path) hold.
  const dirs = [...(o.libraryDirs ?? []).map((d) => resolve(d)), ...cudaCandidateDirs()];
  const resolution = await resolveDependencies(provider, await loaderPath(), dirs);
  const linkedFrom = new Set<string>();
  for (const [soname, hit] of resolution.found) {
    if (hit.viaLoader) continue;
    await symlink(hit.file, join(staging.binDir, soname));
    linkedFrom.add(dirname(hit.file));
  }
  const manifest: RuntimeManifest = { format: 'studio-gpu-runtime', onnxruntimeVersion: version, cuda, source: sourceLabel, providerSha256: await sha256(provider), libraryDirs: [...linkedFrom] };
  await writeFile(join(staging.root, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(final.root, { recursive: true, force: true });
  await rename(staging.root, final.root);
  return manifest;
}

export interface GpuStatus {
  readonly platform: string;
  readonly runtime?: RuntimeManifest;
  readonly runtimeDir: string;
  /** Libraries the CUDA provider needs that nothing provides, with the library needing each. */
  readonly missing: readonly { readonly soname: string; readonly neededBy: string }[];
  /** What stands between this machine and the CUDA provider, each with what to do; empty when ready. */
  readonly problems: readonly Notice[];
}

export interface DriverInfo {
  readonly version?: string;
  readonly name?: string;
}

function olderThan(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  }
  return false;
}

/** What the CUDA provider would need here, without loading it: driver, runtime folder, libraries. */
export async function gpuStatus(driver: DriverInfo | undefined, layout = runtimeLayout(), loader?: LoaderPath): Promise<GpuStatus> {
  const platform = `${process.platform}/${process.arch}`;
  const problems: Notice[] = [];
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    problems.push(notice(process.platform === 'win32' ? 'gpu.useDirectml' : 'gpu.noCudaBuild', { platform }));
    return { platform, runtimeDir: layout.root, missing: [], problems };
  }
  if (!driver) problems.push(notice('gpu.noDriver'));
  const installed = installedRuntime(layout);
  if (!installed) {
    const stale = existsSync(join(layout.root, MANIFEST));
    problems.push(notice(stale ? 'gpu.runtimeStale' : 'gpu.runtimeMissing', { command: 'studio gpu install', version: packageVersion(bundledOrtDir()) ?? '?' }));
    return { platform, runtimeDir: layout.root, missing: [], problems };
  }
  const { manifest } = installed;
  const minimum = CUDA_MIN_DRIVER[manifest.cuda];
  if (driver?.version && minimum && olderThan(driver.version, minimum)) problems.push(notice('gpu.driverTooOld', { driver: driver.version, cuda: manifest.cuda, minimum }));
  const resolution = await resolveDependencies(join(layout.binDir, PROVIDER_FILES[0]), loader ?? (await loaderPath()));
  if (resolution.missing.length > 0) {
    const names = [...new Set(resolution.missing.map((m) => m.soname))];
    problems.push(notice('gpu.librariesMissing', { libraries: names.join(', '), cuda: manifest.cuda, packages: pipPackagesFor(names, manifest.cuda) }));
  }
  return { platform, runtime: manifest, runtimeDir: layout.root, missing: resolution.missing, problems };
}

/** The pip packages that ship these CUDA libraries (the wheels NVIDIA publishes), for the advice. */
export function pipPackagesFor(sonames: readonly string[], cuda: number): string {
  const table: [RegExp, string][] = [
    [/^libcudart/, 'nvidia-cuda-runtime'],
    [/^libcublas/, 'nvidia-cublas'],
    [/^libcudnn/, 'nvidia-cudnn'],
    [/^libcufft/, 'nvidia-cufft'],
    [/^libcurand/, 'nvidia-curand'],
    [/^libnvrtc/, 'nvidia-cuda-nvrtc'],
    [/^libnvJitLink/, 'nvidia-nvjitlink'],
    [/^libcusparse/, 'nvidia-cusparse'],
  ];
  const packages = new Set<string>();
  for (const s of sonames) for (const [re, pkg] of table) if (re.test(s)) packages.add(`${pkg}-cu${cuda}`);
  return [...packages].join(' ') || sonames.join(' ');
}

/** Whether a path is a symlink (the runtime's links to CUDA libraries). */
export async function isLink(file: string): Promise<boolean> {
  return (await lstat(file).catch(() => undefined))?.isSymbolicLink() ?? false;
}
