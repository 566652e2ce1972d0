/**
 * HTTP/1.1 framing for range-get.ts: the status line and headers of an answer, and its body (Content-Length,
 * chunked, or until close) cut to the wanted [start, end) of the file. No sockets here: bytes in, pieces out.
 */
import { TransientError } from '../../../src/index.js';

export interface Head {
  status: number;
  headers: Map<string, string>;
}

/** Status line and headers (names lower-cased; repeated headers joined with ', '). */
export function parseHead(raw: Buffer): Head {
  const lines = raw.toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new TransientError('the hub sent something that is not an HTTP/1.1 answer');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { status: Number(m[1]), headers };
}

/**
 * Frames the body (Content-Length, chunked, or until close) and cuts it to the wanted [start, end) of the file.
 */
export class BodyReader {
  complete = false;
  failed: string | undefined;
  private bodyRead = 0;
  // chunked state
  private chunkLeft = 0;
  private sizeLine = '';
  private phase: 'size' | 'data' | 'data-crlf' | 'trailer' = 'size';
  private trailerLine = '';

  constructor(
    /** File offset of the first body byte. */
    private at: number,
    private readonly start: number,
    private readonly end: number,
    private readonly length: number | undefined,
    private readonly chunked: boolean,
  ) {}

  feed(view: Buffer, emit: (piece: Buffer) => void): void {
    if (!this.chunked) return this.content(view, emit);
    let i = 0;
    while (i < view.byteLength && !this.complete && !this.failed) {
      if (this.phase === 'size') {
        const nl = view.indexOf(0x0a, i);
        this.sizeLine += view.toString('latin1', i, nl < 0 ? view.byteLength : nl);
        if (nl < 0) return;
        i = nl + 1;
        const size = parseInt(this.sizeLine.trim().split(';')[0], 16);
        this.sizeLine = '';
        if (!Number.isFinite(size) || size < 0) return void (this.failed = 'the hub sent a malformed chunked body');
        this.chunkLeft = size;
        this.phase = size === 0 ? 'trailer' : 'data';
      } else if (this.phase === 'data') {
        const n = Math.min(this.chunkLeft, view.byteLength - i);
        this.content(view.subarray(i, i + n), emit);
        this.chunkLeft -= n;
        i += n;
        if (this.chunkLeft === 0) this.phase = 'data-crlf';
      } else if (this.phase === 'data-crlf') {
        const nl = view.indexOf(0x0a, i);
        if (nl < 0) return;
        i = nl + 1;
        this.phase = 'size';
      } else {
        const nl = view.indexOf(0x0a, i);
        this.trailerLine += view.toString('latin1', i, nl < 0 ? view.byteLength : nl);
        if (nl < 0) return;
        i = nl + 1;
        if (this.trailerLine.trim() === '') this.bodyEnded();
        this.trailerLine = '';
      }
    }
  }

  /** The connection closed: a body without framing ends here. */
  connectionClosed(): void {
    if (!this.chunked && this.length === undefined) this.bodyEnded();
  }

  private bodyEnded(): void {
    if (this.at < this.end) this.failed = `the answer ended ${this.end - this.at} bytes short`;
    else this.complete = true;
  }

  private content(view: Buffer, emit: (piece: Buffer) => void): void {
    let piece = view;
    if (this.length !== undefined) {
      const left = this.length - this.bodyRead;
      if (piece.byteLength > left) piece = piece.subarray(0, left);
      this.bodyRead += piece.byteLength;
    }
    if (this.at < this.start) {
      const skip = Math.min(piece.byteLength, this.start - this.at);
      this.at += skip;
      piece = piece.subarray(skip);
    }
    if (piece.byteLength > this.end - this.at) piece = piece.subarray(0, this.end - this.at);
    if (piece.byteLength) {
      this.at += piece.byteLength;
      emit(piece);
    }
    if (this.at >= this.end) this.complete = true;
    else if (this.length !== undefined && this.bodyRead >= this.length) this.bodyEnded();
  }
}
