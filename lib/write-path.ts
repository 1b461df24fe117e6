// The write side of a TLSSocket: plaintext from the Writable machinery, encrypted by the engine
// straight into a ciphertext slab and written to the transport. A write's callback runs once the
// transport took its ciphertext, or with the reason it cannot be sent; writes wait while the
// engine holds them (handshake, TLS 1.2 re-handshake) and fail when the socket is destroyed.
import type { Duplex } from 'stream';
import { gnutlsError, nodeError } from './errors';
import type { Engine, Step } from './engine/engine';
import type { FdPath } from './fd-path';

export type WriteCallback = (err?: Error | null) => void;

/** What the write path needs of its socket. */
export interface WriteHost {
  readonly engine: Engine;
  readonly socket: Duplex;
  readonly destroyed: boolean;
  /** The fd fast path (when attached, ciphertext goes to the descriptor natively). */
  readonly fd: FdPath;
  apply(step: Step): void;
  /** Traffic: restarts the idle timer. */
  activity(): void;
  /** Plaintext accepted: counted in bytesWritten. */
  written(n: number): void;
}

/** What the write path needs of the close state machine (shutdown.ts). */
export interface WriteEnding {
  /** The error for ciphertext that can no longer reach the peer. */
  writeError(): Error;
  /** Our close_notify and FIN (once no write waits). */
  localEnd(cb: WriteCallback): void;
  /** A transport write failed because the peer left after our end(): not an error (destroys). */
  endedByPeerLeaving(err: Error): boolean;
}

/** Plaintext encrypted per native call for large writes. */
const SLICE = 1 << 20;
/** Ciphertext slab (per thread): only the transport sees it, never a reader. */
const SLAB_SIZE = 1 << 20;
let cslab = { buf: Buffer.allocUnsafeSlow(0), used: 0 };
function ciphertextSlab(length: number): { buf: Buffer; used: number } {
  const need = Math.min(SLAB_SIZE, length + 64 + 32 * Math.ceil(length / 16384));
  if (cslab.buf.length - cslab.used < need) cslab = { buf: Buffer.allocUnsafeSlow(SLAB_SIZE), used: 0 };
  return cslab;
}

const destroyedError = (): Error => nodeError('ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed');

/** A written chunk as bytes (net.Socket keeps strings as they were written: decodeStrings false). */
export function plainChunk(chunk: Buffer | string, encoding: BufferEncoding): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
}

export class WritePath {
  private pending: Array<{ chunks: Buffer[]; cb: WriteCallback }> = [];
  private pendingFinal: WriteCallback | null = null;
  /** Largest plaintext per record (setMaxSendFragment); below 16384 each record is its own send. */
  maxFragment = 16384;

  constructor(
    private readonly h: WriteHost,
    private readonly ending: WriteEnding,
  ) {}

  write(chunks: Buffer[], cb: WriteCallback): void {
    const e = this.h.engine;
    if (e.closed) {
      cb(destroyedError());
      return;
    }
    if (e.holdsWrites) {
      this.pending.push({ chunks, cb });
      return;
    }
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const done: WriteCallback = (err) => {
      if (!err) this.h.written(total);
      cb(err);
    };
    if (this.maxFragment < 16384 && total > this.maxFragment) {
      this.slices(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total), 0, done, this.maxFragment);
    } else if (chunks.length === 1 && total > SLICE) this.slices(chunks[0], 0, done, SLICE);
    else this.encrypt(chunks.length === 1 ? chunks[0] : chunks, total, done);
  }

  /** Encrypts `buf` from `off` in sends of `size` bytes (one record each when size <= 16384). */
  private slices(buf: Buffer, off: number, cb: WriteCallback, size: number): void {
    if (off >= buf.length) {
      cb();
      return;
    }
    const e = this.h.engine;
    if (e.holdsWrites && !e.closed) {
      this.pending.push({ chunks: [buf.subarray(off)], cb });
      return;
    }
    const end = Math.min(buf.length, off + size);
    this.encrypt(buf.subarray(off, end), end - off, (err) => {
      if (err) cb(err);
      else this.slices(buf, end, cb, size);
    });
  }

  private encrypt(data: Buffer | Buffer[], length: number, cb: WriteCallback): void {
    const e = this.h.engine;
    if (e.closed) {
      cb(destroyedError());
      return;
    }
    const t = this.h.socket;
    if (!t.writable) {
      cb(this.ending.writeError());
      return;
    }
    this.h.fd.tryAttach();
    const fd = this.h.fd.attached;
    const slab = fd ? null : ciphertextSlab(length);
    const r = e.write(data, slab?.buf ?? null, slab?.used ?? 0);
    if (slab) slab.used += r.used;
    if (r.code < 0) {
      const err = gnutlsError(r.code, e.lastAlert(), 'write failed');
      this.h.apply(r.step);
      cb(err);
      return;
    }
    this.h.activity();
    const done: WriteCallback = (err) => cb(err && this.ending.endedByPeerLeaving(err) ? null : err);
    const out = r.step.out;
    if (fd) this.h.fd.afterWrite(done);
    else if (out.length === 0) process.nextTick(cb);
    else {
      for (let i = 0; i < out.length - 1; i++) t.write(out[i]);
      t.write(out[out.length - 1], (err) => {
        if (err) done(err);
        else if (t.writableNeedDrain) t.once('drain', () => cb());
        else cb();
      });
    }
    if (r.step.items.length) this.h.apply({ out: [], items: r.step.items });
  }

  /** The engine no longer holds writes: what waited goes out, in order, then a waiting end(). */
  release(): void {
    if (this.h.destroyed || this.h.engine.holdsWrites) return;
    const pending = this.pending;
    this.pending = [];
    for (const w of pending) this.write(w.chunks, w.cb);
    const fin = this.pendingFinal;
    this.pendingFinal = null;
    if (fin) this.final(fin);
  }

  final(cb: WriteCallback): void {
    const e = this.h.engine;
    if (e.holdsWrites && !e.closed) {
      this.pendingFinal = cb;
      return;
    }
    this.ending.localEnd(cb);
  }

  /** The socket is destroyed: everything waiting fails with `err()`. */
  fail(err: () => Error): void {
    const pending = this.pending;
    this.pending = [];
    for (const w of pending) w.cb(err());
    const fin = this.pendingFinal;
    this.pendingFinal = null;
    fin?.(err());
  }
}
