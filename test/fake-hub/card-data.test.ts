import { describe, expect, it } from 'vitest';
import { readmeCardData } from './card-data.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('readmeCardData', () => {
  it('reads scalars, quoted scalars, block lists and inline lists from the front matter', () => {
    const card = readmeCardData(
      enc('---\nlicense: other\nlicense_name: "tiny-license"\nlicense_link: LICENSE\nlanguage:\n- en\n- fr\ntags: [a, b]\ninference: false\n---\n# x\n'),
    );
    expect(card).toEqual({ license: 'other', license_name: 'tiny-license', license_link: 'LICENSE', language: ['en', 'fr'], tags: ['a', 'b'], inference: false });
  });

  it('skips nested maps instead of guessing, and needs a front matter block', () => {
    expect(readmeCardData(enc('---\nlicense: mit\nmodel-index:\n  name: x\n  results: 1\nbase_model: q\n---\n'))).toEqual({ license: 'mit', base_model: 'q' });
    expect(readmeCardData(enc('# no front matter\nlicense: mit\n'))).toBeUndefined();
    expect(readmeCardData(undefined)).toBeUndefined();
  });
});
