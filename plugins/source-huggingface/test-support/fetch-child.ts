/**
 * A separate process that imports one repo's files with the plugin, reporting progress on stdout, so a test can
 * kill it with SIGKILL mid-download. argv: endpoint repoId rawDir partialDir hfHome
 */
import { createHooks, NonInteractivePrompter, Reporter } from '../../../src/index.js';
import { sourceHuggingface } from '../index.js';

const [endpoint, repoId, rawDir, partialDir, hfHome] = process.argv.slice(2);
const hooks = createHooks();
sourceHuggingface({ connections: 2, chunkSize: 4 << 20 }).apply({ hooks });
const reporter = new Reporter();
reporter.subscribe((e) => {
  if (e.type === 'task-progress') process.stdout.write(`progress ${e.done} ${e.total}\n`);
});
const options = { modelsDir: rawDir, yes: true, acceptLicense: true, skipValidation: true };
const ctx = { reporter, prompter: new NonInteractivePrompter(), signal: new AbortController().signal, options, env: { HF_ENDPOINT: endpoint, HF_HOME: hfHome }, settings: {} };
const source = await hooks.resolve.promise({ spec: repoId, options }, ctx);
const plan = { ...source!, claim: {} as never, modelName: 'x' };
await hooks.authorize.promise(plan, ctx);
await hooks.fetch.promise(plan, { ...ctx, rawDir, partialDir });
process.stdout.write('done\n');
