/**
 * Registry answers -> the errors the user sees. The registry's own text is not repeated (it is not ours to
 * vouch for, and may echo anything); only the error codes the distribution spec defines are named.
 */
import { ModelImportError, type ErrorCode } from '../../../src/index.js';

const SPEC_CODES = new Set([
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
]);

/** The spec error codes in a registry's JSON error body, e.g. "MANIFEST_INVALID, BLOB_UNKNOWN". */
export async function specCodes(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { errors?: { code?: unknown }[] };
    const codes = (body.errors ?? []).map((e) => e.code).filter((c): c is string => typeof c === 'string' && SPEC_CODES.has(c));
    return [...new Set(codes)].join(', ');
  } catch {
    return '';
  }
}

export async function registryError(response: Response, what: string, registry: string): Promise<ModelImportError> {
  const codes = await specCodes(response);
  const status = response.status;
  const suffix = codes ? ` (${codes})` : '';
  let code: ErrorCode = 'NETWORK';
  let hint = 'Check the reference and the registry, then run the command again.';
  if (status === 404) {
    code = /manifest/i.test(what) ? 'REPO_NOT_FOUND' : 'FILE_NOT_FOUND';
    hint = 'Check the repository and tag (or digest), and that your account can see them.';
  } else if (status === 403) {
    code = 'ACCESS_DENIED';
    hint = `Your credentials for ${registry} do not allow this; ask for push/pull access to the repository.`;
  } else if (status === 413) {
    code = 'BAD_INPUT';
    hint = 'The registry refused the request size: lower --chunk-size (e.g. 4MB).';
  } else if (status === 400 && /DIGEST_INVALID/.test(codes)) {
    code = 'HASH_MISMATCH';
    hint = 'A file no longer matches the hash recorded at import: run model-import verify <name>.';
  }
  return new ModelImportError(code, `${registry} answered ${status} to ${what}${suffix}.`, { hint, details: { status, registry } });
}
