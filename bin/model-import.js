#!/usr/bin/env node
// The installed command. The TypeScript sources are compiled to dist/ by `npm ci` (the prepare script).
import { main } from '../dist/src/cli/main.js';

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
