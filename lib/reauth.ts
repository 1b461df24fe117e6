// Types and request objects for re-authentication, re-handshake and key update.
import type { SecureContext } from './secure-context';

/** Options of `TLSSocket#reauth()`. */
export interface ReauthOptions {
  /** Fail unless the client sends a certificate (GNUTLS_CERT_REQUIRE); default: request only. */
  require?: boolean;
  /** Reject with ERR_TLS_REAUTH_TIMEOUT (and close) when the client has not answered in time (ms). */
  timeout?: number;
}

/** Options of `TLSSocket#rehandshake()`. */
export interface RehandshakeOptions {
  /** Reject with ERR_TLS_RENEGOTIATION_TIMEOUT when the peer has not re-handshaken in time (ms). */
  timeout?: number;
}

/** Options of `TLSSocket#keyUpdate()`. */
export interface KeyUpdateOptions {
  /** Ask the peer to update its sending keys too (GNUTLS_KU_PEER). */
  requestPeer?: boolean;
}

/** What a server does with a renegotiation the client starts (TLS 1.2). */
export type RenegotiationPolicy = 'refuse' | 'accept' | 'close';

/**
 * A TLS 1.3 post-handshake CertificateRequest from the server ('reauthRequest' event).
 * Answer exactly once; until then the socket reads no further records.
 */
export class ReauthRequest {
  private _answered = false;
  /** @internal Made by the socket. */
  constructor(private readonly _answer: (ctx: SecureContext | null | undefined) => void) {}

  /** Whether accept() or decline() was called. */
  get answered(): boolean {
    return this._answered;
  }

  /** Answer with the socket's own certificate, or with the one in `context`. */
  accept(context?: SecureContext): void {
    this._reply(context);
  }

  /** Answer with no certificate. */
  decline(): void {
    this._reply(null);
  }

  private _reply(ctx: SecureContext | null | undefined): void {
    if (this._answered) return;
    this._answered = true;
    this._answer(ctx);
  }
}

/** A TLS 1.2 HelloRequest from the server ('rehandshakeRequest' event). */
export class RehandshakeRequest {
  private _answered = false;
  /** @internal Made by the socket. */
  constructor(
    /** Whether safe renegotiation (RFC 5746) is in place on this connection. */
    readonly safeRenegotiation: boolean,
    private readonly _answer: (accept: boolean) => void,
  ) {}

  /** Whether accept() or decline() was called. */
  get answered(): boolean {
    return this._answered;
  }

  /** Run the re-handshake. */
  accept(): void {
    this._reply(true);
  }

  /** Answer with a no_renegotiation warning alert. */
  refuse(): void {
    this._reply(false);
  }

  private _reply(accept: boolean): void {
    if (this._answered) return;
    this._answered = true;
    this._answer(accept);
  }
}
