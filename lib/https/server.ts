// An https.Server-compatible server: node-gnutls's TLS server, with Node's own HTTP/1.1 layer (an
// http.Server that never listens) serving each connection once its handshake is done.
import * as http from 'http';
import type * as net from 'net';
import { Server as TlsServer, TlsOptions } from '../server';
import type { TLSSocket } from '../tls-socket';
import type { EmitArgs, EventName, Listener, ServerEvents } from '../events';
import { HTTP_EVENTS, HttpsServerEvents, SecureIncomingMessage } from './events';

/** Options of {@link createServer}: the TLS server's and those of Node's `http.createServer()`. */
export interface ServerOptions extends TlsOptions, Omit<http.ServerOptions, keyof TlsOptions> {}

/** The request listener: `req.socket` is the connection's TLSSocket. */
export type RequestListener = (req: SecureIncomingMessage, res: http.ServerResponse) => void;

// Typed events (see lib/events.ts): the HTTP events' overloads first, then the TLS server's.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Server {
  /** Adds a listener of an HttpsServerEvents event (typed by name). */
  on<E extends string | symbol>(event: E & EventName<HttpsServerEvents, E>, listener: Listener<HttpsServerEvents, E>): this;
  /** Adds a listener of an HttpsServerEvents event (typed by name) (the TLS server's events). */
  on<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Adds a one-time listener of an HttpsServerEvents event. */
  once<E extends string | symbol>(event: E & EventName<HttpsServerEvents, E>, listener: Listener<HttpsServerEvents, E>): this;
  /** Adds a one-time listener of an HttpsServerEvents event (the TLS server's events). */
  once<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Removes a listener. */
  off<E extends string | symbol>(event: E & EventName<HttpsServerEvents, E>, listener: Listener<HttpsServerEvents, E>): this;
  /** Removes a listener (the TLS server's events). */
  off<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Adds a listener (as `on`). */
  addListener<E extends string | symbol>(event: E & EventName<HttpsServerEvents, E>, listener: Listener<HttpsServerEvents, E>): this;
  /** Adds a listener (as `on`) (the TLS server's events). */
  addListener<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Removes a listener (as `off`). */
  removeListener<E extends string | symbol>(event: E & EventName<HttpsServerEvents, E>, listener: Listener<HttpsServerEvents, E>): this;
  /** Removes a listener (as `off`) (the TLS server's events). */
  removeListener<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Adds a listener before the others. */
  prependListener<E extends string | symbol>(event: E & EventName<HttpsServerEvents, E>, listener: Listener<HttpsServerEvents, E>): this;
  /** Adds a listener before the others (the TLS server's events). */
  prependListener<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Adds a one-time listener before the others. */
  prependOnceListener<E extends string | symbol>(event: E & EventName<HttpsServerEvents, E>, listener: Listener<HttpsServerEvents, E>): this;
  /** Adds a one-time listener before the others (the TLS server's events). */
  prependOnceListener<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Emits an event with its typed arguments. */
  emit<E extends string | symbol>(event: E & EventName<HttpsServerEvents, E>, ...args: EmitArgs<HttpsServerEvents, E>): boolean;
  /** Emits an event with its typed arguments (the TLS server's events). */
  emit<E extends string | symbol>(event: E & EventName<ServerEvents, E>, ...args: EmitArgs<ServerEvents, E>): boolean;
}

/**
 * Node's `https.Server` on node-gnutls: a TLS {@link TlsServer | Server} (so `addContext()`,
 * `setTicketKeys()`, 'secureConnection', 'tlsClientError' are there) serving HTTP/1.1 with keep-alive.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Server extends TlsServer {
  /** Node's HTTP/1.1 layer: connections are handed to it, it never listens itself. */
  private readonly _http: http.Server;
  private readonly _forwarders = new Map<string, (...args: unknown[]) => void>();

  constructor(requestListener?: RequestListener);
  constructor(options: ServerOptions, requestListener?: RequestListener);
  constructor(options?: ServerOptions | RequestListener, requestListener?: RequestListener) {
    if (typeof options === 'function') {
      requestListener = options;
      options = {};
    }
    const opts: ServerOptions = options ?? {};
    const alpn = opts.ALPNProtocols == null && opts.ALPNCallback == null ? ['http/1.1'] : opts.ALPNProtocols;
    super({ ...opts, ALPNProtocols: alpn });
    this._http = http.createServer(opts as http.ServerOptions);
    // The HTTP layer's events reach this server's listeners; while there are none, the HTTP layer
    // sees none either, so its defaults (answer 100-continue, destroy on timeout, ...) hold.
    this.on('newListener', (event: string | symbol) => this._forward(event, true));
    this.on('removeListener', (event: string | symbol) => this._forward(event, false));
    this.on('secureConnection', (socket: TLSSocket) => this._serve(socket));
    this.on('listening', () => this._http.emit('listening')); // starts its connection tracking
    // TLS errors are client errors, as with Node's https.Server.
    this.on('tlsClientError', (err, socket) => {
      if (!this.emit('clientError', err, socket)) socket.destroy();
    });
    const noDelay = opts.noDelay ?? true;
    this.on('connection', (raw: net.Socket) => {
      if (noDelay) raw.setNoDelay(true);
      if (opts.keepAlive) raw.setKeepAlive(true, opts.keepAliveInitialDelay);
    });
    if (requestListener) this.on('request', requestListener);
  }

  private _forward(event: string | symbol, added: boolean): void {
    if (typeof event !== 'string' || !(HTTP_EVENTS as readonly string[]).includes(event)) return;
    const current = this._forwarders.get(event);
    if (added && !current) {
      const f = (...args: unknown[]): boolean => this.emit(event, ...(args as []));
      this._forwarders.set(event, f);
      this._http.on(event, f);
    } else if (!added && current && this.listenerCount(event) === 0) {
      this._forwarders.delete(event);
      this._http.off(event, current);
    }
  }

  private _serve(socket: TLSSocket): void {
    this._http.emit('connection', socket);
    // The HTTP layer reports a connection's timeouts and errors to `socket.server`: this server,
    // as with Node's https.Server.
    (socket as unknown as { server: unknown }).server = this;
  }

  /** Stops accepting connections and closes idle keep-alive connections (as Node's does). */
  override close(callback?: (err?: Error) => void): this {
    this._http.close(); // closes its idle connections and stops its timeout checks
    super.close(callback);
    return this;
  }

  /** Destroys every connection, busy or idle. */
  closeAllConnections(): void {
    this._http.closeAllConnections();
  }

  /** Destroys the connections that have no request in progress. */
  closeIdleConnections(): void {
    this._http.closeIdleConnections();
  }

  /** The idle timeout of connections (0: none); `callback` listens to 'timeout'. */
  setTimeout(msecs?: number, callback?: (socket: TLSSocket) => void): this;
  setTimeout(callback: (socket: TLSSocket) => void): this;
  setTimeout(msecs?: number | ((socket: TLSSocket) => void), callback?: (socket: TLSSocket) => void): this {
    if (typeof msecs === 'function') [msecs, callback] = [undefined, msecs];
    this._http.setTimeout(msecs ?? 0);
    if (callback) this.on('timeout', callback);
    return this;
  }

  /** Milliseconds a connection may be idle before it is destroyed (0: never). */
  get timeout(): number {
    return this._http.timeout;
  }
  /** Sets `timeout`. */
  set timeout(v: number) {
    this._http.timeout = v;
  }

  /** Milliseconds an idle keep-alive connection waits for the next request (default 5000). */
  get keepAliveTimeout(): number {
    return this._http.keepAliveTimeout;
  }
  /** Sets `keepAliveTimeout`. */
  set keepAliveTimeout(v: number) {
    this._http.keepAliveTimeout = v;
  }

  /** Milliseconds a client has to send a request's headers (default 60000). */
  get headersTimeout(): number {
    return this._http.headersTimeout;
  }
  /** Sets `headersTimeout`. */
  set headersTimeout(v: number) {
    this._http.headersTimeout = v;
  }

  /** Milliseconds a client has to send a whole request (default 300000). */
  get requestTimeout(): number {
    return this._http.requestTimeout;
  }
  /** Sets `requestTimeout`. */
  set requestTimeout(v: number) {
    this._http.requestTimeout = v;
  }

  /** The most headers a request may have (null: 2000). */
  get maxHeadersCount(): number | null {
    return this._http.maxHeadersCount;
  }
  /** Sets `maxHeadersCount`. */
  set maxHeadersCount(v: number | null) {
    this._http.maxHeadersCount = v;
  }

  /** The most requests one keep-alive connection serves (0: no limit). */
  get maxRequestsPerSocket(): number | null {
    return this._http.maxRequestsPerSocket;
  }
  /** Sets `maxRequestsPerSocket`. */
  set maxRequestsPerSocket(v: number | null) {
    this._http.maxRequestsPerSocket = v;
  }
}

/** Node's `https.createServer()`, on node-gnutls. */
export function createServer(requestListener?: RequestListener): Server;
export function createServer(options: ServerOptions, requestListener?: RequestListener): Server;
export function createServer(options?: ServerOptions | RequestListener, requestListener?: RequestListener): Server {
  return typeof options === 'function' || options === undefined ? new Server(options) : new Server(options, requestListener);
}
