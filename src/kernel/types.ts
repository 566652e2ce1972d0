/**
 * The data that flows through the import pipeline, stage by stage.
 *
 * Everything a plugin receives or returns is declared here, so a plugin author reads one file to know the
 * contract. The kernel never looks inside `SourcePlan.data` or `ArchitectureClaim` beyond what is declared.
 */
import type { BlobStore } from './blob-store.js';
import type { Reporter } from './reporter.js';
import type { Prompter } from './prompter.js';

/** A parsed config.json. Only the Hugging Face conventions the kernel needs are typed. */
export interface ModelConfig {
  architectures?: string[];
  model_type?: string;
  [key: string]: unknown;
}

export type DuplicateChoice = 'overwrite' | 'rename' | 'cancel';
export type TargetDtype = 'bf16' | 'f16' | 'f32';

/** What the user asked for, normalised from CLI flags and the config file. */
export interface ImportOptions {
  /** Absolute path of the models folder (holds registry.json and one folder per model). */
  modelsDir: string;
  /** --name; when absent the kernel derives a name from the model id. */
  name?: string;
  revision?: string;
  /** --token. Lives in memory only: never written to disk, logs, metadata or error messages. */
  token?: string;
  /** --yes: answer every confirmation with yes (license included). */
  yes: boolean;
  acceptLicense: boolean;
  onDuplicate?: DuplicateChoice;
  skipValidation: boolean;
  /** Convert weights to this dtype; absent keeps the checkpoint's dtype. */
  dtype?: TargetDtype;
  /** Reshard the weights so no shard exceeds this many bytes. */
  maxShardSize?: number;
  /** Memory budget for validation, in bytes. */
  maxMemory?: number;
}

export interface ImportRequest {
  /** What the user typed: a repo id such as `Qwen/Qwen2.5-0.5B`, or a local path. */
  spec: string;
  options: ImportOptions;
}

export type FileRole =
  | 'config'
  | 'generation-config'
  | 'weights'
  | 'weights-index'
  | 'tokenizer'
  | 'license'
  | 'other';

/** A file the source will deliver, as the source describes it before any byte is fetched. */
export interface PlannedFile {
  /** Posix path relative to the model root; sources must reject paths that escape it. */
  path: string;
  size: number;
  /** sha256 of the content when the source knows it (LFS oid on the hub). */
  sha256?: string;
  /** git blob sha1 (the hub's oid for non-LFS files). */
  gitOid?: string;
  role: FileRole;
}

export interface LicenseInfo {
  /** SPDX-like id as the hub gives it: "apache-2.0", "other", ... */
  id?: string;
  name?: string;
  link?: string;
  /** The first lines of the LICENSE file, when the repo has one. */
  excerpt?: string;
  /** Repo path of the license file, when there is one. */
  file?: string;
}

/** The answer of the `resolve` stage: everything known about the model before any weight byte. */
export interface SourcePlan {
  /** metadata `source`: "huggingface", "local", "huggingface-cache", ... */
  source: string;
  /** Name of the plugin that resolved the request; it answers authorize and fetch for this plan. */
  resolvedBy: string;
  /** The original model id (repo id for the hub, a folder name or the known repo id for local sources). */
  modelId: string;
  revision?: string;
  /** Immutable commit sha every later request is pinned to, when the source has one. */
  commit?: string;
  config: ModelConfig;
  files: PlannedFile[];
  license?: LicenseInfo;
  gated?: boolean;
  private?: boolean;
  /** Source-private data (endpoint, folder, ...). The kernel passes it through untouched. */
  data: Record<string, unknown>;
}

/** What an architecture adapter says about a config it recognises. */
export interface ArchitectureClaim {
  /** Plugin name of the adapter. */
  adapter: string;
  /** The key it was claimed under: `architectures[0]` of config.json (else `model_type`). */
  architecture: string;
  /** metadata `architecture_type`, e.g. "qwen2". */
  architectureType: string;
  /** Human family name, e.g. "qwen". */
  family: string;
  warnings: string[];
  /** Parameter count when it can be told from the config alone (used for the plan display). */
  estimatedParameters?: number;
  /** Bytes of scratch space conversion needs beyond the downloaded files (dtype change, resharding). */
  conversionScratchBytes(files: readonly PlannedFile[], options: ImportOptions): number;
  /** What validators may use. Absent when the adapter offers no forward graph. */
  validation?: ValidationSupport;
}

export interface ReferenceForwardInput {
  inputIds: number[][];
  attentionMask?: number[][];
}

export interface ReferenceForwardOutput {
  /** Row-major [batch, seq, vocab]. */
  logits: Float32Array;
  dims: [number, number, number];
}

export interface ValidationSupport {
  /** Max absolute logit difference accepted against the reference. */
  tolerance: number;
  /** Path of the ONNX decoder graph relative to the model folder. */
  onnxGraph: string;
  /** Largest parameter count the reference forward is meant for (it is plain TypeScript). */
  maxReferenceParameters: number;
  /** onnxruntime session options the graph is designed for (e.g. graphOptimizationLevel). */
  sessionOptions?: Record<string, unknown>;
  referenceForward?(modelDir: string, input: ReferenceForwardInput): Promise<ReferenceForwardOutput>;
  /**
   * What the adapter read from config.json, in transformers' field names (hidden_size, head_dim, norm_topk_prob,
   * rope_inv_freq, sparse_layers, ...). A validator compares it with its own independent reading; a field they
   * disagree on fails validation.
   */
  configFacts?: ConfigFacts;
  /**
   * Set when transformers.js cannot load this (correct) folder because it has no model class for its model_type:
   * the reason, shown when a validator skips its transformers.js check instead of failing it.
   */
  transformersJsUnsupported?: string;
}

/** Facts read from config.json, keyed by transformers' field names (plus derived ones such as rope_inv_freq). */
export type ConfigFacts = Readonly<Record<string, string | number | boolean | readonly number[]>>;

/** A resolved plan plus the kernel's decisions; what authorize, fetch and convert receive. */
export interface ImportPlan extends SourcePlan {
  claim: ArchitectureClaim;
  /** The registry name the model will get. */
  modelName: string;
  /** Set by the kernel once the user acknowledged the license (ISO 8601). */
  licenseAcknowledgedAt?: string;
}

/** Shared by every stage: the user's voice, cancellation and the environment. */
export interface StageContext {
  reporter: Reporter;
  prompter: Prompter;
  signal: AbortSignal;
  options: ImportOptions;
  /** Environment variables (injectable for tests). */
  env: Readonly<Record<string, string | undefined>>;
  /** Settings from the config file, e.g. `hubEndpoint`. */
  settings: Readonly<Record<string, unknown>>;
}

export interface FetchContext extends StageContext {
  /** Where the fetched files must end up, under their plan paths. Inside the staging folder. */
  rawDir: string;
  /** Where partial downloads may be kept between runs so a rerun resumes (keyed by content hash). */
  partialDir: string;
  /**
   * The models folder's content-addressed store (the kernel always passes it): a source links files it already
   * holds instead of downloading them, and commits what it verified so no later import fetches those bytes again.
   */
  blobs?: BlobStore;
}

export interface FetchedFile {
  path: string;
  size: number;
  sha256: string;
}

export interface FetchResult {
  files: FetchedFile[];
  /** Bytes that came over the network in this run (the rest came from resumed partials or a cache). */
  bytesDownloaded: number;
}

export type ComponentName = 'weights' | 'config' | 'tokenizer' | 'generation-config' | 'license' | 'onnx' | string;

export interface ComponentReport {
  component: ComponentName;
  status: 'ok' | 'warning' | 'missing' | 'failed';
  /** One line, e.g. "290 tensors, bf16, linked (no copy)". */
  detail: string;
  warnings: string[];
}

export interface ConvertJob {
  plan: ImportPlan;
  /** Folder holding the fetched files (read it, move or link from it). */
  rawDir: string;
  /** Folder to write the local format into; it becomes models/<name>/. */
  outDir: string;
}

export interface ConvertResult {
  components: ComponentReport[];
  /** Parameter count from the tensor shapes (tied embeddings counted once). */
  parameterCount: number;
  /** Dtype of the written weights, e.g. "bf16". */
  dtype: string;
  /** Extra facts for metadata.conversion. */
  details?: Record<string, unknown>;
  /**
   * sha256 of files the adapter wrote (path relative to outDir), computed while writing, so the kernel's
   * inventory need not read them again. Files linked from the fetched ones need none (their hash is known).
   */
  fileHashes?: Record<string, string>;
}

export type FindingStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface Finding {
  validator: string;
  check: string;
  status: FindingStatus;
  /** Short figure for the results table, e.g. "max |Δ| 3.1e-6". */
  figure?: string;
  /** What differed and by how much, for failures and warnings. */
  message?: string;
  expected?: unknown;
  actual?: unknown;
}

/** What validators receive: a finished model folder (staging during import, the registered one for verify). */
export interface ValidationSubject {
  modelDir: string;
  mode: 'import' | 'verify';
  config: ModelConfig;
  claim: ArchitectureClaim;
  /**
   * Every file of the model folder with size and sha256, as the kernel inventoried it after conversion
   * (import) or as metadata.json recorded it (verify).
   */
  expectedFiles: FetchedFile[];
  options: ImportOptions;
  /** For status lines and progress of long checks (never the terminal directly). */
  reporter?: Reporter;
  signal?: AbortSignal;
}

/** An entry of registry.json and the body of metadata.json (without its comments). */
export interface ModelEntry {
  model_name: string;
  model_id: string;
  source: string;
  architecture_type: string;
  created_at: string;
  license: {
    id: string | null;
    name: string | null;
    link: string | null;
    acknowledged_at: string | null;
  };
  model_size: number;
  file_size: number;
  /** Folder of the model relative to the models folder. */
  path: string;
  /** Every file of the model folder, with size and sha256: what `verify` re-checks. */
  files: FetchedFile[];
  provenance: {
    revision: string | null;
    commit: string | null;
    architecture: string;
    adapter: string;
    /** The files as the source delivered them, sha256 checked against the source's own hashes. */
    source_files: FetchedFile[];
  };
  conversion: {
    dtype: string;
    components: ComponentReport[];
    details?: Record<string, unknown>;
  };
  validation: {
    skipped: boolean;
    findings: Finding[];
    figures: Record<string, unknown>;
  };
  [extra: string]: unknown;
}

export interface RegisterContext extends StageContext {
  plan: ImportPlan;
}
