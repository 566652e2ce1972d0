/**
 * What every route handler may read: the repos, the options, the fault and throttle controls and the counters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultRegistry } from './faults.js';
import type { RepoModel } from './repo-model.js';
import type { ConnectionThrottle } from './throttle.js';
import type { LoggedRequest } from './types.js';

export interface HubState {
  url: string;
  repos: Map<string, RepoModel>;
  treePageSize: number;
  validTokens: Set<string> | undefined;
  faults: FaultRegistry;
  throttle: ConnectionThrottle;
  /** Weight-file content bytes sent, per repo id. */
  weightBytes: Map<string, number>;
  /** Aborted by close(): ends stalls and throttle waits. */
  closing: AbortSignal;
}

/** One request/response pair as the routes see it. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Decoded URL path. */
  path: string;
  isHead: boolean;
  entry: LoggedRequest;
  /** Aborted when the client goes away or the hub closes. */
  signal: AbortSignal;
}
