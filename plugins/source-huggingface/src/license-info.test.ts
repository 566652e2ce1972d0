import { describe, expect, it } from 'vitest';
import { licenseExcerpt, licenseFromCard } from './license-info.js';

const links = { endpoint: 'https://hub.example', repoId: 'o/r', commit: 'c'.repeat(40) };

describe('licenseFromCard', () => {
  it('reads id, name, link; relative links become commit-pinned URLs; arrays join', () => {
    expect(licenseFromCard({ license: 'other', license_name: 'qwen', license_link: 'LICENSE' }, [], links)).toEqual({
      id: 'other',
      name: 'qwen',
      link: `https://hub.example/o/r/blob/${'c'.repeat(40)}/LICENSE`,
    });
    expect(licenseFromCard({ license: ['apache-2.0', 'mit'], license_link: 'https://x/y' }, [], links)).toEqual({ id: 'apache-2.0 OR mit', link: 'https://x/y' });
    expect(licenseFromCard(undefined, ['en', 'license:llama3.2'], { ...links, file: 'LICENSE.txt' })).toEqual({
      id: 'llama3.2',
      file: 'LICENSE.txt',
      link: `https://hub.example/o/r/blob/${'c'.repeat(40)}/LICENSE.txt`,
    });
    expect(licenseFromCard({}, [], links)).toBeUndefined();
  });
});

describe('licenseExcerpt', () => {
  it('keeps the first lines, strips terminal controls and a character cut by the byte cap', () => {
    const text = Buffer.from(`\uFEFFTitle\r\n\x1b[2J\x1b]0;x\x07Body é\n${'line\n'.repeat(40)}`);
    const excerpt = licenseExcerpt(text, false, 5);
    expect(excerpt).toBe('Title\nBody é\nline\nline\nline');
    const cut = Buffer.from('ab\ncdé').subarray(0, 6); // é cut in half
    expect(licenseExcerpt(cut, true, 25)).toBe('ab');
  });
});
