// Event maps: one interface per class; TLSSocket and Server derive typed on/once/off/emit from
// them, so a misspelled event name or a listener of the wrong type does not compile. Names of no
// map (an application's own events, as Node's typings allow) take any listener, unless spelled
// like one of the map's names: their first five letters (any case) are those of no mapped name.
import type * as net from 'net';
import type { ReauthRequest, RehandshakeRequest } from './reauth';
import type { TLSSocket } from './tls-socket';
import type { TLSError } from './errors';

export interface TLSSocketEvents {
  /** Client: the transport connected (net.Socket's 'connect' and 'ready'); the handshake starts. */
  connect: () => void;
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
  data: (chunk: Buffer) => void;
  end: () => void;
  close: (hadError: boolean) => void;
  error: (err: Error) => void;
  timeout: () => void;
  drain: () => void;
  finish: () => void;
  readable: () => void;
  pause: () => void;
  resume: () => void;
  pipe: (src: NodeJS.ReadableStream) => void;
  unpipe: (src: NodeJS.ReadableStream) => void;
  newListener: (event: string | symbol, listener: (...args: unknown[]) => void) => void;
  removeListener: (event: string | symbol, listener: (...args: unknown[]) => void) => void;
  // net.Socket's own, as Node's typings have them.
  lookup: (err: Error | null, address: string, family: string | number, host: string) => void;
  connectionAttempt: (ip: string, port: number, family: number) => void;
  connectionAttemptFailed: (ip: string, port: number, family: number, error: Error) => void;
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

export interface ServerEvents {
  secureConnection: (socket: TLSSocket) => void;
  /**
   * An error before the handshake completed; the socket is destroyed. Typed as Node's: the
   * connection's TLSSocket; when the TLS session could not even be set up, the raw net.Socket.
   */
  tlsClientError: (err: TLSError, socket: TLSSocket) => void;
  connection: (socket: net.Socket) => void;
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
  listening: () => void;
  close: () => void;
  error: (err: Error) => void;
  drop: (data?: net.DropArgument) => void;
}

