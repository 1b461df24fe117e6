// The events of the HTTPS server: the TLS server's, plus those of Node's http.Server.
import type * as http from 'http';
import type { Duplex } from 'stream';
import type { ServerEvents } from '../events';
import type { TLSSocket } from '../tls-socket';

/** A request whose `socket` is the connection's node-gnutls TLSSocket. */
export type SecureIncomingMessage = http.IncomingMessage & {
  /** The connection's TLSSocket. */
  socket: TLSSocket;
};

/** Events of {@link Server}: those of the TLS server and those of Node's `http.Server`. */
export interface HttpsServerEvents extends ServerEvents {
  /** A request arrived; `req.socket` is the TLSSocket (peer certificate, `reauth()`, ...). */
  request: (req: SecureIncomingMessage, res: http.ServerResponse) => void;
  /** A request with `Expect: 100-continue` (without a listener: answered 100 and emitted as 'request'). */
  checkContinue: (req: SecureIncomingMessage, res: http.ServerResponse) => void;
  /** A request with another `Expect` value (without a listener: answered 417). */
  checkExpectation: (req: SecureIncomingMessage, res: http.ServerResponse) => void;
  /** An error on a connection (a TLS error from 'tlsClientError', or an HTTP parse error). */
  clientError: (err: Error, socket: Duplex) => void;
  /** A `CONNECT` request (without a listener the connection is closed). */
  connect: (req: SecureIncomingMessage, socket: TLSSocket, head: Buffer) => void;
  /** A request asking for a protocol upgrade (WebSocket, ...). */
  upgrade: (req: SecureIncomingMessage, socket: TLSSocket, head: Buffer) => void;
  /** A request dropped because the socket reached `maxRequestsPerSocket`. */
  dropRequest: (req: SecureIncomingMessage, socket: TLSSocket) => void;
  /** A connection was idle for `timeout` ms (without a listener it is destroyed). */
  timeout: (socket: TLSSocket) => void;
}

/** The http.Server events the HTTP layer emits, re-emitted by the HTTPS server. */
export const HTTP_EVENTS = [
  'request',
  'checkContinue',
  'checkExpectation',
  'clientError',
  'connect',
  'upgrade',
  'dropRequest',
  'timeout',
] as const;
