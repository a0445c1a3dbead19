import { describe, expect, it } from 'vitest';
import { NOTICES_ZH_CN } from '../renderer/i18n/notices-zh.js';
import { NOTICES, noticeText, notice, type NoticeKey } from './notices.js';
import { StudioError, serializeError } from './result.js';
import { fromWorkerSchema } from './worker-protocol.js';
import { validateGenerationRequest } from './generation.js';

const placeholders = (template: string) => [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('notices', () => {
  it('fills parameters and leaves a missing one visible', () => {
    expect(noticeText(notice('error.internal', { message: 'boom' }))).toBe('Something unexpected went wrong: boom');
    expect(noticeText(notice('error.internal'))).toContain('{message}');
  });

  it('every Chinese template uses exactly the parameters of its English template', () => {
    for (const key of Object.keys(NOTICES) as NoticeKey[]) {
      expect({ key, params: placeholders(NOTICES_ZH_CN[key]) }).toEqual({ key, params: placeholders(NOTICES[key]) });
      expect(NOTICES_ZH_CN[key]).toMatch(/[\u4e00-\u9fff]/);
    }
  });

  it('a StudioError built from a notice carries it across the process boundary with its English text', () => {
    const e = new StudioError('cancelled', notice('error.cancelled'), 'job-1');
    expect(e.message).toBe(NOTICES['error.cancelled']);
    const wire = fromWorkerSchema.parse({ type: 'failed', jobId: 'j', error: e.toJSON() });
    expect(wire).toMatchObject({ error: { code: 'cancelled', detail: 'job-1', notice: { key: 'error.cancelled' } } });
  });

  it('renders a notice inside a notice in the same language', () => {
    const inner = notice('error.hubUnreachable', { source: 'Hugging Face' });
    const outer = notice('error.repoListFailed', { repo: 'Qwen/Qwen-Image', reason: inner });
    expect(noticeText(outer)).toBe(`Could not list Qwen/Qwen-Image: ${noticeText(inner)}`);
    expect(noticeText(outer, NOTICES_ZH_CN)).toMatch(/^无法列出 Qwen\/Qwen-Image 的文件：无法连接 Hugging Face。/);
    expect(fromWorkerSchema.parse({ type: 'failed', jobId: 'j', error: new StudioError('download-failed', outer).toJSON() })).toMatchObject({ error: { notice: outer } });
  });

  it('every validation message of the request schema is a notice key with its limits', () => {
    const v = validateGenerationRequest({ prompt: ' ', steps: 99, width: 1000, height: 4096, seed: 2 ** 32 });
    expect(v.ok).toBe(false);
    const keys = !v.ok && v.problems.map((p) => [p.field, p.notice.key]);
    expect(keys).toEqual([
      ['prompt', 'validation.promptEmpty'],
      ['seed', 'validation.seedMax'],
      ['steps', 'validation.stepsRange'],
      ['width', 'validation.widthMultiple'],
      ['height', 'validation.heightMax'],
    ]);
    expect(!v.ok && v.problems.map((p) => p.message)).toContain('Steps must be between 1 and 50');
    expect(!v.ok && v.problems.map((p) => noticeText(p.notice, NOTICES_ZH_CN))).toContain('种子最大为 4294967295');
  });

  it('an unexpected error becomes an internal notice; an unknown key is refused at the boundary', () => {
    expect(serializeError(new Error('disk on fire'))).toEqual({ code: 'internal', message: 'disk on fire', notice: { key: 'error.internal', params: { message: 'disk on fire' } } });
    const bad = fromWorkerSchema.safeParse({ type: 'failed', jobId: 'j', error: { code: 'internal', message: 'x', notice: { key: 'error.nope' } } });
    expect(bad.success).toBe(false);
  });
});
