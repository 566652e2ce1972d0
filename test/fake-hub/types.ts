/**
 * Public types of the fake Hugging Face Hub. Other test suites code against these names; add fields, do not rename.
 */

/** Repo-relative path -> bytes. This is what the tiny-model fixtures produce and what tests compare downloads with. */
export type RepoFiles = Record<string, Uint8Array>;

/**
 * A file whose bytes are produced on demand, so a 1 GB benchmark model need not live in memory.
 * Give these in `FakeRepo.lazyFiles` (not in `files`, which stays plain bytes so tests can read it without narrowing).
 * `lazyFileFromDisk(path)` builds one over a file on disk.
 */
export interface LazyFile {
  size: number;
  /** Lower-case hex SHA-256 of the whole content. Trusted as given: it becomes the LFS oid and the ETag. */
  sha256: string;
  /** Bytes [start, end) (end exclusive). The server asks for at most 4 MiB at a time. */
  read(start: number, end: number): Uint8Array | Promise<Uint8Array>;
}

export interface FakeRepo {
  /** 'org/name' */
  id: string;
  files: RepoFiles;
  /**
   * Extra files given lazily (benchmark). They are served like `files`; a path in both uses the lazy one.
   * A lazy file is always listed as an LFS file (its oid comes from the given sha256; its bytes are never hashed).
   */
  lazyFiles?: Record<string, LazyFile>;
  gated?: false | 'auto' | 'manual';
  private?: boolean;
  /** Answers 403 "Access to this resource is disabled." to every repo route (extra, from the §4.2 matrix). */
  disabled?: boolean;
  /** Tokens (must start with hf_) that may read a gated/private repo. They also count as valid tokens. */
  grantedTokens?: string[];
  /** license, license_name, license_link, ... (returned as `cardData` and as a `license:<id>` tag). Default: the
   *  README.md front matter, as the hub derives it. */
  cardData?: Record<string, unknown>;
  tags?: string[];
  /** Lie in the tree listing / paths-info / siblings about sizes (hostile or huge repo). Served bytes stay real. */
  declaredSizes?: Record<string, number>;
  /** Entries listed by tree, paths-info and siblings that have no content (404 on /resolve), e.g. '../../etc/passwd'. */
  extraTreeEntries?: { path: string; size: number; type?: 'file' }[];
  /** Other revisions (branch name -> files); 'main' is `files`. */
  branches?: Record<string, RepoFiles>;
  /** Defaults: pipeline_tag 'text-generation' when config.json names a *ForCausalLM, library_name 'transformers'. */
  pipelineTag?: string;
  libraryName?: string;
}

export interface StartOptions {
  repos?: FakeRepo[];
  /** Per connection (token bucket), applied to file content only. */
  throttleBytesPerSecond?: number;
  /** Entries per /tree page (default 50). */
  treePageSize?: number;
  /** When set, only these tokens (and repos' grantedTokens) are valid; others get 401 invalid credentials. */
  validTokens?: string[];
  /** Port to listen on (default 0: any free port). */
  port?: number;
}

export interface LoggedRequest {
  method: string;
  /** URL path, percent-decoded. */
  path: string;
  query: URLSearchParams;
  /** The Range request header, verbatim. */
  range?: string;
  /** The Authorization request header, verbatim ('Bearer hf_...'), so tests can check where a token went. */
  authorization: string | undefined;
  /** 0 until the response head is written. */
  status: number;
  /** Body bytes written to the socket. */
  bytesSent: number;
  startedAt: number;
  /** True once the response finished normally; false while in flight or when the connection was cut. */
  completed: boolean;
  /** The fault that hit this request, if any. */
  fault?: Fault['kind'];
}

export interface FakeHub {
  /** 'http://127.0.0.1:PORT' (no trailing slash) */
  url: string;
  /** Every request, in arrival order. Entries are updated in place while the response runs. */
  requests: LoggedRequest[];
  /** Adds or replaces (same id) a repo. */
  addRepo(repo: FakeRepo): void;
  /** 40-hex, deterministic from content (a real git commit object over the real git tree). */
  commitOf(repoId: string, revision?: string): string;
  /** Faults apply to successful /resolve and /raw responses whose decoded URL path matches `path`, if given. */
  inject(fault: Fault): void;
  clearFaults(): void;
  setThrottle(bytesPerSecond: number | undefined): void;
  /** Content bytes of weight files (see WEIGHT_EXTENSIONS) sent by /resolve, per repo or in total. */
  weightBytesServed(repoId?: string): number;
  /** Closes the server and destroys every open connection, stalled ones included. */
  close(): Promise<void>;
}

/**
 * `times` limits how often a fault fires (default: every time). A fault fires only on a response it can apply to:
 * drop-after and stall need a body longer than their byte offset and never hit HEAD; status and reset hit anything.
 * The first matching fault in injection order wins.
 */
export type Fault =
  | { kind: 'drop-after'; bytes: number; path?: string | RegExp; times?: number }
  | { kind: 'status'; status: number; path?: string | RegExp; times?: number }
  | { kind: 'stall'; afterBytes: number; ms: number; path?: string | RegExp; times?: number }
  | { kind: 'reset'; path?: string | RegExp; times?: number };
