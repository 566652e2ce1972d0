/**
 * Runs the real CLI in a real pseudo-terminal, through util-linux `script`: the CLI sees a TTY on stdin, stdout
 * and stderr (so bars, prompts and raw-mode input behave as for a user), and bytes written to `type()` arrive as
 * keystrokes: "\x03" is Ctrl-C, which the terminal's line discipline turns into SIGINT for the whole foreground
 * process group, children included, exactly as at a keyboard.
 */
import { spawn } from 'node:child_process';
import { BIN } from './cli.js';

export interface PtyRun {
  /** Sends keystrokes to the terminal. */
  type(keys: string): void;
  /** Resolves when everything the terminal showed so far (with escapes removed) matches. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** The exit status of the CLI (script -e passes it on) and all the terminal showed. */
  done: Promise<{ code: number | null; screen: string; raw: string }>;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Removes colour, cursor and erase sequences, so tests read text as a person would. */
export function plainText(raw: string): string {
  return raw
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\x1b[()][A-Z0-9]/g, '')
    .replace(/\r\n/g, '\n')
    .replace(/\r/g, '\n');
}

export function runInPty(args: string[], options: { cwd: string; env?: Record<string, string | undefined>; columns?: number }): PtyRun {
  const command = `stty cols ${options.columns ?? 100} rows 40; exec ${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: options.cwd,
    env: { ...process.env, TERM: 'xterm-256color', NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.on('error', () => {}); // keys typed after the CLI ended go nowhere, as on a real terminal
  let raw = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    raw += d;
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const done = new Promise<{ code: number | null; screen: string; raw: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, screen: plainText(raw), raw }));
  });
  return {
    type: (keys) => child.stdin.write(keys),
    waitFor: (text, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const screen = plainText(raw);
          if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) {
            waiters.splice(waiters.indexOf(check), 1);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${text}; the terminal showed:\n${plainText(raw)}`)), timeoutMs);
        waiters.push(check);
        check();
      }),
    done,
  };
}
