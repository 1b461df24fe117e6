// DTLSSocket: one DTLS association over a datagram link. Every call into the native session runs
// to completion on the JS thread; retransmissions are timers armed from gnutls_dtls_get_timeout().
import { EventEmitter } from 'events';
import type { AddressInfo } from 'net';
import type { RemoteInfo } from 'dgram';
import { type NativeDtlsSession, type NativeInfo, type NativeSrtpKeys, sessionInfo } from '../native';
import { ALERT_LEVEL, E } from '../constants';
import { TLSError, gnutlsError, nodeError } from '../errors';
import type { SecureContext } from '../secure-context';
import { CHANNEL_BINDINGS, ChannelBindingType } from '../features';
import { cipherOf, CipherNameAndProtocol } from '../negotiated';
import { dtlsVerdict } from './verify-peer';
import { DetailedPeerCertificate, PeerCertificate, alertFor, peerCertificate } from '../verify';
import { validateBufferLike, validateInteger, validateString } from '../validate';
import type { EmitArgs, EventName, Listener } from '../events';
import type { DTLSSocketEvents } from './events';
import type { Timing } from './options';

const LARGE_PACKET = -7; // GNUTLS_E_LARGE_PACKET
const NO_RENEGOTIATION = 100;
const USER_CANCELED = 90;

/** Where a socket's datagrams go: its own UDP socket (client) or the server's. */
export interface DatagramLink {
  send(datagrams: Buffer[], cb?: (err: Error | null) => void): void;
  /** The socket is done with the link (client: closes its UDP socket; server: forgets the peer). */
  release(): void;
  address(): AddressInfo;
  ref?(): void;
  unref?(): void;
}

export interface SocketInit {
  isServer: boolean;
  link: DatagramLink;
  remote: RemoteInfo;
  ctx: SecureContext;
  timing: Timing;
  rejectUnauthorized: boolean;
  requestCert: boolean;
  hostname: string;
  checkServerIdentity?: (hostname: string, cert: PeerCertificate) => Error | undefined;
  usesPsk: boolean;
  /** Makes the native session; the socket is handed to a server pskCallback. */
  session: (socket: DTLSSocket, onPskError: (err: Error) => void) => NativeDtlsSession;
  /** Server: the handshake completed (true) or failed (false, with the error). */
  onHandshake?: (socket: DTLSSocket, err: Error | null) => void;
  /** Server: an error after the handshake on a socket without an 'error' listener. */
  onOrphanError?: (socket: DTLSSocket, err: Error) => void;
}

const PROTOCOLS: Record<string, string> = { 'DTLS1.2': 'DTLSv1.2', 'DTLS1.0': 'DTLSv1', 'DTLS0.9': 'DTLSv0.9' };

export const handshakeTimeoutError = (): TLSError => nodeError('ERR_DTLS_HANDSHAKE_TIMEOUT', 'DTLS handshake timed out');

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface DTLSSocket {
  /** Adds a listener of a DTLSSocketEvents event (typed by name). */
  on<E extends string | symbol>(event: E & EventName<DTLSSocketEvents, E>, listener: Listener<DTLSSocketEvents, E>): this;
  /** Adds a one-time listener of a DTLSSocketEvents event. */
  once<E extends string | symbol>(event: E & EventName<DTLSSocketEvents, E>, listener: Listener<DTLSSocketEvents, E>): this;
  /** Removes a listener. */
  off<E extends string | symbol>(event: E & EventName<DTLSSocketEvents, E>, listener: Listener<DTLSSocketEvents, E>): this;
  /** Adds a listener (as `on`). */
  addListener<E extends string | symbol>(event: E & EventName<DTLSSocketEvents, E>, listener: Listener<DTLSSocketEvents, E>): this;
  /** Removes a listener (as `off`). */
  removeListener<E extends string | symbol>(event: E & EventName<DTLSSocketEvents, E>, listener: Listener<DTLSSocketEvents, E>): this;
  /** Adds a listener before the others. */
  prependListener<E extends string | symbol>(event: E & EventName<DTLSSocketEvents, E>, listener: Listener<DTLSSocketEvents, E>): this;
  /** Adds a one-time listener before the others. */
  prependOnceListener<E extends string | symbol>(event: E & EventName<DTLSSocketEvents, E>, listener: Listener<DTLSSocketEvents, E>): this;
  /** Emits an event with its typed arguments. */
  emit<E extends string | symbol>(event: E & EventName<DTLSSocketEvents, E>, ...args: EmitArgs<DTLSSocketEvents, E>): boolean;
}

/**
 * One DTLS association with one peer: made by {@link connect} (client) or handed to a
 * {@link DTLSServer}'s 'secureConnection' (server). One send() is one record in one datagram, one
 * 'message' is one record received; lost records are not resent (as UDP).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class DTLSSocket extends EventEmitter {
  /** Always true, as a TLSSocket's. */
  readonly encrypted = true;
  /** The peer's IP address (client: once the host is resolved). */
  readonly remoteAddress: string;
  /** The peer's UDP port. */
  readonly remotePort: number;
  /** 'IPv4' or 'IPv6'. */
  readonly remoteFamily: string;
  /**
   * The peer is authenticated: its certificate verified, or a PSK handshake. False before the
   * handshake completed, and on a server that did not set `requestCert`.
   */
  authorized = false;
  /** Why the peer's certificate did not verify (Node's code, e.g. 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), or null. */
  authorizationError: string | null = null;
  /** The protocol ALPN selected, or false. */
  alpnProtocol: string | false = false;
  /** Server: the SNI name the client sent; client: the name it sent. */
  servername: string | false = false;
  private _s: NativeDtlsSession | null = null;
  private _state: 'handshake' | 'open' | 'closed' = 'handshake';
  private _info: NativeInfo | null = null;
  private _retransmit: NodeJS.Timeout | undefined;
  private _deadline: NodeJS.Timeout | undefined;
  private _pending: Array<[Buffer, ((err: Error | null) => void) | undefined]> = [];
  private _pskError: Error | null = null;
  private readonly _init: SocketInit;
  private _idleMs = 0;
  private _idle: NodeJS.Timeout | undefined;
  /** Datagrams dropped because the native queue was full. */
  private _dropped = 0;
  /** Datagrams dropped because they were not whole DTLS records. */
  private _malformed = 0;

  /** @internal Made by connect() and by a DTLSServer; not constructed directly. */
  constructor(init: SocketInit) {
    super();
    this._init = init;
    this.remoteAddress = init.remote.address;
    this.remotePort = init.remote.port;
    this.remoteFamily = init.remote.family;
    this._s = init.session(this, (err) => (this._pskError ??= err));
    this._deadline = setTimeout(() => this._fail(handshakeTimeoutError()), init.timing.handshakeTimeout);
  }

  /** @internal Client: sends the first ClientHello. Server: the first datagram was fed by the server. */
  _start(first?: Buffer): void {
    if (first) this._s?.feed(first);
    this._step();
  }

  /** @internal A datagram from the peer. */
  _datagram(msg: Buffer): void {
    const s = this._s;
    if (!s) return;
    this._touch();
    const fed = s.feed(msg);
    if (fed === 1) this._dropped++;
    if (fed === 2) this._malformed++;
    if (this._state === 'handshake') this._step();
    else this._drain();
  }

  private _step(): void {
    const s = this._s;
    if (!s || this._state !== 'handshake') return;
    clearTimeout(this._retransmit);
    let code: number;
    try {
      code = s.handshake();
    } catch (err) {
      return this._fail(err as Error);
    }
    if (this._s !== s) return; // closed from a PSK callback
    this._flush();
    if (code === E.SUCCESS) return this._established();
    if (code === E.AGAIN || code === E.INTERRUPTED || code === E.WARNING_ALERT_RECEIVED) {
      this._retransmit = setTimeout(() => this._step(), Math.max(1, s.timeout()));
      return;
    }
    if (code === E.TIMEDOUT) return this._fail(handshakeTimeoutError());
    const err = this._pskError ?? gnutlsError(code, s.lastAlert(), 'DTLS handshake');
    // Tell the peer (datagrams have no FIN): the alert GnuTLS maps the failure to.
    if (code !== E.FATAL_ALERT_RECEIVED) {
      s.sendAppropriateAlert(code);
      this._flush();
    }
    this._fail(err);
  }

  private _established(): void {
    const s = this._s!;
    const init = this._init;
    clearTimeout(this._deadline);
    this._info = sessionInfo(s);
    this.alpnProtocol = this._info.alpn ?? false;
    this.servername = this._info.serverName ?? (init.isServer ? false : init.hostname || false);
    const verdict = dtlsVerdict(init, s, this._info);
    this.authorized = verdict.authorized;
    this.authorizationError = verdict.authorizationError;
    if (verdict.reject) {
      // Datagrams have no FIN: the peer learns of the refusal only from an alert.
      const alert = verdict.reject.alert ?? alertFor(verdict.authorizationError ?? '');
      s.sendAlert(ALERT_LEVEL.FATAL, alert);
      this._flush();
      return this._fail(verdict.reject.err);
    }
    this._state = 'open';
    init.onHandshake?.(this, null);
    if (this._s !== s) return;
    this.emit('secure');
    if (!init.isServer && this._s === s) this.emit('secureConnect');
    for (const [buf, cb] of this._pending.splice(0)) if (this._s === s) this._sendNow(buf, cb);
    if (this._s === s) this._drain();
  }

  private _drain(): void {
    const s = this._s;
    if (!s) return;
    const [code, ...records] = s.receive();
    this._flush();
    for (const r of records) {
      this.emit('message', r, this._init.remote);
      if (this._s !== s) return;
    }
    if (code === E.AGAIN || code === E.INTERRUPTED || code === E.WARNING_ALERT_RECEIVED) return;
    if (code === E.SUCCESS) {
      // close_notify: answer with ours, then the association is over.
      s.bye();
      this._flush();
      this.emit('end');
      return this._finish(null);
    }
    if (code === E.REHANDSHAKE) {
      // DTLS renegotiation is not supported: decline, the association goes on.
      s.sendAlert(ALERT_LEVEL.WARNING, NO_RENEGOTIATION);
      return this._flush();
    }
    this._fail(gnutlsError(code, s.lastAlert(), 'DTLS'));
  }

  private _flush(cb?: (err: Error | null) => void): void {
    const out = this._s?.takeOutput();
    if (out) this._touch();
    if (out) this._init.link.send(out, cb);
    else if (cb) process.nextTick(cb, null);
  }

  /**
   * Sends `msg` as one record in one datagram (queued until the handshake completes). `cb` gets
   * the error, else it is emitted as 'error': ERR_DTLS_MESSAGE_TOO_LARGE when `msg` is longer than
   * {@link maxMessageSize} (nothing is sent), ERR_SOCKET_DGRAM_NOT_RUNNING once closed.
   */
  send(msg: Buffer | Uint8Array | string, cb?: (err: Error | null) => void): void {
    const buf = typeof msg === 'string' ? Buffer.from(msg) : (validateBufferLike(msg, 'msg'), Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength));
    if (this._state === 'closed') return this._sendError(nodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running'), cb);
    if (this._state === 'handshake') {
      this._pending.push([Buffer.from(buf), cb]);
      return;
    }
    this._sendNow(buf, cb);
  }

  private _sendNow(buf: Buffer, cb?: (err: Error | null) => void): void {
    const s = this._s!;
    const r = s.send(buf);
    if (r === LARGE_PACKET) {
      const mtu = s.dataMtu();
      return this._sendError(
        new TLSError(`a ${buf.length}-byte message does not fit one datagram (at most ${mtu} bytes with mtu ${this._init.timing.mtu})`, {
          code: 'ERR_DTLS_MESSAGE_TOO_LARGE',
          gnutlsCode: r,
        }),
        cb,
      );
    }
    if (r < 0) return this._sendError(gnutlsError(r, s.lastAlert(), 'DTLS send'), cb);
    this._flush(cb);
  }

  private _sendError(err: Error, cb?: (err: Error | null) => void): void {
    if (cb) process.nextTick(cb, err);
    else process.nextTick(() => this.emit('error', err));
  }

  /**
   * Sends close_notify (mid-handshake: a fatal user_canceled alert) and releases the association;
   * 'close' follows, and `cb` runs on it.
   */
  close(cb?: () => void): void {
    if (cb) this.once('close', cb);
    if (this._state === 'closed') return;
    if (this._state === 'open' && this._s) {
      this._s.bye();
      this._flush();
    } else if (this._s) {
      // Mid-handshake: a fatal user_canceled tells the peer now rather than at its timeout (not
      // sent when close() runs inside one of the session's own callbacks).
      this._s.sendAlert(ALERT_LEVEL.FATAL, USER_CANCELED);
      this._flush();
    }
    this._finish(null);
  }

  /** @internal Ends the association with `err` (also used by the UDP link). */
  _fail(err: Error): void {
    if (this._state === 'closed') return;
    this._finish(err);
  }

  private _finish(err: Error | null): void {
    const wasOpen = this._state === 'open';
    this._state = 'closed';
    clearTimeout(this._idle);
    clearTimeout(this._retransmit);
    clearTimeout(this._deadline);
    const s = this._s;
    this._s = null;
    s?.close(); // deferred by the native side while one of its calls is on the stack
    this._init.link.release();
    for (const [, cb] of this._pending.splice(0)) if (cb) process.nextTick(cb, err ?? nodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running'));
    if (err && !wasOpen && this._init.onHandshake) this._init.onHandshake(this, err);
    // A server's peer can fail after 'secureConnection' (its client refusing our certificate
    // sends its alert then): with no 'error' listener the server reports it, so that no peer can
    // raise an uncaught error.
    else if (err && this._init.onOrphanError && this.listenerCount('error') === 0) this._init.onOrphanError(this, err);
    else if (err) this.emit('error', err);
    process.nextTick(() => this.emit('close'));
  }

  private _secure(): NativeDtlsSession {
    if (this._state !== 'open' || !this._s) throw nodeError('ERR_TLS_INVALID_STATE', 'DTLS association must be established');
    return this._s;
  }

  /**
   * As net.Socket's: 'timeout' after `ms` without a datagram in or out (0 turns it off). The
   * association stays open: call close() (a peer that vanished sends no close_notify).
   */
  setTimeout(ms: number, cb?: () => void): this {
    validateInteger(ms, 'msecs', 0, 2 ** 31 - 1);
    if (cb) this.once('timeout', cb);
    this._idleMs = ms;
    this._touch();
    return this;
  }

  private _touch(): void {
    clearTimeout(this._idle);
    this._idle = undefined;
    if (this._idleMs > 0 && this._state !== 'closed') {
      this._idle = setTimeout(() => this.emit('timeout'), this._idleMs);
      this._idle.unref();
    }
  }

  /** The local address of the UDP socket (the server's for a server's peer; empty until a client's socket exists). */
  address(): AddressInfo {
    return this._init.link.address();
  }

  /** Client: lets the UDP socket keep the event loop alive (the default); a server's peer: no effect. */
  ref(): this {
    this._init.link.ref?.();
    return this;
  }

  /** Client: the UDP socket no longer keeps the event loop alive; a server's peer: no effect. */
  unref(): this {
    this._init.link.unref?.();
    return this;
  }

  /** The negotiated version ('DTLSv1.2'), or null before the handshake completed. */
  getProtocol(): string | null {
    const p = this._info?.protocol;
    return p ? (PROTOCOLS[p] ?? p) : null;
  }

  /** The negotiated cipher suite (names as Node's getCipher(), `version` 'DTLSv1.2'), or undefined before the handshake completed. */
  getCipher(): CipherNameAndProtocol | undefined {
    const c = cipherOf(this._info);
    const version = this.getProtocol();
    return c && version ? { ...c, version } : c;
  }

  /** The peer's certificate as Node's getPeerCertificate(): `{}` when it sent none. */
  getPeerCertificate(detailed?: false): PeerCertificate;
  /** The peer's certificate with its chain up to the issuer (`issuerCertificate`), as Node's getPeerCertificate(true). */
  getPeerCertificate(detailed: true): DetailedPeerCertificate;
  getPeerCertificate(detailed = false): PeerCertificate | DetailedPeerCertificate {
    const chain = this._s?.peerCertificates() ?? [];
    if (chain.length === 0) return {} as PeerCertificate;
    return peerCertificate(chain, detailed, this._init.ctx.trustedCertificates());
  }

  /** The certificate this end sent, or null when it sent none. */
  getCertificate(): PeerCertificate | null {
    const own = this._s?.ownCertificate() ?? [];
    return own.length > 0 ? peerCertificate(own, false) : null;
  }

  /**
   * Keying material from the TLS exporter (RFC 5705): `length` bytes for `label` and `context`.
   * Throws ERR_TLS_INVALID_STATE unless the association is established.
   */
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
    validateInteger(length, 'length', 1, 2 ** 32 - 1);
    validateString(label, 'label');
    if (context !== undefined) validateBufferLike(context, 'context');
    const ctx = context && Buffer.from(context.buffer, context.byteOffset, context.byteLength);
    return this._secure().exportKeyingMaterial(label, length, ctx);
  }

  /**
   * A channel binding (RFC 5929, RFC 9266); undefined when GnuTLS has none for this association.
   * Throws ERR_TLS_INVALID_STATE unless the association is established.
   */
  getChannelBinding(type: ChannelBindingType): Buffer | undefined {
    const t = CHANNEL_BINDINGS[type];
    if (t === undefined) throw nodeError('ERR_INVALID_ARG_VALUE', `unknown channel binding type: ${String(type)}`);
    return this._secure().channelBinding(t);
  }

  /** The SRTP protection profile use_srtp negotiated (RFC 5764), or null. */
  get srtpProfile(): string | null {
    return this._state === 'open' && this._s ? this._s.srtpProfile() : null;
  }

  /**
   * The SRTP keying material (RFC 5764 4.2, exporter label 'EXTRACTOR-dtls_srtp'): the whole
   * block and its client/server master keys and salts. Throws when no profile was negotiated.
   */
  getSrtpKeyingMaterial(): NativeSrtpKeys {
    const s = this._secure();
    const r = s.srtpKeys();
    if (typeof r === 'number') throw gnutlsError(r, 0, 'no SRTP profile was negotiated');
    return r;
  }

  /** Largest message one send() takes (one record in one datagram). */
  get maxMessageSize(): number {
    return this._s ? this._s.dataMtu() : 0;
  }

  /** Datagrams dropped before GnuTLS read them: too many queued at once, or not whole DTLS records. */
  get droppedDatagrams(): number {
    return this._dropped + this._malformed;
  }
}
