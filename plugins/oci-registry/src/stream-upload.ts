/**
 * One upload request whose body is a range of a file, streamed with node:http(s) and stream backpressure: the
 * memory it holds is a few read buffers whatever the file size. (fetch with a ReadableStream body keeps every chunk
 * alive until the request ends on Node 20: a 400 MiB PATCH peaked at 416 MiB of ArrayBuffers and took twice as
 * long as the same PATCH through node:http.) Authentication as in RegistryClient.request; failures are thrown, not
 * retried: the caller asks the registry what it kept before sending more.
 */
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import { TransientError, asTransient, isRetryableStatus, retryAfterMs } from '../../../src/index.js';
import type { RegistryClient } from './registry-client.js';
import { registryError } from './registry-errors.js';

export interface StreamedRequest {
  what: string;
  file: string;
  /** First byte, and one past the last, of the file to send. */
  start: number;
  end: number;
  headers?: Record<string, string>;
  /** Statuses the caller handles (others not 2xx become errors). */
  accept?: number[];
  signal?: AbortSignal;
}

export interface StreamedAnswer {
  status: number;
  header(name: string): string | null;
}

export async function streamFile(client: RegistryClient, method: string, url: string, request: StreamedRequest): Promise<StreamedAnswer> {
  for (let authTried = false; ; authTried = true) {
    const answer = await once(client, method, url, request);
    if (answer.status === 401 && !request.accept?.includes(401)) {
      await client.answerChallenge(answer.header('www-authenticate'), request.what, authTried);
      continue;
    }
    if (isRetryableStatus(answer.status) && !request.accept?.includes(answer.status)) {
      throw new TransientError(`${client.ref.registry} answered ${answer.status}`, retryAfterMs(answer.header('retry-after')));
    }
    if ((answer.status < 200 || answer.status >= 300) && !request.accept?.includes(answer.status)) {
      throw await registryError(new Response(answer.body.length ? answer.body : null, { status: answer.status, headers: answer.headers }), `${method} ${request.what}`, client.ref.registry);
    }
    return answer;
  }
}

interface Raw extends StreamedAnswer {
  headers: Headers;
  body: Buffer;
}

/** One attempt. The answer's body is read (small: registries answer uploads with empty or JSON error bodies). */
function once(client: RegistryClient, method: string, url: string, request: StreamedRequest): Promise<Raw> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise<Raw>((resolve, reject) => {
    const req = transport.request(
      target,
      {
        method,
        headers: { ...client.authFor(url), ...request.headers, 'content-length': String(request.end - request.start) },
        signal: request.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let length = 0;
        res.on('data', (chunk: Buffer) => {
          if (length < 64 * 1024) chunks.push(chunk);
          length += chunk.length;
        });
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks), header: (name) => headers.get(name) });
        });
        res.on('error', (error) => reject(asTransient(error) ?? error));
      },
    );
    req.on('error', (error) => reject(request.signal?.aborted ? request.signal.reason : (asTransient(error) ?? error)));
    const body = request.end > request.start ? createReadStream(request.file, { start: request.start, end: request.end - 1, highWaterMark: 1 << 20 }) : undefined;
    if (!body) return void req.end();
    // A registry that answers early (413, 401) closes the request side: the answer above still arrives.
    pipeline(body, req).catch((error: unknown) => {
      if (!req.destroyed) req.destroy(error as Error);
    });
  });
}
