// Server: a net.Server whose connections are wrapped in server-side TLSSockets.
import * as net from 'net';
import { hkdfSync } from 'crypto';
import { SecureContext, SecureContextLike, SecureContextOptions, contextFor, createSecureContext } from './secure-context';
import { SNICallback, TLSSocket, TLSSocketOptions } from './tls-socket';
import type { EmitArgs, EventName, Listener, ServerEvents } from './events';
import type { ServerPskCallback } from './features';
import { asTLSError } from './errors';
import { maxHandshakeSize } from './client-hello';
import { codedError } from './validate';
import { invalidArgValue, validateBufferLike, validateServerOptions } from './validate';

/** Node's `tls.createServer()` options: the context's, the connections', and net.Server's. */
export interface TlsOptions extends SecureContextOptions, net.ServerOpts {
  /** Ask clients for a certificate. */
  requestCert?: boolean;
  /** With requestCert: refuse clients whose certificate does not verify (default true). */
  rejectUnauthorized?: boolean;
  /** The ALPN protocols the server accepts, in order of preference. */
  ALPNProtocols?: TLSSocketOptions['ALPNProtocols'];
  /** Picks the context for the client's SNI name (default: the addContext() entries). */
  SNICallback?: SNICallback;
  /** Picks the protocol from the client's ALPN list: ({ servername, protocols }) → one of them. */
  ALPNCallback?: TLSSocketOptions['ALPNCallback'];
  /** Milliseconds a client has to finish the handshake (default 120000, like Node). */
  handshakeTimeout?: number;
  /** The default context (else one made from these options). */
  secureContext?: SecureContextLike | null;
  /** The connections' readable buffer size. */
  highWaterMark?: number;
  /** What to do with a TLS 1.2 renegotiation a client starts: see TLSSocketOptions. */
  renegotiation?: TLSSocketOptions['renegotiation'];
  /** Let a client present another identity in a re-handshake/re-auth. */
  allowIdentityChange?: boolean;
  allowUnsafeRenegotiation?: boolean;
  /** How client certificates are treated, overriding requestCert/rejectUnauthorized: see TLSSocketOptions. */
  verifyClient?: TLSSocketOptions['verifyClient'];
  /** Do not ask for the client certificate again in a re-handshake. */
  verifyClientOnce?: boolean;
  /** Seconds a TLS 1.2 session stays resumable from the server's session-ID cache (default 300). */
  sessionTimeout?: number | null;
  /** Node's server PSK callback: (socket, identity) → key | null. */
  pskCallback?: ServerPskCallback;
  /** TLS 1.2: the PSK identity hint sent to clients. */
  pskIdentityHint?: string;
  /**
   * Session-ticket keys shared by servers that should resume each other's sessions: 48 bytes
   * (Node's format; expanded to GnuTLS's key with HKDF-SHA256) or 64 bytes (GnuTLS's own key).
   */
  ticketKeys?: Buffer | null;
  /** Handshake message bytes a client may send in one handshake (default 131072): see TLSSocketOptions. */
  maxHandshakeSize?: number;
}


/**
 * A server's own context, as Node makes it: it prefers its own order of suites unless told not to
 * (a raw GnuTLS `priority` is taken as it is written).
 */
function serverContextOptions(o: TlsOptions): TlsOptions {
  return { ...o, honorCipherOrder: o.honorCipherOrder ?? o.priority == null };
}

/** GnuTLS's 64-byte ticket master key for `keys` (48 bytes as Node takes them, or 64 as is). */
function ticketMasterKey(keys: Buffer): Buffer {
  validateBufferLike(keys, 'buffer');
  if (keys.byteLength === 64) return Buffer.from(keys);
  if (keys.byteLength === 48) return Buffer.from(hkdfSync('sha256', keys, Buffer.alloc(0), 'node-gnutls session ticket key', 64));
  throw invalidArgValue('buffer', keys.byteLength, "must be 48 bytes (Node's format) or 64 bytes (GnuTLS's)");
}

/** Milliseconds a client has to finish the handshake when `handshakeTimeout` is not given (Node's). */
export const DEFAULT_HANDSHAKE_TIMEOUT = 120000;
const SESSION_CACHE_SIZE = 20480;

function hostnameRegExp(hostname: string): RegExp {
  const escaped = hostname.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^.]*');
  return new RegExp(`^${escaped}$`, 'i');
}

// Typed events: see lib/events.ts.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Server {
  /** Adds a listener of a ServerEvents event (typed by name). */
  on<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Adds a one-time listener of a ServerEvents event. */
  once<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Removes a listener. */
  off<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Adds a listener (as `on`). */
  addListener<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Removes a listener (as `off`). */
  removeListener<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Adds a listener before the others. */
  prependListener<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Adds a one-time listener before the others. */
  prependOnceListener<E extends string | symbol>(event: E & EventName<ServerEvents, E>, listener: Listener<ServerEvents, E>): this;
  /** Emits an event with its typed arguments. */
  emit<E extends string | symbol>(event: E & EventName<ServerEvents, E>, ...args: EmitArgs<ServerEvents, E>): boolean;
}

/** Node's tls.Server on GnuTLS: a net.Server whose connections are server-side TLSSockets. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Server extends net.Server {
  private _tlsOptions: TlsOptions;
  private _context: SecureContext;
  private _contexts: Array<[RegExp, SecureContext]> = [];
  private _ticketKeys: Buffer | null = null;

  constructor(options?: TlsOptions | ((socket: TLSSocket) => void), listener?: (socket: TLSSocket) => void) {
    validateServerOptions(options);
    if (typeof options === 'function') {
      listener = options;
      options = {};
    }
    const opts: TlsOptions = options ?? {};
    if (opts.ALPNCallback != null && opts.ALPNProtocols != null) {
      throw codedError(TypeError, 'ERR_TLS_ALPN_CALLBACK_WITH_PROTOCOLS', 'The ALPNCallback and ALPNProtocols TLS options are mutually exclusive');
    }
    // Connections are half-open at TCP level: each TLSSocket applies allowHalfOpen itself.
    super({ allowHalfOpen: true, pauseOnConnect: opts.pauseOnConnect });
    this._tlsOptions = opts;
    maxHandshakeSize(opts.maxHandshakeSize); // checked once here, not per connection
    this._context = contextFor(opts.secureContext, serverContextOptions(opts));
    if (opts.sessionTimeout != null) this._context.context.setSessionCache(SESSION_CACHE_SIZE, opts.sessionTimeout);
    if (opts.ticketKeys != null) this.setTicketKeys(opts.ticketKeys);
    this.on('connection', (raw: net.Socket) => this._wrap(raw));
    if (listener) this.on('secureConnection', listener);
  }

  private _wrap(raw: net.Socket): void {
    const o = this._tlsOptions;
    const sni: SNICallback | undefined =
      o.SNICallback ?? (this._contexts.length > 0 ? (name, cb) => cb(null, this._match(name)) : undefined);
    let sock: TLSSocket;
    try {
      sock = new TLSSocket(raw, {
        isServer: true,
        server: this,
        secureContext: this._context,
        requestCert: o.requestCert,
        rejectUnauthorized: o.rejectUnauthorized,
        ALPNProtocols: o.ALPNProtocols,
        ALPNCallback: typeof o.ALPNCallback === 'function' ? o.ALPNCallback : undefined,
        SNICallback: sni,
        handshakeTimeout: o.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
        allowHalfOpen: o.allowHalfOpen,
        highWaterMark: o.highWaterMark,
        renegotiation: o.renegotiation,
        allowIdentityChange: o.allowIdentityChange,
        allowUnsafeRenegotiation: o.allowUnsafeRenegotiation,
        verifyClient: o.verifyClient,
        verifyClientOnce: o.verifyClientOnce,
        pskCallback: o.pskCallback,
        pskIdentityHint: o.pskIdentityHint,
        maxHandshakeSize: o.maxHandshakeSize,
      });
    } catch (err) {
      raw.destroy();
      const e = asTLSError(err, 'ERR_TLS_SETUP');
      this.emit('tlsClientError', e, raw as TLSSocket); // no TLSSocket could be made (see ServerEvents)
      return;
    }
    void sock;
  }

  private _match(servername: string): SecureContext | undefined {
    for (let i = this._contexts.length - 1; i >= 0; i--) {
      if (this._contexts[i][0].test(servername)) return this._contexts[i][1];
    }
    return undefined;
  }

  /** Serve `context` (or options for one) to clients whose SNI matches `hostname` (wildcards allowed). */
  addContext(hostname: string, context: SecureContextLike | SecureContextOptions): void {
    const ctx = 'context' in context ? contextFor(context, {}) : createSecureContext(context as SecureContextOptions);
    if (this._ticketKeys) ctx.context.setTicketKey(ticketMasterKey(this._ticketKeys));
    this._contexts.push([hostnameRegExp(hostname), ctx]);
  }

  /** Replace the default context for new connections. */
  setSecureContext(options: SecureContextOptions): void {
    this._tlsOptions = { ...this._tlsOptions, ...options };
    this._context = createSecureContext(serverContextOptions(this._tlsOptions));
    const timeout = this._tlsOptions.sessionTimeout;
    if (timeout != null) this._context.context.setSessionCache(SESSION_CACHE_SIZE, timeout);
    if (this._ticketKeys) this._context.context.setTicketKey(ticketMasterKey(this._ticketKeys));
  }

  /** The session-ticket keys: as given to setTicketKeys()/`ticketKeys`, else GnuTLS's 64-byte key. */
  getTicketKeys(): Buffer<ArrayBuffer> {
    if (this._ticketKeys) return Buffer.from(this._ticketKeys);
    this._context.context.enableTickets();
    return this._context.context.getTicketKey() as Buffer<ArrayBuffer>;
  }

  /** Replace the session-ticket keys (48 or 64 bytes) for every context of this server. */
  setTicketKeys(keys: Buffer): void {
    const master = ticketMasterKey(keys);
    this._ticketKeys = Buffer.from(keys);
    this._context.context.setTicketKey(master);
    for (const [, ctx] of this._contexts) ctx.context.setTicketKey(master);
  }
}

/** Node's `tls.createServer()`: a Server whose 'secureConnection' listener gets each handshaken TLSSocket. */
export function createServer(
  options?: TlsOptions | ((socket: TLSSocket) => void),
  listener?: (socket: TLSSocket) => void,
): Server {
  return new Server(options, listener);
}
