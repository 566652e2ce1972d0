/**
 * cardData from a README's YAML front matter, as the hub derives it, for repos that do not give `cardData`.
 * Only the YAML that model cards use at top level: `key: scalar`, `key: [a, b]` and `key:` followed by `- item`
 * lines. Nested maps are skipped rather than guessed.
 */

const scalar = (raw: string): unknown => {
  const v = raw.trim();
  if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) return v.slice(1, -1);
  if (v === 'true' || v === 'false') return v === 'true';
  return v;
};

export function readmeCardData(readme: Uint8Array | undefined): Record<string, unknown> | undefined {
  if (!readme) return undefined;
  const text = Buffer.from(readme.buffer, readme.byteOffset, readme.byteLength).toString('utf8').replace(/\r\n/g, '\n');
  const m = /^---\n([\s\S]*?)\n---(?:\n|$)/.exec(text);
  if (!m) return undefined;
  const card: Record<string, unknown> = {};
  let listKey: string | undefined;
  for (const line of m[1].split('\n')) {
    const item = /^\s*-\s+(.*)$/.exec(line);
    if (item && listKey) {
      (card[listKey] as unknown[]).push(scalar(item[1]));
      continue;
    }
    const kv = /^([A-Za-z0-9_-]+):\s*(.*)$/.exec(line);
    if (!kv) {
      if (!/^\s/.test(line)) listKey = undefined;
      continue;
    }
    const [, key, value] = kv;
    listKey = undefined;
    if (value === '') {
      card[key] = [];
      listKey = key;
    } else if (value.startsWith('[') && value.endsWith(']')) {
      card[key] = value.slice(1, -1).split(',').map((s) => scalar(s)).filter((s) => s !== '');
    } else {
      card[key] = scalar(value);
    }
  }
  // A key followed by an indented map rather than a list stays an empty list: drop it instead of lying.
  for (const [key, value] of Object.entries(card)) if (Array.isArray(value) && value.length === 0) delete card[key];
  return Object.keys(card).length ? card : undefined;
}
