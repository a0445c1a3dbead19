// `studio serve` with the A1111 API, as a user starts it: the flags, the refusals, and the two doors (the
// UI's token, the API's credentials) that do not open each other. Real processes, real ports.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { appRoot } from '../paths.js';
import { runCli } from '../test-support/run-cli.js';
import { testStudio } from '../test-support/test-studio.js';
import { createDispatch } from '../api-dispatch.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function http(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('studio serve --api', () => {
  let child: ChildProcess;
  let uiUrl: string;
  let token: string;
  let apiUrl: string;
  beforeAll(async () => {
    const apiPort = await freePort();
    child = spawn(process.execPath, [join(appRoot(), 'bin', 'studio.js'), 'serve', '--port', '0', '--api-port', String(apiPort), '--api-auth', 'ana:pass:word'], {
      env: { ...process.env, STUDIO_DATA_DIR: mkdtempSync(join(tmpdir(), 'serve-api-')), STUDIO_THREADS: '2' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const out = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        if (/A1111-compatible API: \S+/.test(text) && /\?token=\S+/.test(text)) resolve(text);
      });
      child.once('exit', (code) => reject(new Error(`studio serve exited with ${code}: ${text}`)));
    });
    const launch = new URL(/(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out)![1]!);
    uiUrl = launch.origin;
    token = launch.searchParams.get('token')!;
    apiUrl = /A1111-compatible API: (http:\/\/127\.0\.0\.1:\d+)\/sdapi\/v1/.exec(out)![1]!;
    expect(apiUrl).toBe(`http://127.0.0.1:${apiPort}`);
  });
  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('serves the API with the credentials it was given, on its own port', async () => {
    expect((await http(`${apiUrl}/sdapi/v1/sd-models`, 'GET', { Authorization: basic('ana', 'pass:word') })).status).toBe(200);
    const refused = await http(`${apiUrl}/sdapi/v1/sd-models`, 'GET');
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Basic');
  });

  it('the UI token does not open the API', async () => {
    const r = await http(`${apiUrl}/sdapi/v1/options`, 'GET', { Authorization: `Bearer ${token}`, Cookie: `studio_token=${token}` });
    expect(r.status).toBe(401);
  });

  it('the API credentials do not open the UI', async () => {
    const upload = await http(`${uiUrl}/upload/lora?name=x.safetensors`, 'POST', { Authorization: basic('ana', 'pass:word'), Origin: uiUrl }, 'x');
    expect(upload.status).toBe(401);
    const socket = new WebSocket(`${uiUrl.replace('http', 'ws')}/api`, { headers: { Authorization: basic('ana', 'pass:word'), Origin: uiUrl } });
    const status = await new Promise<number>((resolve) => {
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('open', () => resolve(101));
      socket.once('error', () => resolve(-1));
    });
    expect(status).toBe(401);
    // And the API's port serves no UI at all.
    expect((await http(`${apiUrl}/`, 'GET', { Authorization: basic('ana', 'pass:word') })).body).not.toContain('<div id="root">');
    expect((await http(`${apiUrl}/?token=${token}`, 'GET')).body).not.toContain('<div id="root">');
  });
});

describe('studio serve refuses an API it should not start', () => {
  it('--listen without --api-auth: a clear message, nothing served', async () => {
    const run = await runCli(['serve', '--port', '0', '--listen'], { env: { STUDIO_DATA_DIR: mkdtempSync(join(tmpdir(), 'serve-listen-')) }, timeoutMs: 30_000 });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--listen makes the A1111 API reachable from other machines, so it needs credentials: add --api-auth USER:PASSWORD/);
    expect(run.stdout).not.toMatch(/is running/);
  });

  it('a malformed --api-auth or --api-port', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'serve-flags-'));
    const auth = await runCli(['serve', '--api-auth', 'nopassword'], { env: { STUDIO_DATA_DIR: dataDir }, timeoutMs: 30_000 });
    expect([auth.code, auth.stderr]).toEqual([1, expect.stringMatching(/USER:PASSWORD/)]);
    const port = await runCli(['serve', '--api-port', '99999'], { env: { STUDIO_DATA_DIR: dataDir }, timeoutMs: 30_000 });
    expect([port.code, port.stderr]).toEqual([1, expect.stringMatching(/--api-port must be a port number from 0 to 65535, got "99999"/)]);
  });
});

describe('the A1111 API setting in the app', () => {
  const studio = testStudio();
  const dispatch = createDispatch(studio, 'browser');
  afterAll(() => studio.close());

  it('turns the API on and off, keeps the choice, and says when the port is taken', async () => {
    const port = await freePort();
    expect(await dispatch('a1111.get', {})).toMatchObject({ ok: true, value: { enabled: false, running: false, port: 7860, keepUnsavedImages: true } });
    const on = await dispatch('a1111.configure', { enabled: true, port, keepUnsavedImages: false, username: 'u', password: 'p' });
    expect(on).toMatchObject({ ok: true, value: { enabled: true, running: true, url: `http://127.0.0.1:${port}`, username: 'u', hasPassword: true, keepUnsavedImages: false } });
    expect((await http(`http://127.0.0.1:${port}/sdapi/v1/options`, 'GET', { Authorization: basic('u', 'p') })).status).toBe(200);
    expect((await http(`http://127.0.0.1:${port}/sdapi/v1/options`, 'GET')).status).toBe(401);
    // A password left out stays as it was.
    expect(await dispatch('a1111.configure', { enabled: true, port, keepUnsavedImages: false, username: 'u' })).toMatchObject({ ok: true, value: { running: true, hasPassword: true } });
    expect(await dispatch('a1111.configure', { enabled: true, port, keepUnsavedImages: false, username: 'u', password: '' })).toMatchObject({ ok: false, error: { notice: { key: 'error.apiCredentialsHalf' } } });
    // Another studio on the same data folder reads the saved setting; its port is taken by the first.
    const second = testStudio({ dataDir: studio.layout.root });
    try {
      expect(await second.api.restore()).toMatchObject({ enabled: true, running: false, error: { notice: { key: 'error.apiPortInUse', params: { port } } } });
    } finally {
      await second.close();
    }
    expect(await dispatch('a1111.configure', { enabled: false, port, keepUnsavedImages: false, username: 'u' })).toMatchObject({ ok: true, value: { enabled: false, running: false, url: null } });
    await expect(http(`http://127.0.0.1:${port}/sdapi/v1/options`, 'GET')).rejects.toThrow(/ECONNREFUSED/);
  });
});
