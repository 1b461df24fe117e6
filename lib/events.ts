// Event maps: one interface per class; TLSSocket and Server derive typed on/once/off/emit from
// them, so a misspelled event name or a listener of the wrong type does not compile. Names of no
// map (an application's own events, as Node's typings allow) take any listener, unless spelled
// like one of the map's names: their first five letters (any case) are those of no mapped name.
import type * as net from 'net';
import type { ReauthRequest, RehandshakeRequest } from './reauth';
import type { TLSSocket } from './tls-socket';
import type { TLSError } from './errors';

/** The events of a {@link TLSSocket}: Node's TLSSocket events, and GnuTLS's own. */
export interface TLSSocketEvents {
  /** Client: the transport connected (net.Socket's 'connect' and 'ready'); the handshake starts. */
  connect: () => void;
  /** Client: after 'connect', as net.Socket emits it. */
  ready: () => void;
  /** Client: handshake done and the server verified (or rejectUnauthorized: false). */
  secureConnect: () => void;
  /** Handshake done (both roles). */
  secure: () => void;
  /** Client: a resumable session (pass to `connect({ session })`). */
  session: (session: Buffer) => void;
  /** A line of NSS key-log format. */
  keylog: (line: Buffer) => void;
  /** TLS 1.3: the peer updated its keys. */
  keyUpdate: () => void;
  /** Client, TLS 1.3: the server asks for a certificate after the handshake. */
  reauthRequest: (request: ReauthRequest) => void;
  /** Client, TLS 1.2: the server sent a HelloRequest. */
  rehandshakeRequest: (request: RehandshakeRequest) => void;
  /** Client: our answer to a re-auth request was sent. */
  reauth: () => void;
  /** Client with `requestOCSP`: the OCSP response the server stapled (DER). */
  OCSPResponse: (response: Buffer) => void;
  /** A re-handshake the peer started completed. */
  renegotiated: () => void;
  /** Decrypted application data. */
  data: (chunk: Buffer) => void;
  /** The peer ended its side (close_notify, or the transport's end). */
  end: () => void;
  /** The socket closed; `hadError` if an error closed it. */
  close: (hadError: boolean) => void;
  /** A failure: a TLSError for TLS failures (see its `code`). */
  error: (err: Error) => void;
  /** The socket was idle for the time set with `setTimeout()`. */
  timeout: () => void;
  /** The write buffer emptied. */
  drain: () => void;
  /** Every write was handed to TLS after `end()`. */
  finish: () => void;
  /** Data can be read with `read()`. */
  readable: () => void;
  /** Reading was paused. */
  pause: () => void;
  /** Reading resumed. */
  resume: () => void;
  /** A readable was piped into this socket. */
  pipe: (src: NodeJS.ReadableStream) => void;
  /** A readable was unpiped from this socket. */
  unpipe: (src: NodeJS.ReadableStream) => void;
  /** A listener is about to be added (EventEmitter's). */
  newListener: (event: string | symbol, listener: (...args: unknown[]) => void) => void;
  /** A listener was removed (EventEmitter's). */
  removeListener: (event: string | symbol, listener: (...args: unknown[]) => void) => void;
  // net.Socket's own, as Node's typings have them.
  /** Client: the host name was resolved (net.Socket's). */
  lookup: (err: Error | null, address: string, family: string | number, host: string) => void;
  /** Client: trying one address (net.Socket's, with autoSelectFamily). */
  connectionAttempt: (ip: string, port: number, family: number) => void;
  /** Client: an address failed (net.Socket's, with autoSelectFamily). */
  connectionAttemptFailed: (ip: string, port: number, family: number, error: Error) => void;
  /** Client: an address timed out (net.Socket's, with autoSelectFamily). */
  connectionAttemptTimeout: (ip: string, port: number, family: number) => void;
}

type Prefix<S extends string> = S extends `${infer A}${infer B}${infer C}${infer D}${infer E}${string}` ? `${A}${B}${C}${D}${E}` : S;

/**
 * `E` if it is a name of map `M`, a symbol, a name of no mapped event not spelled like one, or
 * the type `string` itself; never otherwise (a misspelling of a mapped name).
 */
export type EventName<M, E> = E extends keyof M
  ? E
  : E extends symbol
    ? E
    : E extends string
      ? string extends E
        ? E
        : Lowercase<E> extends `${Lowercase<Prefix<keyof M & string>>}${string}`
          ? never
          : E
      : never;

/** The listener of event `E`: the map's type, or any function for an event of no map. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Listener<M, E> = E extends keyof M ? M[E] : (...args: any[]) => void;
/** The arguments `emit(E, ...)` takes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EmitArgs<M, E> = E extends keyof M ? (M[E] extends (...args: infer A) => void ? A : never) : any[];

/** The events of a TLS `Server`: Node's tls.Server events. */
export interface ServerEvents {
  /** A client completed the handshake (and was verified, under rejectUnauthorized). */
  secureConnection: (socket: TLSSocket) => void;
  /**
   * An error before the handshake completed; the socket is destroyed. Typed as Node's: the
   * connection's TLSSocket; when the TLS session could not even be set up, the raw net.Socket.
   */
  tlsClientError: (err: TLSError, socket: TLSSocket) => void;
  /** A TCP connection arrived (before TLS). */
  connection: (socket: net.Socket) => void;
  /** A line of NSS key-log format from one of the server's connections. */
  keylog: (line: Buffer, socket: TLSSocket) => void;
  /** A client asked for OCSP stapling: call back with a DER response (or null for none). */
  OCSPRequest: (
    certificate: Buffer | null,
    issuer: Buffer | null,
    callback: (err: Error | null, response?: Buffer | null) => void,
  ) => void;
  /** TLS 1.2: a new session-ID cache entry; call `done` to let the connection proceed. */
  newSession: (sessionId: Buffer, sessionData: Buffer, done: () => void) => void;
  /** TLS 1.2: a client asks to resume `sessionId`; call back with its data (or null). */
  resumeSession: (sessionId: Buffer, callback: (err: Error | null, sessionData?: Buffer | null) => void) => void;
  /** The server is listening. */
  listening: () => void;
  /** The server closed, after its last connection. */
  close: () => void;
  /** A server error (listen failed, ...). */
  error: (err: Error) => void;
  /** A connection was dropped: `maxConnections` was reached (net.Server's). */
  drop: (data?: net.DropArgument) => void;
}

