// Event maps of the DTLS classes (see lib/events.ts for how on/once/emit derive from them).
import type { RemoteInfo } from 'dgram';
import type { TLSError } from '../errors';
import type { DTLSSocket } from './socket';

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
  close: () => void;
  error: (err: Error) => void;
}

export interface DTLSServerEvents {
  /** A peer completed the handshake (past the cookie exchange) and was verified. */
  secureConnection: (socket: DTLSSocket) => void;
  /**
   * A peer past the cookie exchange failed before its handshake completed, or later on a socket
   * that has no 'error' listener.
   */
  clientError: (err: TLSError, rinfo: RemoteInfo) => void;
  listening: () => void;
  close: () => void;
  error: (err: Error) => void;
}
