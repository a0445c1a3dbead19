// `studio gpu status [--json]`: what the CUDA provider would need on this machine and what to do about each
// missing piece. `studio gpu install [--from FILE|DIR] [--lib-path DIR ...]`: installs it (see gpu-runtime).

import { parseArgs } from 'node:util';
import { noticeText } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import { nvidiaGpu } from '../device.js';
import { gpuStatus, installGpuRuntime, runtimeLayout } from './gpu-runtime.js';

const USAGE = 'usage: studio gpu status [--json]\n       studio gpu install [--from FILE|DIR] [--lib-path DIR ...]\n';

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'status') {
    const { values } = parseArgs({ args: [...rest], options: { json: { type: 'boolean' } }, strict: true });
    const gpu = await nvidiaGpu();
    const status = await gpuStatus(gpu ? { ...(gpu.driverVersion ? { version: gpu.driverVersion } : {}), name: gpu.name } : undefined);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...status, gpu: gpu ?? null, problems: status.problems.map((n) => ({ ...n, text: noticeText(n) })) })}\n`);
    } else {
      process.stdout.write(`GPU: ${gpu ? `${gpu.name}, driver ${gpu.driverVersion ?? '?'}, compute capability ${gpu.computeCapability ?? '?'}` : 'no NVIDIA GPU found'}\n`);
      process.stdout.write(`CUDA provider: ${status.runtime ? `CUDA ${status.runtime.cuda}, from ${status.runtime.source}` : 'not installed'} (${status.runtimeDir})\n`);
      if (status.problems.length === 0 && status.runtime) process.stdout.write(`${noticeText({ key: 'gpu.ready', params: { cuda: status.runtime.cuda, dir: status.runtimeDir } })}\n`);
      for (const p of status.problems) process.stdout.write(`- ${noticeText(p)}\n`);
    }
    return status.problems.length === 0 ? 0 : 1;
  }
  if (command === 'install') {
    const { values } = parseArgs({ args: [...rest], options: { from: { type: 'string' }, 'lib-path': { type: 'string', multiple: true } }, strict: true });
    const manifest = await installGpuRuntime({
      ...(values.from ? { from: values.from } : {}),
      libraryDirs: values['lib-path'] ?? [],
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`${noticeText({ key: 'gpu.install.done', params: { cuda: manifest.cuda, source: manifest.source, dir: runtimeLayout().root } })}\n`);
    const gpu = await nvidiaGpu();
    const status = await gpuStatus(gpu ? { ...(gpu.driverVersion ? { version: gpu.driverVersion } : {}), name: gpu.name } : undefined);
    for (const p of status.problems) process.stdout.write(`- ${noticeText(p)}\n`);
    return 0;
  }
  process.stderr.write(USAGE);
  return 2;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  const message = e instanceof StudioError && e.notice ? noticeText(e.notice) : (e as Error).message;
  process.stderr.write(`studio gpu: ${message}\n`);
  process.exitCode = 1;
}
