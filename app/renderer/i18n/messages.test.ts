// Every user-facing string lives in the translation files: JSX text and the attributes people read or
// hear (placeholder, aria-label, title, alt) may not hold words of their own.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { en, LOCALES, pickLocale, zhCN } from './messages.js';

const rendererDir = new URL('..', import.meta.url).pathname;
const sources = readdirSync(rendererDir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.tsx'))
  .map((f) => join(rendererDir, f));
const WORD = /[A-Za-z\u3400-\u9fff]{2,}/;

describe('translations', () => {
  it('finds the renderer sources', () => expect(sources.length).toBeGreaterThan(4));

  it.each(sources.map((f) => [f.slice(rendererDir.length), f]))('%s has no hard-coded user-facing text', (_, file) => {
    const text = readFileSync(file, 'utf8');
    const jsxText = [...text.matchAll(/>([^<>{}]*)</g)].map((m) => m[1]!.trim()).filter((t) => WORD.test(t) && !/[;=()[\]]/.test(t) && !/^[a-z_$][\w$]*\??\.[\w$.?]*$/.test(t)); // code between type arguments is not text
    const attributes = [...text.matchAll(/\b(placeholder|aria-label|title|alt)="([^"]*)"/g)].map((m) => m[2]!).filter((t) => WORD.test(t));
    expect([...jsxText, ...attributes]).toEqual([]);
  });

  it('has every key in every language, with the same placeholders', () => {
    for (const [locale, messages] of Object.entries(LOCALES)) {
      expect(Object.keys(messages).sort(), locale).toEqual(Object.keys(en).sort());
      for (const key of Object.keys(en) as (keyof typeof en)[]) {
        const vars = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        expect(vars(messages[key]), `${locale} ${key}`).toEqual(vars(en[key]));
      }
    }
    expect(zhCN['create.generate']).toBe('生成');
  });

  it('follows the system language', () => {
    expect(pickLocale(['zh-CN', 'en'])).toBe('zh-CN');
    expect(pickLocale(['zh-TW'])).toBe('zh-CN');
    expect(pickLocale(['fr-FR', 'en-GB'])).toBe('en');
    expect(pickLocale(['de'])).toBe('en');
  });
});
