import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { WireToRenderer } from '../../shared/contract.js';
import { appRoot } from '../paths.js';
import { testStudio } from '../test-support/test-studio.js';
import { startBrowserHost, type BrowserHost } from './browser-host.js';

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function openSocket(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('browser host', () => {
  const studio = testStudio();
  let host: BrowserHost;
  let cookie: string;
  beforeAll(async () => {
    host = await startBrowserHost({ studio, rendererDir: join(appRoot(), 'dist', 'renderer') });
    cookie = `studio_token=${host.token}`;
  });
  afterAll(async () => {
    await host.close();
    await studio.close();
  });

  it('listens on 127.0.0.1 only', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses requests without the token, and a wrong token', async () => {
    expect((await get(`${host.url}/`)).status).toBe(401);
    expect((await get(`${host.url}/?token=wrong`)).status).toBe(401);
    expect((await get(`${host.url}/`, { Cookie: 'studio_token=wrong' })).status).toBe(401);
  });

  it('trades the launch token for a same-site, HTTP-only cookie and serves the renderer with a CSP', async () => {
    const launch = await get(host.launchUrl);
    expect(launch.status).toBe(302);
    expect(String(launch.headers['set-cookie'])).toMatch(/studio_token=.+; HttpOnly; SameSite=Strict/);
    const page = await get(`${host.url}/`, { Cookie: cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<div id="root">');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
  });

  it('refuses another Host header (DNS rebinding)', async () => {
    const port = new URL(host.url).port;
    expect((await get(`${host.url}/`, { Cookie: cookie, Host: `evil.example:${port}` })).status).toBe(403);
  });

  it('keeps file paths inside the studio folders', async () => {
    for (const path of ['/files/images/../studio.db', '/files/images/%2e%2e/studio.db', '/files/other/x', '/..%2fpackage.json']) {
      expect((await get(`${host.url}${path}`, { Cookie: cookie })).status, path).toBe(404);
    }
  });

  it('refuses a WebSocket from another origin or without the token', async () => {
    const wsUrl = `${host.url.replace('http', 'ws')}/api`;
    await expect(openSocket(wsUrl, { Cookie: cookie, Origin: 'http://evil.example' })).rejects.toThrow(/401/);
    await expect(openSocket(wsUrl, { Origin: host.url })).rejects.toThrow(/401/);
  });

  it('serves the typed API: validates params, runs a job, streams its events, serves its image', async () => {
    const ws = await openSocket(`${host.url.replace('http', 'ws')}/api`, { Cookie: cookie, Origin: host.url });
    const messages: WireToRenderer[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d)) as WireToRenderer));
    const reply = async (id: number) => {
      await expect.poll(() => messages.find((m) => m.kind === 'result' && m.id === id), { timeout: 10_000 }).toBeDefined();
      return (messages.find((m) => m.kind === 'result' && m.id === id) as Extract<WireToRenderer, { kind: 'result' }>).result;
    };

    ws.send(JSON.stringify({ kind: 'invoke', id: 1, method: 'generate.start', params: { prompt: '', steps: 4, width: 256, height: 256 } }));
    expect(await reply(1)).toMatchObject({ ok: false, error: { code: 'invalid-request', message: expect.stringMatching(/prompt is empty/) } });
    ws.send(JSON.stringify({ kind: 'invoke', id: 2, method: 'fs.readFile', params: {} }));
    expect(await reply(2)).toMatchObject({ ok: false, error: { code: 'invalid-request', message: 'Unknown method fs.readFile.' } });

    ws.send(JSON.stringify({ kind: 'invoke', id: 3, method: 'generate.start', params: { prompt: 'a fox', steps: 2, width: 256, height: 256, seed: 1 } }));
    const started = await reply(3);
    expect(started.ok).toBe(true);
    await expect
      .poll(() => messages.find((m) => m.kind === 'event' && (m.payload as { type: string }).type === 'succeeded'), { timeout: 20_000 })
      .toBeDefined();
    const done = messages.find((m) => m.kind === 'event' && (m.payload as { type: string }).type === 'succeeded') as { payload: { generation: { imageUrl: string; thumbUrl: string } } };
    expect(messages.some((m) => m.kind === 'event' && (m.payload as { type: string }).type === 'progress')).toBe(true);
    const image = await get(`${host.url}${done.payload.generation.imageUrl}`, { Cookie: cookie });
    expect(image.status).toBe(200);
    expect(image.headers['content-type']).toBe('image/jpeg');
    expect((await get(`${host.url}${done.payload.generation.thumbUrl}`)).status).toBe(401);
    ws.close();
  });
});
