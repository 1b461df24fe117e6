// The one close state machine of a TLSSocket: the peer's close_notify, the transport's FIN and
// close, our close_notify + FIN, and the errors a peer leaving causes. Half-close itself
// (allowHalfOpen) is net.Socket's, at the TLS level: the transport is always half-open.
//
//   open ──peer close_notify / transport EOF──► peer-ended ──our end()──► closed
//     └───────────our end(): close_notify, FIN──► local-ended ──peer EOF──┘
//
// EOF is pushed only after every decrypted byte was: the peer's close_notify comes in order
// after its data, and a bare transport EOF waits until the engine has nothing left to decrypt
// that a paused reader still wants.
import type { Duplex } from 'stream';
import { nodeError } from './errors';
import type { Engine, Step } from './engine/engine';
import type { FdPath } from './fd-path';

/** What the state machine needs of its socket. */
export interface ShutdownHost {
  readonly socket: Duplex;
  readonly engine: Engine;
  readonly fd: FdPath;
  readonly destroyed: boolean;
  readonly readableEnded: boolean;
  readonly writableEnded: boolean;
  push(chunk: null): boolean;
  read(n: number): unknown;
  once(event: 'end', fn: () => void): unknown;
  destroy(err?: Error): unknown;
  apply(step: Step): void;
  fail(err: Error): void;
}

export class ShutdownState {
  /** The transport delivered its EOF (or closed): no more input will come. */
  transportDone = false;
  private eofPushed = false;

  constructor(private readonly s: ShutdownHost) {}

  /** The peer's close_notify (an engine item, after all of its data). */
  peerClosed(): void {
    this.pushEOF();
  }

  private pushEOF(): void {
    if (this.eofPushed) return;
    this.eofPushed = true;
    this.s.push(null);
    this.s.read(0); // 'end' fires even when nobody reads (as net.Socket does)
  }

  /** After each engine step: a transport EOF becomes ours once nothing is left to decrypt. */
  settle(): void {
    if (!this.transportDone || this.eofPushed || this.s.destroyed) return;
    const e = this.s.engine;
    // A paused reader comes back for what is still queued; anything else left (part of a
    // record, an operation that waits for the peer) will never complete.
    if (e.state !== 'secure' || e.paused) return;
    if (e.ops.current) this.s.apply(e.act((ops) => ops.peerGone()));
    if (!this.s.destroyed) this.pushEOF();
  }

  transportEnded(): void {
    if (this.s.destroyed) return;
    this.transportDone = true;
    this.s.engine.inputEnded = true;
    const state = this.s.engine.state;
    if (state !== 'secure' && state !== 'closed') {
      // Node's words for each side (a server reports it as 'tlsClientError').
      if (this.s.engine.isServer) {
        this.s.fail(nodeError('ECONNRESET', 'socket hang up'));
        return;
      }
      // Node's client fails from its 'end': the application sees 'end', then the error.
      this.pushEOF();
      process.nextTick(() => this.s.fail(nodeError('ECONNRESET', 'Client network socket disconnected before secure TLS connection was established')));
      return;
    }
    this.settle();
  }

  transportClosed(): void {
    if (this.s.destroyed) return;
    const state = this.s.engine.state;
    if (state !== 'secure' && state !== 'closed') {
      this.transportEnded();
      return;
    }
    this.transportDone = true;
    this.s.engine.inputEnded = true;
    this.settle();
    // A reader that still has plaintext to take (pushed, or queued behind a pause) gets it first.
    const waiting = this.eofPushed || (state === 'secure' && this.s.engine.paused);
    if (this.s.readableEnded || !waiting) this.s.destroy();
    else this.s.once('end', () => this.s.destroy());
  }

  /**
   * The peer went away while we were ending (our close_notify or last bytes met a closed
   * connection): the end is done, as with Node's tls, not an error. Destroys the socket then.
   */
  endedByPeerLeaving(err: Error): boolean {
    const code = (err as NodeJS.ErrnoException).code;
    const e = this.s.engine;
    const established = e.state === 'secure' || (e.state === 'closed' && e.info !== null);
    if ((code !== 'EPIPE' && code !== 'ECONNRESET') || !this.s.writableEnded || !established) return false;
    this.s.destroy();
    return true;
  }

  transportError(err: Error): void {
    if (!this.endedByPeerLeaving(err)) this.s.fail(err);
  }

  /** The error of a write whose ciphertext cannot reach the peer any more. */
  writeError(): Error {
    return nodeError('EPIPE', 'This socket has been ended by the other party');
  }

  /** Our end(): close_notify, then the transport's FIN; `cb` once the transport finished. */
  localEnd(cb: (err?: Error | null) => void): void {
    const t = this.s.socket;
    const e = this.s.engine;
    if (e.state !== 'secure' || !t.writable) {
      cb();
      return;
    }
    this.s.apply(e.shutdown());
    // The FIN follows what the fd fast path still has to write.
    this.s.fd.whenDrained(() => t.end(() => cb()));
  }
}
