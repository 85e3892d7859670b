import { describe, expect, it } from 'vitest';
import { ApiServerError, apiServerMessage, httpStatus } from '../../../src/controller/http-status.js';
import { standInApi } from '../../support/kube/stand-in-api.js';

describe('the API client', () => {
  it('delivers watch events split anywhere across chunks, in order, then ends once', async () => {
    let query = '';
    const api = await standInApi((req, res) => {
      query = req.url ?? '';
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"type":"ADDED","object":{"n":1}}\n{"type":"MOD');
      setTimeout(() => {
        res.write('IFIED","object":{"n":2}}\n\n');
        res.end('{"type":"DELETED","object":{"n":3}}\n');
      }, 20);
    });
    const events: unknown[] = [];
    const ended = new Promise<unknown>((resolve) => {
      void api.watch(
        '/apis/x',
        { resourceVersion: '7', labelSelector: 'a=b' },
        (type, object) => events.push([type, object]),
        resolve,
      );
    });
    expect(await ended).toBeNull();
    expect(events).toEqual([
      ['ADDED', { n: 1 }],
      ['MODIFIED', { n: 2 }],
      ['DELETED', { n: 3 }],
    ]);
    expect(new URLSearchParams(query.split('?')[1])).toEqual(
      new URLSearchParams({ resourceVersion: '7', labelSelector: 'a=b', watch: 'true' }),
    );
  });

  it('ends a watch the server refuses with its status, so the informer can tell 410 Gone', async () => {
    const api = await standInApi((_req, res) => {
      res.writeHead(410);
      res.end('{"kind":"Status","code":410}');
    });
    const err = await new Promise<unknown>((resolve) => {
      void api.watch('/apis/x', {}, () => undefined, resolve);
    });
    expect((err as { statusCode?: number }).statusCode).toBe(410);
  });

  it('turns every failed request into an ApiServerError: an answer with its status and message, silence after the timeout', async () => {
    const api = await standInApi((req, res) => {
      if (req.url === '/silent') return;
      res.writeHead(req.url === '/gone' ? 404 : 403);
      res.end(JSON.stringify({ kind: 'Status', message: 'secrets "db" is forbidden' }));
    });
    expect(await api.find('/gone')).toBeNull();
    const refused = await api.request('GET', '/refused').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiServerError);
    expect(httpStatus(refused)).toBe(403);
    expect(apiServerMessage(refused)).toBe('secrets "db" is forbidden');
    const silent = await api.request('GET', '/silent').catch((e: unknown) => e);
    expect(silent).toBeInstanceOf(ApiServerError);
    expect(httpStatus(silent)).toBeUndefined();
    expect((silent as Error).message).toMatch(/could not be reached \(TimeoutError\)/);
  });

  it('sends a body as JSON and reads the answer', async () => {
    const api = await standInApi((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({ method: req.method, type: req.headers['content-type'], got: JSON.parse(body) }),
        );
      });
    });
    expect(await api.request('POST', '/things', { body: { a: 1 } })).toEqual({
      method: 'POST',
      type: 'application/json',
      got: { a: 1 },
    });
  });
});
