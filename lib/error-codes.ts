// The codes node-gnutls raises itself, as types for the API reference: each with the class of the
// error carrying it. The README's table lists the same codes (test/docs.api.test.ts keeps them equal).
import type { TLSError } from './errors';

/**
 * The `code`s node-gnutls raises itself, each typed with the error that carries it. A fatal alert
 * or a local failure that Node reports as an OpenSSL error carries OpenSSL's `ERR_SSL_*` code
 * instead, and any other GnuTLS failure the GnuTLS name (`GNUTLS_E_...`): see {@link TLSError}.
 */
export interface ErrorCodes {
  /** An option or argument of the wrong type. */
  ERR_INVALID_ARG_TYPE: TypeError;
  /** A `ticketKeys` option not of 48 bytes (TypeError); an unknown channel binding type (TLSError). */
  ERR_INVALID_ARG_VALUE: TypeError | TLSError;
  /** A number out of range, e.g. an `exportKeyingMaterial()` length outside 1 … 2^32-1. */
  ERR_OUT_OF_RANGE: RangeError;
  /** A `minVersion`/`maxVersion` that is no TLS version. */
  ERR_TLS_INVALID_PROTOCOL_VERSION: TypeError;
  /** A version that conflicts with `secureProtocol` (TypeError), or `minVersion` above `maxVersion`. */
  ERR_TLS_PROTOCOL_VERSION_CONFLICT: TypeError | TLSError;
  /** `ciphers` matches no suite. */
  ERR_SSL_NO_CIPHER_MATCH: TLSError;
  /** `ciphers` is not in OpenSSL's grammar. */
  ERR_SSL_INVALID_COMMAND: TLSError;
  /** An `ecdhCurve` naming a curve GnuTLS does not have. */
  ERR_CRYPTO_OPERATION_FAILED: TLSError;
  /** `key` given without `cert`. */
  ERR_TLS_KEY_WITHOUT_CERT: TLSError;
  /** `handshakeTimeout` expired. */
  ERR_TLS_HANDSHAKE_TIMEOUT: TLSError;
  /** The `SNICallback` reported an error (kept as `cause`). */
  ERR_TLS_SNI_CALLBACK: TLSError;
  /** A server could not set up TLS for a connection ('tlsClientError', `cause` kept). */
  ERR_TLS_SETUP: TLSError;
  /** A transport error without a code, wrapped for 'tlsClientError'. */
  ERR_TLS_TRANSPORT: TLSError;
  /** A `checkServerIdentity` returned an error without a `code`. */
  ERR_TLS_CERT_REJECTED: TLSError;
  /** `reauth()` on a client; `exportKeyingMaterial()` before the handshake or after close. */
  ERR_TLS_INVALID_STATE: TLSError;
  /** TLS 1.3 `reauth()`: the client did not offer post-handshake authentication. */
  ERR_TLS_PHA_UNSUPPORTED: TLSError;
  /** `reauth({ timeout })`: the client did not answer in time. */
  ERR_TLS_REAUTH_TIMEOUT: TLSError;
  /** The peer refused a re-handshake or re-authentication (`no_renegotiation`). */
  ERR_TLS_RENEGOTIATION_REFUSED: TLSError;
  /** `rehandshake({ timeout })`: the peer did not re-handshake in time. */
  ERR_TLS_RENEGOTIATION_TIMEOUT: TLSError;
  /** A re-handshake without safe renegotiation (RFC 5746) and without `allowUnsafeRenegotiation`. */
  ERR_TLS_UNSAFE_RENEGOTIATION: TLSError;
  /** The client renegotiated after `disableRenegotiation()`. */
  ERR_TLS_RENEGOTIATION_DISABLED: TLSError;
  /** More client renegotiations than CLIENT_RENEG_LIMIT per CLIENT_RENEG_WINDOW. */
  ERR_TLS_SESSION_ATTACK: TLSError;
  /** An `ALPNCallback` returned a protocol the client did not offer. */
  ERR_TLS_ALPN_CALLBACK_INVALID_RESULT: TypeError;
  /** `keyUpdate()` under TLS 1.2. */
  ERR_TLS_KEY_UPDATE_UNSUPPORTED: TLSError;
  /** An operation on a closed socket; a pending `reauth()`/`rehandshake()` when the socket is destroyed. */
  ERR_SOCKET_CLOSED: TLSError;
  /** A write queued before the handshake when the socket was destroyed. */
  ERR_STREAM_DESTROYED: TLSError;
  /** A `pskCallback` threw (the thrown error is `cause`; its own `code` wins when it has one). */
  ERR_TLS_PSK_CALLBACK: TLSError;
  /** The peer's raw public key is not in `pinnedPublicKeys`. */
  ERR_TLS_RAW_PUBLIC_KEY_NOT_PINNED: TLSError;
  /** An 'OCSPRequest' listener called back with an error. */
  ERR_TLS_OCSP_CALLBACK: TLSError;
  /** A 'resumeSession' listener called back with an error. */
  ERR_TLS_RESUME_SESSION: TLSError;
  /** A PKCS#11 key's PIN is wrong or missing. */
  GNUTLS_E_PKCS11_PIN_ERROR: TLSError;
  /** No such PKCS#11 token or object (GnuTLS's spelling). */
  GNUTLS_E_PKCS11_REQUESTED_OBJECT_NOT_AVAILBLE: TLSError;
  /** A PKCS#11 module could not be loaded. */
  GNUTLS_E_PKCS11_LOAD_ERROR: TLSError;
  /** A GnuTLS failure with no known name (the fallback). */
  ERR_TLS_GNUTLS: TLSError;
}

/** A code of {@link ErrorCodes}. */
export type ErrorCode = keyof ErrorCodes;
