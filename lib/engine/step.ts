// What one call into the engine returns: ciphertext to send and the ordered items the adapter acts on.
import type { Operation } from './operations';

export type Item =
  | { t: 'data'; buf: Buffer }
  /** The peer's close_notify: no more plaintext. */
  | { t: 'end' }
  | { t: 'keylog'; line: Buffer }
  /** The handshake completed (`info` is fresh). */
  | { t: 'handshake' }
  /** Client: a session ticket arrived. */
  | { t: 'ticket' }
  | { t: 'keyUpdate' }
  /** Client: a TLS 1.2 HelloRequest; answer with answerHelloRequest(). */
  | { t: 'helloRequest'; safe: boolean }
  /** Client: a TLS 1.3 post-handshake CertificateRequest; answer with answerReauth(). */
  | { t: 'reauthRequest' }
  /** A re-handshake the peer started completed. */
  | { t: 'renegotiated' }
  /** A TLS 1.2 re-handshake (whoever started it) completed: Node emits 'secure' again. */
  | { t: 'rehandshaken' }
  /** Client: our answer to a re-auth request went out. */
  | { t: 'reauthAnswered' }
  /** An operation started (arm its timeout) or ended (release writes, run the next one). */
  | { t: 'opStarted'; op: Operation }
  | { t: 'opEnded'; op: Operation }
  /** The peer's certificate was checked again (after a re-authentication). */
  | { t: 'verified'; authorized: boolean; error: string | null }
  /** Fatal: the alert (if any) is in `out`; the adapter destroys the socket (with `err`, if any). */
  | { t: 'error'; err: Error | null };

export interface Step {
  out: Buffer[];
  items: Item[];
}
