import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { WireToRenderer } from '../../shared/contract.js';
import { appRoot } from '../paths.js';
import type { HistoryRow } from '../store/generations.js';
import { testStudio } from '../test-support/test-studio.js';
import { startBrowserHost, WS_PROTOCOL, WS_TOKEN_PROTOCOL_PREFIX, type BrowserHost } from './browser-host.js';

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, method }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends bytes as they are (request lines Node's client would refuse to write) and reads the answer. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (d) => (out += String(d)));
    socket.on('end', () => resolve(out));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, 5000).unref();
  });
}

function openSocket(url: string, headers: Record<string, string>, protocols: string[] = []): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function text(data: WebSocket.RawData): string {
  return Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

describe('browser host', () => {
  const studio = testStudio();
  let host: BrowserHost;
  let port: number;
  let wsUrl: string;
  /** What a page of the studio sends: its token, its origin. The old cookie is sent too, and must not matter. */
  let pageHeaders: Record<string, string>;
  beforeAll(async () => {
    host = await startBrowserHost({ studio, rendererDir: join(appRoot(), 'dist', 'renderer') });
    port = Number(new URL(host.url).port);
    wsUrl = `${host.url.replace('http', 'ws')}/api`;
    pageHeaders = { Origin: host.url, Authorization: `Bearer ${host.token}`, Cookie: `studio_token=${host.token}` };
  });
  afterAll(async () => {
    await host.close();
    await studio.close();
  });

  const stillServing = async () => expect((await get(`${host.url}/`)).status).toBe(200);

  it('listens on 127.0.0.1 only', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves the page at the launch link without setting a cookie; a wrong token is refused', async () => {
    const launch = await get(host.launchUrl);
    expect(launch.status).toBe(200);
    expect(launch.body).toContain('<div id="root">');
    expect(launch.headers['set-cookie']).toBeUndefined();
    expect(launch.headers['cache-control']).toBe('no-store');
    expect(launch.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(launch.headers['referrer-policy']).toBe('no-referrer');
    expect((await get(`${host.url}/?token=wrong`)).status).toBe(401);
  });

  it('refuses another Host header (DNS rebinding)', async () => {
    expect((await get(`${host.url}/`, { Host: `evil.example:${port}` })).status).toBe(403);
  });

  it('keeps file paths inside the studio folders', async () => {
    for (const path of ['/files/images/../studio.db', '/files/images/%2e%2e/studio.db', '/files/other/x', '/..%2fpackage.json', '/%2e%2e/package.json', '/assets/..%5c..%5cpackage.json']) {
      const r = await get(`${host.url}${path}`, pageHeaders);
      expect([400, 401, 403, 404], path).toContain(r.status);
      expect(r.body, path).not.toContain('"name"');
    }
  });

  it('opens the socket only for the page: its token in a subprotocol and its exact origin, port included', async () => {
    await expect(openSocket(wsUrl, { Origin: 'http://evil.example' }, [WS_PROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}${host.token}`])).rejects.toThrow(/401/);
    // Another port of 127.0.0.1 is another origin, even with the right token.
    await expect(openSocket(wsUrl, { Origin: `http://127.0.0.1:${port + 1}` }, [WS_PROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}${host.token}`])).rejects.toThrow(/401/);
    await expect(openSocket(wsUrl, { Origin: host.url })).rejects.toThrow(/401/);
    await expect(openSocket(wsUrl, { Origin: host.url }, [WS_PROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}wrong`])).rejects.toThrow(/401/);
    // The cookie older versions set is worth nothing now: any local port's page could have sent it.
    await expect(openSocket(wsUrl, { Origin: host.url, Cookie: `studio_token=${host.token}` })).rejects.toThrow(/401/);
    const ws = await openSocket(wsUrl, { Origin: host.url }, [WS_PROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}${host.token}`]);
    expect(ws.protocol).toBe(WS_PROTOCOL);
    ws.close();
  });

  it('takes uploads only with the token and from the exact origin', async () => {
    const upload = (headers: Record<string, string>) => get(`${host.url}/upload/lora?name=x.safetensors`, headers, 'POST', 'not a lora');
    expect((await upload({ Origin: host.url, Cookie: `studio_token=${host.token}` })).status).toBe(401);
    expect((await upload({ Origin: `http://127.0.0.1:${port + 1}`, Authorization: `Bearer ${host.token}` })).status).toBe(403);
    const ok = await upload({ Origin: host.url, Authorization: `Bearer ${host.token}` });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ ok: false, file: 'x.safetensors' });
  });

  it('serves the typed API: validates params, runs a job, streams its events, serves its image by a per-file link', async () => {
    const ws = await openSocket(wsUrl, { Origin: host.url }, [WS_PROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}${host.token}`]);
    const messages: WireToRenderer[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(text(d)) as WireToRenderer));
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
    ws.close();

    const { imageUrl, thumbUrl } = done.payload.generation;
    expect(imageUrl).toMatch(/^\/files\/images\/\d{4}-\d\d-\d\d\/[0-9a-f-]{36}\.jpg\?e=\d+&s=[\w-]+$/);
    // The link alone opens the file: an <img> of the page sends no token.
    const image = await get(`${host.url}${imageUrl}`);
    expect(image.status).toBe(200);
    expect(image.headers['content-type']).toBe('image/jpeg');
    expect((await get(`${host.url}${thumbUrl}`, { 'Sec-Fetch-Site': 'same-origin' })).status).toBe(200);
    // Without its signature, with another file's path, or asked for by a page of another port: refused.
    expect((await get(`${host.url}${imageUrl.split('?')[0]}`, pageHeaders)).status).toBe(401);
    expect((await get(`${host.url}${imageUrl.replace('.jpg?', '.png?')}`)).status).toBe(403);
    expect((await get(`${host.url}${imageUrl.replace('/images/', '/thumbs/')}`)).status).toBe(403);
    expect((await get(`${host.url}${imageUrl.replace(/s=[\w-]{4}/, 's=AAAA')}`)).status).toBe(403);
    expect((await get(`${host.url}${imageUrl}`, { 'Sec-Fetch-Site': 'same-site' })).status).toBe(403);
  });

  describe('keeps serving whatever a client sends (each of these ended the process before)', () => {
    it('a malformed percent-encoding in a path', async () => {
      for (const path of ['/files/images/%E0%A4%A', '/%E0%A4%A', '/files/%zz/x']) {
        const r = await get(`${host.url}${path}`, pageHeaders);
        expect(r.status, path).toBe(400);
        expect(r.body).toMatch(/percent-encoding/);
      }
      await stillServing();
    });

    it('request targets that are not paths, before any authentication', async () => {
      for (const target of ['http://[', 'http://a:99999/', '//x', '*']) {
        const answer = await raw(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
        expect(answer, target).toMatch(/^HTTP\/1\.1 400/);
      }
      await stillServing();
    });

    it('a directory under /files/ and among the renderer files', async () => {
      const day = '2000-01-01';
      mkdirSync(join(studio.layout.images, day), { recursive: true });
      // A valid link to a directory: only the studio could mint one, and even then it is no file.
      const row: HistoryRow = { id: 'x', createdAt: 0, prompt: '', seed: 0, steps: 1, width: 1, height: 1, modelId: 'demo', favorite: false, imageFile: day, thumbFile: day };
      const link = studio.history.summaryOf(row).imageUrl;
      expect((await get(`${host.url}${link}`, pageHeaders)).status).toBe(404);
      expect((await get(`${host.url}/assets`)).status).toBe(404);
      await stillServing();
    });

    it('a socket message that is not a call: null, a number, invalid JSON, binary', async () => {
      for (const message of ['null', '42', '{"kind":"invoke"}', '{not json', Buffer.from([1, 2, 3])]) {
        const ws = await openSocket(wsUrl, pageHeaders);
        const code = closed(ws);
        ws.send(message);
        expect(await code).toBe(1003);
      }
      await stillServing();
    });

    it('a text frame that is not UTF-8', async () => {
      const ws = await openSocket(wsUrl, pageHeaders);
      const code = closed(ws);
      ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
      expect(await code).toBe(1007);
      await stillServing();
    });

    it('a 1.3 MB prompt is answered as too long; a message beyond 16 MB closes the socket', async () => {
      const ws = await openSocket(wsUrl, pageHeaders);
      const answer = new Promise<WireToRenderer>((resolve) => ws.once('message', (d) => resolve(JSON.parse(text(d)) as WireToRenderer)));
      ws.send(JSON.stringify({ kind: 'invoke', id: 1, method: 'generate.start', params: { prompt: 'x'.repeat(1_300_000), steps: 2, width: 256, height: 256 } }));
      expect(await answer).toMatchObject({ kind: 'result', id: 1, result: { ok: false, error: { code: 'invalid-request', message: expect.stringMatching(/longer than 4000 characters/) } } });
      const code = closed(ws);
      ws.send(JSON.stringify({ kind: 'invoke', id: 2, method: 'app.info', params: { pad: 'x'.repeat(17 * 1024 * 1024) } }));
      expect(await code).toBe(1009);
      await stillServing();
    });
  });
});
