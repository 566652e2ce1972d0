/**
 * The command line. Only yargs is loaded at start-up; each command imports its module (and the plugins,
 * onnxruntime, the hub client) when it runs, so `model-import --help` answers fast.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT, ModelImportError } from '../kernel/errors.js';
import { reportError } from './output.js';
import { closest } from './did-you-mean.js';

const EXIT_CODES_EPILOGUE = `Exit codes: 0 ok, 1 internal error, 2 usage/config, 3 unsupported architecture, 4 authentication,
5 not found, 6 license declined, 7 disk space, 8 network, 9 validation failed, 10 cancelled,
11 bad input file, 12 registry/state problem, 130 interrupted (Ctrl-C), 143 terminated.`;

export async function main(argv: string[] = hideBin(process.argv)): Promise<number> {
  let exitCode: number = EXIT.ok;
  const parser = yargs(argv)
    .scriptName('model-import')
    .usage('$0 <command> [options]\n\nImport pretrained models from the Hugging Face Hub into a local model registry.')
    .option('models-dir', { type: 'string', describe: 'Models folder (default: ./models, or modelsDir of the config file)' })
    .option('config', { type: 'string', describe: 'Config file (default: model-import.config.ts found from the working directory)' })
    .option('json', { type: 'boolean', default: false, describe: 'Print exactly one JSON document on stdout; progress goes to stderr as JSON lines' })
    .option('debug', { type: 'boolean', default: false, describe: 'Show stack traces of errors' })
    .command(
      'import-model <repo_id>',
      'Download, convert, validate and register a model',
      (y) =>
        y
          .positional('repo_id', { type: 'string', demandOption: true, describe: 'Hugging Face repo id, e.g. Qwen/Qwen2.5-0.5B, or oci://registry/repository:tag|@digest' })
          .option('name', { type: 'string', describe: 'Registry name (default: derived from the repo id, e.g. qwen2.5-0.5b)' })
          .option('revision', { type: 'string', describe: 'Branch, tag or commit (default: main)' })
          .option('token', { type: 'string', describe: 'Hugging Face token (else HF_TOKEN, the HF token file, or a prompt)' })
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Answer yes to every confirmation (license included)' })
          .option('accept-license', { type: 'boolean', default: false, describe: "Accept the model's license without asking" })
          .option('on-duplicate', { choices: ['overwrite', 'rename', 'cancel'] as const, describe: 'What to do when the name is taken' })
          .option('skip-validation', { type: 'boolean', default: false, describe: 'Register without the validation stage (recorded in metadata)' })
          .option('dtype', { choices: ['bf16', 'f16', 'f32'] as const, describe: 'Convert the weights to this dtype (default: keep)' })
          .option('max-shard-size', { type: 'string', describe: 'Reshard the weights, e.g. 2GB' })
          .option('max-memory', { type: 'string', describe: 'Memory budget for validation, e.g. 4GB (default: half the memory the process may use: the cgroup limit when lower than the RAM)' }),
      async (args) => {
        const { importModelCommand } = await import('./commands/import-model.js');
        exitCode = await importModelCommand({ ...args, repoId: args.repo_id as string, modelsDir: args.modelsDir as string | undefined });
      },
    )
    .command(
      'push <name> <target>',
      'Push a registered model to an OCI registry as a CNCF ModelPack artifact',
      (y) =>
        y
          .positional('name', { type: 'string', demandOption: true, describe: 'Registered model name' })
          .positional('target', { type: 'string', demandOption: true, describe: 'registry/repository:tag, e.g. ghcr.io/acme/qwen2.5-0.5b:v1' })
          .option('username', { type: 'string', describe: 'Registry user (else MODEL_IMPORT_REGISTRY_USERNAME, or Docker config.json)' })
          .option('password', { type: 'string', describe: 'Registry password or token (else MODEL_IMPORT_REGISTRY_PASSWORD, or Docker config.json); never stored' })
          .option('insecure', { type: 'boolean', default: false, describe: 'Allow plain http:// to a registry that is not on this machine' })
          .option('chunk-size', { type: 'string', describe: 'Send each blob in chunks of this size (default: one streamed request per blob; 4MiB for GHCR-style limits, 16MiB behind proxies that refuse large bodies)' })
          .option('max-layer-size', { type: 'string', describe: 'Refuse files larger than this as one layer (default 10GB, GHCR\'s limit)' })
          .option('parallel', { type: 'number', describe: 'Blobs uploaded at once (default 4)' }),
      async (args) => {
        const { pushCommand } = await import('./commands/push.js');
        exitCode = await pushCommand(args as never);
      },
    )
    .command('list', 'List the registered models', {}, async (args) => {
      const { listCommand } = await import('./commands/list.js');
      exitCode = await listCommand(args as never);
    })
    .command(
      'show <name>',
      "Show a model's metadata",
      (y) => y.positional('name', { type: 'string', demandOption: true }),
      async (args) => {
        const { showCommand } = await import('./commands/show.js');
        exitCode = await showCommand(args as never);
      },
    )
    .command(
      'remove <name>',
      'Remove a model and its registry entry',
      (y) => y.positional('name', { type: 'string', demandOption: true }).option('yes', { alias: 'y', type: 'boolean', default: false }),
      async (args) => {
        const { removeCommand } = await import('./commands/remove.js');
        exitCode = await removeCommand(args as never);
      },
    )
    .command(
      'verify <name>',
      'Re-check an imported model: file hashes, load, forward pass',
      (y) => y.positional('name', { type: 'string', demandOption: true }).option('max-memory', { type: 'string' }),
      async (args) => {
        const { verifyCommand } = await import('./commands/verify.js');
        exitCode = await verifyCommand(args as never);
      },
    )
    .command('gc', 'Check every blob of the store once and free the blobs no model uses', {}, async (args) => {
      const { gcCommand } = await import('./commands/gc.js');
      exitCode = await gcCommand(args as never);
    })
    .command('plugins', 'List the loaded plugins and what they claim', {}, async (args) => {
      const { pluginsCommand } = await import('./commands/plugins.js');
      exitCode = await pluginsCommand(args as never);
    })
    .demandCommand(1, 'Name a command, e.g. model-import import-model Qwen/Qwen2.5-0.5B')
    .strict()
    .recommendCommands()
    .epilogue(EXIT_CODES_EPILOGUE)
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, error) => {
      if (!error && message?.startsWith('Did you mean')) {
        throw new ModelImportError('USAGE', `Unknown command "${argv.find((a) => !a.startsWith('-'))}".`, { hint: `${message} Run model-import --help for the commands.` });
      }
      // yargs lists each unknown flag twice (as typed and camelCased): name it once, as typed.
      const unknown = /^Unknown arguments?: (.+)$/.exec(message ?? '')?.[1]?.split(', ').filter((w) => !/[A-Z]/.test(w));
      if (!error && unknown?.length) message = `Unknown ${unknown.length > 1 ? 'arguments' : 'argument'}: ${unknown.join(', ')}`;
      throw error ?? new ModelImportError('USAGE', message, { hint: suggestion(message, argv) ?? 'Run model-import --help for the commands and flags.' });
    });
  try {
    await parser.parseAsync();
  } catch (error) {
    return reportError(error, { json: argv.includes('--json'), debug: argv.includes('--debug') });
  }
  return exitCode;
}

const GLOBAL_FLAGS = ['models-dir', 'config', 'json', 'debug', 'help', 'version'];
/** The flags of each command, as declared above (kept beside the declarations; the CLI test runs every one). */
const COMMAND_FLAGS: Record<string, string[]> = {
  'import-model': ['name', 'revision', 'token', 'yes', 'accept-license', 'on-duplicate', 'skip-validation', 'dtype', 'max-shard-size', 'max-memory'],
  list: [],
  show: [],
  remove: ['yes'],
  verify: ['max-memory'],
  gc: [],
  plugins: [],
};
const COMMANDS = Object.keys(COMMAND_FLAGS);

/**
 * "Did you mean" for a mistyped command or flag: yargs says "Unknown argument: skip-valdation"; the nearest
 * command, or flag of the command being run, is proposed.
 */
function suggestion(message: string, argv: string[]): string | undefined {
  const unknown = /^Unknown arguments?: (.+)$/.exec(message)?.[1];
  if (!unknown) return undefined;
  const command = argv.find((a) => !a.startsWith('-'));
  const flags = [...GLOBAL_FLAGS, ...(COMMAND_FLAGS[command ?? ''] ?? [])];
  const proposals: string[] = [];
  for (const word of unknown.split(', ').filter((w) => !/[A-Z]/.test(w))) {
    const wasFlag = argv.some((a) => a.replace(/^-+/, '').split('=')[0] === word && a.startsWith('-'));
    const near = wasFlag ? closest(word, flags) : closest(word, COMMANDS);
    if (near) proposals.push(wasFlag ? `--${near}` : near);
  }
  return proposals.length ? `Did you mean ${proposals.join(', ')}? Run model-import --help for the commands and flags.` : undefined;
}
