/**
 * One error class for everything the user may see, and one table of codes with their exit statuses.
 *
 * Plugins and the kernel may be loaded twice (from dist/ by the CLI and from sources by a config file), so
 * errors are recognised by a brand, never by `instanceof`.
 */

/** Exit statuses, documented in the README. Stable: scripts depend on them. */
export const EXIT = Object.freeze({
  ok: 0,
  internal: 1,
  usage: 2,
  unsupported: 3,
  auth: 4,
  notFound: 5,
  licenseDeclined: 6,
  diskSpace: 7,
  network: 8,
  validation: 9,
  cancelled: 10,
  badInput: 11,
  state: 12,
  interrupted: 130,
  terminated: 143,
});

export type ExitName = keyof typeof EXIT;

/** Every error code and the exit status it maps to. */
export const ERROR_CODES = Object.freeze({
  USAGE: 'usage',
  INVALID_NAME: 'usage',
  INVALID_REPO_ID: 'usage',
  CONFIG_INVALID: 'usage',
  PLUGIN_LOAD_FAILED: 'usage',
  NOT_INTERACTIVE: 'usage',
  NO_SOURCE: 'usage',
  UNSUPPORTED_ARCHITECTURE: 'unsupported',
  UNSUPPORTED_VARIANT: 'unsupported',
  TOKEN_REQUIRED: 'auth',
  TOKEN_INVALID: 'auth',
  ACCESS_DENIED: 'auth',
  REPO_NOT_FOUND: 'notFound',
  REVISION_NOT_FOUND: 'notFound',
  FILE_NOT_FOUND: 'notFound',
  MODEL_NOT_FOUND: 'notFound',
  LICENSE_DECLINED: 'licenseDeclined',
  DISK_SPACE: 'diskSpace',
  NETWORK: 'network',
  OFFLINE: 'network',
  HASH_MISMATCH: 'network',
  VALIDATION_FAILED: 'validation',
  CANCELLED: 'cancelled',
  DUPLICATE_NAME: 'cancelled',
  BAD_INPUT: 'badInput',
  UNSAFE_PATH: 'badInput',
  CONVERSION_FAILED: 'badInput',
  REGISTRY_CORRUPT: 'state',
  UNSAFE_LOCAL_STATE: 'state',
  NOT_WRITABLE: 'state',
  LOCKED: 'state',
  MODELS_DIR_UNWRITABLE: 'state',
  INTERRUPTED: 'interrupted',
  TERMINATED: 'terminated',
  PLUGIN_FAILED: 'internal',
  INTERNAL: 'internal',
} satisfies Record<string, ExitName>);

export type ErrorCode = keyof typeof ERROR_CODES;

const BRAND = Symbol.for('model-import.error');

export interface ModelImportErrorOptions {
  /** One line: what to do about it. */
  hint?: string;
  cause?: unknown;
  /** Structured facts for the --json error object (never secrets). */
  details?: Record<string, unknown>;
}

export class ModelImportError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;
  /** Which plugin and hook raised it, when it came from a plugin. */
  plugin?: string;
  hook?: string;

  constructor(code: ErrorCode, message: string, options: ModelImportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelImportError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true });
  }

  get exitCode(): number {
    return EXIT[ERROR_CODES[this.code]];
  }
}

export function isModelImportError(value: unknown): value is ModelImportError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

export function exitCodeOf(error: unknown): number {
  if (isModelImportError(error)) return EXIT[ERROR_CODES[error.code]] ?? EXIT.internal;
  return EXIT.internal;
}

/** Shorthand used across the code base: `fail('DISK_SPACE', msg, {hint})`. */
export function fail(code: ErrorCode, message: string, options?: ModelImportErrorOptions): never {
  throw new ModelImportError(code, message, options);
}

export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    ((error as { name?: string }).name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR')
  );
}

/**
 * Wraps what a plugin threw so the message names the plugin and the hook. A ModelImportError keeps its code
 * (the plugin already said what went wrong); anything else becomes PLUGIN_FAILED with the original as cause.
 */
export function wrapPluginError(error: unknown, plugin: string, hook: string): ModelImportError {
  if (isModelImportError(error)) {
    error.plugin ??= plugin;
    error.hook ??= hook;
    return error;
  }
  // A full, read-only or odd disk is the user's to fix, whichever plugin was writing: its own exit code, not "a bug".
  const mapped = fileSystemError(error, `write (${hook})`);
  if (isModelImportError(mapped)) {
    mapped.plugin = plugin;
    mapped.hook = hook;
    return mapped;
  }
  const text = error instanceof Error ? error.message : String(error);
  const wrapped = new ModelImportError('PLUGIN_FAILED', `plugin ${plugin} failed in ${hook}: ${text}`, {
    cause: error,
    hint: 'Run again with --debug for the stack trace, and report it to the plugin author.',
  });
  wrapped.plugin = plugin;
  wrapped.hook = hook;
  return wrapped;
}

/** Removes anything that looks like a Hugging Face token from a text, whatever its origin. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/hf_[A-Za-z0-9]{6,}/g, 'hf_***');
  for (const secret of secrets) if (secret && secret.length >= 4) out = out.split(secret).join('***');
  return out;
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);
const NOT_WRITABLE = new Set(['EROFS', 'EACCES', 'EPERM']);

/**
 * The one mapping of file-system errno codes to typed errors (ENOSPC -> 7, EROFS/EACCES -> 12 with the path).
 * A ModelImportError, or anything that is not an errno error, is returned unchanged.
 */
export function fileSystemError(error: unknown, action = 'write'): unknown {
  if (isModelImportError(error)) return error;
  const e = error as NodeJS.ErrnoException | undefined;
  const code = e?.code;
  if (typeof code !== 'string') return error;
  const where = e?.path ? ` ${e.path}` : '';
  if (DISK_FULL.has(code)) {
    return new ModelImportError('DISK_SPACE', `The disk filled up while trying to ${action}${where}; nothing was registered.`, {
      hint: 'Free some space, or pass --models-dir on a larger disk, then run the command again.',
      cause: error,
    });
  }
  if (NOT_WRITABLE.has(code)) {
    const why = code === 'EROFS' ? 'the file system is read-only' : 'permission denied';
    return new ModelImportError('NOT_WRITABLE', `Could not ${action}${where}: ${why}.`, {
      hint: 'Make the models folder writable by you (or pass --models-dir elsewhere), then run the command again.',
      cause: error,
      details: { path: e?.path, errno: code },
    });
  }
  if (code === 'ENAMETOOLONG') {
    return new ModelImportError('BAD_INPUT', `A file name is longer than this file system allows${where ? ` (${e!.path!.slice(0, 120)}…)` : ''}.`, {
      hint: 'The repository lists a file name this disk cannot hold; report it to the repository owner.',
      cause: error,
    });
  }
  if (code === 'ELOOP') {
    return new ModelImportError('UNSAFE_LOCAL_STATE', `${e?.path ?? 'A path'} is a symbolic link; model-import does not follow links inside its models folder.`, {
      hint: 'Something other than model-import put it there; move it aside, then run the command again.',
      cause: error,
    });
  }
  if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' || code === 'EINVAL' || code === 'ENOENT') {
    return new ModelImportError('UNSAFE_LOCAL_STATE', `Could not ${action}${where}: the models folder is not in the state model-import left it (${code}).`, {
      hint: 'Another program changed the models folder meanwhile; run the command again, or move the odd entry aside.',
      cause: error,
    });
  }
  if (code === 'EMFILE' || code === 'ENFILE' || code === 'ENOMEM') {
    return new ModelImportError('DISK_SPACE', `The system ran out of resources (${code}) while trying to ${action}${where}.`, {
      hint: 'Close other programs or raise the open-file limit (ulimit -n), then run the command again.',
      cause: error,
    });
  }
  if (code === 'EIO') {
    return new ModelImportError('NOT_WRITABLE', `The disk reported an I/O error while trying to ${action}${where}.`, {
      hint: 'Check the disk (dmesg), then run the command again.',
      cause: error,
    });
  }
  return error;
}
