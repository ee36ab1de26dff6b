import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type StubReply = { status?: number; headers?: Record<string, string>; body?: string | object } | 'reset';

/** A scripted HTTP server on 127.0.0.1 for transport behaviours the emulator is not meant to produce. */
export async function startStub(handler: (req: StubRequest) => StubReply | Promise<StubReply>) {
  const requests: StubRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: StubRequest = { method: req.method ?? 'GET', url: new URL(req.url ?? '/', 'http://stub'), headers: req.headers, body: Buffer.concat(chunks).toString() };
      requests.push(r);
      void Promise.resolve(handler(r)).then((reply) => {
        if (reply === 'reset') {
          req.socket.destroy();
          return;
        }
        const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json;charset=UTF-8', ...reply.headers });
        res.end(body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const tokenReply = (token = 'tok-1', expiresIn = 3599): StubReply => ({
  body: { access_token: token, token_type: 'bearer', expires_in: expiresIn, scope: 'api@example.com' },
});
