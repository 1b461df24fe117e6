// Event maps of the DTLS classes (see lib/events.ts for how on/once/emit derive from them).
import type { RemoteInfo } from 'dgram';
import type { TLSError } from '../errors';
import type { DTLSSocket } from './socket';

/** Events of {@link DTLSSocket}, with their listeners' arguments. */
export interface DTLSSocketEvents {
  /** Client: the handshake completed and the server was verified (or rejectUnauthorized: false). */
  secureConnect: () => void;
  /** The handshake completed (both roles). */
  secure: () => void;
  /** One application-data record: exactly what the peer passed to one send(). */
  message: (msg: Buffer, rinfo: RemoteInfo) => void;
  /** The peer sent close_notify (then 'close' follows). */
  end: () => void;
  /** setTimeout(): nothing came or went for that long. */
  timeout: () => void;
  /** The association is over (close(), close_notify, or an error); emitted once. */
  close: () => void;
  /**
   * An error that ends the association (a TLSError with the GnuTLS code and alert; client: also
   * ERR_DTLS_HANDSHAKE_TIMEOUT, DNS and UDP errors), or a send() without a callback that failed.
   * A server's peers report handshake failures as the server's 'clientError' instead.
   */
  error: (err: Error) => void;
}

/** Events of {@link DTLSServer}, with their listeners' arguments. */
export interface DTLSServerEvents {
  /** A peer completed the handshake (past the cookie exchange) and was verified. */
  secureConnection: (socket: DTLSSocket) => void;
  /**
   * A peer past the cookie exchange failed before its handshake completed, or later on a socket
   * that has no 'error' listener.
   */
  clientError: (err: TLSError, rinfo: RemoteInfo) => void;
  /** The UDP socket is bound (bind()). */
  listening: () => void;
  /** close() is done: every association closed and the UDP socket with them. */
  close: () => void;
  /** An error of the UDP socket. */
  error: (err: Error) => void;
}
