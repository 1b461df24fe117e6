// The socket side of operations: reauth()/rehandshake()/keyUpdate() queue behind each other in
// call order, and each running one has its timeout armed here (the engine has no timers).
import { nodeError } from './errors';
import type { Engine, Step } from './engine/engine';
import type { Operation, Operations } from './engine/operations';
import type { KeyUpdateOptions, ReauthOptions, RehandshakeOptions } from './reauth';
import type { DetailedPeerCertificate } from './verify';

export class OperationQueue {
  private waiting: Array<() => void> = [];
  /** Timers of running operations (made on first use: most sockets never run one). */
  private timers: Map<Operation, NodeJS.Timeout> | null = null;

  constructor(
    private readonly engine: () => Engine,
    private readonly apply: (step: Step) => void,
  ) {}

  /** Runs `start` when no other operation is in flight; settles with what the operation reports. */
  enqueue<T>(start: (ops: Operations, resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = (): void => {
        const e = this.engine();
        if (e.state !== 'secure' || e.inputEnded) {
          // After the peer's EOF no operation can complete: it needs the peer's answer.
          const err = e.state !== 'secure'
            ? nodeError('ERR_SOCKET_CLOSED', 'The TLS connection is not established or already closed')
            : nodeError('ECONNRESET', 'The peer closed the connection');
          reject(err);
          process.nextTick(() => this.next());
          return;
        }
        this.apply(e.act((ops) => start(ops, resolve, reject)));
        if (!e.ops.current) process.nextTick(() => this.next()); // settled at once
      };
      if (this.engine().ops.current || this.waiting.length > 0) this.waiting.push(run);
      else run();
    });
  }

  reauth(isServer: boolean, options: ReauthOptions): Promise<DetailedPeerCertificate | Record<string, never>> {
    if (!isServer) {
      return Promise.reject(nodeError('ERR_TLS_INVALID_STATE', 'reauth() is for servers; clients answer with the reauthRequest event'));
    }
    return this.enqueue((ops, resolve, reject) => ops.startReauth(options.require === true, options.timeout, resolve as (v: unknown) => void, reject));
  }

  rehandshake(options: RehandshakeOptions, node?: { requestCert?: boolean; rejectUnauthorized?: boolean }): Promise<void> {
    return this.enqueue<void>((ops, resolve, reject) => ops.startRehandshake(options.timeout, resolve as (v: unknown) => void, reject, node));
  }

  /** Node's renegotiate() once its arguments were checked: false under TLS 1.3, as Node's. */
  renegotiate(options: { rejectUnauthorized?: boolean; requestCert?: boolean }, callback?: (err: Error | null) => void): boolean {
    if (this.engine().info?.protocol === 'TLS1.3') {
      const err = nodeError('ERR_SSL_WRONG_SSL_VERSION', 'error:0A00010A:SSL routines::wrong ssl version');
      if (callback) process.nextTick(callback, err);
      return false;
    }
    this.rehandshake({}, { requestCert: options?.requestCert, rejectUnauthorized: options?.rejectUnauthorized }).then(
      () => callback?.(null),
      (err: Error) => callback?.(err),
    );
    return true;
  }

  keyUpdate(options: KeyUpdateOptions, protocol: string | null): Promise<void> {
    const e = this.engine();
    if (e.state !== 'secure') return Promise.reject(nodeError('ERR_SOCKET_CLOSED', 'The TLS connection is not established'));
    if (e.info?.protocol !== 'TLS1.3') {
      return Promise.reject(nodeError('ERR_TLS_KEY_UPDATE_UNSUPPORTED', `Key update needs TLS 1.3 (this connection is ${protocol})`));
    }
    return this.enqueue<void>((ops, resolve, reject) => ops.startKeyUpdate(options.requestPeer === true, resolve as (v: unknown) => void, reject));
  }

  /** The next queued operation, once none is in flight. */
  next(): void {
    if (this.engine().ops.current) return;
    this.waiting.shift()?.();
  }

  started(op: Operation): void {
    if (!op.timeout || op.timeout <= 0) return;
    const timer = setTimeout(() => {
      this.timers?.delete(op);
      this.apply(this.engine().act((ops) => ops.timeout(op)));
    }, op.timeout);
    (this.timers ??= new Map()).set(op, timer);
  }

  ended(op: Operation): void {
    const t = this.timers?.get(op);
    if (t) clearTimeout(t);
    this.timers?.delete(op);
    process.nextTick(() => this.next());
  }

  /** The connection closed: whatever waits is rejected (each run sees the closed engine). */
  close(err: () => Error): void {
    for (const t of this.timers?.values() ?? []) clearTimeout(t);
    this.timers = null;
    this.engine().ops.abort(err);
    const queued = this.waiting;
    this.waiting = [];
    for (const run of queued) run();
  }
}
