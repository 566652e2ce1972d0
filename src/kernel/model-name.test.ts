import { describe, expect, it } from 'vitest';
import { assertModelName, deriveModelName, modelNameProblem, nextFreeName } from './model-name.js';

describe('model names', () => {
  it('derives a folder-safe name from a repo id by the documented rule', () => {
    expect(deriveModelName('Qwen/Qwen2.5-0.5B')).toBe('qwen2.5-0.5b');
    expect(deriveModelName('Qwen/Qwen3-0.6B')).toBe('qwen3-0.6b');
    expect(deriveModelName('org/My Model (v2)!')).toBe('my-model-v2');
    expect(deriveModelName('org/CON')).toBe('con-model');
    expect(deriveModelName('org/...')).toBe('model');
    expect(deriveModelName(`org/${'a'.repeat(100)}`)).toHaveLength(64);
    for (const id of ['Qwen/Qwen2.5-0.5B', 'org/My Model (v2)!', 'org/CON', 'org/...', 'a/-x-.']) {
      expect(modelNameProblem(deriveModelName(id))).toBeUndefined();
    }
  });

  it.each([
    ['', 'empty'],
    ['a/b', 'path separator'],
    ['a\\b', 'path separator'],
    ['..', '".."'],
    ['a..b', '".."'],
    ['.hidden', 'start with a letter or digit'],
    ['-dash', 'start with a letter or digit'],
    ['name.', 'ends with'],
    ['name-', 'ends with'],
    ['na me', 'only letters'],
    ['naïve', 'only letters'],
    ['CON', 'reserved on Windows'],
    ['nul.txt', 'reserved on Windows'],
    ['com1', 'reserved on Windows'],
    ['x'.repeat(65), 'at most 64'],
  ])('rejects %j (%s) with a clear error', (name, why) => {
    expect(() => assertModelName(name)).toThrow(why);
    try {
      assertModelName(name);
    } catch (error) {
      expect((error as { code: string }).code).toBe('INVALID_NAME');
      expect((error as { exitCode: number }).exitCode).toBe(2);
    }
  });

  it('accepts ordinary names', () => {
    for (const name of ['my-qwen-base', 'qwen2.5-0.5b', 'A_b.c-9', 'console']) expect(assertModelName(name)).toBe(name);
  });

  it('proposes the next free name, case-insensitively', () => {
    expect(nextFreeName('tiny', [])).toBe('tiny');
    expect(nextFreeName('tiny', ['TINY', 'tiny-2'])).toBe('tiny-3');
    expect(nextFreeName('x'.repeat(64), ['x'.repeat(64)])).toBe(`${'x'.repeat(62)}-2`);
  });
});
