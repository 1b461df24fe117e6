// The record headers of the peer's bytes during the handshake: which of Node's errors a record
// layer failure is depends on the header of the record that caused it (see openssl-errors.ts).
import type { RecordHeader } from '../openssl-errors';

/** Follows record boundaries in a byte stream (5-byte header, then `length` bytes). */
export class RecordHeaders {
  /** The header of the last record begun. */
  last: RecordHeader | null = null;
  private body = 0;
  private readonly head = Buffer.alloc(5);
  private have = 0;

  see(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.body > 0) {
        const n = Math.min(this.body, chunk.length - i);
        this.body -= n;
        i += n;
        continue;
      }
      this.head[this.have++] = chunk[i++];
      if (this.have === 5) {
        const h = this.head;
        this.last = { type: h[0], major: h[1], minor: h[2], length: h.readUInt16BE(3), start: Buffer.from(h) };
        this.body = this.last.length;
        this.have = 0;
      }
    }
  }
}

/**
 * Whether a stream's first record header says TLS (its version's major is 3), from the bytes
 * seen so far: 'wait' for a second byte, else 'tls' or 'notTls' with the 5-byte header (zero-padded)
 * that names Node's error (an HTTP request, a plain-text banner: the peer does not speak TLS).
 */
export function firstRecord(seen: Buffer, chunk: Buffer): { t: 'wait'; head: Buffer } | { t: 'tls' } | { t: 'notTls'; header: Buffer } {
  const head = Buffer.concat([seen, chunk.subarray(0, 5)]);
  if (head.length < 2) return { t: 'wait', head };
  if (head[1] === 3) return { t: 'tls' };
  return { t: 'notTls', header: head.length >= 5 ? head.subarray(0, 5) : Buffer.concat([head, Buffer.alloc(5 - head.length)]) };
}
