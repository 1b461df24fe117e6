// TLSSocket: a stream.Duplex of plaintext over any Duplex of ciphertext (usually a net.Socket),
// with GnuTLS doing the TLS in a native Session driven over memory.
import { Duplex } from 'stream';
import * as net from 'net';
import { X509Certificate } from 'crypto';
import { binding, NativeSession, NativeInfo } from './native';
import { ALERT, ALERT_LEVEL, ALPN_MANDATORY, ALPN_SERVER_PRECEDENCE, E, EV, INIT, SFLAGS } from './constants';
import { TLSError, gnutlsError, nodeError } from './errors';
import { SecureContext, SecureContextOptions, createSecureContext } from './secure-context';
import { opensslName } from './ciphers';
import {
  CHANNEL_BINDINGS,
  ChannelBindingType,
  ClientPskCallback,
  PeerPublicKey,
  ServerPskCallback,
  appendKeylog,
  clientHelloSessionId,
  keylogFile,
  peerPublicKey,
  pskBridge,
  rawKeyFailure,
} from './features';
import {
  DetailedPeerCertificate,
  PeerCertificate,
  alertFor,
  checkServerIdentity as defaultCheckServerIdentity,
  peerCertificate,
  verifyFailure,
} from './verify';
import type { Server } from './server';
import type { TLSSocketEvents } from './events';
import {
  KeyUpdateOptions,
  ReauthOptions,
  ReauthRequest,
  RehandshakeOptions,
  RehandshakeRequest,
  RenegotiationPolicy,
} from './reauth';

export type SNICallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

export interface TLSSocketOptions extends SecureContextOptions {
  isServer?: boolean;
  server?: Server;
  secureContext?: SecureContext;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  ALPNProtocols?: Array<string | Buffer | Uint8Array> | Buffer | Uint8Array;
  SNICallback?: SNICallback;
  session?: Buffer;
  servername?: string;
  /** The host the client connected to; the default servername and identity to check. */
  host?: string;
  checkServerIdentity?: (hostname: string, cert: PeerCertificate) => Error | undefined;
  handshakeTimeout?: number;
  allowHalfOpen?: boolean;
  highWaterMark?: number;
  /** Client: advertise TLS 1.3 post-handshake auth. Default: on when the client has a certificate. */
  postHandshakeAuth?: boolean;
  /** Client: answer re-auth requests with the configured certificate when no 'reauthRequest' listener exists (default true). */
  autoReauth?: boolean;
  /** Server: what to do with a TLS 1.2 renegotiation the client starts (default 'refuse'). */
  renegotiation?: RenegotiationPolicy;
  /** Allow the peer to present a different identity in a re-handshake/re-auth (GNUTLS_ALLOW_ID_CHANGE). */
  allowIdentityChange?: boolean;
  /** Server: let rehandshake()/reauth() run under TLS 1.2 without safe renegotiation (RFC 5746). */
  allowUnsafeRenegotiation?: boolean;
  /**
   * Server: how to treat client certificates, overriding requestCert/rejectUnauthorized.
   * 'none': not asked for; 'request': asked for, any outcome accepted (see authorized);
   * 'require': must be sent and trusted; 'verify-if-sent': optional, but must be trusted if sent.
   */
  verifyClient?: VerifyClientMode;
  /** Server: do not ask for the client certificate again in a re-handshake (SSL_VERIFY_CLIENT_ONCE). */
  verifyClientOnce?: boolean;
  /** Node's PSK callback. Server: (socket, identity) → key | null. Client: (hint) → { psk, identity } | null. */
  pskCallback?: ServerPskCallback | ClientPskCallback;
  /** Server, TLS 1.2: the identity hint sent to PSK clients. */
  pskIdentityHint?: string;
  /** Client: ask the server to staple an OCSP response (the 'OCSPResponse' event). */
  requestOCSP?: boolean;
}

export type VerifyClientMode = 'none' | 'request' | 'require' | 'verify-if-sent';

/** A re-authentication or re-handshake in flight. */
interface Operation {
  kind: 'reauth' | 'rehandshake' | 'answer';
  /** 'reauth': gnutls_reauth() runs; 'hello': HelloRequest sent, waiting for the ClientHello; 'handshake': re-handshake runs. */
  phase: 'reauth' | 'hello' | 'handshake';
  require?: boolean;
  resolve: (v: unknown) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
  restoreContext?: boolean;
  /**
   * recv() returned GNUTLS_E_REHANDSHAKE for the peer's ClientHello: GnuTLS holds that message,
   * so the handshake must run before any application record that followed it is read.
   */
  helloHeld?: boolean;
}

export interface CipherNameAndProtocol {
  name: string;
  standardName: string;
  version: string;
}

export interface EphemeralKeyInfo {
  type?: string;
  name?: string;
  size?: number;
}

export interface NegotiatedParameters {
  protocol: string | null;
  cipherSuite: string | null;
  cipher: string | null;
  mac: string | null;
  keyExchange: string | null;
  group: string | null;
  /** Signature algorithm of the server's handshake signature. */
  serverSignature: string | null;
  /** Signature algorithm of the client's CertificateVerify (when it sent a certificate). */
  clientSignature: string | null;
  certificateType: { own: string | null; peer: string | null };
  /** Server: the PSK identity the client used. */
  pskIdentity: string | null;
}

/**
 * Plaintext is decrypted into slices of a shared slab (per thread: module state), which the
 * chunks handed to readers keep alive; a new slab starts when less than SLAB_MIN is left.
 */
const SLAB_SIZE = 1 << 20;
const SLAB_MIN = 64 * 1024;
let slab = { buf: Buffer.allocUnsafeSlow(0), used: 0 };
function plaintextSlab(): { buf: Buffer; used: number } {
  if (slab.buf.length - slab.used < SLAB_MIN) slab = { buf: Buffer.allocUnsafeSlow(SLAB_SIZE), used: 0 };
  return slab;
}

/** Ciphertext slab, like the plaintext one; `length` plaintext bytes need a little more room. */
let cslab = { buf: Buffer.allocUnsafeSlow(0), used: 0 };
function ciphertextSlab(length: number): { buf: Buffer; used: number } {
  const need = Math.min(SLAB_SIZE, length + 64 + 32 * Math.ceil(length / 16384));
  if (cslab.buf.length - cslab.used < need) cslab = { buf: Buffer.allocUnsafeSlow(SLAB_SIZE), used: 0 };
  return cslab;
}

/** The certificate in `trusted` that issued `leaf` (DER), if any. */
function findIssuer(leaf: Buffer | undefined, trusted: readonly Buffer[]): Buffer | undefined {
  if (!leaf) return undefined;
  const cert = new X509Certificate(leaf);
  return trusted.find((t) => cert.checkIssued(new X509Certificate(t)));
}

type State = 'new' | 'handshaking' | 'sni' | 'secure' | 'closed';
type PendingWrite = { chunks: Buffer[]; cb: (err?: Error | null) => void };

const PROTOCOLS: Record<string, string> = { 'TLS1.3': 'TLSv1.3', 'TLS1.2': 'TLSv1.2', 'TLS1.1': 'TLSv1.1', 'TLS1.0': 'TLSv1' };
const GROUPS: Record<string, { name: string; size: number; type: string }> = {
  X25519: { name: 'X25519', size: 253, type: 'ECDH' },
  X448: { name: 'X448', size: 448, type: 'ECDH' },
  SECP256R1: { name: 'prime256v1', size: 256, type: 'ECDH' },
  SECP384R1: { name: 'secp384r1', size: 384, type: 'ECDH' },
  SECP521R1: { name: 'secp521r1', size: 521, type: 'ECDH' },
  FFDHE2048: { name: 'ffdhe2048', size: 2048, type: 'DH' },
  FFDHE3072: { name: 'ffdhe3072', size: 3072, type: 'DH' },
  FFDHE4096: { name: 'ffdhe4096', size: 4096, type: 'DH' },
};
/** gnutls_certificate_type_get_name(GNUTLS_CRT_RAWPK). */
const RAW_PUBLIC_KEY = 'Raw Public Key';
const SLICE = 1 << 20; // plaintext encrypted per native call for large writes
const RECORD_APPLICATION_DATA = 23;
/** Node's limits for client-initiated renegotiation: at most RENEG_LIMIT per RENEG_WINDOW_S seconds. */
const RENEG_LIMIT = 3;
const RENEG_WINDOW_S = 600;

const declineContexts = new WeakMap<SecureContext, SecureContext>();
/** A context like `ctx` but with no certificate: answering a re-auth request with it declines. */
function declineContext(ctx: SecureContext): SecureContext {
  let d = declineContexts.get(ctx);
  if (!d) {
    d = new SecureContext({ priority: ctx.priority, ca: ctx.trustedCertificates().length ? [...ctx.trustedCertificates()] : undefined });
    declineContexts.set(ctx, d);
  }
  return d;
}

function alpnList(p: TLSSocketOptions['ALPNProtocols']): string[] {
  if (!p) return [];
  if (Buffer.isBuffer(p) || (p instanceof Uint8Array && !Array.isArray(p))) {
    // Node also accepts the wire format: length-prefixed names.
    const b = Buffer.from(p as Uint8Array);
    const out: string[] = [];
    for (let i = 0; i < b.length; ) {
      const n = b[i];
      out.push(b.subarray(i + 1, i + 1 + n).toString('latin1'));
      i += 1 + n;
    }
    return out;
  }
  return (p as Array<string | Buffer | Uint8Array>).map((x) => (typeof x === 'string' ? x : Buffer.from(x).toString('latin1')));
}

// Typed events: see lib/events.ts.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface TLSSocket {
  on<K extends keyof TLSSocketEvents>(event: K, listener: TLSSocketEvents[K]): this;
  once<K extends keyof TLSSocketEvents>(event: K, listener: TLSSocketEvents[K]): this;
  off<K extends keyof TLSSocketEvents>(event: K, listener: TLSSocketEvents[K]): this;
  addListener<K extends keyof TLSSocketEvents>(event: K, listener: TLSSocketEvents[K]): this;
  removeListener<K extends keyof TLSSocketEvents>(event: K, listener: TLSSocketEvents[K]): this;
  prependListener<K extends keyof TLSSocketEvents>(event: K, listener: TLSSocketEvents[K]): this;
  prependOnceListener<K extends keyof TLSSocketEvents>(event: K, listener: TLSSocketEvents[K]): this;
  emit<K extends keyof TLSSocketEvents>(event: K, ...args: Parameters<TLSSocketEvents[K]>): boolean;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class TLSSocket extends Duplex {
  readonly encrypted = true;
  authorized = false;
  authorizationError: string | null = null;
  alpnProtocol: string | false | null = null;
  servername: string | false | null = null;
  /** The Duplex carrying the ciphertext (Node calls it `_parent` / `socket`). */
  readonly socket: Duplex;
  /** Node's name for the underlying net.Socket. */
  get _parent(): Duplex {
    return this.socket;
  }

  protected _session: NativeSession;
  protected _ctx: SecureContext;
  protected _isServer: boolean;
  protected _options: TLSSocketOptions;
  protected _state: State = 'new';
  private _info: NativeInfo | null = null;
  private _pendingWrites: PendingWrite[] = [];
  private _pendingFinal: ((err?: Error | null) => void) | null = null;
  private _readPaused = false;
  private _closeNotifyReceived = false;
  private _handshakeTimer: NodeJS.Timeout | null = null;
  private _errorEmitted = false;
  private _server: Server | undefined;
  private _readChunk: number;
  private _keylog = false;
  private _keylogFile: string | undefined;
  private _pskError: Error | null = null;
  private _ocspResponse: Buffer | null = null;
  /** Server with 'resumeSession' listeners: ClientHello bytes held until the lookup answers. */
  private _lookup: 'pending' | 'waiting' | 'done' = 'done';
  private _preHello: Buffer[] = [];
  private _resumeData: [Buffer, Buffer] | null = null;
  /** Server: 'secureConnection' was emitted (before it, errors go to 'tlsClientError'). */
  private _announced = false;
  private _op: Operation | null = null;
  private _pumping = false;
  private _repump = false;
  private _opQueue: Array<() => void> = [];
  private _awaitingAnswer = false;
  private _renegotiationDisabled = false;
  private _renegTimes: number[] = [];
  private _refusedHello = false;
  /** ClientHello bytes kept while an SNI callback may still pick another context. */
  private _helloBytes: Buffer[] | null = null;
  private readonly _onData = (chunk: Buffer): void => this._receive(chunk);
  private readonly _onEnd = (): void => this._transportEnded();
  private readonly _onError = (err: Error): void => {
    // The peer went away while we were ending (our close_notify or last bytes met a closed
    // connection): the end is done, as with Node's tls, not an error.
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'EPIPE' || code === 'ECONNRESET') && this.writableEnded && this._state === 'secure') {
      this.destroy();
      return;
    }
    this._fail(err);
  };
  private readonly _onClose = (): void => this._transportClosed();
  private readonly _onTimeout = (): void => {
    this.emit('timeout');
  };

  constructor(socket?: Duplex | null, options: TLSSocketOptions = {}) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      highWaterMark: options.highWaterMark,
      autoDestroy: true,
      emitClose: true,
    });
    this._options = options;
    this._isServer = options.isServer === true;
    this._server = options.server;
    this.socket = socket ?? new net.Socket();
    // Plaintext per native recv() call: several records at once (one call per incoming chunk).
    this._readChunk = Math.max(256 * 1024, this.readableHighWaterMark);
    this._ctx = options.secureContext ?? createSecureContext(options);
    this._keylogFile = keylogFile();
    if (this._isServer && (this._server?.listenerCount('resumeSession') ?? 0) > 0) this._lookup = 'pending';
    this._session = this._newSession(this._ctx, true);
    this.on('newListener', (ev: string | symbol) => {
      if (ev !== 'keylog' || this._state === 'closed') return;
      this._keylog = true;
      this._session.enableKeylog(true);
    });
    const s = this.socket;
    s.on('data', this._onData);
    s.on('end', this._onEnd);
    s.on('error', this._onError);
    s.on('close', this._onClose);
    s.on('timeout', this._onTimeout);
    if (this._isServer) {
      this._startHandshake();
    } else if ((s as net.Socket).connecting) {
      s.once('connect', () => this._startHandshake());
    } else {
      process.nextTick(() => this._startHandshake());
    }
  }

  private _newSession(ctx: SecureContext, holdHello: boolean): NativeSession {
    const o = this._options;
    let flags = 0;
    if (this._isServer || (o.postHandshakeAuth ?? ctx.hasCertificate)) flags |= INIT.POST_HANDSHAKE_AUTH;
    // Servers resume TLS 1.2 from the context's session-ID cache, not tickets: GnuTLS resumes a
    // ticket offered in a re-handshake (OpenSSL clients do) and then fails to issue a new one.
    if (this._isServer) flags |= INIT.NO_TICKETS_TLS12;
    if (o.allowIdentityChange) flags |= INIT.ALLOW_ID_CHANGE;
    if (ctx.rawPublicKeys) flags |= INIT.ENABLE_RAWPK;
    const s = new binding.Session(ctx.context, this._isServer, flags);
    try {
      this._configure(s, ctx, holdHello);
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  }

  private _configure(s: NativeSession, ctx: SecureContext, holdHello: boolean): void {
    const o = this._options;
    const alpn = alpnList(o.ALPNProtocols);
    // A server refuses a client whose ALPN list shares nothing with its own (no_application_protocol),
    // as Node does; a client that offers no ALPN at all is served.
    if (alpn.length > 0) s.setAlpn(alpn, this._isServer ? ALPN_SERVER_PRECEDENCE | ALPN_MANDATORY : 0);
    if (o.pskCallback) {
      const bridge = pskBridge(this._isServer, o.pskCallback, this, (err) => {
        this._pskError ??= err;
      });
      s.setPsk(bridge, this._isServer ? o.pskIdentityHint : undefined);
    }
    if (this._keylogFile) s.enableKeylog(true);
    if (this._isServer) {
      ctx.context.enableTickets();
      s.enableTickets(ctx.context);
      const mode = this._verifyClientMode();
      if (mode !== 'none') s.setCertRequest(mode === 'require' ? 2 : 1);
      // GnuTLS's in-handshake verification knows only X.509: raw public keys are checked
      // against pinnedPublicKeys in _verify().
      if (mode === 'require' && !ctx.rawPublicKeys) s.setVerifyCert(1);
      else if (mode === 'verify-if-sent' && !ctx.rawPublicKeys) s.setVerifyCert(2);
      if (ctx.ocspResponse) s.setOcspResponse(ctx.ocspResponse);
      const server = this._server;
      if (server && server.listenerCount('newSession') + server.listenerCount('resumeSession') > 0) {
        s.useExternalCache();
        if (this._resumeData) s.setResumeData(...this._resumeData);
      }
      const ocspListener = (this._server?.listenerCount('OCSPRequest') ?? 0) > 0;
      if ((o.SNICallback || ocspListener) && holdHello) {
        s.holdClientHello(true);
        this._helloBytes = [];
      }
      if (this._keylog || (this._server && this._server.listenerCount('keylog') > 0)) s.enableKeylog(true);
    } else {
      const name = o.servername ?? (o.host && net.isIP(o.host) === 0 ? o.host : undefined);
      if (name) {
        s.setServerName(name);
        this.servername = name;
      }
      if (o.session) s.setSessionData(Buffer.from(o.session));
      if (o.requestOCSP) s.requestOcsp();
    }
  }

  // ---- the engine ------------------------------------------------------------------------------

  private _startHandshake(): void {
    if (this._state !== 'new' || this.destroyed) return;
    this._state = 'handshaking';
    const timeout = this._options.handshakeTimeout;
    if (timeout && timeout > 0) {
      this._handshakeTimer = setTimeout(() => {
        this._fail(nodeError('ERR_TLS_HANDSHAKE_TIMEOUT', 'TLS handshake timeout'));
      }, timeout);
      this._handshakeTimer.unref?.();
    }
    this._pump();
  }

  private _receive(chunk: Buffer): void {
    if (this._state === 'closed') return;
    if (this._lookup !== 'done') {
      this._preHello.push(chunk);
      if (this._lookup === 'pending') this._resumeSession();
      return;
    }
    this._helloBytes?.push(chunk);
    this._session.feed(chunk);
    if (this._state !== 'new' && this._state !== 'sni') this._pump();
  }

  /** Runs GnuTLS as far as the input allows, then sends what it produced. */
  private _pump(): void {
    if (this._pumping) {
      this._repump = true; // called from an event handler inside a pump: run again after it
      return;
    }
    this._pumping = true;
    try {
      do {
        this._repump = false;
        this._pumpOnce();
      } while (this._repump && this._state !== 'closed');
    } finally {
      this._pumping = false;
    }
  }

  private _pumpOnce(): void {
    try {
      if (this._state === 'handshaking') this._stepHandshake();
      if (this._state === 'secure' && this._op && this._op.phase !== 'hello') this._stepOperation();
      if (this._state === 'secure' && !this._readPaused && !this._awaitingAnswer && !this._opRunning()) {
        this._readRecords();
      }
    } finally {
      if (this._state !== 'closed') this._flush();
    }
  }

  private _stepHandshake(): void {
    const s = this._session;
    for (let spins = 0; spins < 64; spins++) {
      const code = s.handshake();
      if (code === E.SUCCESS) {
        this._flush();
        this._handshakeDone();
        return;
      }
      if (code === E.AGAIN) return;
      if (code === E.INTERRUPTED) {
        if (s.takeEvents() & EV.CLIENT_HELLO_HELD) this._clientHello();
        return;
      }
      if (code === E.WARNING_ALERT_RECEIVED) continue;
      if (code !== E.FATAL_ALERT_RECEIVED) s.sendAppropriateAlert(code);
      this._flush();
      const pskError = this._pskError;
      this._fail(
        pskError
          ? new TLSError(pskError.message, { code: (pskError as { code?: string }).code ?? 'ERR_TLS_PSK_CALLBACK', cause: pskError })
          : gnutlsError(code, s.lastAlert(), 'handshake failed'),
      );
      return;
    }
  }

  /** Server: ask 'resumeSession' listeners for the session the ClientHello names, then go on. */
  private _resumeSession(): void {
    const id = clientHelloSessionId(Buffer.concat(this._preHello));
    if (id === undefined) return;
    if (id === null || !this._server) {
      this._releaseHello();
      return;
    }
    this._lookup = 'waiting';
    let called = false;
    this._server.emit('resumeSession', id, (err, data) => {
      if (called || this._state === 'closed') return;
      called = true;
      if (err) {
        this._fail(new TLSError(err.message, { code: 'ERR_TLS_RESUME_SESSION', cause: err }));
        return;
      }
      if (data) {
        this._resumeData = [id, Buffer.from(data)];
        this._session.setResumeData(id, this._resumeData[1]);
      }
      this._releaseHello();
    });
  }

  private _releaseHello(): void {
    this._lookup = 'done';
    const held = this._preHello;
    this._preHello = [];
    for (const chunk of held) this._receive(chunk);
  }

  /** Server, ClientHello seen: ask SNICallback for the context, then OCSPRequest, then resume. */
  private _clientHello(): void {
    const name = this._session.info().serverName;
    this.servername = name ?? false;
    const cb = this._options.SNICallback;
    this._state = 'sni';
    if (!cb) {
      this._ocspRequest(this._ctx);
      return;
    }
    let called = false;
    cb(name ?? '', (err, ctx) => {
      if (called || this._state !== 'sni') return;
      called = true;
      if (err) {
        this._fail(new TLSError(err.message, { code: 'ERR_TLS_SNI_CALLBACK', cause: err }));
        return;
      }
      this._ocspRequest(ctx ?? this._ctx);
    });
  }

  /** Server: when the client asked for OCSP stapling, let 'OCSPRequest' listeners supply the response. */
  private _ocspRequest(ctx: SecureContext): void {
    const server = this._server;
    if (!server || server.listenerCount('OCSPRequest') === 0 || !this._session.info().statusRequested) {
      this._resumeHello(ctx);
      return;
    }
    const chain = ctx.ownChain();
    const issuer = chain[1] ?? findIssuer(chain[0], ctx.trustedCertificates());
    let called = false;
    server.emit('OCSPRequest', chain[0] ?? null, issuer ?? null, (err, response) => {
      if (called || this._state !== 'sni') return;
      called = true;
      if (err) {
        this._fail(new TLSError(err.message, { code: 'ERR_TLS_OCSP_CALLBACK', cause: err }));
        return;
      }
      if (response) this._ocspResponse = Buffer.from(response);
      this._resumeHello(ctx);
    });
  }

  private _resumeHello(ctx: SecureContext): void {
    const hello = this._helloBytes;
    this._helloBytes = null;
    if (ctx !== this._ctx && hello) {
      // GnuTLS picked the certificate while parsing the ClientHello: replay it into a new
      // session made from the chosen context.
      try {
        const fresh = this._newSession(ctx, false);
        if (this._ocspResponse) fresh.setOcspResponse(this._ocspResponse);
        this._session.close();
        this._session = fresh;
        this._ctx = ctx;
        fresh.feed(Buffer.concat(hello));
      } catch (e) {
        this._fail(e as Error);
        return;
      }
    } else if (this._ocspResponse) {
      this._session.setOcspResponse(this._ocspResponse);
    }
    this._state = 'handshaking';
    this._pump();
  }

  private _handshakeDone(): void {
    if (this._handshakeTimer) clearTimeout(this._handshakeTimer);
    this._handshakeTimer = null;
    this._state = 'secure';
    this._helloBytes = null;
    const s = this._session;
    this._info = s.info();
    this.alpnProtocol = this._info.alpn ?? false;
    if (this._isServer) this.servername = this._info.serverName ?? false;
    // Every emit below may run a listener that destroys this socket: check before going on.
    this._drainKeylog();
    if (this._gone) return;
    if (!this._isServer && this._options.requestOCSP) {
      const response = s.ocspResponse();
      if (response) this.emit('OCSPResponse', response);
      if (this._gone) return;
    }
    if (!this._verify()) return;
    this.emit('secure');
    if (this._gone) return;
    if (this._isServer) {
      if (this._newSessions()) return; // goes on when the listeners call back
      this._announce();
    } else {
      this.emit('secureConnect');
      if (this._gone) return;
      if (this._info.flags & SFLAGS.SESSION_TICKET || this._info.protocol !== 'TLS1.3') this._emitSession();
    }
    if (!this._gone) this._releaseWrites();
  }

  private _announce(): void {
    this._announced = true;
    this._server?.emit('secureConnection', this);
  }

  /** Server: hands new TLS 1.2 session-ID entries to 'newSession'; true when waiting for its callbacks. */
  private _newSessions(): boolean {
    const server = this._server;
    const stored = this._session.takeStoredSessions();
    if (!server || !stored || server.listenerCount('newSession') === 0) return false;
    let pending = stored.length;
    for (const [id, data] of stored) {
      let called = false;
      server.emit('newSession', id, data, () => {
        if (called) return;
        called = true;
        if (--pending > 0 || this._gone) return;
        this._announce();
        if (!this._gone) this._releaseWrites();
      });
      if (this._gone) return true;
    }
    return true;
  }

  /** Server: the client-certificate mode from verifyClient, or from requestCert/rejectUnauthorized as Node does. */
  private _verifyClientMode(): VerifyClientMode {
    const o = this._options;
    if (o.verifyClient) return o.verifyClient;
    if (!o.requestCert) return 'none';
    return o.rejectUnauthorized !== false ? 'require' : 'request';
  }

  /** Sets authorized/authorizationError; rejects (false) when policy says so. */
  private _verify(): boolean {
    const o = this._options;
    if (this._isServer && this._verifyClientMode() === 'none') return true;
    const chain = this._session.peerCertificates();
    const info = this._info!;
    if (o.pskCallback && chain.length === 0 && !info.resumed && /PSK/.test(info.kx ?? '')) {
      this.authorized = true; // the pre-shared key authenticated both sides
      return true;
    }
    const rawKey = info.peerCertType === RAW_PUBLIC_KEY;
    const failure = rawKey ? null : verifyFailure(this._session.verifyPeer(), chain);
    let err: Error | null = null;
    if (rawKey) {
      const key = peerPublicKey(info.peerCertType, chain[0]);
      err = key ? rawKeyFailure(key.pin, this._ctx.pinnedPublicKeys) : new TLSError('no raw public key', { code: 'ERR_TLS_RAW_PUBLIC_KEY_NOT_PINNED' });
    } else if (failure) {
      err = new TLSError(failure.message, { code: failure.code });
    } else if (!this._isServer) {
      const host = o.servername || o.host || 'localhost';
      const check = o.checkServerIdentity ?? defaultCheckServerIdentity;
      err = check(host, peerCertificate(chain, false)) ?? null;
    }
    if (!err) {
      this.authorized = true;
      return true;
    }
    const code = (err as { code?: string }).code;
    this.authorizationError = code ?? err.message;
    if (this._isServer) {
      // GnuTLS already enforced 'require' and 'verify-if-sent' for X.509 inside the handshake.
      const mode = this._verifyClientMode();
      if (!rawKey || mode === 'request' || (mode === 'verify-if-sent' && chain.length === 0)) return true;
      this._session.sendAlert(ALERT_LEVEL.FATAL, ALERT.BAD_CERTIFICATE);
      this._flush();
      this._fail(err as TLSError);
      return false;
    }
    if (o.rejectUnauthorized === false) return true;
    this._session.sendAlert(ALERT_LEVEL.FATAL, alertFor(code ?? ''));
    this._flush();
    this._fail(err instanceof TLSError ? err : new TLSError(err.message, { code: code ?? 'ERR_TLS_CERT_REJECTED', cause: err }));
    return false;
  }

  private _readRecords(): void {
    const s = this._session;
    while (this._state === 'secure' && !this._readPaused) {
      const slab = plaintextSlab();
      const r = s.recv(this._readChunk, 0, slab.buf, slab.used);
      if (r > 0) {
        // A view of the shared slab: GnuTLS decrypted straight into it.
        const chunk = slab.buf.subarray(slab.used, slab.used + r);
        slab.used += r;
        if (!this.push(chunk)) this._pauseReading();
        continue; // the loop condition notices a destroy() from a 'data' listener
      }
      if (r === E.AGAIN) break;
      if (r === 0) {
        this._closeNotifyReceived = true;
        this._pushEnd();
        break;
      }
      if (r === E.WARNING_ALERT_RECEIVED) {
        this._warningAlert(s.lastAlert());
        continue;
      }
      if (r === E.INTERRUPTED) continue;
      if (r === E.UNEXPECTED_PACKET && this._refusedHello) {
        // GnuTLS keeps a refused ClientHello buffered and reports it once as unexpected.
        this._refusedHello = false;
        continue;
      }
      if (r === E.REHANDSHAKE) {
        if (this._isServer) this._peerRenegotiation();
        else this._helloRequest();
        if (this._opRunning() || this._awaitingAnswer || this._state !== 'secure') {
          this._repump = true; // let _pump run the operation that just started
          break;
        }
        continue;
      }
      if (r === E.REAUTH_REQUEST) {
        this._reauthRequest();
        if (this._opRunning() || this._awaitingAnswer || this._state !== 'secure') {
          this._repump = true;
          break;
        }
        continue;
      }
      if (r !== E.FATAL_ALERT_RECEIVED) {
        s.sendAppropriateAlert(r); // e.g. bad_record_mac for a record that fails to decrypt
        this._flush();
      }
      this._fail(gnutlsError(r, s.lastAlert()));
      return;
    }
    this._afterRecords();
  }

  private _afterRecords(): void {
    if (this._state === 'closed') return;
    const ev = this._session.takeEvents();
    if (ev & EV.TICKET_RECEIVED && !this._isServer) this._emitSession();
    if (ev & EV.KEY_UPDATE_RECEIVED && !this._gone) this.emit('keyUpdate');
    this._drainKeylog();
  }

  /** EOF; read(0) lets 'end' fire even when nobody reads the socket (as net.Socket does). */
  private _pushEnd(): void {
    this.push(null);
    this.read(0);
  }

  private _pauseReading(): void {
    this._readPaused = true;
    (this.socket as Duplex).pause();
  }

  override _read(): void {
    if (!this._readPaused) return;
    this._readPaused = false;
    if (this._state === 'closed') return;
    this._pump();
    if (!this._readPaused && !this._closeNotifyReceived) this.socket.resume();
  }

  private _flush(): void {
    const out = this._session.output();
    // After the peer's FIN a net.Socket (allowHalfOpen false) has ended its writable side too.
    if (out && this.socket.writable) {
      this.socket.write(out);
      if (this._idleMs > 0) this._idleSeen = Date.now();
    }
  }

  /** Destroyed meanwhile (read fresh: listeners run between checks). */
  private get _gone(): boolean {
    return this._state === 'closed';
  }

  private _emitSession(): void {
    if (this._state === 'closed') return;
    const data = this._session.sessionData();
    if (data && this.listenerCount('session') > 0) this.emit('session', data);
  }

  private _drainKeylog(): void {
    if (this._state === 'closed') return;
    const lines = this._session.takeKeylog();
    if (!lines) return;
    for (const line of lines) {
      if (this._keylogFile) appendKeylog(this._keylogFile, line);
      if (this._gone) return;
      this.emit('keylog', line);
      this._server?.emit('keylog', line, this);
    }
  }


  // ---- re-authentication, re-handshake, key update ------------------------------------------------

  /** True while a reauth()/rehandshake() is running GnuTLS (records are read by it, not by recv). */
  private _opRunning(): boolean {
    return this._op !== null && this._op.phase !== 'hello';
  }

  /** Whether a reauth() is in flight: data emitted now was sent before the peer re-authenticated. */
  get reauthPending(): boolean {
    return this._op?.kind === 'reauth';
  }

  /** Server: the client advertised TLS 1.3 post-handshake auth. Client: we advertised it. */
  get postHandshakeAuthEnabled(): boolean {
    if (!this._info || this._state === 'closed') return false;
    if (!this._isServer) return this._options.postHandshakeAuth ?? this._ctx.hasCertificate;
    return (this._session.info().flags & SFLAGS.POST_HANDSHAKE_AUTH) !== 0;
  }

  private _stepOperation(): void {
    const s = this._session;
    for (let spins = 0; spins < 1024 && this._op && this._op.phase !== 'hello'; spins++) {
      const op = this._op;
      const code = op.phase === 'reauth' ? s.reauth() : this._renegotiationStep();
      this._flush();
      if (code === E.SUCCESS) {
        this._opSucceeded(op);
        return;
      }
      if (code === E.AGAIN || code === E.INTERRUPTED) return;
      if (code === E.GOT_APPLICATION_DATA) {
        this._readBuffered();
        continue;
      }
      if (code === E.WARNING_ALERT_RECEIVED) {
        if (s.lastAlert() === ALERT.NO_RENEGOTIATION) {
          this._opEnded(op);
          op.reject(nodeError('ERR_TLS_RENEGOTIATION_REFUSED', 'The peer refused to renegotiate (no_renegotiation)', { alert: 'no_renegotiation', alertCode: ALERT.NO_RENEGOTIATION }));
          return;
        }
        continue;
      }
      if (code !== E.FATAL_ALERT_RECEIVED) s.sendAppropriateAlert(code);
      this._flush();
      const what = op.kind === 'rehandshake' ? 're-handshake failed' : 're-authentication failed';
      this._opEnded(op);
      op.reject(gnutlsError(code, s.lastAlert(), what));
      this.destroy();
      return;
    }
  }

  /**
   * One gnutls_handshake() of a TLS 1.2 re-handshake. GnuTLS restarts a re-handshake from its
   * first message when gnutls_handshake() meets an application-data record
   * (GNUTLS_E_GOT_APPLICATION_DATA resets its state), so application records that come before the
   * next handshake record are read and delivered first; TLS 1.2 record types are visible.
   */
  private _renegotiationStep(): number {
    const s = this._session;
    if (this._op?.helloHeld) {
      this._op.helloHeld = false;
      const code = s.handshake(true); // the held ClientHello first
      if (code !== E.AGAIN) return code;
    }
    for (;;) {
      while (s.nextRecordType() === RECORD_APPLICATION_DATA) {
        const r = s.recv(this._readChunk, 2);
        if (typeof r !== 'number') {
          this.push(r);
          continue;
        }
        if (r === E.AGAIN) return E.AGAIN; // the rest of that record has not arrived yet
        return r === 0 ? E.PREMATURE_TERMINATION : r;
      }
      const code = s.handshake(true); // stops before any application record
      if (code !== E.AGAIN || s.nextRecordType() !== RECORD_APPLICATION_DATA) return code;
    }
  }

  /** Application data GnuTLS decrypted during a handshake/re-auth (GNUTLS_E_GOT_APPLICATION_DATA). */
  private _readBuffered(): void {
    for (;;) {
      const r = this._session.recv(this._readChunk, 1);
      if (typeof r === 'number') return;
      this.push(r);
    }
  }

  private _opEnded(op: Operation): void {
    if (op.timer) clearTimeout(op.timer);
    if (this._op === op) this._op = null;
    if (op.restoreContext && this._state !== 'closed') this._session.setContext(this._ctx.context);
    if (this._state === 'secure') process.nextTick(() => this._state === 'secure' && !this._holdWrites() && this._releaseWrites());
    process.nextTick(() => this._nextOp());
  }

  private _opSucceeded(op: Operation): void {
    this._opEnded(op);
    this._info = this._session.info();
    if (op.kind !== 'reauth') {
      op.resolve(undefined);
      if (op.kind === 'answer') this.emit('reauth');
      return;
    }
    const chain = this._session.peerCertificates();
    if (chain.length === 0) {
      this.authorized = false;
      this.authorizationError = 'UNABLE_TO_GET_ISSUER_CERT';
      op.resolve({});
      return;
    }
    const failure = verifyFailure(this._session.verifyPeer(), chain);
    this.authorized = failure === null;
    this.authorizationError = failure?.code ?? null;
    if (failure && this._options.rejectUnauthorized !== false) {
      this._session.sendAlert(ALERT_LEVEL.FATAL, alertFor(failure.code));
      this._flush();
      op.reject(new TLSError(failure.message, { code: failure.code }));
      this.destroy();
      return;
    }
    op.resolve(peerCertificate(chain, true, this._ctx.trustedCertificates()));
  }

  private _beginOp(op: Operation, timeout: number | undefined, code: string): void {
    this._op = op;
    if (timeout && timeout > 0) {
      op.timer = setTimeout(() => {
        if (this._op !== op) return;
        const waitingForHello = op.phase === 'hello';
        this._opEnded(op);
        op.reject(nodeError(code, `The peer did not complete the ${op.kind} within ${timeout} ms`));
        if (!waitingForHello) this.destroy();
      }, timeout);
    }
  }

  /** Runs start() when no other operation is in flight; operations are queued in call order. */
  private _enqueue<T>(start: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = (): void => {
        if (this._state !== 'secure') {
          reject(nodeError('ERR_SOCKET_CLOSED', 'The TLS connection is not established or already closed'));
          process.nextTick(() => this._nextOp());
          return;
        }
        start(resolve, reject);
        if (!this._op) process.nextTick(() => this._nextOp());
        else this._pump();
      };
      if (this._op || this._opQueue.length > 0) this._opQueue.push(run);
      else run();
    });
  }

  private _nextOp(): void {
    if (this._op) return;
    this._opQueue.shift()?.();
  }

  private _renegotiationAllowed(): Error | null {
    if (this._session.info().safeRenegotiation || this._options.allowUnsafeRenegotiation) return null;
    return nodeError('ERR_TLS_UNSAFE_RENEGOTIATION', 'Safe renegotiation (RFC 5746) is not in place; set allowUnsafeRenegotiation to renegotiate anyway');
  }

  /**
   * Server: re-authenticate the client. TLS 1.3: post-handshake authentication (gnutls_reauth);
   * TLS 1.2: a server-initiated re-handshake that requests the certificate. Resolves with the
   * client certificate (Node's detailed shape; `{}` when none was sent under `require: false`).
   */
  reauth(options: ReauthOptions = {}): Promise<DetailedPeerCertificate | Record<string, never>> {
    if (!this._isServer) {
      return Promise.reject(nodeError('ERR_TLS_INVALID_STATE', 'reauth() is for servers; clients answer with the reauthRequest event'));
    }
    return this._enqueue((resolve, reject) => {
      const s = this._session;
      const op: Operation = { kind: 'reauth', phase: 'reauth', require: options.require === true, resolve: resolve as (v: unknown) => void, reject };
      if (this._info?.protocol === 'TLS1.3') {
        if (!(s.info().flags & SFLAGS.POST_HANDSHAKE_AUTH)) {
          reject(nodeError('ERR_TLS_PHA_UNSUPPORTED', 'The client did not advertise post-handshake authentication'));
          return;
        }
        s.setCertRequest(options.require ? 2 : 1);
        this._beginOp(op, options.timeout, 'ERR_TLS_REAUTH_TIMEOUT');
        return;
      }
      const unsafe = this._renegotiationAllowed();
      if (unsafe) {
        reject(unsafe);
        return;
      }
      s.setCertRequest(options.require ? 2 : 1);
      if (this._sendHelloRequest(op)) this._beginOp(op, options.timeout, 'ERR_TLS_REAUTH_TIMEOUT');
    });
  }

  /** Server, TLS 1.2: HelloRequest; the operation then waits for the client's handshake. */
  private _sendHelloRequest(op: Operation): boolean {
    const s = this._session;
    s.refuseResumption(); // a full re-handshake, never an abbreviated resumption
    const code = s.rehandshake();
    this._flush();
    if (code < 0) {
      op.reject(gnutlsError(code, s.lastAlert(), 'rehandshake'));
      return false;
    }
    op.phase = 'hello';
    return true;
  }

  /**
   * TLS 1.2: a new handshake (server: HelloRequest, then the client's handshake; client: a
   * client-initiated renegotiation). TLS 1.3: a key update that asks the peer to update too.
   */
  rehandshake(options: RehandshakeOptions = {}): Promise<void> {
    return this._enqueue<void>((resolve, reject) => {
      const s = this._session;
      if (this._info?.protocol === 'TLS1.3') {
        this._sendKeyUpdate(true, resolve as (v: unknown) => void, reject);
        return;
      }
      const unsafe = this._renegotiationAllowed();
      if (unsafe) {
        reject(unsafe);
        return;
      }
      const op: Operation = { kind: 'rehandshake', phase: 'handshake', resolve: resolve as (v: unknown) => void, reject };
      if (this._isServer) {
        if (this._options.verifyClientOnce) s.setCertRequest(0);
        if (!this._sendHelloRequest(op)) return;
      }
      this._beginOp(op, options.timeout, 'ERR_TLS_RENEGOTIATION_TIMEOUT');
    });
  }

  /** Node's renegotiate(): a re-handshake (TLS 1.2) or key update (TLS 1.3); callback(err). */
  renegotiate(_options: { rejectUnauthorized?: boolean; requestCert?: boolean }, callback?: (err: Error | null) => void): boolean {
    if (this.destroyed) return false;
    this.rehandshake().then(
      () => callback?.(null),
      (err: Error) => callback?.(err),
    );
    return true;
  }

  /** TLS 1.3 key update; with `requestPeer` the peer updates its keys too (before it next sends). */
  keyUpdate(options: KeyUpdateOptions = {}): Promise<void> {
    if (this._state !== 'secure') return Promise.reject(nodeError('ERR_SOCKET_CLOSED', 'The TLS connection is not established'));
    if (this._info?.protocol !== 'TLS1.3') {
      return Promise.reject(nodeError('ERR_TLS_KEY_UPDATE_UNSUPPORTED', `Key update needs TLS 1.3 (this connection is ${this.getProtocol()})`));
    }
    return this._enqueue<void>((resolve, reject) => this._sendKeyUpdate(options.requestPeer === true, resolve as (v: unknown) => void, reject));
  }

  /**
   * Settles once our KeyUpdate is sent. The peer's answering KeyUpdate is not awaited: a peer may
   * send it only before its next application data (RFC 8446 4.6.3), so an idle peer never would.
   */
  private _sendKeyUpdate(requestPeer: boolean, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    const s = this._session;
    const code = s.keyUpdate(requestPeer);
    this._flush();
    if (code < 0) reject(gnutlsError(code, s.lastAlert(), 'key update'));
    else resolve(undefined);
  }

  /** Like Node: any renegotiation the client starts is answered with ERR_TLS_RENEGOTIATION_DISABLED. */
  disableRenegotiation(): void {
    this._renegotiationDisabled = true;
  }

  private _warningAlert(alert: number): void {
    const op = this._op;
    if (op && op.phase === 'hello' && alert === ALERT.NO_RENEGOTIATION) {
      this._opEnded(op);
      op.reject(nodeError('ERR_TLS_RENEGOTIATION_REFUSED', 'The client refused to renegotiate (no_renegotiation)', { alert: 'no_renegotiation', alertCode: alert }));
    }
  }

  /** Server: the client sent a ClientHello on an established TLS 1.2 connection. */
  private _peerRenegotiation(): void {
    const op = this._op;
    if (op && op.phase === 'hello') {
      op.phase = 'handshake'; // the answer to our HelloRequest
      op.helloHeld = true;
      return;
    }
    if (this._renegotiationDisabled) {
      this._fail(nodeError('ERR_TLS_RENEGOTIATION_DISABLED', 'TLS session renegotiation disabled for this socket'));
      return;
    }
    const now = Date.now();
    this._renegTimes = this._renegTimes.filter((t) => now - t < RENEG_WINDOW_S * 1000);
    this._renegTimes.push(now);
    if (this._renegTimes.length > RENEG_LIMIT) {
      this._fail(nodeError('ERR_TLS_SESSION_ATTACK', 'TLS session renegotiation attack detected'));
      return;
    }
    const policy = this._options.renegotiation ?? 'refuse';
    if (policy === 'accept' && !this._renegotiationAllowed()) {
      this._session.refuseResumption();
      this._op = { kind: 'rehandshake', phase: 'handshake', helloHeld: true, resolve: () => this.emit('renegotiated'), reject: () => {} };
      return;
    }
    this._session.sendAlert(ALERT_LEVEL.WARNING, ALERT.NO_RENEGOTIATION);
    this._refusedHello = true;
    if (policy === 'close') this._fail(nodeError('ERR_TLS_RENEGOTIATION_DISABLED', 'Client-initiated renegotiation refused; closing'));
  }

  /** Client: the server sent a HelloRequest (TLS 1.2). */
  private _helloRequest(): void {
    const safe = this._session.info().safeRenegotiation;
    const answer = (accept: boolean): void => {
      if (this._state !== 'secure') return;
      if (accept && !this._op) {
        this._op = { kind: 'rehandshake', phase: 'handshake', resolve: () => this.emit('renegotiated'), reject: (e) => this._fail(e) };
      } else {
        this._session.sendAlert(ALERT_LEVEL.WARNING, ALERT.NO_RENEGOTIATION);
      }
      this._pump();
    };
    if (this.listenerCount('rehandshakeRequest') > 0) {
      // A HelloRequest is only a hint: records keep flowing while the application decides.
      this.emit('rehandshakeRequest', new RehandshakeRequest(safe, answer));
    } else {
      answer(safe || this._options.allowUnsafeRenegotiation === true);
    }
  }

  /** Client: the server sent a TLS 1.3 CertificateRequest after the handshake. */
  private _reauthRequest(): void {
    const answer = (ctx: SecureContext | null | undefined): void => {
      this._awaitingAnswer = false;
      if (this._state !== 'secure') return;
      let restore = false;
      if (ctx === null) {
        this._session.setContext(declineContext(this._ctx).context);
        restore = true;
      } else if (ctx) {
        this._session.setContext(ctx.context);
        restore = true;
      }
      this._op = { kind: 'answer', phase: 'reauth', restoreContext: restore, resolve: () => {}, reject: (e) => this._fail(e) };
      this._pump();
    };
    if (this.listenerCount('reauthRequest') > 0) {
      this._awaitingAnswer = true;
      this.emit('reauthRequest', new ReauthRequest(answer));
    } else {
      answer(this._options.autoReauth === false ? null : undefined);
    }
  }

  // ---- writing ---------------------------------------------------------------------------------

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this._writeChunks([chunk], cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this._writeChunks(
      chunks.map((c) => c.chunk),
      cb,
    );
  }

  /**
   * Writes wait while a TLS 1.2 re-handshake runs, from our HelloRequest on: an OpenSSL client
   * rejects application data that arrives after it sent its ClientHello ("unexpected record"),
   * and OpenSSL servers (Node's) hold their writes the same way. A client that ignores the
   * HelloRequest holds them until rehandshake()/reauth() times out.
   */
  private _holdWrites(): boolean {
    const op = this._op;
    return this._state !== 'secure' || (op !== null && op.phase !== 'reauth');
  }

  private _writeChunks(chunks: Buffer[], cb: (err?: Error | null) => void): void {
    if (this._holdWrites()) {
      if (this._state === 'closed') cb(nodeError('ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed'));
      else this._pendingWrites.push({ chunks, cb });
      return;
    }
    const total = chunks.reduce((n, c) => n + c.length, 0);
    if (chunks.length === 1 && total > SLICE) {
      this._writeSlices(chunks[0], 0, cb);
      return;
    }
    const code = this._encrypt(chunks.length === 1 ? chunks[0] : chunks, total);
    if (code < 0) {
      cb(gnutlsError(code, this._session.lastAlert(), 'write failed'));
      return;
    }
    this._afterWrite(cb);
  }

  private _writeSlices(buf: Buffer, off: number, cb: (err?: Error | null) => void): void {
    while (off < buf.length) {
      if (this._state !== 'secure') {
        cb(nodeError('ERR_STREAM_DESTROYED', 'socket closed during write'));
        return;
      }
      if (this._holdWrites()) {
        this._pendingWrites.push({ chunks: [buf.subarray(off)], cb });
        return;
      }
      const end = Math.min(buf.length, off + SLICE);
      const code = this._encrypt(buf.subarray(off, end), end - off);
      if (code < 0) {
        cb(gnutlsError(code, this._session.lastAlert(), 'write failed'));
        return;
      }
      off = end;
      this._flush();
      if (off < buf.length && this.socket.writableNeedDrain) {
        this.socket.once('drain', () => this._writeSlices(buf, off, cb));
        return;
      }
    }
    this._afterWrite(cb);
  }

  /**
   * Encrypts `data` (`length` plaintext bytes) straight into the shared ciphertext slab and writes
   * that slice to the transport; whatever did not fit follows from output() in _flush().
   */
  private _encrypt(data: Buffer | Buffer[], length: number): number {
    const slab = ciphertextSlab(length);
    const n = this._session.send(data, slab.buf, slab.used);
    if (n > 0) {
      const view = slab.buf.subarray(slab.used, slab.used + n);
      slab.used += n;
      if (this.socket.writable) {
        this.socket.write(view);
        if (this._idleMs > 0) this._idleSeen = Date.now();
      }
    }
    return n;
  }

  /** Calls back once the transport accepted the ciphertext (waits for 'drain' when it pushes back). */
  private _afterWrite(cb: (err?: Error | null) => void): void {
    this._flush();
    if (this.socket.writableNeedDrain) this.socket.once('drain', () => cb());
    else cb();
  }

  private _releaseWrites(): void {
    const pending = this._pendingWrites;
    this._pendingWrites = [];
    for (const w of pending) this._writeChunks(w.chunks, w.cb);
    const fin = this._pendingFinal;
    this._pendingFinal = null;
    if (fin) this._final(fin);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this._holdWrites() && this._state !== 'closed') {
      this._pendingFinal = cb;
      return;
    }
    if (this._state === 'closed') {
      cb();
      return;
    }
    if (!this.socket.writable) {
      cb();
      return;
    }
    this._session.bye(); // close_notify
    this._flush();
    this.socket.end(() => cb());
  }

  // ---- endings ---------------------------------------------------------------------------------

  private _transportEnded(): void {
    if (this._state === 'closed') return;
    if (this._state !== 'secure') {
      this._fail(
        nodeError('ECONNRESET', 'Client network socket disconnected before secure TLS connection was established'),
      );
      return;
    }
    if (!this._closeNotifyReceived) {
      this._closeNotifyReceived = true;
      this._pushEnd();
    }
  }

  private _transportClosed(): void {
    if (this.destroyed) return;
    if (this._state !== 'secure' && this._state !== 'closed') {
      this._transportEnded();
      return;
    }
    if (this.readableEnded || !this._closeNotifyReceived) this.destroy();
    else this.once('end', () => this.destroy());
  }

  /** A fatal error: reported once (tlsClientError on a server before the handshake). */
  private _fail(err: Error): void {
    if (this._errorEmitted || this.destroyed) return;
    this._errorEmitted = true;
    // A server's socket belongs to the application from 'secureConnection' on; errors before
    // it (a client rejected after the handshake, too) go to 'tlsClientError'.
    if (this._isServer && !this._announced && this._server) {
      const tlsErr = err instanceof TLSError ? err : new TLSError(err.message, { code: (err as { code?: string }).code ?? 'ERR_TLS_TRANSPORT', cause: err });
      this._server.emit('tlsClientError', tlsErr, this);
      this.destroy();
      return;
    }
    this.destroy(err);
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (this._idleTimer) clearTimeout(this._idleTimer);
    this._idleTimer = null;
    this.socket.removeListener('data', this._onActivity);
    if (this._handshakeTimer) clearTimeout(this._handshakeTimer);
    this._handshakeTimer = null;
    this._state = 'closed';
    const pending = this._pendingWrites;
    this._pendingWrites = [];
    const closedErr = err ?? nodeError('ERR_STREAM_DESTROYED', 'socket destroyed before the handshake completed');
    for (const w of pending) w.cb(closedErr);
    const fin = this._pendingFinal;
    this._pendingFinal = null;
    fin?.(closedErr);
    const op = this._op;
    this._op = null;
    if (op) {
      if (op.timer) clearTimeout(op.timer);
      op.reject(err ?? nodeError('ERR_SOCKET_CLOSED', `socket closed during ${op.kind}`));
    }
    const queued = this._opQueue;
    this._opQueue = [];
    for (const run of queued) run(); // each rejects: the socket is closed
    this._session.close();
    const s = this.socket;
    s.removeListener('data', this._onData);
    s.removeListener('end', this._onEnd);
    s.removeListener('timeout', this._onTimeout);
    s.removeListener('close', this._onClose);
    s.on('error', () => {}); // late transport errors have nowhere to go
    s.removeListener('error', this._onError);
    s.destroy();
    cb(err);
  }

  // ---- what was negotiated ---------------------------------------------------------------------

  getProtocol(): string | null {
    return this._info?.protocol ? (PROTOCOLS[this._info.protocol] ?? this._info.protocol) : null;
  }

  getCipher(): CipherNameAndProtocol | undefined {
    const suite = this._info?.suite;
    if (!suite) return undefined;
    const tls13 = this._info!.protocol === 'TLS1.3';
    const name = opensslName(suite);
    const version = tls13 ? 'TLSv1.3' : /GCM|CCM|CHACHA|SHA256|SHA384/.test(suite) ? 'TLSv1.2' : 'TLSv1.0';
    return { name, standardName: suite, version };
  }

  getEphemeralKeyInfo(): EphemeralKeyInfo | null {
    if (!this._info) return null;
    if (this._isServer) return {};
    const g = this._info.group ? GROUPS[this._info.group] : undefined;
    return g ? { type: g.type, name: g.name, size: g.size } : {};
  }

  getPeerCertificate(detailed?: false): PeerCertificate;
  getPeerCertificate(detailed: true): DetailedPeerCertificate;
  getPeerCertificate(detailed?: boolean): PeerCertificate | DetailedPeerCertificate;
  getPeerCertificate(detailed = false): PeerCertificate | DetailedPeerCertificate {
    if (this._state === 'closed' || !this._info) return null as unknown as PeerCertificate;
    const chain = this._session.peerCertificates();
    // A raw public key (RFC 7250) is no certificate: see getPeerPublicKey().
    if (chain.length === 0 || this._info.peerCertType === RAW_PUBLIC_KEY) return {} as PeerCertificate;
    return peerCertificate(chain, detailed, this._ctx.trustedCertificates());
  }

  getCertificate(): PeerCertificate | object | null {
    if (this._state === 'closed' || !this._info) return null;
    const own = this._session.ownCertificate();
    return own.length && this._info.ownCertType !== RAW_PUBLIC_KEY ? peerCertificate(own, false) : {};
  }

  getSession(): Buffer | undefined {
    if (this._state === 'closed' || !this._info) return undefined;
    return this._session.sessionData();
  }

  isSessionReused(): boolean {
    return this._info?.resumed ?? false;
  }

  getFinished(): Buffer | undefined {
    return this._state === 'closed' ? undefined : this._session.finished(false);
  }

  getPeerFinished(): Buffer | undefined {
    return this._state === 'closed' ? undefined : this._session.finished(true);
  }

  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) {
      throw nodeError('ERR_INVALID_ARG_TYPE', 'The "length" argument must be a non-negative integer');
    }
    if (typeof label !== 'string') throw nodeError('ERR_INVALID_ARG_TYPE', 'The "label" argument must be a string');
    if (context !== undefined && !(context instanceof Uint8Array)) {
      throw nodeError('ERR_INVALID_ARG_TYPE', 'The "context" argument must be a Buffer');
    }
    if (this._state !== 'secure') throw nodeError('ERR_SOCKET_CLOSED', 'TLS socket connection must be securely established');
    return this._session.exportKeyingMaterial(label, length, context ? Buffer.from(context) : undefined);
  }

  /**
   * A channel binding (RFC 5929, RFC 9266) of this connection, computed by GnuTLS; undefined when
   * the protocol has none ('tls-unique' under TLS 1.3).
   */
  getChannelBinding(type: ChannelBindingType): Buffer | undefined {
    const t = CHANNEL_BINDINGS[type];
    if (t === undefined) throw nodeError('ERR_INVALID_ARG_VALUE', `unknown channel binding type: ${String(type)}`);
    if (this._state !== 'secure') throw nodeError('ERR_SOCKET_CLOSED', 'TLS socket connection must be securely established');
    return this._session.channelBinding(t);
  }

  /** The peer's public key (from its certificate or its RFC 7250 raw key) with its SPKI pin. */
  getPeerPublicKey(): PeerPublicKey | null {
    if (this._state === 'closed' || !this._info) return null;
    return peerPublicKey(this._info.peerCertType, this._session.peerCertificates()[0]);
  }

  /** What GnuTLS negotiated, in its own names. */
  getNegotiatedParameters(): NegotiatedParameters | null {
    const i = this._info;
    if (!i) return null;
    return {
      protocol: i.protocol,
      cipherSuite: i.suite,
      cipher: i.cipher,
      mac: i.mac,
      keyExchange: i.kx,
      group: i.group,
      serverSignature: i.sign,
      clientSignature: i.clientSign,
      certificateType: { own: i.ownCertType, peer: i.peerCertType },
      pskIdentity: i.pskIdentity,
    };
  }

  /** GnuTLS's safe-renegotiation status (RFC 5746) for this session. */
  get safeRenegotiation(): boolean {
    return this._info?.safeRenegotiation ?? false;
  }

  // ---- net.Socket-compatible surface -----------------------------------------------------------

  private get _net(): Partial<net.Socket> {
    return this.socket as Partial<net.Socket>;
  }
  get remoteAddress(): string | undefined {
    return this._net.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this._net.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this._net.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this._net.localAddress;
  }
  get localPort(): number | undefined {
    return this._net.localPort;
  }
  get connecting(): boolean {
    return this._state === 'new' || this._state === 'handshaking';
  }
  get bytesWritten(): number | undefined {
    return this._net.bytesWritten;
  }
  get bytesRead(): number | undefined {
    return this._net.bytesRead;
  }
  address(): net.AddressInfo | object {
    return this._net.address ? this._net.address.call(this.socket) : {};
  }
  setNoDelay(noDelay?: boolean): this {
    this._net.setNoDelay?.call(this.socket, noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this._net.setKeepAlive?.call(this.socket, enable, initialDelay);
    return this;
  }
  setTimeout(ms: number, cb?: () => void): this {
    if (this._net.setTimeout) {
      this._net.setTimeout.call(this.socket, ms);
    } else {
      this._idleTimeout(ms); // a transport without timers of its own
    }
    if (cb) {
      if (ms === 0) this.removeListener('timeout', cb);
      else this.once('timeout', cb);
    }
    return this;
  }
  private _idleMs = 0;
  private _idleTimer: NodeJS.Timeout | null = null;
  private _idleSeen = 0;
  private readonly _onActivity = (): void => {
    this._idleSeen = Date.now();
  };

  /** Idle timer over the transport's traffic both ways, re-armed until it really was idle for `ms`. */
  private _idleTimeout(ms: number): void {
    if (this._idleTimer) clearTimeout(this._idleTimer);
    this._idleTimer = null;
    this.socket.removeListener('data', this._onActivity);
    this._idleMs = ms;
    if (ms <= 0 || this.destroyed) return;
    this._idleSeen = Date.now();
    this.socket.on('data', this._onActivity);
    const arm = (delay: number): void => {
      this._idleTimer = setTimeout(() => {
        const idle = Date.now() - this._idleSeen;
        if (idle + 1 < this._idleMs) {
          arm(this._idleMs - idle);
          return;
        }
        this._idleSeen = Date.now();
        this.emit('timeout');
        arm(this._idleMs);
      }, delay);
      this._idleTimer.unref?.();
    };
    arm(ms);
  }

  ref(): this {
    this._net.ref?.call(this.socket);
    return this;
  }
  unref(): this {
    this._net.unref?.call(this.socket);
    return this;
  }
}
