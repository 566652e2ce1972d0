#!/usr/bin/env node
// The installed command. The TypeScript sources are compiled to dist/ by `npm ci` (the prepare script).
//
// libuv's thread pool (4 threads by default) carries every file operation of the process, and an import keeps
// some of them in long fsyncs (the model folder goes to disk while validation reads it). Eight leave room for the
// rest. Set before anything uses the pool, hence the dynamic import; a value the user set is kept.
process.env.UV_THREADPOOL_SIZE ??= '8';
const { main } = await import('../dist/src/cli/main.js');

main().then(
  (code) => {
    process.exit(code);
  },
  (error) => {
    process.stderr.write(`error: ${error?.message ?? error}\nhint: This is a bug in model-import; run again with --debug and report it.\n`);
    if (process.argv.includes('--debug')) process.stderr.write(`${error?.stack}\n`);
    process.exitCode = 1;
  },
);
