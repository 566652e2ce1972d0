/**
 * `npx tsx test/fake-hub/cli.ts [--port N] [--throttle BYTES_PER_SECOND] [--seed N]`: serves the standard repos and
 * prints the hub URL as the first stdout line (the demo and the benchmark read it). SIGINT/SIGTERM close it.
 */
import { standardRepos } from './standard-repos.js';
import { startFakeHub } from './server.js';

function flag(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value < 0) {
    process.stderr.write(`fake hub: --${name} needs a number\n`);
    process.exit(2);
  }
  return value;
}

const hub = await startFakeHub({
  repos: standardRepos(flag('seed') ?? 1),
  port: flag('port') ?? 0,
  throttleBytesPerSecond: flag('throttle') || undefined,
});
process.stdout.write(`${hub.url}\n`);

let closing = false;
const stop = (signal: NodeJS.Signals) => {
  if (closing) return;
  closing = true;
  hub.close().then(
    () => {
      process.stderr.write(`fake hub: closed on ${signal}\n`);
      process.exit(0);
    },
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
