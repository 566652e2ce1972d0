/**
 * An in-process HTTP proxy in front of the real registry that injects what networks do: 5xx answers, dropped
 * connections mid-body (both directions), flipped bytes in blob downloads, slow blob bodies. The Host header
 * is passed through, so the registry's upload locations point back through the proxy.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultRule {
  /** Which requests: method and a pattern on the path. */
  method?: string;
  path: RegExp;
  /** How many matching requests the fault hits (then it passes them through). */
  times: number;
  /** no-range: Range dropped from requests and Accept-Ranges from answers, as by a registry without ranges. */
  fault: 'status-503' | 'status-413' | 'drop-response' | 'drop-request' | 'corrupt' | 'slow' | 'delay' | 'no-range';
  /** slow: milliseconds to wait per 16 KiB of response body; delay: before forwarding the request. */
  delayMs?: number;
  /** drop-request: request body bytes forwarded before the cut (default 1000). */
  afterBytes?: number;
}

export interface LoggedProxyRequest {
  method: string;
  path: string;
  range?: string;
  contentRange?: string;
  fault?: string;
  /** Response body bytes passed on (counted as they go). */
  bytes: number;
  /** The upstream's status, once it answered. */
  status?: number;
}

export interface FaultProxy {
  host: string;
  rules: FaultRule[];
  log: LoggedProxyRequest[];
  close(): Promise<void>;
}

const RESPONSE_FAULTS = new Set<FaultRule['fault']>(['drop-response', 'corrupt', 'slow']);

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const rules: FaultRule[] = [];
  const log: LoggedProxyRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://proxy');
    const matched = rules.find((r) => r.times > 0 && (!r.method || r.method === req.method) && r.path.test(url.pathname));
    if (matched) matched.times--;
    const entry: LoggedProxyRequest = { method: req.method!, path: url.pathname, range: req.headers.range, contentRange: req.headers['content-range'] as string | undefined, fault: matched?.fault, bytes: 0 };
    log.push(entry);
    if (matched?.fault === 'status-503' || matched?.fault === 'status-413') {
      // 413: what a proxy with a body limit (Cloudflare's 100 MB) answers to a large upload.
      req.resume();
      res.writeHead(matched.fault === 'status-503' ? 503 : 413, { 'content-type': 'text/plain' }).end('injected');
      return;
    }
    if (matched?.fault === 'delay') await new Promise((r) => setTimeout(r, matched.delayMs ?? 100));
    const headers = { ...req.headers };
    if (matched?.fault === 'no-range') delete headers.range;
    let rule = matched;
    const upstreamReq = http.request({ hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (upstreamRes) => {
      entry.status = upstreamRes.statusCode;
      if (matched?.fault === 'no-range') delete upstreamRes.headers['accept-ranges'];
      if (rule && RESPONSE_FAULTS.has(rule.fault) && (upstreamRes.statusCode ?? 500) >= 300) {
        // A fault on the body is meant for the blob's bytes, not a 401 before authentication: this one passes.
        rule.times++;
        entry.fault = undefined;
        rule = undefined;
      }
      res.writeHead(upstreamRes.statusCode!, upstreamRes.headers);
      let sent = 0;
      let flipped = false;
      upstreamRes.on('data', async (chunk: Buffer) => {
        if (rule?.fault === 'drop-response') {
          // Some bytes through, then the connection is gone.
          upstreamRes.destroy();
          entry.bytes += Math.min(chunk.length, 20_000);
          res.write(chunk.subarray(0, Math.min(chunk.length, 20_000)), () => res.socket?.destroy());
          return;
        }
        if (rule?.fault === 'corrupt' && !flipped && chunk.length > 0) {
          chunk = Buffer.from(chunk);
          chunk[Math.floor(chunk.length / 2)] ^= 0xff;
          flipped = true;
        }
        if (rule?.fault === 'slow') {
          upstreamRes.pause();
          for (let off = 0; off < chunk.length; off += 16384) {
            entry.bytes += Math.min(16384, chunk.length - off);
            if (!res.write(chunk.subarray(off, off + 16384))) await new Promise((r) => res.once('drain', r));
            await new Promise((r) => setTimeout(r, rule?.delayMs ?? 50));
          }
          sent += chunk.length;
          upstreamRes.resume();
          return;
        }
        sent += chunk.length;
        entry.bytes += chunk.length;
        res.write(chunk);
      });
      upstreamRes.on('end', () => res.end());
      upstreamRes.on('error', () => res.destroy());
    });
    upstreamReq.on('error', () => res.destroy());
    if (rule?.fault === 'drop-request') {
      // Forward part of the request body, then cut both sides: a connection lost mid-upload.
      let got = 0;
      const limit = rule.afterBytes ?? 1000;
      req.on('data', (chunk: Buffer) => {
        if (got >= limit) return;
        const take = chunk.subarray(0, limit - got);
        got += take.length;
        if (got < limit) return void upstreamReq.write(take);
        // The last bytes reach the registry, then both connections go.
        upstreamReq.write(take, () => setTimeout(() => {
          upstreamReq.destroy();
          req.socket.destroy();
        }, 50));
      });
      req.on('end', () => upstreamReq.end());
      return;
    }
    req.pipe(upstreamReq);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    rules,
    log,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
