import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import got from 'got';
import type { Readable } from 'node:stream';

export interface RangeServer {
  url: string;
  /** `Range` headers received, in order (undefined for a full request). */
  ranges: (string | undefined)[];
  /** Destroy the socket of the next response after this many body bytes. */
  breakNextAfter(bytes: number): void;
  close(): Promise<void>;
}

/** A plain HTTP server for one in-memory test file with Range support and a switch to break a response. */
export async function startRangeServer(file: Buffer): Promise<RangeServer> {
  const ranges: (string | undefined)[] = [];
  let breakAfter: number | undefined;
  const server: Server = createServer((req, res) => {
    const range = req.headers.range;
    ranges.push(range);
    let start = 0;
    let end = file.length - 1;
    const m = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (m) {
      start = Number(m[1]);
      if (m[2]) end = Math.min(Number(m[2]), file.length - 1);
      res.writeHead(206, { 'content-type': 'text/csv', 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${file.length}`, 'accept-ranges': 'bytes' });
    } else {
      res.writeHead(200, { 'content-type': 'text/csv', 'content-length': file.length, 'accept-ranges': 'bytes' });
    }
    const body = file.subarray(start, end + 1);
    if (breakAfter !== undefined) {
      const cut = breakAfter;
      breakAfter = undefined;
      res.write(body.subarray(0, cut), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/file.csv`;
  return {
    url,
    ranges,
    breakNextAfter: (bytes) => {
      breakAfter = bytes;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The simplest real opener: got with a Range header. */
export function gotOpener(url: string): (start: number, end?: number) => Promise<Readable> {
  return (start, end) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = start > 0 || end !== undefined ? { range: `bytes=${start}-${end ?? ''}` } : {};
      const stream = got.stream(url, { headers, retry: { limit: 0 } });
      stream.once('error', reject);
      stream.once('response', () => {
        stream.off('error', reject);
        resolve(stream);
      });
    });
}
