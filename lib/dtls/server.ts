// DTLSServer: one UDP socket, peers told apart by address:port. A peer gets state only after it
// returned a valid cookie (see cookie.ts), and at most `maxHalfOpen` peers are in a handshake.
import * as dgram from 'dgram';
import { EventEmitter } from 'events';
import * as net from 'net';
import type { AddressInfo } from 'net';
import { asTLSError, nodeError } from '../errors';
import type { SecureContext } from '../secure-context';
import { codedError, validateFunction } from '../validate';
import type { EmitArgs, EventName, Listener } from '../events';
import { CookieJar, clientId, freshHelloRandom } from './cookie';
import type { DTLSServerEvents } from './events';
import { DEFAULTS, DTLSServerOptions, Timing, createDtlsSession, dtlsContext, timing } from './options';
import { DTLSSocket } from './socket';

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface DTLSServer {
  /** Adds a listener of a DTLSServerEvents event (typed by name). */
  on<E extends string | symbol>(event: E & EventName<DTLSServerEvents, E>, listener: Listener<DTLSServerEvents, E>): this;
  /** Adds a one-time listener of a DTLSServerEvents event. */
  once<E extends string | symbol>(event: E & EventName<DTLSServerEvents, E>, listener: Listener<DTLSServerEvents, E>): this;
  /** Removes a listener. */
  off<E extends string | symbol>(event: E & EventName<DTLSServerEvents, E>, listener: Listener<DTLSServerEvents, E>): this;
  /** Adds a listener (as `on`). */
  addListener<E extends string | symbol>(event: E & EventName<DTLSServerEvents, E>, listener: Listener<DTLSServerEvents, E>): this;
  /** Removes a listener (as `off`). */
  removeListener<E extends string | symbol>(event: E & EventName<DTLSServerEvents, E>, listener: Listener<DTLSServerEvents, E>): this;
  /** Adds a listener before the others. */
  prependListener<E extends string | symbol>(event: E & EventName<DTLSServerEvents, E>, listener: Listener<DTLSServerEvents, E>): this;
  /** Adds a one-time listener before the others. */
  prependOnceListener<E extends string | symbol>(event: E & EventName<DTLSServerEvents, E>, listener: Listener<DTLSServerEvents, E>): this;
  /** Emits an event with its typed arguments. */
  emit<E extends string | symbol>(event: E & EventName<DTLSServerEvents, E>, ...args: EmitArgs<DTLSServerEvents, E>): boolean;
}

/** What the server counts (for monitoring and tests). */
export interface DTLSServerStats {
  /** HelloVerifyRequests sent (ClientHellos without a valid cookie). */
  cookiesSent: number;
  /** Datagrams from unknown peers that were not ClientHellos, or were refused. */
  dropped: number;
  /** Peers past the cookie exchange, handshake not yet complete. */
  halfOpen: number;
  /** Peers with a completed handshake. */
  established: number;
}

/**
 * A DTLS server on one UDP socket: peers are told apart by address and port, and get state only
 * once they return the cookie of a HelloVerifyRequest (stateless cookies, RFC 6347 4.2.1).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class DTLSServer extends EventEmitter {
  private readonly _options: DTLSServerOptions;
  private readonly _ctx: SecureContext;
  private readonly _timing: Timing;
  private readonly _maxHalfOpen: number;
  private readonly _peers = new Map<string, DTLSSocket>();
  private readonly _halfOpen = new Set<DTLSSocket>();
  /** The client random of the ClientHello that made each peer. */
  private readonly _randoms = new WeakMap<DTLSSocket, Buffer>();
  private _udp: dgram.Socket | null = null;
  private _cookies: CookieJar | null = null;
  private _closing = false;
  private _cookiesSent = 0;
  private _dropped = 0;

  /**
   * As {@link createServer}; `listener` is added to 'secureConnection'. Throws on invalid options
   * (ERR_OUT_OF_RANGE for `maxHalfOpen` or a timing option, the TLS errors for keys and certificates).
   */
  constructor(options: DTLSServerOptions = {}, listener?: (socket: DTLSSocket) => void) {
    super();
    this._options = options;
    this._ctx = dtlsContext(options);
    this._timing = timing(options);
    const max = options.maxHalfOpen ?? DEFAULTS.maxHalfOpen;
    if (!Number.isInteger(max) || max < 1) throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `options.maxHalfOpen must be a positive integer. Received ${String(max)}`);
    this._maxHalfOpen = max;
    if (listener !== undefined) {
      validateFunction(listener, 'secureConnectionListener');
      this.on('secureConnection', listener);
    }
  }

  /**
   * Binds the UDP socket (port 0: one the OS picks); 'listening' when bound, and `cb` runs on it.
   * Throws ERR_SOCKET_ALREADY_BOUND when already bound.
   */
  bind(port = 0, address?: string, cb?: () => void): this {
    if (this._udp) throw nodeError('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
    const type = this._options.type ?? (address && net.isIP(address) === 6 ? 'udp6' : 'udp4');
    const udp = dgram.createSocket(type);
    this._udp = udp;
    this._closing = false;
    this._cookies = new CookieJar(this._options.cookieRotation ?? DEFAULTS.cookieRotation);
    udp.on('message', (msg, rinfo) => this._message(msg, rinfo));
    udp.on('error', (err) => this.emit('error', err));
    udp.on('listening', () => this.emit('listening'));
    if (cb) this.once('listening', cb);
    udp.bind(port, address);
    return this;
  }

  /** The bound address of the UDP socket; throws ERR_SOCKET_DGRAM_NOT_RUNNING when not bound. */
  address(): AddressInfo {
    if (!this._udp) throw nodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    return this._udp.address();
  }

  /** Closes every association (close_notify) and the UDP socket; 'close' when done. */
  close(cb?: () => void): this {
    if (cb) this.once('close', cb);
    if (!this._udp) {
      process.nextTick(() => this.emit('close'));
      return this;
    }
    if (this._closing) return this;
    this._closing = true;
    for (const peer of [...this._peers.values()]) peer.close();
    this._cookies?.stop();
    const udp = this._udp;
    // Let the close_notify datagrams leave before the socket goes.
    setImmediate(() => {
      udp.close(() => {
        this._udp = null;
        this.emit('close');
      });
    });
    return this;
  }

  /** The server's counters, read now. */
  get stats(): DTLSServerStats {
    return { cookiesSent: this._cookiesSent, dropped: this._dropped, halfOpen: this._halfOpen.size, established: this._peers.size - this._halfOpen.size };
  }

  /** Rotates the cookie secret now (it also rotates every `cookieRotation` ms). */
  rotateCookieSecret(): void {
    this._cookies?.rotate();
  }

  private _message(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this._closing) return;
    const key = `${rinfo.address}|${rinfo.port}`;
    const peer = this._peers.get(key);
    if (peer) {
      // A ClientHello with another random: the peer restarted its handshake (RFC 6347 4.2.8). It
      // replaces the association only once it returns a valid cookie; a retransmission of the
      // first ClientHello goes to the association as any datagram.
      const random = freshHelloRandom(msg);
      const known = this._randoms.get(peer);
      if (!random || !known || random.equals(known)) return peer._datagram(msg);
    }
    const verdict = this._cookies!.check(msg, clientId(rinfo.address, rinfo.port));
    if (verdict.kind === 'drop') {
      this._dropped++;
      return;
    }
    if (verdict.kind === 'verify') {
      this._cookiesSent++;
      this._udp!.send(verdict.reply, rinfo.port, rinfo.address);
      return;
    }
    if (peer) peer.close(); // the restarted client's old association
    if (this._halfOpen.size >= this._maxHalfOpen) {
      this._dropped++;
      this.emit('clientError', nodeError('ERR_DTLS_TOO_MANY_HALF_OPEN', `more than ${this._maxHalfOpen} handshakes in progress`), rinfo);
      return;
    }
    this._accept(key, msg, rinfo, verdict.prestate);
  }

  private _accept(key: string, first: Buffer, rinfo: dgram.RemoteInfo, prestate: [number, number, number]): void {
    const udp = this._udp!;
    const o = this._options;
    let socket: DTLSSocket;
    try {
      socket = new DTLSSocket({
        isServer: true,
        link: {
          send: (datagrams, done) => {
            let left = datagrams.length;
            let firstErr: Error | null = null;
            for (const d of datagrams) {
              udp.send(d, rinfo.port, rinfo.address, (err) => {
                firstErr ??= err ?? null;
                if (--left === 0) done?.(firstErr);
              });
            }
          },
          release: () => {
            if (this._peers.get(key) === socket) this._peers.delete(key);
            this._halfOpen.delete(socket);
          },
          address: () => udp.address(),
        },
        remote: rinfo,
        ctx: this._ctx,
        timing: this._timing,
        rejectUnauthorized: o.rejectUnauthorized !== false,
        requestCert: o.requestCert === true,
        hostname: '',
        usesPsk: Boolean(o.pskCallback),
        session: (sock, onPskError) => {
          const s = createDtlsSession({ isServer: true, ctx: this._ctx, options: o, timing: this._timing, socket: sock, onPskError });
          s.setPrestate(prestate);
          return s;
        },
        onOrphanError: (_sock, err) => this.emit('clientError', asTLSError(err, 'ERR_DTLS'), rinfo),
        onHandshake: (sock, err) => {
          this._halfOpen.delete(sock);
          if (err) this.emit('clientError', asTLSError(err, 'ERR_DTLS'), rinfo);
          else this.emit('secureConnection', sock);
        },
      });
    } catch (err) {
      this.emit('clientError', asTLSError(err), rinfo);
      return;
    }
    this._peers.set(key, socket);
    this._halfOpen.add(socket);
    const random = freshHelloRandom(first);
    if (random) this._randoms.set(socket, Buffer.from(random));
    socket._start(first);
  }
}

/** A new {@link DTLSServer}, not yet bound (call bind()); `listener` is added to 'secureConnection'. */
export function createServer(options?: DTLSServerOptions, listener?: (socket: DTLSSocket) => void): DTLSServer;
/** A new {@link DTLSServer} with the default options, not yet bound; `listener` is added to 'secureConnection'. */
export function createServer(listener?: (socket: DTLSSocket) => void): DTLSServer;
export function createServer(a?: DTLSServerOptions | ((socket: DTLSSocket) => void), b?: (socket: DTLSSocket) => void): DTLSServer {
  return typeof a === 'function' ? new DTLSServer({}, a) : new DTLSServer(a ?? {}, b);
}
