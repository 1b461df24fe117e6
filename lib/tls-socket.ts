// TLSSocket: a net.Socket of plaintext over any Duplex of ciphertext (usually a net.Socket). The
// sans-IO engine (engine/engine.ts) does the TLS; this adapter feeds it what the transport reads,
// writes what it produces (write-path.ts), and turns its step items into stream calls and public
// events. Closing is shutdown.ts's; the ClientHello pipeline is server-hello.ts's.
import { Duplex } from 'stream';
import * as net from 'net';
import { ALERT_LEVEL, SFLAGS } from './constants';
import { asTLSError, nodeError } from './errors';
import { validateFunction, validateObject } from './validate';
import { contextFor } from './secure-context';
import { appendKeylog, keylogFile } from './features';
import type { DetailedPeerCertificate } from './verify';
import type { Server } from './server';
import type { EmitArgs, EventName, Listener, TLSSocketEvents } from './events';
import { KeyUpdateOptions, ReauthOptions, ReauthRequest, RehandshakeOptions, RehandshakeRequest } from './reauth';
import { Engine, Item, Step } from './engine/engine';
import { verifyPeer } from './engine/verification';
import { HelloPipeline } from './server-hello';
import { maxHandshakeSize } from './client-hello';
import { OperationQueue } from './operation-queue';
import { AuthorizationError, SocketBase } from './socket-base';
import { ShutdownState } from './shutdown';
import { WritePath, WriteCallback, plainChunk } from './write-path';
import { FdPath } from './fd-path';
import { announceNewSessions, emitSessionData } from './session-events';
import { TLSSocketOptions, helloHooks, operationsConfig, sessionSpec, verifyInput } from './socket-options';

export type { TLSSocketOptions } from './socket-options';
export type { SNICallback, ALPNCallback } from './server-hello';
export type { VerifyClientMode } from './engine/session-setup';
export type { CipherNameAndProtocol, EphemeralKeyInfo, NegotiatedParameters } from './negotiated';

// Typed events: see lib/events.ts.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface TLSSocket {
  /** Adds a listener of a TLSSocketEvents event (typed by name). */
  on<E extends string | symbol>(event: E & EventName<TLSSocketEvents, E>, listener: Listener<TLSSocketEvents, E>): this;
  /** Adds a one-time listener of a TLSSocketEvents event. */
  once<E extends string | symbol>(event: E & EventName<TLSSocketEvents, E>, listener: Listener<TLSSocketEvents, E>): this;
  /** Removes a listener. */
  off<E extends string | symbol>(event: E & EventName<TLSSocketEvents, E>, listener: Listener<TLSSocketEvents, E>): this;
  /** Adds a listener (as `on`). */
  addListener<E extends string | symbol>(event: E & EventName<TLSSocketEvents, E>, listener: Listener<TLSSocketEvents, E>): this;
  /** Removes a listener (as `off`). */
  removeListener<E extends string | symbol>(event: E & EventName<TLSSocketEvents, E>, listener: Listener<TLSSocketEvents, E>): this;
  /** Adds a listener before the others. */
  prependListener<E extends string | symbol>(event: E & EventName<TLSSocketEvents, E>, listener: Listener<TLSSocketEvents, E>): this;
  /** Adds a one-time listener before the others. */
  prependOnceListener<E extends string | symbol>(event: E & EventName<TLSSocketEvents, E>, listener: Listener<TLSSocketEvents, E>): this;
  /** Emits an event with its typed arguments. */
  emit<E extends string | symbol>(event: E & EventName<TLSSocketEvents, E>, ...args: EmitArgs<TLSSocketEvents, E>): boolean;
}

/** Node's tls.TLSSocket on GnuTLS: a net.Socket of plaintext over any Duplex of ciphertext, with GnuTLS's extras. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class TLSSocket extends SocketBase {
  protected _engine: Engine;
  protected _options: TLSSocketOptions;
  private readonly _server: Server | undefined;
  /** Server, until the handshake is done: the ClientHello pipeline. */
  private _hello: HelloPipeline | null;
  private readonly _ops: OperationQueue;
  private readonly _shutdown: ShutdownState;
  private readonly _keylogFile: string | undefined;
  protected readonly _writes: WritePath;
  /** @internal The fd fast path (write-path.ts, shutdown.ts). */
  readonly fd: FdPath;
  private _handshakeTimer: NodeJS.Timeout | null = null;
  private _failed = false;
  /** Server: 'secureConnection' was emitted (before it, errors go to 'tlsClientError'). */
  private _announced = false;
  /** A reauth() is running, as of the item being dispatched. */
  private _reauthRunning = false;
  private _dispatching = false;
  private _draining = false;
  private readonly _onData = (chunk: Buffer): void => this._receive(chunk);
  private readonly _onEnd = (): void => this._shutdown.transportEnded();
  private readonly _onError = (err: Error): void => this._shutdown.transportError(err);
  private readonly _onClose = (): void => this._shutdown.transportClosed();

  constructor(socket?: Duplex | null, options: TLSSocketOptions = {}) {
    const transport = socket ?? new net.Socket();
    super(transport, options.isServer === true, options);
    this._options = options;
    this._server = options.server;
    // As Node's, a server's socket has an 'error' listener: unheard errors never crash the process.
    // Before 'secureConnection' that listener is the one that reports to 'tlsClientError'.
    if (this._server) this.on('error', (err: Error) => this._clientError(err));
    const ctx = contextFor(options.secureContext, options);
    this._keylogFile = keylogFile();
    this._hello = this._isServer
      ? new HelloPipeline(this, helloHooks(this._server), options.SNICallback, maxHandshakeSize(options.maxHandshakeSize), options.ALPNCallback)
      : null;
    const spec = sessionSpec(options, this, {
      isServer: this._isServer,
      keylogFile: this._keylogFile,
      onPskError: (err) => {
        this._engine.pskError ??= err;
      },
    });
    if (spec.servername) this.servername = spec.servername;
    this._engine = new Engine(spec, ctx, this.readableHighWaterMark);
    this._engine.ops.config = operationsConfig(options, this);
    this._shutdown = new ShutdownState(this);
    this._writes = new WritePath(this, this._shutdown);
    this.fd = new FdPath(this, {
      input: () => !this.destroyed && (this._activity(), this._apply(this._engine.receive(undefined))),
      released: () => !this.destroyed && this._updateFlow(),
      error: (err) => this._shutdown.transportError(err),
    });
    this._ops = new OperationQueue(() => this._engine, (step) => this._apply(step));
    this.on('newListener', (ev: string | symbol) => {
      if (ev === 'keylog') this._engine.enableKeylog();
    });
    // TLS decides about half-close (close_notify, then FIN): the transport must not end its
    // writable side by itself when the peer's FIN arrives.
    if ('allowHalfOpen' in transport) (transport as { allowHalfOpen: boolean }).allowHalfOpen = true;
    transport.on('data', this._onData);
    transport.on('end', this._onEnd);
    transport.on('error', this._onError);
    transport.on('close', this._onClose);
    if (this._isServer) {
      this._rememberPeer();
      this._start();
    } else if ((transport as net.Socket).connecting) {
      (this as { connecting: boolean }).connecting = true;
      transport.once('connect', () => {
        this._rememberPeer();
        (this as { connecting: boolean }).connecting = false;
        if (this.destroyed) return;
        this.emit('connect');
        this.emit('ready');
        this._start();
      });
    } else {
      this._rememberPeer();
      process.nextTick(() => this._start());
    }
  }

  // ---- driving the engine ----------------------------------------------------------------------

  private _start(): void {
    if (this.destroyed || this._engine.state !== 'new') return;
    const timeout = this._options.handshakeTimeout;
    if (timeout && timeout > 0) {
      this._handshakeTimer = setTimeout(() => this._fail(nodeError('ERR_TLS_HANDSHAKE_TIMEOUT', 'TLS handshake timeout')), timeout);
      this._handshakeTimer.unref?.();
    }
    this._apply(this._engine.start());
  }

  private _receive(chunk: Buffer): void {
    if (this.destroyed) return;
    this._activity();
    if (this._hello?.intercept(chunk)) return;
    this._apply(this._engine.receive(chunk));
  }

  /** @internal Sends what the engine produced and dispatches its items in order; then goes on reading. */
  _apply(step: Step): void {
    this._sendRaw(step.out);
    const nested = this._dispatching;
    this._dispatching = true;
    try {
      for (const item of step.items) {
        if (this.destroyed) break;
        this._dispatch(item);
      }
    } finally {
      this._dispatching = nested;
    }
    if (!nested) this._drainQueued();
  }

  /** Reading may go on with input left over (a paused reader resumed, a request was answered). */
  private _drainQueued(): void {
    if (this._draining) return;
    this._draining = true;
    const e = this._engine;
    try {
      while (!this.destroyed && e.canRead && e.queuedInput > 0) {
        const before = e.queuedInput;
        this._apply(e.resume());
        if (e.queuedInput >= before) break; // only part of a record is here: wait for the rest
      }
    } finally {
      this._draining = false;
    }
    if (!this.destroyed) {
      this.fd.tryAttach();
      this._shutdown.settle();
      this._updateFlow();
    }
  }

  private _dispatch(item: Item): void {
    switch (item.t) {
      case 'data':
        this._plainRead += item.buf.length;
        if (!this.push(item.buf)) this._engine.paused = true;
        return;
      case 'end':
        this._shutdown.peerClosed();
        return;
      case 'keylog':
        if (this._keylogFile) appendKeylog(this._keylogFile, item.line);
        this.emit('keylog', item.line);
        this._server?.emit('keylog', item.line, this);
        return;
      case 'handshake':
        this._handshakeDone();
        return;
      case 'ticket':
        emitSessionData(this, this._engine);
        return;
      case 'keyUpdate':
        this.emit('keyUpdate');
        return;
      case 'helloRequest':
        // A HelloRequest is only a hint: records keep flowing while the application decides.
        this.emit('rehandshakeRequest', new RehandshakeRequest(item.safe, (accept) => this._apply(this._engine.act((ops) => ops.answerHelloRequest(accept)))));
        return;
      case 'reauthRequest':
        this.emit('reauthRequest', new ReauthRequest((ctx) => this._apply(this._engine.act((ops) => ops.answerReauth(ctx)))));
        return;
      case 'renegotiated':
        this.emit('renegotiated');
        return;
      case 'rehandshaken':
        this._secureEvents();
        return;
      case 'reauthAnswered':
        this.emit('reauth');
        return;
      case 'opStarted':
        if (item.op.kind === 'reauth') this._reauthRunning = true;
        this._ops.started(item.op);
        return;
      case 'opEnded':
        if (item.op.kind === 'reauth') this._reauthRunning = false;
        this._ops.ended(item.op);
        process.nextTick(() => this._writes.release());
        return;
      case 'verified':
        this.authorized = item.authorized;
        this.authorizationError = item.error as AuthorizationError;
        return;
      case 'error':
        if (item.err) this._fail(item.err, true);
        else this.destroy();
        return;
    }
  }

  /** Pauses the transport while nothing would read what it delivers. */
  private _updateFlow(): void {
    const e = this._engine;
    // After the peer's close_notify the transport still has its EOF and close to deliver.
    const hold = (e.paused && !e.peerClosed) || e.awaitingAnswer || this._holdingTransport;
    // On the fd fast path until the peer's close_notify; then the transport reads its EOF.
    if (e.peerClosed) this.fd.release();
    if (this.fd.reading) this.fd.read(!hold);
    else if (hold) this.socket.pause();
    else if (!this._shutdown.transportDone) this.socket.resume();
  }

  private _holdingTransport = false;
  /** @internal The ClientHello pipeline waits for the application (HelloHost). */
  holdTransport(hold: boolean): void {
    this._holdingTransport = hold;
    this._updateFlow();
  }

  protected override _refChanged(on: boolean): void {
    this.fd.ref(on);
  }

  /** @internal HelloHost: the engine, as the pipeline sees it. */
  get engine(): Engine {
    return this._engine;
  }

  /** @internal */
  apply(step: Step): void {
    this._apply(step);
  }

  /** @internal */
  fail(err: Error): void {
    this._fail(err);
  }

  /** @internal */
  override _read(): void {
    const e = this._engine;
    if (!e.paused || e.peerClosed) return;
    e.paused = false;
    this._apply(e.resume());
  }

  /** Ciphertext the engine produced on its own (handshake, alerts, answers). */
  private _sendRaw(out: Buffer[]): void {
    if (out.length === 0) return;
    const t = this.socket;
    if (!t.writable) return; // the transport is gone: the error or close says so
    for (const buf of out) t.write(buf);
    this._activity();
  }

  // ---- handshake done --------------------------------------------------------------------------

  /** 'secure', and on a client 'secureConnect' first, as Node's client emits them (each handshake). */
  private _secureEvents(): void {
    if (!this._isServer) {
      this.secureConnecting = false;
      this.emit('secureConnect');
      if (this.destroyed) return;
    }
    this._secureEstablished = true;
    this.emit('secure');
  }

  private _handshakeDone(): void {
    if (this._handshakeTimer) clearTimeout(this._handshakeTimer);
    this._handshakeTimer = null;
    this._hello = null;
    const e = this._engine;
    const info = e.info!;
    this.alpnProtocol = info.alpn ?? false;
    if (this._isServer) this.servername = info.serverName ?? false;
    if (!this._isServer && this._options.requestOCSP) {
      const response = e.session.ocspResponse();
      if (response) this.emit('OCSPResponse', response);
      if (this.destroyed) return;
    }
    if (!this._verify()) return;
    this._sendRaw(e.releaseFlight());
    this._secureEvents();
    if (this.destroyed) return;
    if (this._isServer) {
      const waiting = announceNewSessions(this._server, this._engine.session, this, () => {
        this._announce();
        if (!this.destroyed) this._writes.release();
      });
      if (waiting) return; // goes on when the listeners call back
      this._announce();
    } else {
      if (info.flags & SFLAGS.SESSION_TICKET || info.protocol !== 'TLS1.3') emitSessionData(this, this._engine);
    }
    if (!this.destroyed) this._writes.release();
  }

  private _verify(): boolean {
    const e = this._engine;
    const verdict = verifyPeer(verifyInput(this._options, this._isServer, e.session, e.info!, e.ctx));
    this.authorized = verdict.authorized;
    this.authorizationError = verdict.authorizationError as AuthorizationError;
    const reject = verdict.reject;
    if (!reject) return true;
    // No alert: the connection closes before our last flight, as Node's does.
    if (reject.alert === null) this._fail(reject.err);
    else this._apply(e.reject(ALERT_LEVEL.FATAL, reject.alert, reject.err));
    return false;
  }

  private _announce(): void {
    this._announced = true;
    this.secureConnecting = false;
    this._server?.emit('secureConnection', this);
  }

  // ---- re-authentication, re-handshake, key update ---------------------------------------------

  /** Whether a reauth() is in flight: data emitted now was sent before the peer re-authenticated. */
  get reauthPending(): boolean {
    return this._reauthRunning;
  }

  /**
   * Server: re-authenticate the client. TLS 1.3: post-handshake authentication (gnutls_reauth);
   * TLS 1.2: a server-initiated re-handshake that requests the certificate. Resolves with the
   * client certificate (Node's detailed shape; `{}` when none was sent under `require: false`).
   */
  reauth(options: ReauthOptions = {}): Promise<DetailedPeerCertificate | Record<string, never>> {
    return this._ops.reauth(this._isServer, options);
  }

  /**
   * TLS 1.2: a new handshake (server: HelloRequest, then the client's handshake; client: a
   * client-initiated renegotiation). TLS 1.3: a key update that asks the peer to update too.
   */
  rehandshake(options: RehandshakeOptions = {}): Promise<void> {
    return this._ops.rehandshake(options);
  }

  /**
   * Node's renegotiate(): a TLS 1.2 re-handshake; on a server `requestCert` asks for the client's
   * certificate and `authorized` follows its verification. TLS 1.3 has no renegotiation: false,
   * and the callback gets OpenSSL's error, as on Node.
   */
  renegotiate(options: { rejectUnauthorized?: boolean; requestCert?: boolean }, callback?: (err: Error | null) => void): boolean {
    validateObject(options, 'options');
    if (callback !== undefined) validateFunction(callback, 'callback');
    return !this.destroyed && this._ops.renegotiate(options, callback);
  }

  /** TLS 1.3 key update; with `requestPeer` the peer updates its keys too (before it next sends). */
  keyUpdate(options: KeyUpdateOptions = {}): Promise<void> {
    return this._ops.keyUpdate(options, this.getProtocol());
  }

  /** Like Node: any renegotiation the client starts is answered with ERR_TLS_RENEGOTIATION_DISABLED. */
  disableRenegotiation(): void {
    this._engine.ops.renegotiationDisabled = true;
  }

  // ---- writing ---------------------------------------------------------------------------------

  /** @internal */
  override _write(chunk: Buffer | string, enc: BufferEncoding, cb: WriteCallback): void {
    this._writes.write([plainChunk(chunk, enc)], cb);
  }

  /** @internal */
  override _writev(chunks: Array<{ chunk: Buffer | string; encoding: BufferEncoding }>, cb: WriteCallback): void {
    this._writes.write(chunks.map((c) => plainChunk(c.chunk, c.encoding)), cb);
  }

  /** @internal */
  override _final(cb: WriteCallback): void {
    this._writes.final(cb);
  }

  // WriteHost
  /** @internal */
  activity(): void {
    this._activity();
  }

  /** @internal */
  written(n: number): void {
    this._plainWritten += n;
  }

  // ---- endings ---------------------------------------------------------------------------------

  /** @internal A fatal error: reported once (tlsClientError on a server before 'secureConnection'). */
  _fail(err: Error, fromTls = false): void {
    if (this._failed || this.destroyed) return;
    this._failed = true;
    const owned = !this._isServer || this._announced || !this._server;
    if (fromTls && owned && this._secureEstablished) {
      // A TLS failure on an established connection: as Node's socket, the error comes while the
      // socket is still open, and 'close' (the session cannot go on: we close it) has no error.
      try {
        this.emit('error', err);
      } finally {
        if (!this.destroyed) this.destroy();
      }
      return;
    }
    this.destroy(err);
  }

  /** Errors before 'secureConnection' (a client rejected after the handshake too) go to 'tlsClientError',
   * from the socket's own 'error' listener as on Node's server: the socket is destroyed by then. */
  private _clientError(err: Error): void {
    if (!this._announced) this._server?.emit('tlsClientError', asTLSError(err, (err as { code?: string }).code ?? 'ERR_TLS_TRANSPORT'), this);
  }

  /** @internal */
  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    (this as { connecting: boolean }).connecting = false;
    if (this._handshakeTimer) clearTimeout(this._handshakeTimer);
    this._handshakeTimer = null;
    // The errors are made only for someone waiting (a stack trace per destroy costs).
    let destroyed: Error | undefined;
    const writeErr = (): Error => err ?? (destroyed ??= nodeError('ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed'));
    this._writes.fail(writeErr);
    this.fd.fail(writeErr);
    this._engine.destroy();
    this._ops.close(() => err ?? nodeError('ERR_SOCKET_CLOSED', 'socket closed during the operation'));
    const t = this.socket;
    t.removeListener('data', this._onData);
    t.removeListener('end', this._onEnd);
    t.removeListener('close', this._onClose);
    t.on('error', () => {}); // late transport errors have nowhere to go
    t.removeListener('error', this._onError);
    t.destroy();
    cb(err);
    // net.Socket emits 'close' itself (emitClose is off), with whether an error closed it.
    process.nextTick(() => this.emit('close', err != null));
  }
}
