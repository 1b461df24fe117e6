// The server's ClientHello pipeline: size check → resumeSession lookup → SNICallback →
// ALPNCallback → SNICallback → OCSPRequest → the engine gets the ClientHello (with another context or protocol:
// a fresh session made with it). The callbacks run on the ClientHello as read here, before GnuTLS
// has seen any of it, so a HelloRetryRequest cannot bypass them. It talks to the Server through a
// narrow hooks interface, and holds the transport while it waits. A ClientHello may come in any
// number of records of any size.
import { X509Certificate } from 'crypto';
import { TLSError, nodeError } from './errors';
import { ALERT_LEVEL, E } from './constants';
import { codedError } from './validate';
import { SecureContext as SecureContextClass } from './secure-context';
import type { SecureContext, SecureContextLike } from './secure-context';
import { ClientHelloReader, HelloFacts, helloFacts, sessionIdToLookUp } from './client-hello';
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
  /** Whether the ClientHello is held for the callbacks; false once it went to the engine. */
  private holding: boolean;
  /** The raw chunks held while the ClientHello is incomplete or its callbacks run (as sent). */
  private preHello: Buffer[] = [];
  /** Reads the ClientHello as it arrives, until its end (then null). */
  private reader: ClientHelloReader | null;
  private waiting = false;
  /** The context chosen for the ClientHello (an SNICallback's answer, else the socket's). */
  private ctx: SecureContext | null = null;
  /** The protocol an ALPNCallback chose (null: none asked). */
  private alpn: string | null = null;

  constructor(
    private readonly host: HelloHost,
    private readonly hooks: HelloHooks | undefined,
    private readonly sni: SNICallback | undefined,
    maxHandshakeSize: number,
    private readonly alpnCallback?: ALPNCallback,
  ) {
    this.holding = (hooks?.listens('resumeSession') ?? false) || sni !== undefined || alpnCallback !== undefined || (hooks?.listens('OCSPRequest') ?? false);
    this.reader = new ClientHelloReader(maxHandshakeSize, this.holding);
  }

  /**
   * Sees every chunk until the ClientHello is complete, and holds it while the callbacks run;
   * false: hand it to the engine. A ClientHello larger than maxHandshakeSize ends the connection as
   * soon as its header says so.
   */
  intercept(chunk: Buffer): boolean {
    const verdict = this.reader?.push(chunk);
    if (verdict) this.reader = null;
    if (verdict?.t === 'tooLarge') {
      this.preHello = [];
      this.holding = false;
      const { engine } = this.host;
      this.host.apply(engine.refuse(E.HANDSHAKE_TOO_LARGE, `the ClientHello (${verdict.size} bytes) is larger than maxHandshakeSize`));
      return true;
    }
    if (!this.holding) return false;
    this.preHello.push(chunk);
    if (!verdict) return true; // not complete yet, or the callbacks run
    if (verdict.t !== 'hello' || !verdict.body) this.release(); // not a ClientHello: GnuTLS says what
    else this.started(verdict.body);
    return true;
  }

  /**
   * The whole ClientHello is in, and GnuTLS has seen none of it: resumeSession, SNICallback,
   * OCSPRequest and ALPNCallback run on what it says, then the engine gets it with their answers.
   */
  private started(body: Buffer): void {
    const facts = helloFacts(body);
    this.host.servername = facts.serverName ?? false;
    const id = this.hooks?.listens('resumeSession') ? sessionIdToLookUp(body) : null;
    if (id === null) this.selectProtocol(facts);
    else this.resumeSession(id, () => this.selectProtocol(facts));
  }

  /** As Node's order: ALPNCallback before SNICallback. */
  private selectProtocol(facts: HelloFacts): void {
    const alpn = this.selectAlpn(facts);
    if (alpn === false) return;
    this.alpn = alpn;
    this.selectContext(facts);
  }

  private resumeSession(id: Buffer, next: () => void): void {
    this.hold(true);
    let called = false;
    this.hooks!.resumeSession(id, (err, data) => {
      if (called || this.host.engine.closed) return;
      called = true;
      if (err) {
        this.host.fail(new TLSError(err.message, { code: 'ERR_TLS_RESUME_SESSION', cause: err }));
        return;
      }
      if (data) this.host.engine.setResumeData(id, Buffer.from(data));
      next();
    });
  }

  private selectContext(facts: HelloFacts): void {
    const engine = this.host.engine;
    const cb = this.sni;
    if (!cb) {
      this.ocspRequest(engine.ctx, facts);
      return;
    }
    this.hold(true);
    let called = false;
    cb(facts.serverName ?? '', (err, ctx) => {
      if (called || engine.closed) return;
      called = true;
      if (err) {
        this.host.fail(new TLSError(err.message, { code: 'ERR_TLS_SNI_CALLBACK', cause: err }));
        return;
      }
      const chosen = sniContext(ctx);
      if (chosen instanceof Error) this.host.fail(chosen);
      else this.ocspRequest(chosen ?? engine.ctx, facts);
    });
  }

  private ocspRequest(ctx: SecureContext, facts: HelloFacts): void {
    const engine = this.host.engine;
    const hooks = this.hooks;
    this.ctx = ctx;
    if (!hooks || !hooks.listens('OCSPRequest') || !facts.statusRequest) {
      this.proceed(null);
      return;
    }
    const chain = ctx.ownChain();
    const issuer = chain[1] ?? findIssuer(chain[0], ctx.trustedCertificates());
    this.hold(true);
    let called = false;
    hooks.ocspRequest(chain[0] ?? null, issuer ?? null, (err, response) => {
      if (called || engine.closed) return;
      called = true;
      if (err) {
        this.host.fail(new TLSError(err.message, { code: 'ERR_TLS_OCSP_CALLBACK', cause: err }));
        return;
      }
      this.proceed(response ? Buffer.from(response) : null);
    });
  }

  private proceed(ocsp: Buffer | null): void {
    this.host.engine.prepareHello(this.ctx!, this.alpn, ocsp);
    this.release();
  }

  /** Hands the held ClientHello (and what followed it) to the engine. */
  private release(): void {
    this.holding = false;
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

  /**
   * ALPNCallback, as Node runs it: only for a client that offered ALPN. The protocol it chose
   * (null: no callback or no ALPN offered); false when it failed the handshake.
   */
  private selectAlpn(facts: HelloFacts): string | null | false {
    const cb = this.alpnCallback;
    const protocols = facts.alpn;
    if (!cb || !protocols) return null;
    const engine = this.host.engine;
    let chosen: unknown;
    try {
      // Without SNI Node passes false (typed string by @types/node, as here).
      chosen = cb({ servername: facts.serverName ?? (false as unknown as string), protocols: [...protocols] });
    } catch (err) {
      this.host.fail(err as Error);
      return false;
    }
    if (engine.closed) return false;
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
    return chosen;
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
