// Engine: the sans-IO TLS engine. It owns the native GnuTLS session and turns input (ciphertext,
// writes, answers to requests) into one Step: ciphertext to send and an ordered list of items
// (plaintext, events, requests, the peer's close_notify, a fatal error). It never touches a
// socket, a timer or an event emitter: the adapter (TLSSocket) runs user code only after a call
// into the engine returned, so no user callback runs while GnuTLS is on the stack (the one
// exception, Node's synchronous pskCallback, is guarded in native code: a close() from inside it
// takes effect when the native call returns).
import { sessionInfo } from '../native';
import type { NativeInfo, NativeSession } from '../native';
import { ALERT_LEVEL, E, EV } from '../constants';
import { failureAlert, failureSituation } from './alerts';
import { TLSError, gnutlsError } from '../errors';
import type { SecureContext } from '../secure-context';
import { SessionSpec, createSession } from './session-setup';
import { Operations } from './operations';
import { RecordHeaders, firstRecord } from './record-headers';
import type { Item, Step } from './step';

export type { Item, Step } from './step';

export type EngineState = 'new' | 'handshaking' | 'secure' | 'closed';

/** Plaintext handed out per native call, at most (several records at once). */
const MIN_READ_CHUNK = 256 * 1024;
/** Room for the plaintext of what GnuTLS may hold besides the fed bytes (one record and slack). */
const RECORD_SLACK = 16384 + 2048;
/** Input up to this much plaintext room goes through the scratch (then one exact-size copy). */
const SMALL_READ = 2 * RECORD_SLACK;
/** Decrypt scratch of this thread: never handed out, only copied from. */
let scratchBuf: Buffer | null = null;
function scratch(): Buffer {
  return (scratchBuf ??= Buffer.allocUnsafeSlow(SMALL_READ));
}

export class Engine {
  state: EngineState = 'new';
  info: NativeInfo | null = null;
  session: NativeSession;
  ctx: SecureContext;
  readonly isServer: boolean;
  readonly ops: Operations;
  /** The peer's close_notify was read. */
  peerClosed = false;
  /** The transport delivered its EOF: nothing more will arrive (set by the adapter). */
  inputEnded = false;
  /** Reading stopped by the reader (backpressure) or by a request waiting for its answer. */
  paused = false;
  awaitingAnswer = false;
  /** Set by a PSK callback that threw (reported as the handshake's error). */
  pskError: Error | null = null;
  private readonly st = new Int32Array(7);
  private readonly readChunk: number;
  private step: Step = { out: [], items: [] };
  /** The peer's record headers, until the handshake is done (they pick a failure's code). */
  records: RecordHeaders | null = new RecordHeaders();
  /** Set when a pass changed state so that another pass may make progress. */
  again = false;
  /**
   * The last flight of the handshake (a TLS 1.3 client's Finished, a TLS 1.2 server's): it goes
   * out only once the adapter accepted the peer (releaseFlight()), as OpenSSL's flight waits for
   * Node's verification; a rejected peer never gets it.
   */
  private heldFlight: Buffer[] | null = null;
  /** The first bytes of the peer's stream until its first record header can be judged. */
  private firstBytes: Buffer | null = Buffer.alloc(0);

  /** What new sessions are made with; kept only until the handshake is done (SNI may need one). */
  private spec: SessionSpec | null;

  constructor(
    spec: SessionSpec,
    ctx: SecureContext,
    readableHighWaterMark: number,
  ) {
    this.spec = spec;
    this.isServer = spec.isServer;
    this.ctx = ctx;
    this.readChunk = Math.max(MIN_READ_CHUNK, readableHighWaterMark);
    this.session = this.newSession(ctx);
    this.ops = new Operations(this);
  }

  private newSession(ctx: SecureContext): NativeSession {
    const s = createSession(this.spec!, ctx);
    s.setStateArray(this.st);
    return s;
  }

  // ---- results ---------------------------------------------------------------------------------

  /** Queues an item of the current step. */
  item(i: Item): void {
    this.step.items.push(i);
  }

  /** Collects what GnuTLS wrote (one Buffer per native output call). */
  collect(): void {
    if (this.state === 'closed' || this.st[2] === 0) return;
    const out = this.session.output();
    if (out) this.step.out.push(out);
  }

  /** Ciphertext written straight into a caller's buffer (see write()). */
  emitOut(buf: Buffer): void {
    this.step.out.push(buf);
  }

  private take(): Step {
    this.collect();
    const s = this.step;
    this.step = { out: [], items: [] };
    return s;
  }

  /**
   * A fatal error: unless the peer sent an alert, the one OpenSSL sends for the failure goes out
   * first (else the one GnuTLS maps `code` to).
   */
  fail(code: number, context?: string): void {
    if (this.state === 'closed') return;
    const s = this.session;
    const situation = failureSituation(this, code);
    const alert = failureAlert(this, code, situation);
    if (typeof alert === 'number') s.sendAlert(ALERT_LEVEL.FATAL, alert);
    else if (alert !== null && code !== E.FATAL_ALERT_RECEIVED) s.sendAppropriateAlert(code);
    this.failWith(gnutlsError(code, s.lastAlert(), context, situation));
  }

  /** fail() from outside a step: the alert for `code` and the error, as a step. */
  refuse(code: number, context: string): Step {
    this.fail(code, context);
    return this.take();
  }

  /** Ends the connection: what GnuTLS wrote goes out, then the error item (null: no error). */
  failWith(err: Error | null): void {
    this.collect();
    this.item({ t: 'error', err });
    // Stops all processing; the adapter destroys the socket (and the session) on the item.
    this.state = 'closed';
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Input bytes not yet decrypted (fed ciphertext and plaintext GnuTLS holds). */
  get queuedInput(): number {
    return this.state === 'closed' ? 0 : this.st[4];
  }

  /** Ciphertext GnuTLS wrote that the step has not collected (output()). */
  get pendingOutput(): number {
    return this.state === 'closed' ? 0 : this.st[2];
  }

  /** Fd fast path: ciphertext the descriptor has not taken yet. */
  get fdQueued(): number {
    return this.state === 'closed' ? 0 : this.st[5];
  }

  /** Fd fast path: the (negative) errno of a failed write, or 0. */
  get fdWriteError(): number {
    return this.state === 'closed' ? 0 : this.st[6];
  }

  /** Whether reading records may go on now (not paused, not waiting for an answer or an operation). */
  get canRead(): boolean {
    return this.state === 'secure' && !this.paused && !this.awaitingAnswer && !this.ops.running;
  }

  // ---- input -----------------------------------------------------------------------------------

  verified(authorized: boolean, error: string | null): void {
    this.item({ t: 'verified', authorized, error });
  }

  /** Runs `fn` (an operation starts, a request is answered), then GnuTLS as far as it can go. */
  act(fn: (ops: Operations) => void): Step {
    if (this.state === 'secure') {
      fn(this.ops);
      if ((this.state as EngineState) !== 'closed') this.run();
    }
    return this.take();
  }

  /** Starts the handshake (client: sends the ClientHello). */
  start(): Step {
    if (this.state === 'new') {
      this.state = 'handshaking';
      this.run();
    }
    return this.take();
  }

  /** Ciphertext from the transport (undefined: the fd fast path queued it natively). */
  receive(chunk: Buffer | undefined): Step {
    if (this.state === 'closed') return this.take();
    if (chunk && this.firstBytes && !this.firstRecordIsTls(chunk)) return this.take();
    if (this.state === 'secure' && this.canRead) {
      this.readRecords(chunk);
      this.runAgain();
    } else {
      if (chunk) {
        this.records?.see(chunk);
        this.session.feed(chunk);
      }
      if (this.state !== 'new') this.run();
    }
    return this.take();
  }

  /** A first record that does not say TLS fails with no alert, as OpenSSL does (see record-headers.ts). */
  private firstRecordIsTls(chunk: Buffer): boolean {
    const v = firstRecord(this.firstBytes!, chunk);
    this.firstBytes = v.t === 'wait' ? v.head : null;
    if (v.t !== 'notTls') return true;
    this.records?.see(v.header); // the error is Node's for that header (wrong version number, ...)
    const code = E.UNSUPPORTED_VERSION_PACKET;
    this.failWith(gnutlsError(code, 0, undefined, failureSituation(this, code)));
    return false;
  }

  /** Goes on after a pause (the reader wants more, a request was answered, an operation queued). */
  resume(): Step {
    if (this.state !== 'closed') this.run();
    return this.take();
  }

  private runAgain(): void {
    while (this.again && this.state !== 'closed') this.run();
  }

  /** Runs GnuTLS as far as the input allows: handshake, then an operation, then records. */
  private run(): void {
    do {
      this.again = false;
      if (this.state === 'handshaking') this.stepHandshake();
      if (this.state === 'secure' && this.ops.running) this.ops.step();
      if (this.canRead) this.readRecords(undefined);
    } while (this.again && this.state !== 'closed');
  }

  private stepHandshake(): void {
    const s = this.session;
    for (;;) {
      const code = s.handshake();
      if ((this.state as EngineState) === 'closed') return; // closed from a PSK callback
      if (code === E.SUCCESS) {
        this.handshakeDone();
        return;
      }
      if (code === E.AGAIN || code === E.INTERRUPTED) return;
      if (code === E.WARNING_ALERT_RECEIVED) continue;
      const pskError = this.pskError;
      if (pskError) {
        s.sendAppropriateAlert(code);
        const pskCode = (pskError as { code?: string }).code ?? 'ERR_TLS_PSK_CALLBACK';
        this.failWith(new TLSError(pskError.message, { code: pskCode, cause: pskError }));
        return;
      }
      this.fail(code, 'handshake failed');
      return;
    }
  }

  /**
   * Server, before GnuTLS has seen any of the ClientHello: the pipeline's choices for it (the
   * context an SNICallback picked, the protocol an ALPNCallback picked, the OCSP response to staple).
   * Another context or protocol means a fresh session made with it; nothing was fed to the first.
   */
  prepareHello(ctx: SecureContext, alpn: string | null, ocspResponse: Buffer | null): void {
    if (this.state === 'closed' || this.state === 'secure' || !this.spec) return;
    try {
      if (ctx !== this.ctx || alpn !== null) {
        if (alpn !== null) this.spec.alpn = [alpn];
        const fresh = this.newSession(ctx);
        this.session.close();
        this.session = fresh;
        this.ctx = ctx;
      }
      if (ocspResponse) this.session.setOcspResponse(ocspResponse);
    } catch (e) {
      this.failWith(e as Error);
    }
  }

  /** Server: the session the application found for the ClientHello's session ID (kept for a replay). */
  setResumeData(id: Buffer, data: Buffer): void {
    if (this.state === 'closed') return;
    this.session.setResumeData(id, data);
    if (this.spec) this.spec.resumeData = () => [id, data];
  }

  private handshakeDone(): void {
    this.state = 'secure';
    this.records = null;
    this.spec = null;
    this.info = sessionInfo(this.session);
    this.collect();
    this.heldFlight = this.step.out;
    this.step.out = [];
    this.drainKeylog();
    this.item({ t: 'handshake' });
  }

  /** The held last flight of the handshake (the peer was accepted). */
  releaseFlight(): Buffer[] {
    const out = this.heldFlight ?? [];
    this.heldFlight = null;
    return out;
  }

  /** Decrypts records into plaintext items, feeding `chunk` first (one native call per chunk). */
  readRecords(chunk: Buffer | undefined): void {
    const s = this.session;
    let budget = this.readChunk;
    while (this.canRead && budget > 0) {
      // Small input (a record or so) is decrypted into the thread's scratch and copied out at its
      // exact size; larger input straight into a buffer of its own, handed out as it is. Either
      // way a chunk's ArrayBuffer holds this connection's plaintext only.
      const expected = (chunk ? chunk.length : this.st[4]) + RECORD_SLACK;
      const small = expected <= SMALL_READ;
      const cap = small ? SMALL_READ : Math.min(this.readChunk, expected);
      const buf = small ? scratch() : Buffer.allocUnsafeSlow(cap);
      const n = s.receive(chunk, buf, 0, cap);
      chunk = undefined;
      if ((this.state as EngineState) === 'closed') return;
      const code = this.st[0];
      if (n > 0) {
        budget -= n;
        if (!small && n * 2 >= cap) {
          this.item({ t: 'data', buf: buf.subarray(0, n) });
        } else {
          const exact = Buffer.allocUnsafeSlow(n);
          buf.copy(exact, 0, 0, n);
          this.item({ t: 'data', buf: exact });
        }
      }
      if (code === E.AGAIN) {
        if (n === cap && this.st[4] > 0) continue;
        break;
      }
      if (!this.record(code)) break;
    }
    this.afterRecords();
  }

  /** A code that stopped reading: false when reading must stop for now. */
  private record(code: number): boolean {
    const s = this.session;
    if (code === 0) {
      this.peerClosed = true;
      this.item({ t: 'end' });
      this.paused = true; // nothing more to read
      return false;
    }
    if (code === E.WARNING_ALERT_RECEIVED) {
      this.ops.warningAlert(s.lastAlert());
      return true;
    }
    if (code === E.INTERRUPTED) return true;
    if (code === E.UNEXPECTED_PACKET && this.ops.consumeRefusedHello()) return true;
    if (code === E.REHANDSHAKE || code === E.REAUTH_REQUEST) {
      if (code === E.REAUTH_REQUEST) this.ops.reauthRequest();
      else if (this.isServer) this.ops.peerRenegotiation();
      else this.ops.helloRequest();
      if (!this.canRead) {
        this.again = true; // let run() drive the operation that just started
        return false;
      }
      return true;
    }
    this.fail(code);
    return false;
  }

  private afterRecords(): void {
    if (this.state === 'closed') return;
    const ev = this.st[1];
    if (ev !== 0) {
      this.st[1] = 0;
      if (ev & EV.TICKET_RECEIVED && !this.isServer) {
        // One 'session' per ticket, as Node emits them (GnuTLS keeps the latest ticket's data).
        for (let n = this.session.takeTicketCount(); n > 0; n--) this.item({ t: 'ticket' });
      }
      if (ev & EV.KEY_UPDATE_RECEIVED) this.item({ t: 'keyUpdate' });
    }
    this.drainKeylog();
  }

  /** Application data GnuTLS decrypted during a handshake/re-auth (GNUTLS_E_GOT_APPLICATION_DATA). */
  readBuffered(): void {
    for (;;) {
      const r = this.session.recv(this.readChunk, 1);
      if (typeof r === 'number') return;
      this.item({ t: 'data', buf: r });
    }
  }

  drainKeylog(): void {
    if (this.state === 'closed' || this.st[3] === 0) return;
    const lines = this.session.takeKeylog();
    if (lines) for (const line of lines) this.item({ t: 'keylog', line });
  }

  /** Turns keylog lines on (a 'keylog' listener was added). */
  enableKeylog(): void {
    if (this.state !== 'closed') this.session.enableKeylog(true);
  }

  // ---- output ----------------------------------------------------------------------------------

  /** Whether writes must wait (handshake not done, or a TLS 1.2 re-handshake in progress). */
  get holdsWrites(): boolean {
    return this.state !== 'secure' || this.ops.holdsWrites;
  }

  /**
   * Encrypts `data`; ciphertext goes straight into `slab[offset..]` as far as it fits (that view
   * is in the step's `out`, then whatever output() holds), or with no slab to the attached
   * descriptor. Returns the GnuTLS code (< 0) or 0.
   */
  write(data: Buffer | Buffer[], slab: Buffer | null, offset: number): { step: Step; code: number; used: number } {
    if (this.state !== 'secure') return { step: this.take(), code: E.INVALID_SESSION, used: 0 };
    if (!slab) {
      // Fd fast path: the ciphertext went to the descriptor (or waits for it natively).
      const r = this.session.send(data);
      return { step: this.take(), code: r < 0 ? r : 0, used: 0 };
    }
    const n = this.session.send(data, slab, offset);
    if (n > 0) this.emitOut(slab.subarray(offset, offset + n));
    return { step: this.take(), code: n < 0 ? n : 0, used: n > 0 ? n : 0 };
  }

  lastAlert(): number {
    return this.state === 'closed' ? 0 : this.session.lastAlert();
  }

  /** Our close_notify. */
  shutdown(): Step {
    if (this.state === 'secure') {
      // An end() from a callback of the handshake's end: our last flight goes out first.
      this.step.out.push(...this.releaseFlight());
      this.session.bye();
    }
    return this.take();
  }

  /**
   * Sends an alert and fails with `err` (verification refused the peer). A held last flight goes
   * first: the alert is encrypted as what follows our Finished.
   */
  reject(level: number, alert: number, err: Error): Step {
    if (this.state !== 'closed') {
      this.step.out.push(...this.releaseFlight());
      this.session.sendAlert(level, alert);
      this.failWith(err);
    }
    return this.take();
  }

  /** Frees the native session (deferred by native code while a GnuTLS call is on its stack). */
  destroy(): void {
    this.state = 'closed';
    this.heldFlight = null;
    this.session.close();
  }
}
