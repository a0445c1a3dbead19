import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRouter, HttpError, route } from './routes.js';

const issues = (body: string) => (JSON.parse(body) as { detail: { loc: unknown; type: string }[] }).detail;
const message = (body: string) => (JSON.parse(body) as { detail: string }).detail;

function call(url: string, method: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
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

describe('routes table', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const handler = createRouter({
      routes: [
        route({ method: 'GET', path: '/items/:id', auth: 'open', handle: ({ params }) => ({ status: 200, json: { id: params.id } }) }),
        route({
          method: 'POST',
          path: '/items',
          auth: 'key',
          body: z.object({ name: z.string().min(1), count: z.number().int() }),
          maxBodyBytes: 1024,
          handle: ({ body }) => ({ status: 201, json: body }),
        }),
        route({ method: 'GET', path: '/files/*rest', auth: 'open', handle: ({ params }) => ({ status: 200, text: params.rest ?? '' }) }),
        route({
          method: 'GET',
          path: '/boom',
          auth: 'open',
          handle: () => {
            throw new Error('handler bug');
          },
        }),
      ],
      auth: {
        open: () => undefined,
        key: (req) => (req.headers['x-key'] === 'k' ? undefined : new HttpError(401, 'need the key', undefined, { 'WWW-Authenticate': 'Key' })),
      },
      invalidStatus: 422,
      maxBodyBytes: 1024,
      errorReply: (e) => ({ status: e.status, json: { detail: e.issues ?? e.message } }),
    });
    server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('matches patterns and decodes parameters', async () => {
    expect(JSON.parse((await call(`${base}/items/a%20b`, 'GET')).body)).toEqual({ id: 'a b' });
    expect((await call(`${base}/files/x/y%2Fz`, 'GET')).body).toBe('x/y/z');
    expect((await call(`${base}/items/a/b`, 'GET')).status).toBe(404);
    // GET routes answer HEAD without a body.
    const head = await call(`${base}/items/1`, 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
  });

  it('answers a wrong method with 405 and the methods that work', async () => {
    const r = await call(`${base}/items/1`, 'DELETE');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
  });

  it('checks the auth rule before reading the body, with the rule’s headers', async () => {
    const r = await call(`${base}/items`, 'POST', '{}', { 'Content-Type': 'application/json' });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Key');
  });

  it('validates the body: malformed JSON, wrong types, a missing field, a non-JSON type, a body too large', async () => {
    const post = (body: string | Buffer, type = 'application/json') => call(`${base}/items`, 'POST', body, { 'X-Key': 'k', 'Content-Type': type });
    const malformed = await post('{"name":');
    expect(malformed.status).toBe(422);
    expect(issues(malformed.body)[0]).toMatchObject({ loc: ['body'], type: 'value_error.jsondecode' });
    const wrongType = await post('{"name":"a","count":"many"}');
    expect(wrongType.status).toBe(422);
    expect(issues(wrongType.body)[0]).toMatchObject({ loc: ['body', 'count'], type: 'type_error.number' });
    expect(issues((await post('{"count":1}')).body)[0]!.loc).toEqual(['body', 'name']);
    expect((await post('{"name":"a","count":1}', 'text/plain')).status).toBe(415);
    const big = await post(Buffer.alloc(5000, 0x20));
    expect(big.status).toBe(413);
    expect(message(big.body)).toMatch(/larger than 1024 bytes/);
    expect(JSON.parse((await post('{"name":"a","count":1}')).body)).toEqual({ name: 'a', count: 1 });
  });

  it('turns a failing handler into a 500 and keeps serving', async () => {
    const r = await call(`${base}/boom`, 'GET');
    expect(r.status).toBe(500);
    expect(message(r.body)).toMatch(/handler bug/);
    expect((await call(`${base}/items/1`, 'GET')).status).toBe(200);
  });
});
