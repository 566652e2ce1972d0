/**
 * resolve: a repo id -> a SourcePlan, with everything known before any weight byte: the commit every later
 * request is pinned to, license, gating, the files to download (checked for hostile paths) and the parsed
 * config.json, so the architecture can be judged first.
 */
import { createHash } from 'node:crypto';
import { listFiles, modelInfo } from '@huggingface/hub';
import {
  checkRelativePath,
  isModelImportError,
  ModelImportError,
  type ImportRequest,
  type ModelConfig,
  type SourcePlan,
  type StageContext,
} from '../../../src/index.js';
import { badListing, hubFetchFor, readPrefix, resolveUrl, tokenWithAccess, type RepoRef } from './hub-access.js';
import { checkOffline, resolveEndpoint } from './hub-env.js';
import { fetchSmall } from './hub-fetch.js';
import { licenseExcerpt, licenseFromCard } from './license-info.js';
import { NAME } from './names.js';
import { effectiveSettings, type EffectiveSettings, type SourceHuggingfaceOptions } from './options.js';
import { isLocalSpec, validateRepoId } from './repo-id.js';
import { asTransient, RetryTracker, sleep } from '../../../src/index.js';
import { selectFiles, type ListedFile } from '../../../src/index.js';
import { explicitToken, implicitToken, implicitTokenDisabled, type FoundToken } from './token-discovery.js';
import { rememberSecrets } from './token-store.js';

export const LICENSE_EXCERPT_BYTES = 16 * 1024;
export const LICENSE_EXCERPT_LINES = 25;

export async function resolvePlan(request: ImportRequest, context: StageContext, options: SourceHuggingfaceOptions): Promise<SourcePlan | undefined> {
  const spec = request.spec;
  if (await isLocalSpec(spec)) return undefined;
  const repoId = validateRepoId(spec);
  checkOffline(context.env, repoId);
  const endpoint = resolveEndpoint(options.endpoint, context.settings, context.env);
  const revision = request.options.revision ?? 'main';
  const ref: RepoRef = { endpoint, repoId, revision };
  const settings = effectiveSettings(options, context);

  // Environment tokens are sent like the Python client does, unless HF_HUB_DISABLE_IMPLICIT_TOKEN keeps them for
  // repos that need one.
  const explicit = explicitToken(request.options.token, options.token);
  const implicit = explicit ? undefined : await implicitToken(context.env);
  let token = explicit ?? (implicitTokenDisabled(context.env) ? undefined : implicit);

  let info: Awaited<ReturnType<typeof readModelInfo>>;
  try {
    info = await readModelInfo(ref, token, context, settings);
  } catch (error) {
    // A private repo looks missing to anonymous callers: try again with the held-back token.
    if (!(isModelImportError(error) && error.code === 'REPO_NOT_FOUND' && !token && implicit)) throw error;
    token = implicit;
    info = await readModelInfo(ref, token, context, settings);
  }
  const commit = typeof info.sha === 'string' ? info.sha.toLowerCase() : '';
  if (!/^[0-9a-f]{40}$/.test(commit)) throw badListing(repoId, `revision ${revision} resolved to ${JSON.stringify(info.sha) ?? 'nothing'}, not a commit sha`);
  const gated = info.gated === 'auto' || info.gated === 'manual' || info.gated === (true as unknown);
  const isPrivate = info.private === true;

  const listing = await listAll(ref, commit, token, context, settings);
  const selection = selectFiles(listing, repoId);
  const configEntry = listing.find((f) => f.path === 'config.json');
  if (!configEntry) {
    throw new ModelImportError('FILE_NOT_FOUND', `${repoId} has no config.json at ${revision} (${commit.slice(0, 12)}).`, {
      hint: 'Only transformers checkpoints (with a config.json at the repo root) can be imported.',
    });
  }

  // Gates guard file content: settle the token and check access before the first content byte, config included.
  if (gated || isPrivate) {
    token = await tokenWithAccess(ref, commit, token, context, settings, { optionToken: options.token, gated });
  }
  const config = await readConfig(ref, commit, configEntry, token, context, settings);

  const license = licenseFromCard(info.cardData as Record<string, unknown> | undefined, info.tags as string[] | undefined, {
    endpoint,
    repoId,
    commit,
    file: selection.licenseFile,
  });
  if (license?.file) {
    // Read here so whoever shows the license has the text, whether that happens before or after authorize.
    const excerpt = await tryLicenseExcerpt(ref, commit, license.file, listing, token, context, settings);
    if (excerpt !== undefined) license.excerpt = excerpt;
  }

  const plan: SourcePlan = {
    source: 'huggingface',
    resolvedBy: NAME,
    modelId: repoId,
    revision,
    commit,
    config,
    files: selection.files,
    ...(license ? { license } : {}),
    gated,
    private: isPrivate,
    data: { endpoint },
  };
  rememberSecrets(plan, { token });
  return plan;
}

async function readModelInfo(ref: RepoRef, token: FoundToken | undefined, context: StageContext, settings: EffectiveSettings) {
  return withBodyRetries(context, settings, () =>
    modelInfo({
      name: ref.repoId,
      revision: ref.revision,
      additionalFields: ['sha', 'cardData', 'tags', 'config'],
      hubUrl: ref.endpoint,
      fetch: hubFetchFor(ref, 'model info', token, context, settings),
    }),
  );
}

/** Every file at the commit (all pages), each path checked: one hostile path refuses the whole listing. */
async function listAll(ref: RepoRef, commit: string, token: FoundToken | undefined, context: StageContext, settings: EffectiveSettings): Promise<ListedFile[]> {
  const entries = await withBodyRetries(context, settings, async () => {
    const out = [];
    const fetch = hubFetchFor(ref, 'file list', token, context, settings);
    // A `Link: rel=next` that points back (at itself or an earlier page) would page forever: a path listed twice
    // ends the listing, and so does a listing longer than any repository's.
    const seen = new Set<string>();
    for await (const entry of listFiles({ repo: { type: 'model', name: ref.repoId }, recursive: true, revision: commit, hubUrl: ref.endpoint, fetch })) {
      const key = typeof entry?.path === 'string' ? entry.path : '';
      if (seen.has(key)) throw badListing(ref.repoId, `${JSON.stringify(key.slice(0, 200))} is listed twice (its pages link back to each other)`);
      if (seen.size >= MAX_LISTED_ENTRIES) throw badListing(ref.repoId, `it lists more than ${MAX_LISTED_ENTRIES} entries`);
      seen.add(key);
      out.push(entry);
    }
    return out;
  });
  const files: ListedFile[] = [];
  for (const entry of entries) {
    if (typeof entry?.path !== 'string') throw badListing(ref.repoId, 'an entry has no path');
    checkRelativePath(entry.path, `path listed by ${ref.repoId}`);
    if (entry.type !== 'file') continue;
    // Not isSafeInteger: an absurd declared size (petabytes) is for the disk-space check to refuse, with numbers.
    if (!Number.isInteger(entry.size) || entry.size < 0) throw badListing(ref.repoId, `${entry.path} has size ${JSON.stringify(entry.size)}`);
    const sha256 = entry.lfs?.oid?.toLowerCase();
    const gitOid = entry.oid?.toLowerCase();
    if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) throw badListing(ref.repoId, `${entry.path} has a malformed sha256`);
    if (gitOid !== undefined && !/^[0-9a-f]{40}$/.test(gitOid)) throw badListing(ref.repoId, `${entry.path} has a malformed git oid`);
    files.push({ path: entry.path, size: entry.size, ...(sha256 ? { sha256 } : {}), ...(gitOid ? { gitOid } : {}) });
  }
  return files;
}

async function readConfig(ref: RepoRef, commit: string, entry: ListedFile, token: FoundToken | undefined, context: StageContext, settings: EffectiveSettings): Promise<ModelConfig> {
  const max = settings.configMaxBytes;
  if (entry.size > max) {
    throw new ModelImportError('BAD_INPUT', `config.json of ${ref.repoId} is ${entry.size} bytes; more than ${max} is not a model config.`, {
      hint: 'Nothing was downloaded. Raise the configMaxBytes option if this config is really that large.',
    });
  }
  const bytes = await fetchSmall(hubFetchFor(ref, 'config.json', token, context, settings), resolveUrl(ref, commit, 'config.json'), {
    max,
    what: `config.json of ${ref.repoId}`,
    retry: settings.retry,
    signal: context.signal,
  });
  const actual = entry.sha256
    ? createHash('sha256').update(bytes).digest('hex')
    : createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
  const expected = entry.sha256 ?? entry.gitOid;
  if (expected && actual !== expected) {
    throw new ModelImportError('HASH_MISMATCH', `config.json of ${ref.repoId} does not match the hash the hub lists for it.`, {
      hint: 'A proxy or mirror altered it, or the repository is inconsistent. Run again; if it persists, check HF_ENDPOINT.',
      details: { path: 'config.json', expected, actual },
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ModelImportError('BAD_INPUT', `config.json of ${ref.repoId} is not valid JSON: ${(error as Error).message}.`, {
      hint: 'The repository is broken at this revision; try another --revision or report it to its owner.',
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ModelImportError('BAD_INPUT', `config.json of ${ref.repoId} is not a JSON object.`, {
      hint: 'The repository is broken at this revision; try another --revision or report it to its owner.',
    });
  }
  return parsed as ModelConfig;
}

/** Best effort: a license excerpt is a courtesy, its absence never fails the import (the link is still shown). */
export async function tryLicenseExcerpt(
  ref: RepoRef,
  commit: string,
  file: string,
  listing: readonly { path: string; size: number }[],
  token: FoundToken | undefined,
  context: StageContext,
  settings: EffectiveSettings,
): Promise<string | undefined> {
  const size = listing.find((f) => f.path === file)?.size ?? LICENSE_EXCERPT_BYTES;
  try {
    const { bytes, truncated } = await readPrefix(ref, commit, file, size, LICENSE_EXCERPT_BYTES, token, context, settings);
    return licenseExcerpt(bytes, truncated, LICENSE_EXCERPT_LINES);
  } catch (error) {
    if (context.signal.aborted) throw error;
    context.reporter.warn(`Could not read ${file} of ${ref.repoId}: ${isModelImportError(error) ? error.message : String(error)}`, NAME);
    return undefined;
  }
}

/** The hub library reads bodies after our fetch returned; a drop there is retried here (same budget rules). */
/** More files than any real repository lists (the largest have tens of thousands). */
const MAX_LISTED_ENTRIES = 200_000;

async function withBodyRetries<T>(context: StageContext, settings: EffectiveSettings, run: () => Promise<T>): Promise<T> {
  const tracker = new RetryTracker(settings.retry);
  for (;;) {
    try {
      return await run();
    } catch (error) {
      if (context.signal.aborted || isModelImportError(error)) throw error;
      const transient = asTransient(error);
      if (!transient) {
        // Deterministic: the answer came but the library could not use it (null, wrong shape, not JSON). Retrying
        // would get the same answer for the whole budget.
        throw new ModelImportError('NETWORK', `The hub's answer could not be used: ${(error as Error)?.message ?? String(error)}.`, {
          hint: 'Check HF_ENDPOINT (a mirror or proxy may be misbehaving), then run the same command again.',
          cause: error,
        });
      }
      const delay = tracker.failed(transient);
      if (delay === undefined) {
        throw new ModelImportError('NETWORK', `Could not read from the hub: ${transient.what}.`, {
          hint: 'Check your connection and HF_ENDPOINT, then run the same command again.',
          cause: error,
        });
      }
      await sleep(delay, context.signal);
    }
  }
}
