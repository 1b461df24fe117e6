// SocketBase: the net.Socket façade of a TLSSocket (addresses, socket options, byte counts as Node
// reports them for TLS: plaintext) and the getters of what was negotiated. TLSSocket adds the
// engine driving and the stream plumbing.
import * as net from 'net';
import * as tls from 'tls';
import { X509Certificate } from 'crypto';
import { Duplex } from 'stream';
import type { Engine } from './engine/engine';
import { nodeError } from './errors';
import { SFLAGS } from './constants';
import { sessionInfo } from './native';
import { nativeCodedError, validateBufferLike, validateInteger, validateString } from './validate';
import { CHANNEL_BINDINGS, ChannelBindingType, PeerPublicKey, peerPublicKey } from './features';
import { CipherNameAndProtocol, EphemeralKeyInfo, NegotiatedParameters, cipherOf, ephemeralKeyInfo, negotiatedParameters, protocolName } from './negotiated';
import { DetailedPeerCertificate, PeerCertificate, peerCertificate } from './verify';
import { RAW_PUBLIC_KEY } from './engine/verification';
import type { WritePath } from './write-path';
import type { SecureContextLike, SecureContextOptions } from './secure-context';
import { checkInt32, unsupported } from './arg-errors';
import { invalidArgType } from './validate';

/** A Buffer of its own memory (what Node's getters return; @types/node's NonSharedBuffer). */
export type OwnBuffer = Buffer<ArrayBuffer>;

/** What authorizationError holds: a string (or null), typed to fit @types/node's `Error`. */
export type AuthorizationError = string & Error;

export abstract class SocketBase extends net.Socket {
  /** Always true (as Node's TLSSocket). */
  readonly encrypted = true;
  /** Whether the peer's certificate verified (see `authorizationError` when not). */
  authorized = false;
  /**
   * Why the peer was not authorized, e.g. 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'; null when it was (or
   * was not checked). A string or null at run time, as with Node; typed so that the socket is
   * assignable to @types/node's TLSSocket, which declares it an Error.
   */
  authorizationError: AuthorizationError = null as unknown as AuthorizationError;
  /** The ALPN protocol negotiated; false when none; null before the handshake. */
  alpnProtocol: string | false | null = null;
  /** The SNI name (client: sent; server: received); false when none. */
  servername: string | false | null = null;
  /** As Node's: true until 'secureConnect' (client) or 'secureConnection' (server). */
  secureConnecting = true;
  /** As Node's: true from the first 'secure' on. */
  _secureEstablished = false;
  /** The Duplex carrying the ciphertext. */
  readonly socket: Duplex;
  protected abstract _engine: Engine;
  protected abstract _options: { postHandshakeAuth?: boolean };
  protected abstract readonly _writes: WritePath;
  protected readonly _isServer: boolean;
  /** Plaintext bytes pushed to the reader / accepted from writers (Node's bytesRead/bytesWritten for TLS). */
  protected _plainRead = 0;
  protected _plainWritten = 0;

  constructor(transport: Duplex, isServer: boolean, opts: { allowHalfOpen?: boolean; highWaterMark?: number }) {
    super({ allowHalfOpen: opts.allowHalfOpen ?? false, highWaterMark: opts.highWaterMark } as net.SocketConstructorOpts);
    this.socket = transport;
    this._isServer = isServer;
  }

  /**
   * @internal Reads the peer's address once, so that it stays readable after the transport is gone
   * (in 'tlsClientError', say), as on Node's socket: net.Socket keeps what it once read.
   */
  protected _rememberPeer(): void {
    void (this.socket as Partial<net.Socket>).remoteAddress;
  }

  /** @internal Node's name for the underlying net.Socket (null over another kind of Duplex). */
  get _parent(): net.Socket | null {
    return this.socket instanceof net.Socket ? this.socket : null;
  }
  /** @internal */
  set _parent(_v: net.Socket | null) {
    // net.Socket's constructor resets it; the transport decides.
  }

  private get _net(): Partial<net.Socket> {
    return this.socket as Partial<net.Socket>;
  }

  // net.Socket reads its address getters (remoteAddress, localPort, ...) through these two.
  /** @internal */
  _getpeername(): Partial<net.AddressInfo> {
    const t = this._net;
    if (t.remoteAddress === undefined) return {};
    return { address: t.remoteAddress, port: t.remotePort, family: t.remoteFamily };
  }

  /** @internal */
  _getsockname(): Partial<net.AddressInfo> {
    const t = this._net;
    if (typeof t.address !== 'function') return {};
    return (t.address.call(this.socket) as net.AddressInfo) ?? {};
  }

  override address(): net.AddressInfo | Record<string, never> {
    return this._getsockname() as net.AddressInfo;
  }

  override setNoDelay(noDelay?: boolean): this {
    this._net.setNoDelay?.call(this.socket, noDelay);
    return this;
  }

  override setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this._net.setKeepAlive?.call(this.socket, enable, initialDelay);
    return this;
  }

  override ref(): this {
    this._net.ref?.call(this.socket);
    this._refChanged(true);
    return this;
  }

  override unref(): this {
    this._net.unref?.call(this.socket);
    this._refChanged(false);
    return this;
  }

  /** Whether the socket keeps the event loop alive (ref/unref), for handles of its own. */
  protected _refChanged(_on: boolean): void {}

  /** Restarts the idle timer of setTimeout() (net.Socket's own), on traffic in either direction. */
  protected _activity(): void {
    (this as unknown as { _unrefTimer(): void })._unrefTimer();
  }

  /** Client, before the handshake starts: the SNI name to send (Node's setServername). */
  setServername(name: string): void {
    validateString(name, 'name');
    if (this._isServer) throw nodeError('ERR_TLS_SNI_FROM_SERVER', 'Cannot issue SNI from a TLS server-side socket');
    const e = this._engine;
    if (e.state !== 'new') return; // the ClientHello is out: as with Node, it has no effect now
    e.session.setServerName(name);
    this.servername = name;
  }

  /** Client, before the handshake starts: a session to resume (Node's setSession). */
  setSession(session: Buffer | string): void {
    const data = typeof session === 'string' ? Buffer.from(session, 'latin1') : session;
    if (!Buffer.isBuffer(data)) throw nativeCodedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'Session must be a buffer');
    const e = this._engine;
    if (e.state === 'new' && !this._isServer) e.session.setSessionData(data);
  }

  // ---- what was negotiated ---------------------------------------------------------------------

  /** The engine while the connection is usable for queries (null once closed). */
  private get _live(): Engine | null {
    const e = this._engine;
    return e && e.state !== 'closed' && e.info ? e : null;
  }

  // Like Node's, whose handle is gone once the socket is destroyed, these answer null then.
  /** The TLS version negotiated ('TLSv1.3', 'TLSv1.2'); null before the handshake or once destroyed. */
  getProtocol(): string | null {
    return this.destroyed ? null : protocolName(this._engine?.info ?? null);
  }

  /** Typed as Node's; null once the socket is destroyed, as Node's is. */
  getCipher(): CipherNameAndProtocol {
    return (this.destroyed ? null : cipherOf(this._engine?.info ?? null)) as CipherNameAndProtocol;
  }

  /** Client: the key exchange's ephemeral key ({} on a server, as Node's); null once destroyed. */
  getEphemeralKeyInfo(): EphemeralKeyInfo | object | null {
    return this.destroyed ? null : ephemeralKeyInfo(this._engine?.info ?? null, this._isServer);
  }

  /** What GnuTLS negotiated, in its own names. */
  getNegotiatedParameters(): NegotiatedParameters | null {
    return negotiatedParameters(this._engine?.info ?? null);
  }

  /** The peer's certificate in Node's shape; `{}` when it sent none. */
  getPeerCertificate(detailed?: false): PeerCertificate;
  /** The peer's certificate with its issuer chain (`issuerCertificate`). */
  getPeerCertificate(detailed: true): DetailedPeerCertificate;
  /** The peer's certificate; with `detailed`, with its issuer chain. */
  getPeerCertificate(detailed?: boolean): PeerCertificate | DetailedPeerCertificate;
  getPeerCertificate(detailed = false): PeerCertificate | DetailedPeerCertificate {
    const e = this._live;
    if (!e) return null as unknown as PeerCertificate;
    const chain = e.session.peerCertificates();
    // A raw public key (RFC 7250) is no certificate: see getPeerPublicKey().
    if (chain.length === 0 || e.info!.peerCertType === RAW_PUBLIC_KEY) return {} as PeerCertificate;
    return peerCertificate(chain, detailed, e.ctx.trustedCertificates());
  }

  /** Our own certificate in Node's shape; `{}` when we sent none. */
  getCertificate(): PeerCertificate | object | null {
    const e = this._live;
    if (!e) return null;
    const own = e.session.ownCertificate();
    return own.length && e.info!.ownCertType !== RAW_PUBLIC_KEY ? peerCertificate(own, false) : {};
  }

  /** The peer's certificate as a crypto.X509Certificate (undefined: none, or a raw public key). */
  getPeerX509Certificate(): X509Certificate | undefined {
    const e = this._live;
    if (!e || e.info!.peerCertType === RAW_PUBLIC_KEY) return undefined;
    const leaf = e.session.peerCertificates()[0];
    return leaf ? new X509Certificate(leaf) : undefined;
  }

  /**
   * The certificates the peer sent, leaf first, as it sent them (no trust anchor added, unlike
   * getPeerCertificate(true)); [] when it sent none or a raw public key.
   */
  getPeerX509Chain(): X509Certificate[] {
    const e = this._live;
    if (!e || e.info!.peerCertType === RAW_PUBLIC_KEY) return [];
    return e.session.peerCertificates().map((der) => new X509Certificate(der));
  }

  /** Our own certificate as a crypto.X509Certificate (undefined: none sent). */
  getX509Certificate(): X509Certificate | undefined {
    const e = this._live;
    if (!e || e.info!.ownCertType === RAW_PUBLIC_KEY) return undefined;
    const own = e.session.ownCertificate()[0];
    return own ? new X509Certificate(own) : undefined;
  }

  /** The session data, to resume with `connect({ session })`. */
  getSession(): OwnBuffer | undefined {
    return this.destroyed ? (null as unknown as undefined) : (this._live?.session.sessionData() as OwnBuffer | undefined);
  }

  /** Typed as Node's; null once the socket is destroyed, as Node's is. */
  isSessionReused(): boolean {
    return this.destroyed ? (null as unknown as boolean) : this._engine?.info?.resumed ?? false;
  }

  /** The last Finished message we sent (TLS 1.2 channel binding material). */
  getFinished(): OwnBuffer | undefined {
    return this.destroyed ? (null as unknown as undefined) : (this._live?.session.finished(false) as OwnBuffer | undefined);
  }

  /** The last Finished message the peer sent. */
  getPeerFinished(): OwnBuffer | undefined {
    return this.destroyed ? (null as unknown as undefined) : (this._live?.session.finished(true) as OwnBuffer | undefined);
  }

  /** Server: undefined, as Node's. Client: GnuTLS does not hand out the ticket it holds. */
  getTLSTicket(): OwnBuffer | undefined {
    if (this.destroyed) return null as unknown as undefined;
    if (this._isServer) return undefined;
    throw unsupported('getTLSTicket()', 'GnuTLS does not expose the session ticket; getSession() has the session with it');
  }

  /** Not supported: throws ERR_GNUTLS_UNSUPPORTED (GnuTLS does not report the shared signature algorithms). */
  getSharedSigalgs(): string[] {
    if (this.destroyed) return null as unknown as string[];
    throw unsupported('getSharedSigalgs()', 'GnuTLS does not report the signature algorithms both peers share');
  }

  /** Node's setKeyCert: the credentials are the session's from its creation in GnuTLS. */
  setKeyCert(_context: SecureContextLike | SecureContextOptions): void {
    throw unsupported('setKeyCert()', "a GnuTLS session's credentials are fixed when it is made; give them as the socket's options (or in an SNICallback)");
  }

  /** Not supported: throws ERR_GNUTLS_UNSUPPORTED (GnuTLS has no per-connection trace; see GNUTLS_DEBUG_LEVEL). */
  enableTrace(): void {
    throw unsupported('enableTrace()', "GnuTLS has no per-connection protocol trace (set GNUTLS_DEBUG_LEVEL for the library's log)");
  }

  /** Node's setMaxSendFragment: records of at most `size` plaintext bytes (512..16384); false outside. */
  setMaxSendFragment(size: number): boolean {
    if (typeof size !== 'number') throw invalidArgType('size', 'number', size);
    checkInt32('size', size);
    if (size < 512 || size > 16384) return false;
    this._writes.maxFragment = size;
    return true;
  }

  /** The peer's public key (from its certificate or its RFC 7250 raw key) with its SPKI pin. */
  getPeerPublicKey(): PeerPublicKey | null {
    const e = this._live;
    if (!e) return null;
    return peerPublicKey(e.info!.peerCertType, e.session.peerCertificates()[0]);
  }

  /** Server: the client advertised TLS 1.3 post-handshake auth. Client: we advertised it. */
  get postHandshakeAuthEnabled(): boolean {
    const e = this._engine;
    if (!e.info || e.closed) return false;
    if (!this._isServer) return this._options.postHandshakeAuth ?? e.ctx.hasCertificate;
    return (sessionInfo(e.session).flags & SFLAGS.POST_HANDSHAKE_AUTH) !== 0;
  }

  /** GnuTLS's safe-renegotiation status (RFC 5746) for this session. */
  get safeRenegotiation(): boolean {
    return this._engine?.info?.safeRenegotiation ?? false;
  }

  private _established(): Engine {
    const e = this._engine;
    if (!e || e.state !== 'secure') throw nodeError('ERR_SOCKET_CLOSED', 'TLS socket connection must be securely established');
    return e;
  }

  /** RFC 5705 / RFC 8446 keying material exporter (Node's). */
  exportKeyingMaterial(length: number, label: string, context?: Buffer): OwnBuffer {
    validateInteger(length, 'length', 1, 2 ** 32 - 1);
    validateString(label, 'label');
    if (context !== undefined) validateBufferLike(context, 'context');
    const e = this._engine;
    if (!e || e.state !== 'secure') throw nodeError('ERR_TLS_INVALID_STATE', 'TLS socket connection must be securely established');
    const ctx = context && Buffer.from(context.buffer, context.byteOffset, context.byteLength);
    return e.session.exportKeyingMaterial(label, length, ctx) as OwnBuffer;
  }

  /**
   * A channel binding (RFC 5929, RFC 9266) of this connection, computed by GnuTLS; undefined when
   * the protocol has none ('tls-unique' under TLS 1.3).
   */
  getChannelBinding(type: ChannelBindingType): Buffer | undefined {
    const t = CHANNEL_BINDINGS[type];
    if (t === undefined) throw nodeError('ERR_INVALID_ARG_VALUE', `unknown channel binding type: ${String(type)}`);
    return this._established().session.channelBinding(t);
  }
}

// Node reports plaintext byte counts on a TLS socket; net.Socket's own getters read a handle.
Object.defineProperty(SocketBase.prototype, 'bytesRead', {
  configurable: true,
  get(this: SocketBase) {
    return (this as unknown as { _plainRead: number })._plainRead;
  },
});
Object.defineProperty(SocketBase.prototype, 'bytesWritten', {
  configurable: true,
  get(this: SocketBase) {
    return (this as unknown as { _plainWritten: number })._plainWritten + this.writableLength;
  },
});
// As on Node's TLS socket: what write() has buffered (net.Socket's own reads a handle).
Object.defineProperty(SocketBase.prototype, 'bufferSize', {
  configurable: true,
  get(this: SocketBase) {
    return this.writableLength;
  },
});
// As net.Socket's (no handle yet, or no more): until the transport connected, and once destroyed.
Object.defineProperty(SocketBase.prototype, 'pending', {
  configurable: true,
  get(this: SocketBase) {
    return this.connecting || this.destroyed;
  },
});

// A TLSSocket is a `tls.TLSSocket` as far as `instanceof` and the prototype chain tell (Node's http2
// waits for 'secureConnect' only on one). The constructor stays net.Socket's: no Node TLS handle is
// made. Every method Node's prototype defines is ours; its internals, which drive Node's TLS handle,
// throw when called.
Object.setPrototypeOf(SocketBase.prototype, tls.TLSSocket.prototype);
export const NODE_TLS_INTERNALS = ['_wrapHandle', '_destroySSL', '_init', '_handleTimeout', '_emitTLSError', '_tlsError', '_releaseControl', '_finishInit'] as const;
for (const name of NODE_TLS_INTERNALS) {
  Object.defineProperty(SocketBase.prototype, name, {
    configurable: true,
    writable: true,
    value: function nodeTlsInternal(): never {
      throw unsupported(`${name}()`, "it drives Node's own TLS handle, which a node-gnutls socket does not have");
    },
  });
}
