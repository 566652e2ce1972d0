/**
 * The token prompt at a real terminal (pseudo-terminal through `script`) against the fake hub: nothing of the
 * token is echoed, not even asterisks; a token the hub rejects is asked for again, three tries in all.
 */
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../fake-hub/index.js';
import { makeTinyModel } from '../fixtures/tiny-models.js';
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

const start = () =>
  runInPty(['import-model', 'tiny-org/gated', '--yes', '--skip-validation'], {
    cwd: project,
    env: { HF_ENDPOINT: hub.url, HF_HOME: path.join(project, 'hf-home'), HF_TOKEN: undefined, HUGGING_FACE_HUB_TOKEN: undefined },
  });

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
