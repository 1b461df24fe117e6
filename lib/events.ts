// Event maps: one interface per class; TLSSocket and Server derive typed on/once/off/emit from
// them, so a misspelled event name or a listener of the wrong type does not compile.
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
}

export interface ServerEvents {
  secureConnection: (socket: TLSSocket) => void;
  /** An error before the handshake completed; the socket is destroyed. */
  tlsClientError: (err: TLSError, socket: TLSSocket | net.Socket) => void;
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

