/**
 * startFakeHub: a real node:http server on 127.0.0.1 that speaks the subset of the Hugging Face Hub API in
 * ../shared/reference/hf-hub-api.md. Lifecycle, request bookkeeping and the FakeHub control surface live here;
 * the routes live in route-*.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { FaultRegistry } from './faults.js';
import { HubError, sendError } from './http-error.js';
import type { Exchange, HubState } from './hub-state.js';
import { buildRepoModel, resolveRevision } from './repo-model.js';
import { logRequest } from './request-log.js';
import { route } from './router.js';
import { ConnectionThrottle } from './throttle.js';
import type { FakeHub, LoggedRequest, StartOptions } from './types.js';

export async function startFakeHub(options: StartOptions = {}): Promise<FakeHub> {
  const closing = new AbortController();
  const requests: LoggedRequest[] = [];
  const state: HubState = {
    url: '',
    repos: new Map(),
    treePageSize: options.treePageSize ?? 50,
    validTokens: options.validTokens ? new Set(options.validTokens) : undefined,
    faults: new FaultRegistry(),
    throttle: new ConnectionThrottle(options.throttleBytesPerSecond),
    weightBytes: new Map(),
    closing: closing.signal,
  };
  if (!(state.treePageSize >= 1)) throw new Error('fake hub: treePageSize must be >= 1');
  for (const repo of options.repos ?? []) state.repos.set(repo.id, buildRepoModel(repo));

  const sockets = new Set<Socket>();
  const server = createServer({ keepAliveTimeout: 5_000 }, (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const entry = logRequest(requests, req, res, url);
    // Clients copy this into their error messages (reference §1).
    res.setHeader('X-Request-Id', `fake-hub-${requests.length}`);
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const ex: Exchange = {
      req,
      res,
      url,
      path: entry.path,
      isHead: req.method === 'HEAD',
      entry,
      signal: AbortSignal.any([closing.signal, gone.signal]),
    };
    route(ex, state).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) {
        if (!(err instanceof HubError)) console.error('fake hub: error after headers were sent:', err);
        req.socket.destroy();
        return;
      }
      if (err instanceof HubError) return sendError(res, err, ex.isHead);
      console.error('fake hub: internal error:', err);
      sendError(res, new HubError(500, 'Internal Error'), ex.isHead);
    });
  });
  server.on('connection', (socket: Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('fake hub: no TCP address');
  state.url = `http://127.0.0.1:${address.port}`;

  let closed: Promise<void> | undefined;
  return {
    url: state.url,
    requests,
    addRepo(repo) {
      state.repos.set(repo.id, buildRepoModel(repo));
    },
    commitOf(repoId, revision = 'main') {
      const model = state.repos.get(repoId);
      const snap = model && resolveRevision(model, revision);
      if (!snap) throw new Error(`fake hub: no revision '${revision}' in repo '${repoId}'`);
      return snap.commit;
    },
    inject(fault) {
      state.faults.inject(fault);
    },
    clearFaults() {
      state.faults.clear();
    },
    setThrottle(bytesPerSecond) {
      state.throttle.set(bytesPerSecond);
    },
    weightBytesServed(repoId) {
      if (repoId !== undefined) return state.weightBytes.get(repoId) ?? 0;
      let total = 0;
      for (const n of state.weightBytes.values()) total += n;
      return total;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing.abort(); // ends stalls and throttle waits
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}
