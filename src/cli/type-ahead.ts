/**
 * Keys typed before a prompt appears (a token pasted while the command starts up) must not be echoed by the
 * terminal: in its default (cooked) mode the terminal itself prints them, so a pasted token would show in clear
 * before the no-echo prompt even exists. While the import may still ask for a token, the terminal's echo is off
 * (`stty -echo`: the keys stay in its input buffer for the prompt to read, and Ctrl-C still interrupts); it is
 * put back as it was once no secret can be asked any more, and on every exit.
 */
import { spawnSync } from 'node:child_process';

/** Turns the terminal's echo off when stdin is one; returns the function that restores it (idempotent). */
export function holdTypeAhead(stdin: NodeJS.ReadStream = process.stdin): () => void {
  if (!stdin.isTTY) return () => {};
  const saved = spawnSync('stty', ['-g'], { stdio: ['inherit', 'pipe', 'ignore'], encoding: 'utf8' });
  const settings = saved.status === 0 ? saved.stdout.trim() : '';
  // Where stty is missing (Windows) nothing changes: the prompt itself still echoes nothing.
  if (!settings || spawnSync('stty', ['-echo'], { stdio: ['inherit', 'ignore', 'ignore'] }).status !== 0) return () => {};
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    spawnSync('stty', [settings], { stdio: ['inherit', 'ignore', 'ignore'] });
  };
  process.on('exit', restore);
  return restore;
}
