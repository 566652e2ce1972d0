/**
 * Hub error responses (reference §4.2): X-Error-Code and X-Error-Message headers, which Python reads (on HEAD they are
 * all there is), and a JSON body {"error"}, which JS reads.
 */
import type { ServerResponse } from 'node:http';

export type HubErrorCode = 'RepoNotFound' | 'RevisionNotFound' | 'EntryNotFound' | 'GatedRepo';

export class HubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: HubErrorCode,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const INVALID_CREDENTIALS = 'Invalid credentials in Authorization header';

export const errors = {
  invalidToken: () => new HubError(401, INVALID_CREDENTIALS),
  repoNotFound: (authenticated: boolean) =>
    authenticated
      ? new HubError(404, 'Repository not found', 'RepoNotFound')
      : new HubError(401, 'Invalid username or password.', 'RepoNotFound'),
  gatedNoToken: (id: string) =>
    new HubError(
      401,
      `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
      'GatedRepo',
    ),
  gatedNotGranted: (id: string) =>
    new HubError(
      403,
      `Access to model ${id} is restricted and you are not in the authorized list. Visit https://huggingface.co/${id} to ask for access.`,
      'GatedRepo',
    ),
  disabled: () => new HubError(403, 'Access to this resource is disabled.'),
  revisionNotFound: (rev: string) => new HubError(404, `Invalid rev id: ${rev}`, 'RevisionNotFound'),
  entryNotFound: (commit: string) => new HubError(404, 'Entry not found', 'EntryNotFound', { 'X-Repo-Commit': commit }),
  badRequest: (message: string) => new HubError(400, message),
  notFound: () => new HubError(404, "Sorry, we can't find the page you are looking for."),
  methodNotAllowed: () => new HubError(405, 'Method not allowed'),
};

/** Header values must be latin-1 without control characters; messages here are ASCII, but stay safe. */
const headerSafe = (text: string) => text.replace(/[^\x20-\x7e]/g, '?');

export function sendError(res: ServerResponse, err: HubError, isHead: boolean): void {
  const body = Buffer.from(JSON.stringify({ error: err.message }));
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': body.byteLength,
    'X-Error-Message': headerSafe(err.message),
    ...err.headers,
  };
  if (err.code) headers['X-Error-Code'] = err.code;
  res.writeHead(err.status, headers);
  res.end(isHead ? undefined : body);
}

export function sendJson(res: ServerResponse, value: unknown, isHead: boolean, extra: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.byteLength, ...extra });
  res.end(isHead ? undefined : body);
}
