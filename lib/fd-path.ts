// The fd fast path of a TLSSocket. Once the handshake is done over a plain net.Socket (TCP or a
// Unix socket), ciphertext moves between the native session and a duplicate of that socket's
// file descriptor, polled by the session's own libuv handle, instead of through the net.Socket's
// stream: no Buffer per read or per write, no stream machinery per chunk, and reads decrypted
// where they landed. The net.Socket keeps its descriptor, its FIN and its close, and serves its
// options (setNoDelay, setKeepAlive, addresses). Input goes back to it once the fast path has no
// more use for it (EOF, the peer's close_notify: its EOF and close then reach the TLSSocket as on
// the generic path), and when someone else starts listening to its bytes; its bytesRead and
// bytesWritten count what the fast path moved as well. Any other transport (a Duplex, a TLS
// socket, a socket someone else reads) stays on the generic path. NODE_GNUTLS_FD_PATH=0 (read when
// a socket's handshake completes) keeps every socket on the generic path.
import * as net from 'net';
import * as util from 'util';
import type { Duplex } from 'stream';
import type { Engine } from './engine/engine';

/** What the native session reports (attachFd's callback). */
const enum FdEvent {
  Read = 1,
  Eof = 2,
  ReadError = 3,
  Drained = 4,
  WriteError = 5,
}

/** What the fast path needs of its socket. */
export interface FdHost {
  readonly engine: Engine;
  readonly socket: Duplex;
}

/** What the socket does on the fast path's events. */
export interface FdHandlers {
  /** Ciphertext arrived (queued in the session): decrypt it now. */
  input(): void;
  /** Input is the transport's again (after EOF): let it read its EOF. */
  released(): void;
  /** A read or write on the descriptor failed: the transport's error. */
  error(err: Error): void;
}

const enabled = (): boolean => process.env.NODE_GNUTLS_FD_PATH !== '0';

/** A system call's error, shaped as net.Socket's ('read ECONNRESET', errno, code, syscall). */
export function systemError(errno: number, syscall: string): NodeJS.ErrnoException {
  const code = util.getSystemErrorName(errno);
  return Object.assign(new Error(`${syscall} ${code}`), { errno, code, syscall });
}

/** The descriptor of a net.Socket that only this TLSSocket reads, or -1. */
function plainSocketFd(t: Duplex): number {
  if (!(t instanceof net.Socket) || 'encrypted' in t) return -1;
  const fd = (t as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return -1;
  // Someone else listening to the raw bytes keeps the stream path.
  return t.listenerCount('data') === 1 && t.listenerCount('readable') === 0 ? fd : -1;
}

type StreamHandle = { reading: boolean; readStop(): number; readStart(): number };
/** The fast path of each transport that took it (the transport's counters add its counts). */
const pathOf = new WeakMap<object, FdPath>();
/** For each transport class, a prototype between it and its instances that counts the fast path. */
const countingProtos = new WeakMap<object, object>();

/**
 * The transport's bytesRead and bytesWritten count the ciphertext `path` moved too, as on the
 * stream path. The instance gets a prototype that adds the counts (own accessors on the
 * instance would turn a net.Socket into a dictionary-mode object: 1.6 KiB more per connection).
 */
function countOnTransport(t: net.Socket, path: FdPath): void {
  pathOf.set(t, path);
  const base = Object.getPrototypeOf(t) as object;
  let proto = countingProtos.get(base);
  if (!proto) {
    const counter = (name: 'bytesRead' | 'bytesWritten', more: (p: FdPath) => number): PropertyDescriptor => ({
      configurable: true,
      get(this: net.Socket): number | undefined {
        const n = Reflect.get(base, name, this) as number | undefined;
        const p = pathOf.get(this);
        return n === undefined || !p ? n : n + more(p);
      },
    });
    proto = Object.create(base, {
      bytesRead: counter('bytesRead', (p) => p.bytesIn),
      bytesWritten: counter('bytesWritten', (p) => p.bytesOut()),
    }) as object;
    countingProtos.set(base, proto);
  }
  Object.setPrototypeOf(t, proto);
}
function streamHandle(t: Duplex): StreamHandle {
  return (t as unknown as { _handle: StreamHandle })._handle;
}

export class FdPath {
  /** Ciphertext goes through the descriptor. */
  attached = false;
  /** Input is read by the transport again. */
  private released = false;
  private eligible = true;
  private refed = true;
  /** Write callbacks waiting for the socket to take what is queued, in order. */
  private waiters: Array<(err?: Error | null) => void> = [];
  /** Ciphertext read from the descriptor. */
  bytesIn = 0;
  /** The session that writes to the descriptor (its count outlives the engine's close). */
  private session: Engine['session'] | null = null;

  constructor(
    private readonly h: FdHost,
    private readonly on: FdHandlers,
  ) {}

  /** Whether input comes through the descriptor. */
  get reading(): boolean {
    return this.attached && !this.released;
  }

  /** Takes the fast path when the socket allows it now (established, nothing in flight in the stream). */
  tryAttach(): void {
    if (this.attached || !this.eligible) return;
    const t = this.h.socket as net.Socket;
    const e = this.h.engine;
    if (e.state === 'secure' && !enabled()) {
      this.eligible = false;
      return;
    }
    if (e.state !== 'secure' || e.pendingOutput > 0 || t.writableLength > 0 || t.readableLength > 0) return;
    if (!t.writable || !t.readable || t.readableEnded) return;
    const fd = plainSocketFd(t);
    if (fd < 0 || e.session.attachFd(fd, (kind, value) => this.onEvent(kind, value)) !== 0) {
      this.eligible = false;
      return;
    }
    this.attached = true;
    this.session = e.session;
    countOnTransport(t, this);
    t.on('newListener', this.onListener);
    // The stream's handle stops reading now (pause() alone lets it read on until the stream's
    // buffer fills), and `reading` stays true so that the stream does not start it again.
    t.pause();
    streamHandle(t).readStop();
    streamHandle(t).reading = true;
    if (!this.refed) e.session.fdRef(false);
  }

  /** Ciphertext written to the descriptor (or waiting for it). */
  bytesOut(): number {
    return this.session ? this.session.fdBytesWritten() : 0;
  }

  /** Polls for input while the reader takes it. */
  read(on: boolean): void {
    if (this.reading) this.h.engine.session.fdRead(on);
  }

  /** Someone starts listening to the raw bytes: they come through the transport again. */
  private readonly onListener = (event: string | symbol): void => {
    if (event !== 'data' && event !== 'readable') return;
    this.release();
    this.on.released();
  };

  /**
   * Input goes back to the transport (nothing more to decrypt: EOF, the peer's close_notify; or
   * another listener of its bytes). What the session already holds is decrypted first.
   */
  release(): void {
    if (!this.reading) return;
    this.released = true;
    this.h.socket.removeListener('newListener', this.onListener);
    if (!this.h.engine.closed) this.h.engine.session.fdRead(false);
    // The stream's read request from before the attach is still open: its handle serves it now.
    const handle = streamHandle(this.h.socket);
    if (handle && !this.h.socket.destroyed) handle.readStart();
  }

  ref(on: boolean): void {
    this.refed = on;
    if (this.attached && !this.h.engine.closed) this.h.engine.session.fdRef(on);
  }

  /** After a write: `cb` once the socket took all of it, or with the write's error. */
  afterWrite(cb: (err?: Error | null) => void): void {
    const e = this.h.engine;
    const errno = e.fdWriteError;
    if (errno !== 0) process.nextTick(cb, systemError(errno, 'write'));
    else if (e.fdQueued > 0 || this.waiters.length > 0) this.waiters.push(cb);
    else process.nextTick(cb);
  }

  /** `fn` once nothing waits to be written (at once when nothing does). */
  whenDrained(fn: () => void): void {
    if (!this.attached || (this.h.engine.fdQueued === 0 && this.waiters.length === 0)) fn();
    else this.waiters.push((err) => !err && fn());
  }

  /** The socket is destroyed: waiting writes fail with `err()`. */
  fail(err: () => Error): void {
    if (this.waiters.length > 0) this.settle(err());
  }

  private settle(err: Error | null): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const cb of waiters) cb(err);
  }

  private onEvent(kind: FdEvent, value: number): void {
    switch (kind) {
      case FdEvent.Read:
        this.bytesIn += value;
        this.on.input();
        return;
      case FdEvent.Eof:
        this.release();
        this.on.released();
        return;
      case FdEvent.ReadError:
        this.release();
        this.on.error(systemError(value, 'read'));
        return;
      case FdEvent.Drained:
        this.settle(null);
        return;
      case FdEvent.WriteError: {
        const err = systemError(value, 'write');
        this.settle(err);
        this.on.error(err);
        return;
      }
    }
  }
}
