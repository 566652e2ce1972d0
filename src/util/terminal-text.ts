/**
 * Text that came from outside (the hub's names, licenses, file names, error headers; local files) must not drive
 * the terminal: control characters (C0, DEL, C1: escape sequences, carriage returns that overwrite a line) and
 * bidirectional overrides (which reorder what the user reads) are shown escaped instead, e.g. `\x1b`, `\u202e`.
 */
// C0 except tab and newline, DEL, C1; the bidi embeddings, overrides, isolates and marks; line/paragraph separators.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_WITH_NEWLINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escape(ch: string): string {
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Escapes what could drive the terminal; keeps tabs, and newlines unless `oneLine`. */
export function terminalSafe(text: string, oneLine = false): string {
  return String(text).replace(oneLine ? UNSAFE_WITH_NEWLINE : UNSAFE, escape);
}

// JSON.stringify escapes C0 but leaves DEL, C1 and the bidi characters raw; they can only occur inside strings.
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON text with the characters JSON.stringify leaves raw escaped as \uXXXX: same value, safe on a terminal. */
export function jsonSafe(json: string): string {
  return json.replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
