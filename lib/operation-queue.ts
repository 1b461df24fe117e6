// The socket side of operations: reauth()/rehandshake()/keyUpdate() queue behind each other in
// call order, and each running one has its timeout armed here (the engine has no timers).
import { nodeError } from './errors';
import type { Engine, Step } from './engine/engine';
import type { Operation, Operations } from './engine/operations';

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
  close(err: Error): void {
    for (const t of this.timers?.values() ?? []) clearTimeout(t);
    this.timers = null;
    this.engine().ops.abort(err);
    const queued = this.waiting;
    this.waiting = [];
    for (const run of queued) run();
  }
}
