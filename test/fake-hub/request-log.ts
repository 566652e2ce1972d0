/**
 * Records every request and keeps its entry current (status, body bytes, completion) by wrapping the response's own
 * writeHead/write/end, so no route has to remember to report.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoggedRequest } from './types.js';

export function decodePath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

const byteLength = (chunk: unknown): number => {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return 0;
  if (typeof chunk === 'string') return Buffer.byteLength(chunk);
  return (chunk as Uint8Array).byteLength ?? 0;
};

export function logRequest(requests: LoggedRequest[], req: IncomingMessage, res: ServerResponse, url: URL): LoggedRequest {
  const range = req.headers.range;
  const entry: LoggedRequest = {
    method: req.method ?? 'GET',
    path: decodePath(url.pathname),
    query: url.searchParams,
    ...(range !== undefined ? { range } : {}),
    authorization: req.headers.authorization,
    status: 0,
    bytesSent: 0,
    startedAt: Date.now(),
    completed: false,
  };
  requests.push(entry);

  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = ((...args: unknown[]) => {
    entry.status = args[0] as number;
    return writeHead(...args);
  }) as ServerResponse['writeHead'];
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  res.write = ((...args: unknown[]) => {
    entry.bytesSent += byteLength(args[0]);
    return write(...args);
  }) as ServerResponse['write'];
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    entry.bytesSent += byteLength(args[0]);
    return end(...args);
  }) as ServerResponse['end'];
  res.on('finish', () => {
    entry.status = res.statusCode;
    entry.completed = true;
  });
  return entry;
}
