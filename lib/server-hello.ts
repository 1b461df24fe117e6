// The server's ClientHello pipeline: size check → resumeSession lookup → SNICallback →
// OCSPRequest → the engine goes on (with another context: a fresh session replaying the
// ClientHello). It talks to the Server through a narrow hooks interface, and holds the transport
// while it waits. A ClientHello may come in any number of records of any size.
import { X509Certificate } from 'crypto';
import { TLSError, nodeError } from './errors';
import { ALERT_LEVEL, E } from './constants';
import { codedError } from './validate';
import { SecureContext as SecureContextClass } from './secure-context';
import type { SecureContext, SecureContextLike } from './secure-context';
import { ClientHelloReader, sessionIdToLookUp } from './client-hello';
import type { Engine, Step } from './engine/engine';

/** Node's SNICallback: calls back with the context for the client's SNI name (null/undefined: the default). */
export type SNICallback = (servername: string, cb: (err: Error | null, ctx?: SecureContextLike | null) => void) => void;
/** Node's ALPNCallback: picks one of the client's protocols (undefined: none, the handshake fails). */
export type ALPNCallback = (arg: {
  /** The client's SNI name. */
  servername: string;
  /** The protocols the client offers. */
  protocols: string[];
}) => string | undefined;

/** What the pipeline needs of the Server. */
export interface HelloHooks {
  listens(event: 'resumeSession' | 'OCSPRequest'): boolean;
  resumeSession(id: Buffer, cb: (err: Error | null, data?: Buffer | null) => void): void;
  ocspRequest(cert: Buffer | null, issuer: Buffer | null, cb: (err: Error | null, response?: Buffer | null) => void): void;
}

/** What the pipeline needs of its socket. */
export interface HelloHost {
  readonly engine: Engine;
  apply(step: Step): void;
  fail(err: Error): void;
  /** Stop / restart reading the transport while the pipeline waits. */
  holdTransport(hold: boolean): void;
  servername: string | false | null;
}

/** The certificate in `trusted` that issued `leaf` (DER), if any. */
function findIssuer(leaf: Buffer | undefined, trusted: readonly Buffer[]): Buffer | undefined {
  if (!leaf) return undefined;
  const cert = new X509Certificate(leaf);
  return trusted.find((t) => cert.checkIssued(new X509Certificate(t)));
}

export class HelloPipeline {
  /** 'pending': ClientHello bytes are held until the resumeSession lookup answers. */
  private lookup: 'pending' | 'waiting' | 'done';
  /** The raw chunks held while the ClientHello is incomplete or looked up (its records, as sent). */
  private preHello: Buffer[] = [];
  /** Reads the ClientHello as it arrives, until its end (then null). */
  private reader: ClientHelloReader | null;
  private waiting = false;
  /** The ClientHello asked for OCSP stapling (status_request). */
  private statusRequested = false;

  constructor(
    private readonly host: HelloHost,
    private readonly hooks: HelloHooks | undefined,
    private readonly sni: SNICallback | undefined,
    maxHandshakeSize: number,
    private readonly alpnCallback?: ALPNCallback,
  ) {
    this.lookup = hooks?.listens('resumeSession') ? 'pending' : 'done';
    this.reader = new ClientHelloReader(maxHandshakeSize, this.lookup === 'pending');
  }

  /** Whether the ClientHello should pause in GnuTLS (for SNICallback or OCSPRequest). */
  get holdsHello(): boolean {
    return this.sni !== undefined || this.alpnCallback !== undefined || (this.hooks?.listens('OCSPRequest') ?? false);
  }

  /**
   * Sees every chunk until the ClientHello is complete, and takes it while the session lookup
   * runs; false: hand it to the engine. A ClientHello larger than maxHandshakeSize ends the
   * connection as soon as its header says so.
   */
  intercept(chunk: Buffer): boolean {
    const verdict = this.reader?.push(chunk);
    if (verdict) this.reader = null;
    if (verdict?.t === 'tooLarge') {
      this.preHello = [];
      const { engine } = this.host;
      this.host.apply(engine.refuse(E.HANDSHAKE_TOO_LARGE, `the ClientHello (${verdict.size} bytes) is larger than maxHandshakeSize`));
      return true;
    }
    if (this.lookup === 'done') return false;
    this.preHello.push(chunk);
    if (this.lookup !== 'pending' || !verdict) return true; // looked up, or not complete yet
    const id = verdict.t === 'hello' && verdict.body ? sessionIdToLookUp(verdict.body) : null;
    if (id === null || !this.hooks) this.release();
    else this.resumeSession(id);
    return true;
  }

  private resumeSession(id: Buffer): void {
    if (!this.hooks) return;
    this.lookup = 'waiting';
    this.hold(true);
    let called = false;
    this.hooks.resumeSession(id, (err, data) => {
      if (called || this.host.engine.closed) return;
      called = true;
      if (err) {
        this.host.fail(new TLSError(err.message, { code: 'ERR_TLS_RESUME_SESSION', cause: err }));
        return;
      }
      if (data) this.host.engine.setResumeData(id, Buffer.from(data));
      this.release();
    });
  }

  private release(): void {
    this.lookup = 'done';
    const held = this.preHello;
    this.preHello = [];
    this.hold(false);
    for (const chunk of held) {
      if (this.host.engine.closed) return;
      this.host.apply(this.host.engine.receive(chunk));
    }
  }

  private hold(on: boolean): void {
    if (this.waiting === on) return;
    this.waiting = on;
    this.host.holdTransport(on);
  }

  /** The engine paused after the ClientHello: SNICallback, then OCSPRequest, then go on. */
  clientHello(): void {
    const engine = this.host.engine;
    const { serverName: name, statusRequested } = engine.session.info();
    this.host.servername = name ?? false;
    this.statusRequested = statusRequested;
    const cb = this.sni;
    if (!cb) {
      this.ocspRequest(engine.ctx);
      return;
    }
    this.hold(true);
    let called = false;
    cb(name ?? '', (err, ctx) => {
      if (called || engine.state !== 'hello') return;
      called = true;
      if (err) {
        this.host.fail(new TLSError(err.message, { code: 'ERR_TLS_SNI_CALLBACK', cause: err }));
        return;
      }
      const chosen = sniContext(ctx);
      if (chosen instanceof Error) this.host.fail(chosen);
      else this.ocspRequest(chosen ?? engine.ctx);
    });
  }

  private ocspRequest(ctx: SecureContext): void {
    const engine = this.host.engine;
    const hooks = this.hooks;
    if (!hooks || !hooks.listens('OCSPRequest') || !this.statusRequested) {
      this.proceed(ctx, null);
      return;
    }
    const chain = ctx.ownChain();
    const issuer = chain[1] ?? findIssuer(chain[0], ctx.trustedCertificates());
    this.hold(true);
    let called = false;
    hooks.ocspRequest(chain[0] ?? null, issuer ?? null, (err, response) => {
      if (called || engine.state !== 'hello') return;
      called = true;
      if (err) {
        this.host.fail(new TLSError(err.message, { code: 'ERR_TLS_OCSP_CALLBACK', cause: err }));
        return;
      }
      this.proceed(ctx, response ? Buffer.from(response) : null);
    });
  }

  private proceed(ctx: SecureContext, ocsp: Buffer | null): void {
    this.hold(false);
    if (!this.selectAlpn()) return;
    this.host.apply(this.host.engine.resumeHello(ctx, ocsp));
  }

  /** ALPNCallback, as Node runs it: only for a client that offered ALPN; false when it failed. */
  private selectAlpn(): boolean {
    const cb = this.alpnCallback;
    const engine = this.host.engine;
    const { clientAlpn: protocols, serverName } = engine.session.info();
    if (!cb || !protocols) return true;
    let chosen: unknown;
    try {
      // Without SNI Node passes false (typed string by @types/node, as here).
      chosen = cb({ servername: serverName ?? (false as unknown as string), protocols: [...protocols] });
    } catch (err) {
      this.host.fail(err as Error);
      return false;
    }
    if (chosen === undefined) {
      const err = nodeError('ERR_SSL_NO_APPLICATION_PROTOCOL', 'no application protocol: ALPNCallback chose none', { alert: 'no_application_protocol' });
      this.host.apply(engine.reject(ALERT_LEVEL.FATAL, NO_APPLICATION_PROTOCOL, err));
      return false;
    }
    if (typeof chosen !== 'string' || !protocols.includes(chosen)) {
      const msg = `ALPN callback returned a value (${String(chosen)}) that did not match any of the client's offered protocols (${protocols.join(', ')})`;
      this.host.fail(codedError(TypeError, 'ERR_TLS_ALPN_CALLBACK_INVALID_RESULT', msg));
      return false;
    }
    engine.selectAlpn(chosen);
    return true;
  }
}

/** TLS alert 120 (RFC 7301). */
const NO_APPLICATION_PROTOCOL = 120;

/**
 * What an SNICallback answered, as Node takes it: a SecureContext (or an object holding one in
 * `context`); a non-object means the default; any other object is Node's "Invalid SNI context".
 */
function sniContext(answer: unknown): SecureContext | undefined | Error {
  if (!answer) return undefined;
  const inner = (answer as { context?: unknown }).context;
  const ctx = inner instanceof SecureContextClass ? inner : answer;
  if (ctx instanceof SecureContextClass) return ctx;
  if (typeof ctx !== 'object' && typeof ctx !== 'function') return undefined;
  return new TypeError('Invalid SNI context'); // Node's has no code
}
