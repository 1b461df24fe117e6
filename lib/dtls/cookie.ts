// Stateless cookie exchange (RFC 6347 4.2.1): a ClientHello without a valid cookie is answered
// with a HelloVerifyRequest and forgotten; only one that returns the cookie gets a session. The
// cookie is GnuTLS's HMAC over the client's address under a secret that rotates; one of the
// previous period is still accepted, so a handshake that spans a rotation goes through.
import { randomBytes } from 'crypto';
import { dtlsBinding } from '../native';

const BAD_COOKIE = -214; // GNUTLS_E_BAD_COOKIE
const CONTENT_HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const RECORD_HEADER = 13;

export type CookieResult =
  | { kind: 'valid'; prestate: [number, number, number] }
  /** The HelloVerifyRequest to send back. */
  | { kind: 'verify'; reply: Buffer }
  /** Not a ClientHello (or not one GnuTLS can parse): dropped without an answer. */
  | { kind: 'drop' };

/** A DTLS record carrying the start of a ClientHello (cheap check before any parsing). */
export function looksLikeClientHello(d: Buffer): boolean {
  return d.length > RECORD_HEADER && d[0] === CONTENT_HANDSHAKE && d[1] === 0xfe && d[RECORD_HEADER] === CLIENT_HELLO;
}

/**
 * The client random of an unfragmented ClientHello in epoch 0 (a new handshake from the peer's
 * address: a client that restarted), or null for anything else.
 */
export function freshHelloRandom(d: Buffer): Buffer | null {
  if (!looksLikeClientHello(d) || d[3] !== 0 || d[4] !== 0) return null;
  const at = RECORD_HEADER + 12 + 2; // handshake header, client_version
  if (d.length < at + 32 || d.readUIntBE(RECORD_HEADER + 6, 3) !== 0) return null; // fragment_offset 0
  return d.subarray(at, at + 32);
}

export class CookieJar {
  private _current = randomBytes(32);
  private _previous = randomBytes(32);
  private _timer: NodeJS.Timeout;

  constructor(rotateMs: number) {
    this._timer = setInterval(() => this.rotate(), rotateMs);
    this._timer.unref();
  }

  rotate(): void {
    this._previous = this._current;
    this._current = randomBytes(32);
  }

  check(datagram: Buffer, client: Buffer): CookieResult {
    if (!looksLikeClientHello(datagram)) return { kind: 'drop' };
    for (const key of [this._current, this._previous]) {
      const r = dtlsBinding.dtlsCookieVerify(key, client, datagram);
      if (typeof r !== 'number') return { kind: 'valid', prestate: r };
      if (r !== BAD_COOKIE) return { kind: 'drop' };
    }
    const reply = dtlsBinding.dtlsCookieSend(this._current, client, datagram);
    return typeof reply === 'number' ? { kind: 'drop' } : { kind: 'verify', reply };
  }

  stop(): void {
    clearInterval(this._timer);
  }
}

/** The bytes the cookie binds: the client's address and port. */
export function clientId(address: string, port: number): Buffer {
  return Buffer.from(`${address}\0${port}`);
}
