/**
 * The token prompt at a real terminal (pseudo-terminal through `script`) against the fake hub: nothing of the
 * token is echoed, not even asterisks; a token the hub rejects is asked for again, three tries in all.
 */
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../fake-hub/index.js';
import { makeTinyModel } from '../fixtures/tiny-models.js';
import { hubCliEnv } from '../support/cli.js';
import { runInPty } from '../support/pty.js';
import { tempDir } from '../support/temp.js';

const GRANTED = 'hf_prompt_granted_token_0123456789';
const WRONG = 'hf_wrong_token_abcdefghijklmnop';

let hub: FakeHub;
let project: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  hub = await startFakeHub({
    validTokens: [GRANTED],
    repos: [
      {
        id: 'tiny-org/gated',
        files: makeTinyModel({ family: 'qwen2', seed: 31 }),
        gated: 'manual',
        grantedTokens: [GRANTED],
        cardData: { license: 'apache-2.0' },
      },
    ],
  });
});
afterAll(async () => hub.close());
beforeEach(async () => {
  ({ dir: project, cleanup } = await tempDir('model-import-token-'));
});
afterEach(async () => cleanup());

const start = (endpoint = hub.url) =>
  runInPty(['import-model', 'tiny-org/gated', '--yes', '--skip-validation'], {
    cwd: project,
    env: hubCliEnv(endpoint, project),
  });

/** A TCP relay to the hub that holds every connection until release(): the CLI waits, its prompt not yet shown. */
async function heldRelay(target: string): Promise<{ url: string; release: () => void; close: () => Promise<void> }> {
  const { port } = new URL(target);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.pause();
    void released.then(() => {
      const upstream = net.connect(Number(port), '127.0.0.1');
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
      const end = () => (client.destroy(), upstream.destroy());
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    release,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the token prompt', () => {
  it('echoes nothing and, after a rejected token, asks again; the right one then imports', async () => {
    const run = start();
    await run.waitFor('Paste a Hugging Face access token');
    run.type(`${WRONG}\r`);
    await run.waitFor('try 1 of 3');
    await run.waitFor(/try 1 of 3[^]*Paste a Hugging Face access token/);
    run.type(`${GRANTED}\r`);
    const { code, screen } = await run.done;
    expect(code, screen).toBe(0);
    expect(screen).toContain('Imported tiny-org/gated');
    expect(screen).not.toContain(WRONG);
    expect(screen).not.toContain(GRANTED);
    expect(screen).not.toMatch(/\*{3}/);
  });

  it('takes a token typed before the prompt appeared, and the terminal never showed it', async () => {
    const relay = await heldRelay(hub.url);
    try {
      const run = start(relay.url);
      await run.waitFor('Resolving...'); // the CLI is up and waits for the hub: no prompt yet
      run.type(GRANTED);
      await new Promise((resolve) => setTimeout(resolve, 300)); // let the keys reach the terminal first
      relay.release();
      await run.waitFor('Paste a Hugging Face access token');
      run.type('\r');
      const { code, screen } = await run.done;
      expect(code, screen).toBe(0);
      expect(screen).toContain('Imported tiny-org/gated');
      expect(screen).not.toContain(GRANTED);
      expect(screen).not.toContain(GRANTED.slice(0, 8));
    } finally {
      await relay.close();
    }
  });

  it('fails after the third rejected token, naming HF_TOKEN, exit 4', async () => {
    const run = start();
    await run.waitFor('Paste a Hugging Face access token');
    for (let attempt = 1; attempt <= 3; attempt++) {
      if (attempt > 1) await run.waitFor(new RegExp(`try ${attempt - 1} of 3[^]*Paste a Hugging Face access token`));
      run.type(`${WRONG}${attempt}\r`);
    }
    const { code, screen } = await run.done;
    expect(code, screen).toBe(4);
    expect(screen).toMatch(/try 2 of 3/);
    expect(screen).toMatch(/\nerror: The hub rejected the token from the prompt as invalid or revoked\.\nhint: [^\n]*HF_TOKEN/);
    expect(screen).not.toContain(WRONG);
  });
});
