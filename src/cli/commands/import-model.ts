/**
 * `model-import import-model <repo_id>`: runs the pipeline with the terminal (or JSON) renderer, turns
 * Ctrl-C / SIGTERM into a clean abort (staging removed, exit 130 / 143), prints how to use the model.
 */
import { interruptionError } from '../../kernel/pipeline-errors.js';
import { removeOpenStagingSync } from '../../kernel/staging.js';
import type { DuplicateChoice, ImportOptions, TargetDtype } from '../../kernel/types.js';
import { attachJsonRenderer } from '../render/json-renderer.js';
import { attachTerminalRenderer } from '../render/terminal-renderer.js';
import { formatBytes, formatCount } from '../render/format.js';
import { loadSession, type GlobalArgs } from '../setup.js';
import { printJson, reportError } from '../output.js';
import { parseSize } from '../parse-size.js';
import { terminalSafe } from '../../util/terminal-text.js';
import { parseRepoArgument } from '../repo-argument.js';
import { holdTypeAhead } from '../type-ahead.js';
import { checkModelsDir } from '../check-models-dir.js';

export interface ImportArgs extends GlobalArgs {
  repoId: string;
  name?: string;
  revision?: string;
  token?: string;
  yes?: boolean;
  acceptLicense?: boolean;
  onDuplicate?: DuplicateChoice;
  skipValidation?: boolean;
  dtype?: TargetDtype;
  maxShardSize?: string;
  maxMemory?: string;
}

/**
 * How long a download may take to wind down after Ctrl-C (its partial files' bookkeeping is written on abort)
 * before the command stops it itself.
 */
const WIND_DOWN_MS = 1000;
/**
 * Stages with nothing to save on the way out: everything they made lives in the staging folder, which leave()
 * removes. Ctrl-C there leaves at once, which also means as soon as a plugin's synchronous native call returns
 * (onnxruntime-node runs sessions on the main thread, so no JS, no signal handler, runs during one).
 */
const LEAVE_AT_ONCE = new Set(['convert', 'validate']);

export async function importModelCommand(args: ImportArgs): Promise<number> {
  const secrets = [args.token, process.env.HF_TOKEN, process.env.HUGGING_FACE_HUB_TOKEN];
  // From the first moment: a token pasted while plugins load is not shown by the terminal.
  const echoBack = holdTypeAhead();
  const controller = new AbortController();
  let detach = () => {};
  let stage: string | undefined;
  let signals = 0;
  let finished = false;
  /** Leaves now: bars kept on screen, the staging folder removed, one line said. */
  const leave = (code: 'INTERRUPTED' | 'TERMINATED', line?: string): never => {
    detach();
    removeOpenStagingSync();
    if (line) process.stderr.write(`${line}\n`);
    else reportError(interruptionError(code), { json: args.json, debug: false, secrets });
    process.exit(code === 'TERMINATED' ? 143 : 130);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    const code = signal === 'SIGTERM' ? 'TERMINATED' : 'INTERRUPTED';
    if (signals > 1) {
      // A second Ctrl-C: stop waiting for plugins to wind down, but still leave no half model behind, and say so.
      leave(code, `${code === 'TERMINATED' ? 'Terminated' : 'Interrupted'} again: stopped at once; nothing was registered.`);
    }
    // Abort first: its listeners run now, synchronously (validator-forward kills its transformers.js process).
    controller.abort(interruptionError(code));
    if (stage && LEAVE_AT_ONCE.has(stage)) leave(code);
    // Registering is a few renames under the registry lock: it finishes, or its own abort check undoes it.
    setTimeout(() => {
      if (!finished && stage !== 'register') leave(code);
    }, WIND_DOWN_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const session = await loadSession(args);
    session.reporter.subscribe((event) => {
      if (event.type === 'stage' && event.status === 'start') stage = event.stage;
      // Tokens are asked for while resolving and authorizing only.
      if (stage === 'fetch') echoBack();
    });
    const repo = parseRepoArgument(args.repoId, { revision: args.revision, endpoints: [process.env.HF_ENDPOINT, session.settings.hubEndpoint as string | undefined] });
    await checkModelsDir(session.modelsDir);
    detach = args.json ? attachJsonRenderer(session.reporter) : attachTerminalRenderer(session.reporter);
    const options: ImportOptions = {
      modelsDir: session.modelsDir,
      name: args.name,
      revision: repo.revision,
      token: args.token,
      yes: Boolean(args.yes),
      acceptLicense: Boolean(args.acceptLicense),
      onDuplicate: args.onDuplicate,
      skipValidation: Boolean(args.skipValidation),
      dtype: args.dtype,
      maxShardSize: args.maxShardSize ? parseSize(args.maxShardSize, '--max-shard-size') : undefined,
      maxMemory: args.maxMemory ? parseSize(args.maxMemory, '--max-memory') : undefined,
    };
    const entry = await session.kernel.importModel(
      { spec: repo.spec, options },
      { reporter: session.reporter, prompter: session.prompter, signal: controller.signal, settings: session.settings },
    );
    finished = true;
    detach();
    if (args.json) {
      printJson({ ok: true, model: entry });
    } else {
      process.stdout.write(
        terminalSafe(`Imported ${entry.model_id} as "${entry.model_name}" (${formatCount(entry.model_size)} parameters, ${formatBytes(entry.file_size)}) in ${session.modelsDir}/${entry.path}\n`) +
          `Refer to it in a training or inference config as:  model: ${entry.model_name}\n`,
      );
    }
    return 0;
  } catch (error) {
    finished = true;
    detach();
    return reportError(error, { json: args.json, debug: args.debug, secrets });
  } finally {
    echoBack();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
