import { describe, expect, it } from 'vitest';
import { NOTICES_ZH_CN } from '../renderer/i18n/notices-zh.js';
import { NOTICES, noticeText, notice, type NoticeKey } from './notices.js';
import { StudioError, serializeError } from './result.js';
import { fromWorkerSchema } from './worker-protocol.js';

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

  it('an unexpected error becomes an internal notice; an unknown key is refused at the boundary', () => {
    expect(serializeError(new Error('disk on fire'))).toEqual({ code: 'internal', message: 'disk on fire', notice: { key: 'error.internal', params: { message: 'disk on fire' } } });
    const bad = fromWorkerSchema.safeParse({ type: 'failed', jobId: 'j', error: { code: 'internal', message: 'x', notice: { key: 'error.nope' } } });
    expect(bad.success).toBe(false);
  });
});
