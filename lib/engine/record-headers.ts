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
