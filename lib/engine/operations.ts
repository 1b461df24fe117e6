// Operations on an established connection: reauth(), rehandshake(), keyUpdate() and the peer's
// requests (a TLS 1.2 HelloRequest or ClientHello, a TLS 1.3 CertificateRequest), as one queue
// with explicit phases. Part of the sans-IO engine: results go out as the engine's step items;
// timeouts are armed by the adapter on 'opStarted' and reported back through timeout().
import { ALERT, ALERT_LEVEL, E, SFLAGS } from '../constants';
import { TLSError, gnutlsError, nodeError } from '../errors';
import { sessionInfo } from '../native';
import { SecureContext } from '../secure-context';
import { DetailedPeerCertificate, alertFor, peerCertificate, verifyFailure } from '../verify';
import type { RenegotiationPolicy } from '../reauth';
import type { Engine } from './engine';
import { failureSituation } from './alerts';

export type OperationKind = 'reauth' | 'rehandshake' | 'answer';

/** An operation in flight. */
export interface Operation {
  kind: OperationKind;
  /** 'reauth': gnutls_reauth() runs; 'hello': HelloRequest sent, waiting for the ClientHello; 'handshake': re-handshake runs. */
  phase: 'reauth' | 'hello' | 'handshake';
  /** Started by the peer (no promise behind it): a failure is the connection's error. */
  internal?: boolean;
  require?: boolean;
  resolve: (v: unknown) => void;
  reject: (err: Error) => void;
  timeout?: number;
  timeoutCode?: string;
  restoreContext?: boolean;
  /** Node's renegotiate({ requestCert, rejectUnauthorized }): verify the client again after it. */
  verify?: { rejectUnauthorized: boolean };
  /**
   * recv() returned GNUTLS_E_REHANDSHAKE for the peer's ClientHello: GnuTLS holds that message,
   * so the handshake must run before any application record that followed it is read.
   */
  helloHeld?: boolean;
}

export interface OperationsConfig {
  renegotiation: RenegotiationPolicy;
  allowUnsafeRenegotiation: boolean;
  verifyClientOnce: boolean;
  rejectUnauthorized: boolean;
  autoReauth: boolean;
  /** The limits on client-initiated renegotiation in force now. */
  renegLimits(): { limit: number; windowS: number };
  /** Whether the application listens for a request event (otherwise it is answered here). */
  listens(event: 'rehandshakeRequest' | 'reauthRequest'): boolean;
}

const RECORD_APPLICATION_DATA = 23;
/** Node's limits for client-initiated renegotiation (tls.CLIENT_RENEG_LIMIT / _WINDOW): defaults. */
export const RENEG_LIMIT = 3;
export const RENEG_WINDOW_S = 600;

const declineContexts = new WeakMap<SecureContext, SecureContext>();
/** A context like `ctx` but with no certificate: answering a re-auth request with it declines. */
function declineContext(ctx: SecureContext): SecureContext {
  let d = declineContexts.get(ctx);
  if (!d) {
    const trusted = ctx.trustedCertificates();
    d = new SecureContext({ priority: ctx.priority, ca: trusted.length ? [...trusted] : undefined });
    declineContexts.set(ctx, d);
  }
  return d;
}

export class Operations {
  current: Operation | null = null;
  renegotiationDisabled = false;
  config: OperationsConfig = {
    renegotiation: 'accept',
    allowUnsafeRenegotiation: false,
    verifyClientOnce: false,
    rejectUnauthorized: true,
    autoReauth: true,
    renegLimits: () => ({ limit: RENEG_LIMIT, windowS: RENEG_WINDOW_S }),
    listens: () => false,
  };
  /** Node's count: client renegotiations since a pause of a whole window, and the last one's time. */
  private handshakes = 0;
  private lastHandshake = Date.now();
  private refusedHello = false;
  /** Our HelloRequest timed out: a ClientHello arriving later answers it (not client-initiated). */
  private staleHelloRequest = false;

  constructor(private readonly e: Engine) {}

  /** True while an operation is running GnuTLS (records are read by it, not by recv). */
  get running(): boolean {
    return this.current !== null && this.current.phase !== 'hello';
  }

  /**
   * Writes wait while a TLS 1.2 re-handshake runs, from our HelloRequest on: an OpenSSL client
   * rejects application data that arrives after it sent its ClientHello ("unexpected record"),
   * and OpenSSL servers (Node's) hold their writes the same way.
   */
  get holdsWrites(): boolean {
    return this.current !== null && this.current.phase !== 'reauth';
  }

  private begin(op: Operation): void {
    this.current = op;
    this.e.item({ t: 'opStarted', op });
  }

  private ended(op: Operation): void {
    if (this.current === op) this.current = null;
    if (op.restoreContext && !this.e.closed) this.e.session.setContext(this.e.ctx.context);
    this.e.item({ t: 'opEnded', op });
  }

  /** A failed operation: the promise rejects and the connection closes (the peer's: its error). */
  private failed(op: Operation, err: Error): void {
    this.ended(op);
    if (op.internal) {
      this.e.failWith(err);
      return;
    }
    op.reject(err);
    this.e.failWith(null);
  }

  /** Drives the running operation as far as the input allows. */
  step(): void {
    const s = this.e.session;
    while (this.current && this.current.phase !== 'hello' && !this.e.closed) {
      const op = this.current;
      const code = op.phase === 'reauth' ? s.reauth() : this.renegotiationStep();
      if (this.e.closed) return;
      this.e.collect();
      if (code === E.SUCCESS) {
        this.succeeded(op);
        return;
      }
      if (code === E.AGAIN || code === E.INTERRUPTED) return;
      if (code === E.GOT_APPLICATION_DATA) {
        this.e.readBuffered();
        continue;
      }
      if (code === E.WARNING_ALERT_RECEIVED) {
        if (s.lastAlert() === ALERT.NO_RENEGOTIATION) {
          this.ended(op);
          op.reject(refused('The peer refused to renegotiate (no_renegotiation)'));
          return;
        }
        continue;
      }
      if (code !== E.FATAL_ALERT_RECEIVED) s.sendAppropriateAlert(code);
      this.e.collect();
      this.failed(op, gnutlsError(code, s.lastAlert(), op.kind === 'rehandshake' ? 're-handshake failed' : 're-authentication failed', failureSituation(this.e, code)));
      return;
    }
  }

  /**
   * One gnutls_handshake() of a TLS 1.2 re-handshake. GnuTLS restarts a re-handshake from its
   * first message when gnutls_handshake() meets an application-data record
   * (GNUTLS_E_GOT_APPLICATION_DATA resets its state), so application records that come before the
   * next handshake record are read and delivered first; TLS 1.2 record types are visible.
   */
  private renegotiationStep(): number {
    const s = this.e.session;
    const op = this.current!;
    if (op.helloHeld) {
      op.helloHeld = false;
      const code = s.handshake(true); // the held ClientHello first
      if (code !== E.AGAIN || this.e.closed) return code;
    }
    for (;;) {
      while (s.nextRecordType() === RECORD_APPLICATION_DATA) {
        const r = s.recv(1 << 20, 2);
        if (typeof r !== 'number') {
          this.e.item({ t: 'data', buf: r });
          continue;
        }
        if (r === E.AGAIN) return E.AGAIN; // the rest of that record has not arrived yet
        return r === 0 ? E.PREMATURE_TERMINATION : r;
      }
      const code = s.handshake(true); // stops before any application record
      if (this.e.closed || code !== E.AGAIN || s.nextRecordType() !== RECORD_APPLICATION_DATA) return code;
    }
  }

  private succeeded(op: Operation): void {
    const e = this.e;
    const handshook = op.phase === 'handshake';
    this.ended(op);
    e.info = sessionInfo(e.session);
    if (handshook) e.item({ t: 'rehandshaken' });
    if (op.verify && !this.verifyAgain(op.verify.rejectUnauthorized, op)) return;
    if (op.kind !== 'reauth') {
      op.resolve(undefined);
      if (op.kind === 'answer') e.item({ t: 'reauthAnswered' });
      else if (op.internal) e.item({ t: 'renegotiated' });
      return;
    }
    if (!this.verifyAgain(this.config.rejectUnauthorized, op)) return;
    const chain = e.session.peerCertificates();
    op.resolve(chain.length === 0 ? {} : (peerCertificate(chain, true, e.ctx.trustedCertificates()) as DetailedPeerCertificate));
  }

  /**
   * Server: the client's certificate checked again after a re-authentication; `authorized` and
   * `authorizationError` follow (no certificate: Node's UNABLE_TO_GET_ISSUER_CERT). False when
   * the failure closed the connection.
   */
  private verifyAgain(rejectUnauthorized: boolean, op: Operation): boolean {
    const e = this.e;
    const chain = e.session.peerCertificates();
    if (chain.length === 0) {
      e.verified(false, 'UNABLE_TO_GET_ISSUER_CERT');
      return true;
    }
    const failure = verifyFailure(e.session.verifyPeer(), chain);
    e.verified(failure === null, failure?.code ?? null);
    if (!failure || !rejectUnauthorized) return true;
    e.session.sendAlert(ALERT_LEVEL.FATAL, alertFor(failure.code));
    e.collect();
    op.reject(new TLSError(failure.message, { code: failure.code }));
    e.failWith(null);
    return false;
  }

  /** The adapter's timer for `op` fired. */
  timeout(op: Operation): void {
    if (this.current !== op) return;
    const waitingForHello = op.phase === 'hello';
    if (waitingForHello) this.staleHelloRequest = true;
    this.ended(op);
    op.reject(nodeError(op.timeoutCode ?? 'ERR_TLS_TIMEOUT', `The peer did not complete the ${op.kind} within ${op.timeout} ms`));
    if (!waitingForHello) this.e.failWith(null);
  }

  /** Why a renegotiation may not run (no RFC 5746 safe renegotiation), or null. */
  private unsafe(): Error | null {
    if (sessionInfo(this.e.session).safeRenegotiation || this.config.allowUnsafeRenegotiation) return null;
    return nodeError('ERR_TLS_UNSAFE_RENEGOTIATION', 'Safe renegotiation (RFC 5746) is not in place; set allowUnsafeRenegotiation to renegotiate anyway');
  }

  // ---- what the application starts -------------------------------------------------------------

  startReauth(require: boolean, timeout: number | undefined, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    const e = this.e;
    const s = e.session;
    const op: Operation = { kind: 'reauth', phase: 'reauth', require, resolve, reject, timeout, timeoutCode: 'ERR_TLS_REAUTH_TIMEOUT' };
    if (e.info?.protocol === 'TLS1.3') {
      if (!(sessionInfo(s).flags & SFLAGS.POST_HANDSHAKE_AUTH)) {
        reject(nodeError('ERR_TLS_PHA_UNSUPPORTED', 'The client did not advertise post-handshake authentication'));
        return;
      }
      s.setCertRequest(require ? 2 : 1);
      this.begin(op);
      return;
    }
    const unsafe = this.unsafe();
    if (unsafe) {
      reject(unsafe);
      return;
    }
    s.setCertRequest(require ? 2 : 1);
    if (this.sendHelloRequest(op)) this.begin(op);
  }

  startRehandshake(
    timeout: number | undefined,
    resolve: (v: unknown) => void,
    reject: (e: Error) => void,
    node?: { requestCert?: boolean; rejectUnauthorized?: boolean },
  ): void {
    const e = this.e;
    if (e.info?.protocol === 'TLS1.3') {
      this.startKeyUpdate(true, resolve, reject);
      return;
    }
    const unsafe = this.unsafe();
    if (unsafe) {
      reject(unsafe);
      return;
    }
    const op: Operation = { kind: 'rehandshake', phase: 'handshake', resolve, reject, timeout, timeoutCode: 'ERR_TLS_RENEGOTIATION_TIMEOUT' };
    if (e.isServer) {
      if (node?.requestCert) {
        // As Node's renegotiate(): ask for the certificate and verify it again afterwards.
        const rejectUnauthorized = node.rejectUnauthorized ?? this.config.rejectUnauthorized;
        e.session.setCertRequest(rejectUnauthorized ? 2 : 1);
        op.verify = { rejectUnauthorized };
      } else if (this.config.verifyClientOnce) e.session.setCertRequest(0);
      if (!this.sendHelloRequest(op)) return;
    }
    this.begin(op);
  }

  /**
   * Settles once our KeyUpdate is sent. The peer's answering KeyUpdate is not awaited: a peer may
   * send it only before its next application data (RFC 8446 4.6.3), so an idle peer never would.
   */
  startKeyUpdate(requestPeer: boolean, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    const s = this.e.session;
    const code = s.keyUpdate(requestPeer);
    this.e.collect();
    if (code < 0) reject(gnutlsError(code, s.lastAlert(), 'key update'));
    else resolve(undefined);
  }

  /** Server, TLS 1.2: HelloRequest; the operation then waits for the client's handshake. */
  private sendHelloRequest(op: Operation): boolean {
    const s = this.e.session;
    s.refuseResumption(); // a full re-handshake, never an abbreviated resumption
    const code = s.rehandshake();
    this.e.collect();
    if (code < 0) {
      op.reject(gnutlsError(code, s.lastAlert(), 'rehandshake'));
      return false;
    }
    this.staleHelloRequest = false;
    op.phase = 'hello';
    return true;
  }

  // ---- what the peer starts --------------------------------------------------------------------

  warningAlert(alert: number): void {
    const op = this.current;
    if (op && op.phase === 'hello' && alert === ALERT.NO_RENEGOTIATION) {
      this.ended(op);
      op.reject(refused('The client refused to renegotiate (no_renegotiation)'));
    }
  }

  /** GnuTLS keeps a refused ClientHello buffered and reports it once as unexpected. */
  consumeRefusedHello(): boolean {
    if (!this.refusedHello) return false;
    this.refusedHello = false;
    return true;
  }

  /** Server: the client sent a ClientHello on an established TLS 1.2 connection. */
  peerRenegotiation(): void {
    const e = this.e;
    const op = this.current;
    if (op && op.phase === 'hello') {
      op.phase = 'handshake'; // the answer to our HelloRequest
      op.helloHeld = true;
      return;
    }
    if (this.staleHelloRequest) {
      // The late answer to a HelloRequest whose operation timed out.
      this.staleHelloRequest = false;
      this.acceptPeerHandshake();
      return;
    }
    if (this.renegotiationDisabled) {
      e.failWith(nodeError('ERR_TLS_RENEGOTIATION_DISABLED', 'TLS session renegotiation disabled for this socket'));
      return;
    }
    // As Node counts: the client's renegotiations since the last pause of a whole window may be
    // at most CLIENT_RENEG_LIMIT (read when it happens: a program may set it).
    const now = Date.now();
    const { limit, windowS } = this.config.renegLimits();
    this.handshakes = now - this.lastHandshake >= windowS * 1000 ? 1 : this.handshakes + 1;
    this.lastHandshake = now;
    if (this.handshakes > limit) {
      // A fatal alert first: a client waiting for our answer to its ClientHello learns the
      // connection is over (OpenSSL's client does not notice a bare close then).
      e.session.sendAlert(ALERT_LEVEL.FATAL, ALERT.HANDSHAKE_FAILURE);
      e.failWith(nodeError('ERR_TLS_SESSION_ATTACK', 'TLS session renegotiation attack detected'));
      return;
    }
    const policy = this.config.renegotiation;
    if (policy === 'accept' && !this.unsafe()) {
      this.acceptPeerHandshake();
      return;
    }
    if (policy === 'close') {
      e.failWith(nodeError('ERR_TLS_RENEGOTIATION_DISABLED', 'Client-initiated renegotiation refused; closing'));
      return;
    }
    e.session.sendAlert(ALERT_LEVEL.WARNING, ALERT.NO_RENEGOTIATION);
    this.refusedHello = true;
  }

  private acceptPeerHandshake(): void {
    this.e.session.refuseResumption();
    this.begin({ kind: 'rehandshake', phase: 'handshake', helloHeld: true, internal: true, resolve: () => {}, reject: () => {} });
  }

  /** Client: the server sent a HelloRequest (TLS 1.2). Reading goes on while it is unanswered. */
  helloRequest(): void {
    const safe = sessionInfo(this.e.session).safeRenegotiation;
    if (this.config.listens('rehandshakeRequest')) this.e.item({ t: 'helloRequest', safe });
    else this.answerHelloRequest(safe || this.config.allowUnsafeRenegotiation);
  }

  answerHelloRequest(accept: boolean): void {
    if (this.e.state !== 'secure') return;
    if (accept && !this.current) {
      this.begin({ kind: 'rehandshake', phase: 'handshake', internal: true, resolve: () => {}, reject: () => {} });
    } else {
      this.e.session.sendAlert(ALERT_LEVEL.WARNING, ALERT.NO_RENEGOTIATION);
    }
  }

  /** Client: the server sent a TLS 1.3 CertificateRequest after the handshake. */
  reauthRequest(): void {
    if (this.config.listens('reauthRequest')) {
      this.e.awaitingAnswer = true;
      this.e.item({ t: 'reauthRequest' });
    } else {
      this.answerReauth(this.config.autoReauth ? undefined : null);
    }
  }

  /** undefined: the configured certificate; null: none; a context: its certificate. */
  answerReauth(ctx: SecureContext | null | undefined): void {
    const e = this.e;
    e.awaitingAnswer = false;
    if (e.state !== 'secure') return;
    let restore = false;
    if (ctx === null) {
      e.session.setContext(declineContext(e.ctx).context);
      restore = true;
    } else if (ctx) {
      e.session.setContext(ctx.context);
      restore = true;
    }
    this.begin({ kind: 'answer', phase: 'reauth', internal: true, restoreContext: restore, resolve: () => {}, reject: () => {} });
  }

  /** The transport ended while an operation waited for the peer: it can never complete. */
  peerGone(): void {
    const op = this.current;
    if (!op) return;
    this.ended(op);
    const err = nodeError('ECONNRESET', `The peer closed the connection during the ${op.kind === 'answer' ? 're-authentication' : op.kind}`);
    if (op.internal) this.e.failWith(err);
    else op.reject(err);
  }

  /** Rejects what is in flight (the connection closed). */
  abort(err: () => Error): void {
    const op = this.current;
    this.current = null;
    if (op && !op.internal) op.reject(err());
  }
}

function refused(message: string): TLSError {
  return nodeError('ERR_TLS_RENEGOTIATION_REFUSED', message, { alert: 'no_renegotiation', alertCode: ALERT.NO_RENEGOTIATION });
}
