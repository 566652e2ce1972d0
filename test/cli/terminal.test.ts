/**
 * The CLI at a real terminal (a pseudo-terminal through util-linux `script`): Ctrl-C typed as a key, bars drawn
 * for the terminal's width, prompts answered with keystrokes.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, testPluginsConfig, REPO_ROOT } from '../support/cli.js';
import { plainText, runInPty } from '../support/pty.js';
import { listTree, makeTestModel, tempDir } from '../support/temp.js';

let project: string;
let cleanup: () => Promise<void>;
let modelDir: string;

beforeEach(async () => {
  ({ dir: project, cleanup } = await tempDir('model-import-tty-'));
  modelDir = await makeTestModel(project, 'tiny', { bytes: 2_000_000 });
  await fs.writeFile(path.join(project, 'model-import.config.ts'), testPluginsConfig());
});
afterEach(async () => cleanup());

const models = () => path.join(project, 'models');
const ctrlC = '\x03';
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The line after the bars: what the user reads last. */
const NEUTRAL_INTERRUPT = /(\n|\^C)Import interrupted; nothing was registered\.\nhint: [^\n]+\n/;

function blockingConfig(marker: string): string {
  const plugin = JSON.stringify(path.join(REPO_ROOT, 'test', 'plugins', 'blocking-validator.ts'));
  return testPluginsConfig({}, [`[${plugin}, ${JSON.stringify({ marker, calls: 40, callMs: 500 })}]`]);
}

describe('at a terminal', () => {
  it('Ctrl-C during the download keeps the bars on screen and ends with a neutral line, exit 130', async () => {
    await fs.writeFile(path.join(project, 'model-import.config.ts'), testPluginsConfig({ chunkDelayMs: 20 }));
    const run = runInPty(['import-model', `test:${modelDir}`, '--yes'], { cwd: project });
    await run.waitFor(/safetensors .*\d+%/);
    run.type(ctrlC);
    const { code, screen, raw } = await run.done;
    expect(code, screen).toBe(130);
    // The bars were not erased: the last thing drawn before the message is still a bar with its percentage.
    expect(screen).toMatch(/download \(total\)[^\n]* \d+% [\d.]+ [KM]?B\/2\.00 MB[^\n]*\n[^\n]*safetensors[^\n]* \d+% [^\n]*\n+(\^C\n*)?Import interrupted/);
    expect(raw).not.toContain('\x1b[0J\u2716'); // no "clear below" followed by a failure mark
    expect(screen).toMatch(NEUTRAL_INTERRUPT);
    expect(screen).not.toMatch(/error:|failed|\bfetch\b/);
    expect((await listTree(models())).filter((p) => p !== '.staging' && !p.startsWith('.partial') && !p.startsWith('.blobs'))).toEqual([]);
  });

  it('Ctrl-C while validation blocks the event loop (as onnxruntime does) still ends the import, exit 130', async () => {
    const marker = path.join(project, 'finished');
    await fs.writeFile(path.join(project, 'model-import.config.ts'), blockingConfig(marker));
    const run = runInPty(['import-model', `test:${modelDir}`, '--yes'], { cwd: project });
    await run.waitFor('Validating...');
    await settle(300);
    run.type(ctrlC);
    const { code, screen } = await run.done;
    expect(code, screen).toBe(130);
    expect(screen).toMatch(NEUTRAL_INTERRUPT);
    expect(screen).not.toMatch(/error:|validate failed/);
    // It did not sit the 20 s of validation out.
    await expect(fs.stat(marker)).rejects.toThrow();
    expect((await listTree(models())).filter((p) => p !== '.staging' && !p.startsWith('.partial') && !p.startsWith('.blobs'))).toEqual([]);
  });

  it('a second Ctrl-C during the download stops at once and still says one line', async () => {
    // Each chunk blocks the event loop for 400 ms: both keys arrive before the first is handled.
    await fs.writeFile(path.join(project, 'model-import.config.ts'), testPluginsConfig({ chunkBusyMs: 400 }));
    const run = runInPty(['import-model', `test:${modelDir}`, '--yes'], { cwd: project });
    await run.waitFor(/safetensors .*\d+%/);
    let ended = false;
    void run.done.then(() => (ended = true));
    run.type(ctrlC);
    // Two SIGINTs that reach a process the scheduler has not run in between merge into one (the kernel keeps one
    // pending signal per kind), so the second key is pressed until one is seen as a second.
    for (let k = 0; k < 20 && !ended; k++) {
      await settle(50);
      if (!ended) run.type(ctrlC);
    }
    const { code, screen } = await run.done;
    expect(code, screen).toBe(130);
    expect(screen).toMatch(/(\n|\^C)Interrupted again: stopped at once; nothing was registered\.\n/);
    expect(screen.match(/nothing was registered/g)).toHaveLength(1);
  });

  it('a 40-column terminal still shows the percentage and the size, and no bar line is wider than the terminal', async () => {
    await fs.writeFile(path.join(project, 'model-import.config.ts'), testPluginsConfig({ chunkDelayMs: 20 }));
    const run = runInPty(['import-model', `test:${modelDir}`, '--yes'], { cwd: project, columns: 40 });
    await run.waitFor(/safetensors +\d+% [\d.]+ [KM]?B\/2\.00 MB/);
    run.type(ctrlC);
    const { code, raw } = await run.done;
    expect(code).toBe(130);
    // What each redraw puts on one terminal line: split where the cursor moves to a line start.
    const drawn = raw.split(/\x1b\[\d*[AG]|\r?\n|\r/).map(plainText);
    const bars = drawn.filter((line) => /\d+% [\d.]+ [KM]?B\//.test(line));
    expect(bars.length).toBeGreaterThan(0);
    for (const line of bars) expect(line.replace('^C', '').length, line).toBeLessThan(40); // ^C: the terminal's echo
  });

  it('cancelling at the duplicate prompt is a choice, not a failure: a plain line, exit 10', async () => {
    expect((await runCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project })).code).toBe(0);
    const run = runInPty(['import-model', `test:${modelDir}`, '--accept-license'], { cwd: project });
    await run.waitFor('What now?');
    run.type('\x1b[B\x1b[B'); // down twice: "Cancel"
    await run.waitFor(/❯ Cancel/);
    run.type('\r');
    const { code, screen } = await run.done;
    expect(code, screen).toBe(10);
    expect(screen).toMatch(/\nImport cancelled: a model named "tiny" already exists\.\n/);
    expect(screen).not.toMatch(/error:|failed|\bresolve\b/);
  });

  it('declining the license is a choice: a plain line, exit 6', async () => {
    const run = runInPty(['import-model', `test:${modelDir}`], { cwd: project });
    await run.waitFor('Do you accept the terms');
    run.type('n\r');
    const { code, screen } = await run.done;
    expect(code, screen).toBe(6);
    expect(screen).toMatch(/\nLicense of test\/tiny \(apache-2\.0\) not accepted; nothing was downloaded\.\n/);
    expect(screen).not.toMatch(/error:|failed|\bauthorize\b/);
  });

  it('declining a removal is a choice: a plain line, exit 10, the model kept', async () => {
    expect((await runCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project })).code).toBe(0);
    const run = runInPty(['remove', 'tiny'], { cwd: project });
    await run.waitFor('Remove the model "tiny"');
    run.type('n\r');
    const { code, screen } = await run.done;
    expect(code, screen).toBe(10);
    expect(screen).toMatch(/\nNothing removed\.\n/);
    expect(screen).not.toMatch(/error:/);
    expect(JSON.parse(await fs.readFile(path.join(models(), 'registry.json'), 'utf8')).models.tiny).toBeDefined();
  });
});
