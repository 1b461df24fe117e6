// GnuTLS ABI constants used by the TS layer (values from <gnutls/gnutls.h>, stable across 3.x).

export const E = {
  SUCCESS: 0,
  UNSUPPORTED_VERSION_PACKET: -8,
  UNEXPECTED_PACKET_LENGTH: -9,
  INVALID_SESSION: -10,
  FATAL_ALERT_RECEIVED: -12,
  UNEXPECTED_PACKET: -15,
  DECRYPTION_FAILED: -24,
  WARNING_ALERT_RECEIVED: -16,
  AGAIN: -28,
  REHANDSHAKE: -37,
  GOT_APPLICATION_DATA: -38,
  NO_CERTIFICATE_FOUND: -49,
  INVALID_REQUEST: -50,
  NO_CIPHER_SUITES: -87,
  INTERRUPTED: -52,
  HANDSHAKE_TOO_LARGE: -210,
  CERTIFICATE_REQUIRED: -112,
  PREMATURE_TERMINATION: -110,
  TIMEDOUT: -319,
  CERTIFICATE_VERIFICATION_ERROR: -348,
  SESSION_USER_ID_CHANGED: -406,
  REAUTH_REQUEST: -424,
} as const;

/** gnutls_init() flags. */
export const INIT = {
  ALLOW_ID_CHANGE: 1 << 7,
  /** Client: send the one configured certificate whatever CA names the server lists. */
  FORCE_CLIENT_CERT: 1 << 9,
  POST_HANDSHAKE_AUTH: 1 << 14,
  ENABLE_RAWPK: 1 << 18,
  AUTO_REAUTH: 1 << 19,
  NO_TICKETS_TLS12: 1 << 23,
} as const;

/** gnutls_certificate_status_t bits. */
export const CERT = {
  INVALID: 1 << 1,
  REVOKED: 1 << 5,
  SIGNER_NOT_FOUND: 1 << 6,
  SIGNER_NOT_CA: 1 << 7,
  INSECURE_ALGORITHM: 1 << 8,
  NOT_ACTIVATED: 1 << 9,
  EXPIRED: 1 << 10,
  SIGNATURE_FAILURE: 1 << 11,
  UNEXPECTED_OWNER: 1 << 14,
  SIGNER_CONSTRAINTS_FAILURE: 1 << 16,
  PURPOSE_MISMATCH: 1 << 18,
} as const;

export const ALERT_LEVEL = { WARNING: 1, FATAL: 2 } as const;

/** TLS alert descriptions (RFC 8446 6). */
export const ALERT = {
  CLOSE_NOTIFY: 0,
  HANDSHAKE_FAILURE: 40,
  PROTOCOL_VERSION: 70,
  BAD_CERTIFICATE: 42,
  CERTIFICATE_REVOKED: 44,
  CERTIFICATE_EXPIRED: 45,
  CERTIFICATE_UNKNOWN: 46,
  UNKNOWN_CA: 48,
  NO_RENEGOTIATION: 100,
  UNKNOWN_PSK_IDENTITY: 115,
  CERTIFICATE_REQUIRED: 116,
} as const;

export const ALPN_MANDATORY = 1;
export const ALPN_SERVER_PRECEDENCE = 1 << 1;

/** gnutls_session_get_flags() bits. */
export const SFLAGS = {
  SAFE_RENEGOTIATION: 1,
  SESSION_TICKET: 1 << 7,
  POST_HANDSHAKE_AUTH: 1 << 8,
} as const;

/** Session.takeEvents() bits (src-native/session.h). */
export const EV = {
  TICKET_RECEIVED: 1,
  KEY_UPDATE_RECEIVED: 2,
} as const;
