// The GPU runtime a Linux user installs, and what device discovery says is missing. No GPU, CUDA library
// or NVIDIA driver exists on this machine: the CUDA provider and CUDA libraries are stand-in ELF files
// that name their real dependencies (test-support/minimal-elf.ts), and nvidia-smi is a script printing what
// the real one prints. Everything else is real: the copied onnxruntime-node runs sessions on the CPU,
// the ELF reading and the library search run on real files, the install runs through `studio gpu`.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDataDir } from '../../main/paths.js';
import { minimalSharedObject } from '../test-support/minimal-elf.js';
import { readElfDeps } from './elf-deps.js';
import { gpuRuntimeDir, pipPackagesFor } from './gpu-runtime.js';

const studioBin = new URL('../../../bin/studio.js', import.meta.url).pathname;
const ortJs = new URL('../../../dist/app/worker/ort.js', import.meta.url).pathname;
const deviceJs = new URL('../../../dist/app/worker/device.js', import.meta.url).pathname;
const tmp = () => mkdtempSync(join(tmpdir(), 'gpu-runtime-'));

/** The provider as NuGet's 1.29.0 CUDA 12 build links it (its NEEDED list), and the shared provider library. */
function providerFolder(cuda = 12): string {
  const dir = tmp();
  const needed = [`libcublasLt.so.${cuda}`, `libcublas.so.${cuda}`, `libcudart.so.${cuda}`, 'libcudnn.so.9', `libcufft.so.${cuda === 12 ? 11 : 12}`, 'libonnxruntime_providers_shared.so', 'libstdc++.so.6', 'libc.so.6'];
  writeFileSync(join(dir, 'libonnxruntime_providers_cuda.so'), minimalSharedObject({ soname: 'libonnxruntime_providers_cuda.so', needed, runpath: ['$ORIGIN'] }));
  writeFileSync(join(dir, 'libonnxruntime_providers_shared.so'), minimalSharedObject({ soname: 'libonnxruntime_providers_shared.so', needed: ['libc.so.6'] }));
  return dir;
}

/** A folder like pip's nvidia-*-cu12 wheels' lib folders, holding the CUDA libraries (libcublas needs libcublasLt). */
function cudaLibraries(cuda = 12): string {
  const dir = tmp();
  const libs: [string, string[]][] = [
    [`libcublasLt.so.${cuda}`, []],
    [`libcublas.so.${cuda}`, [`libcublasLt.so.${cuda}`]],
    [`libcudart.so.${cuda}`, []],
    ['libcudnn.so.9', []],
    [`libcufft.so.${cuda === 12 ? 11 : 12}`, []],
  ];
  for (const [name, needed] of libs) writeFileSync(join(dir, name), minimalSharedObject({ soname: name, needed, runpath: ['$ORIGIN'] }));
  return dir;
}

/** A PATH folder with an nvidia-smi that answers the studio's query as the real one does for this card. */
function fakeNvidiaSmi(line: string): string {
  const dir = tmp();
  writeFileSync(join(dir, 'nvidia-smi'), `#!/bin/sh\necho "${line}"\n`);
  chmodSync(join(dir, 'nvidia-smi'), 0o755);
  return dir;
}

function studio(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [studioBin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

describe('the GPU runtime: CUDA provider installed in the data folder, what is missing said precisely', () => {
  it('reads what a real shared library needs from its ELF dynamic section', async () => {
    const lib = new URL('../../../node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1', import.meta.url).pathname;
    const deps = await readElfDeps(lib);
    expect(deps.soname).toBe('libonnxruntime.so.1');
    expect(deps.needed).toContain('libc.so.6');
    expect(deps.runpath).toEqual(['$ORIGIN']);
    await expect(readElfDeps(studioBin)).rejects.toThrow(/is not an ELF file/);
  });

  it('lives where the studio keeps its data', () => {
    for (const env of [{ STUDIO_DATA_DIR: '/data/x' }, { XDG_DATA_HOME: '/xdg' }, {}] as NodeJS.ProcessEnv[]) {
      expect(gpuRuntimeDir(env, 'linux')).toBe(join(defaultDataDir(env, 'linux'), 'gpu-runtime'));
    }
    expect(gpuRuntimeDir({ STUDIO_GPU_RUNTIME: '/opt/r' })).toBe('/opt/r');
  });

  it('installs from a folder, names each missing CUDA library with the pip packages that ship it, and links them once given', () => {
    const runtime = join(tmp(), 'runtime');
    const smi = fakeNvidiaSmi('NVIDIA GeForce RTX 4090, 24564, 24000, 8.9, 550.54.14');
    const env = { STUDIO_GPU_RUNTIME: runtime, PATH: `${smi}:${process.env.PATH}`, LD_LIBRARY_PATH: '' };
    const installed = studio(['gpu', 'install', '--from', providerFolder()], env);
    expect(installed.status, installed.stderr).toBe(0);
    expect(installed.stdout).toMatch(/Installed the CUDA provider \(CUDA 12, from .+\) in .+runtime/);
    const manifest = JSON.parse(readFileSync(join(runtime, 'studio-gpu-runtime.json'), 'utf8')) as { cuda: number; onnxruntimeVersion: string };
    expect(manifest).toMatchObject({ cuda: 12, onnxruntimeVersion: '1.29.0' });

    const missing = studio(['gpu', 'status', '--json'], env);
    expect(missing.status).toBe(1);
    const report = JSON.parse(missing.stdout) as { problems: { key: string; params: Record<string, string>; text: string }[] };
    expect(report.problems.map((p) => p.key)).toEqual(['gpu.librariesMissing']);
    const { libraries, packages } = report.problems[0]!.params;
    expect(libraries!.split(', ').sort()).toEqual(['libcublas.so.12', 'libcublasLt.so.12', 'libcudart.so.12', 'libcudnn.so.9', 'libcufft.so.11'].sort());
    expect(packages).toBe(pipPackagesFor(libraries!.split(', '), 12));
    expect(packages).toMatch(/nvidia-cudnn-cu12/);

    // Given where pip put them, the install links them next to the provider; the loader finds them there.
    const libs = cudaLibraries();
    const again = studio(['gpu', 'install', '--from', providerFolder(), '--lib-path', libs], env);
    expect(again.status, again.stderr).toBe(0);
    const bin = join(runtime, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
    expect(lstatSync(join(bin, 'libcudnn.so.9')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(bin, 'libcublasLt.so.12')).isSymbolicLink()).toBe(true); // needed by libcublas, not by the provider
    const ready = studio(['gpu', 'status'], env);
    expect(ready.status, ready.stdout).toBe(0);
    expect(ready.stdout).toMatch(/finds every library it needs/);
  });

  it('says when the driver is too old for the CUDA the provider was built for, and when there is none', () => {
    const runtime = join(tmp(), 'runtime');
    const libs = cudaLibraries(13);
    const old = { STUDIO_GPU_RUNTIME: runtime, PATH: `${fakeNvidiaSmi('NVIDIA GeForce RTX 3060, 12288, 12000, 8.6, 560.35.03')}:${process.env.PATH}` };
    expect(studio(['gpu', 'install', '--from', providerFolder(13), '--lib-path', libs], old).status).toBe(0);
    const status = JSON.parse(studio(['gpu', 'status', '--json'], old).stdout) as { problems: { key: string; params: Record<string, string | number> }[] };
    expect(status.problems).toEqual([expect.objectContaining({ key: 'gpu.driverTooOld', params: { driver: '560.35.03', cuda: 13, minimum: '580.65.06' } })]);
    const none = JSON.parse(studio(['gpu', 'status', '--json'], { STUDIO_GPU_RUNTIME: join(tmp(), 'nothing'), PATH: '/usr/bin:/bin' }).stdout) as { problems: { key: string }[] };
    expect(none.problems.map((p) => p.key)).toEqual(['gpu.noDriver', 'gpu.runtimeMissing']);
  });

  it('refuses a source without the provider libraries, and leaves no half-made runtime', () => {
    const runtime = join(tmp(), 'runtime');
    const empty = tmp();
    mkdirSync(join(empty, 'lib'));
    const r = studio(['gpu', 'install', '--from', empty], { STUDIO_GPU_RUNTIME: runtime });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/does not hold libonnxruntime_providers_cuda\.so, libonnxruntime_providers_shared\.so/);
    expect(existsSync(runtime)).toBe(false);
  });

  it('the worker loads onnxruntime-node from the runtime, runs on the CPU with it, and device discovery explains why CUDA did not start', () => {
    const runtime = join(tmp(), 'runtime');
    expect(studio(['gpu', 'install', '--from', providerFolder()], { STUDIO_GPU_RUNTIME: runtime }).status).toBe(0);
    const script = `
      const ort = await import(${JSON.stringify(ortJs)});
      const device = await import(${JSON.stringify(deviceJs)});
      const { GraphBuilder } = await import(${JSON.stringify(new URL('../../../dist/app/worker/onnx/graph-builder.js', import.meta.url).pathname)});
      const g = new GraphBuilder('neg');
      g.output(g.op('Neg', [g.input('x', 1, [2])]), 'y', 1, [2]);
      const s = await ort.createSession(g.encode(), { externalDataFolder: '.', intraOpThreads: 1 });
      const out = await ort.run(s, 'neg', { x: await ort.floatTensor(Float32Array.of(1, -2), [2]) });
      const d = await device.discoverDevice(ort.providersFromEnv(), 1);
      console.log(JSON.stringify({ source: ort.ortSource(), defaults: ort.defaultProviders(), y: [...ort.outputFloats(out, 'y')], device: d.summary }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, STUDIO_GPU_RUNTIME: runtime, STUDIO_PROVIDERS: '', PATH: '/usr/bin:/bin' } });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { source: string; defaults: string[]; y: number[]; device: { provider: string; unavailable: { provider: string; notices: { key: string }[] }[] } };
    expect(out.source).toBe('gpu-runtime');
    expect(out.defaults).toEqual(['cuda', 'cpu']);
    expect(out.y).toEqual([-1, 2]);
    expect(out.device.provider).toBe('cpu');
    expect(out.device.unavailable[0]!.provider).toBe('cuda');
    expect(out.device.unavailable[0]!.notices.map((n) => n.key)).toEqual(['gpu.noDriver', 'gpu.librariesMissing']);
  });
});
