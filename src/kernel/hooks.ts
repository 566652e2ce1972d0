/**
 * The whole pipeline in one screen: one hook per stage, in the order the kernel calls them.
 *
 * | hook             | kind                         | a tap receives                  | a tap returns                         |
 * |------------------|------------------------------|---------------------------------|---------------------------------------|
 * | resolve          | AsyncSeriesBail              | request, context                | a SourcePlan if it owns the request   |
 * | recognize.for(a) | HookMap of SyncBail          | config.json, context            | an ArchitectureClaim, or throws a     |
 * |                  | (key: architectures[0])      |                                 | refusal for a look-alike it can't do  |
 * | authorize        | AsyncSeries                  | plan, context                   | nothing; may fill plan.license, throw |
 * | fetch            | AsyncSeriesBail              | plan, fetch context             | a FetchResult if it owns the plan     |
 * | convert.for(a)   | HookMap of AsyncSeriesBail   | job, context                    | a ConvertResult                       |
 * | validate         | AsyncSeries                  | subject, report                 | nothing; adds findings to the report  |
 * | register         | AsyncSeriesWaterfall         | entry, context                  | the entry, possibly with more fields  |
 *
 * resolve → recognize → (kernel: name, duplicate, license, disk pre-checks) → authorize → fetch → convert →
 * validate → register. A recognize key with no tap means "unsupported": the error lists the keys that have taps.
 */
import {
  AsyncSeriesBailHook,
  AsyncSeriesHook,
  AsyncSeriesWaterfallHook,
  HookMap,
  SyncBailHook,
} from 'tapable';
import type {
  ArchitectureClaim,
  ConvertJob,
  ConvertResult,
  FetchContext,
  FetchResult,
  ImportPlan,
  ImportRequest,
  ModelConfig,
  ModelEntry,
  RegisterContext,
  SourcePlan,
  StageContext,
  ValidationSubject,
} from './types.js';
import type { ValidationReport } from './validation-report.js';

export interface KernelHooks {
  readonly resolve: AsyncSeriesBailHook<[ImportRequest, StageContext], SourcePlan | undefined>;
  readonly recognize: HookMap<SyncBailHook<[ModelConfig, StageContext | undefined], ArchitectureClaim | undefined>>;
  readonly authorize: AsyncSeriesHook<[ImportPlan, StageContext]>;
  readonly fetch: AsyncSeriesBailHook<[ImportPlan, FetchContext], FetchResult | undefined>;
  readonly convert: HookMap<AsyncSeriesBailHook<[ConvertJob, StageContext], ConvertResult | undefined>>;
  readonly validate: AsyncSeriesHook<[ValidationSubject, ValidationReport]>;
  readonly register: AsyncSeriesWaterfallHook<[ModelEntry, RegisterContext]>;
}

export function createHooks(): KernelHooks {
  return Object.freeze({
    resolve: new AsyncSeriesBailHook<[ImportRequest, StageContext], SourcePlan | undefined>(['request', 'context'], 'resolve'),
    recognize: new HookMap(
      (key) => new SyncBailHook<[ModelConfig, StageContext | undefined], ArchitectureClaim | undefined>(['config', 'context'], `recognize:${String(key)}`),
      'recognize',
    ),
    authorize: new AsyncSeriesHook<[ImportPlan, StageContext]>(['plan', 'context'], 'authorize'),
    fetch: new AsyncSeriesBailHook<[ImportPlan, FetchContext], FetchResult | undefined>(['plan', 'context'], 'fetch'),
    convert: new HookMap(
      (key) => new AsyncSeriesBailHook<[ConvertJob, StageContext], ConvertResult | undefined>(['job', 'context'], `convert:${String(key)}`),
      'convert',
    ),
    validate: new AsyncSeriesHook<[ValidationSubject, ValidationReport]>(['subject', 'report'], 'validate'),
    register: new AsyncSeriesWaterfallHook<[ModelEntry, RegisterContext]>(['entry', 'context'], 'register'),
  });
}
