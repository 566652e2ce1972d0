/**
 * Starts Debian's docker-registry (CNCF distribution 2.8) as a child process on 127.0.0.1, on a port picked
 * free, with a temporary storage root and htpasswd (bcrypt) auth, and stops it afterwards. Tests that need it
 * skip, with a notice, when the binary or htpasswd is missing (.ci/run installs both).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const REGISTRY_BIN = process.env.DOCKER_REGISTRY_BIN ?? '/usr/bin/docker-registry';

export function registryAvailable(): boolean {
  if (!existsSync(REGISTRY_BIN)) return false;
  try {
    execFileSync('htpasswd', ['-h'], { stdio: 'ignore' });
  } catch (error) {
    // htpasswd -h exits non-zero after printing its usage; only a missing binary matters.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
  }
  return true;
}

export interface RealRegistry {
  /** host:port, e.g. 127.0.0.1:41235 */
  host: string;
  url: string;
  username: string;
  password: string;
  root: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}):\n${log()}`);
    try {
      const response = await fetch(`${url}/v2/`);
      await response.body?.cancel();
      if (response.status === 401 || response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not answer on ${url}:\n${log()}`);
}

export async function startRegistry(options: { username?: string; password?: string } = {}): Promise<RealRegistry> {
  const username = options.username ?? 'tester';
  const password = options.password ?? 's3cret-registry-pass';
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'model-import-registry-'));
  const htpasswd = execFileSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' });
  await fs.writeFile(path.join(root, 'htpasswd'), htpasswd);
  // A port taken between freePort() and the registry's bind is possible but rare; retry a few times.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(root, 'data')}`,
      '  delete:',
      '    enabled: true',
      'auth:',
      '  htpasswd:',
      '    realm: model-import-test',
      `    path: ${path.join(root, 'htpasswd')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n');
    const configFile = path.join(root, 'config.yml');
    await fs.writeFile(configFile, config);
    const child = spawn(REGISTRY_BIN, ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, child, () => output);
    } catch (error) {
      child.kill('SIGKILL');
      if (attempt < 3 && /address already in use/.test(output)) continue;
      throw error;
    }
    return {
      host: `127.0.0.1:${port}`,
      url,
      username,
      password,
      root,
      async close() {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        }
        await fs.rm(root, { recursive: true, force: true });
      },
    };
  }
}
