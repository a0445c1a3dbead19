// What the user reads when a hub cannot be listed: a plain sentence with a next step, the system's own
// words (a DNS or connection error) kept apart as the detail. A real connection to a closed local port.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { NOTICES_ZH_CN } from '../../renderer/i18n/notices-zh.js';
import { noticeText } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import { listRepoFiles } from './hub-client.js';
import { pullRepository } from './pull.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('hub errors in plain words', () => {
  it('an unreachable hub says so and what to try; the system message is only the detail', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const e = await listRepoFiles({ kind: 'huggingface', endpoint, label: 'Hugging Face' }, 'Qwen/Qwen-Image', 'main').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StudioError);
    const err = e as StudioError;
    expect(err.notice.key).toBe('error.hubUnreachable');
    expect(err.message).toBe('Hugging Face cannot be reached. Check the network connection, or choose another download source (ModelScope or the mirror).');
    expect(err.message).not.toMatch(/ECONNREFUSED|fetch failed/);
    expect(err.detail).toMatch(/ECONNREFUSED|fetch failed/);
    expect(noticeText(err.notice, NOTICES_ZH_CN)).toBe('无法连接 Hugging Face。请检查网络连接，或选择其他下载源（ModelScope 或镜像）。');
  });

  it('a pull where every source fails names the repository and the first reason', async () => {
    const port = await closedPort();
    const sources = [
      { kind: 'huggingface' as const, endpoint: `http://127.0.0.1:${port}`, label: 'Hugging Face' },
      { kind: 'modelscope' as const, endpoint: `http://127.0.0.1:${port}`, label: 'ModelScope' },
    ];
    const e = (await pullRepository({ repo: 'Qwen/Qwen-Image', sources, dest: 'unused', useHubCache: false }).catch((x: unknown) => x)) as StudioError;
    expect(e.code).toBe('download-failed');
    expect(e.notice).toMatchObject({ key: 'error.repoListFailed', params: { repo: 'Qwen/Qwen-Image', reason: { key: 'error.hubUnreachable' } } });
    expect(e.detail).toMatch(/Hugging Face cannot be reached.*ModelScope cannot be reached/);
  });
});
