// The one table from GnuTLS failures and TLS alerts to the OpenSSL errors Node reports for the
// same situation: OpenSSL's reason number and text (Node's `reason`, and `code` is ERR_SSL_ + the
// text in capitals), the function OpenSSL names in its message, and the alert it sends.
import { threadId } from 'worker_threads';

/** An OpenSSL error of the SSL library: what Node's `library`, `reason`, `code`, `message` come from. */
export interface OpenSSLError {
  /** OpenSSL's reason number (SSL_R_*): the low bits of the packed error code in the message. */
  reason: number;
  /** OpenSSL's reason string ('no shared cipher'). */
  text: string;
  /** The OpenSSL function the error is raised in, as its message shows it. */
  func: string;
  /** The data OpenSSL appends (for received alerts: 'SSL alert number N'). */
  data: string;
  /** Another OpenSSL library than the SSL one: its name and number (ERR_LIB_*). */
  lib?: { name: string; number: number };
}

export const LIBRARY = 'SSL routines';
/** ERR_LIB_SSL, packed as OpenSSL 3 does (library << 23 | reason). */
const LIB_SSL = 20;
/** OpenSSL numbers the reason of a received alert SSL_AD_REASON_OFFSET + the alert. */
const ALERT_REASON_OFFSET = 1000;

/** Node's code for an OpenSSL reason: ERR_SSL_ and the reason text in capitals, `_` for blanks. */
export const nodeCode = (o: OpenSSLError): string => `ERR_SSL_${o.text.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/** The packed error code as OpenSSL prints it (0A000410). */
export const packed = (o: OpenSSLError): string => (((o.lib?.number ?? LIB_SSL) << 23) | o.reason).toString(16).toUpperCase().padStart(8, '0');

/** The library an error's message and `library` name. */
export const libraryOf = (o: OpenSSLError): string => o.lib?.name ?? LIBRARY;

// ---- received alerts ----------------------------------------------------------------------------

/** The TLS alert registry's names (RFC 8446 6, RFC 6066, RFC 7301, RFC 7507). */
const ALERT_NAMES: Record<number, string> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 21: 'decryption_failed',
  22: 'record_overflow', 30: 'decompression_failure', 40: 'handshake_failure', 41: 'no_certificate',
  42: 'bad_certificate', 43: 'unsupported_certificate', 44: 'certificate_revoked', 45: 'certificate_expired',
  46: 'certificate_unknown', 47: 'illegal_parameter', 48: 'unknown_ca', 49: 'access_denied', 50: 'decode_error',
  51: 'decrypt_error', 60: 'export_restriction', 70: 'protocol_version', 71: 'insufficient_security',
  80: 'internal_error', 86: 'inappropriate_fallback', 90: 'user_canceled', 100: 'no_renegotiation',
  109: 'missing_extension', 110: 'unsupported_extension', 111: 'certificate_unobtainable',
  112: 'unrecognized_name', 113: 'bad_certificate_status_response', 114: 'bad_certificate_hash_value',
  115: 'unknown_psk_identity', 116: 'certificate_required', 120: 'no_application_protocol',
};
/** OpenSSL's spelling where it differs from the registry's. */
const OPENSSL_SPELLING: Record<string, string> = { user_canceled: 'user cancelled' };

/**
 * OpenSSL's reason text for a received alert, by its rule: alerts SSL 3.0 defined read
 * 'sslv3 alert …', those TLS 1.3 added 'tlsv13 alert …', the RFC 6066 extension alerts
 * 'tlsv1 …', the rest 'tlsv1 alert …'.
 */
function alertText(alert: number): string | undefined {
  const name = ALERT_NAMES[alert];
  if (name === undefined || alert === 0) return undefined;
  const words = OPENSSL_SPELLING[name] ?? name.replace(/_/g, ' ');
  if (alert === 10 || alert === 20 || alert === 30 || (alert >= 40 && alert <= 47)) return `sslv3 alert ${words}`;
  if (alert === 109 || alert === 116) return `tlsv13 alert ${words}`;
  if (alert >= 110 && alert <= 114) return `tlsv1 ${words}`;
  return `tlsv1 alert ${words}`;
}

/** The error OpenSSL raises when the peer's fatal alert arrives. */
export function receivedAlert(alert: number): OpenSSLError {
  const reason = ALERT_REASON_OFFSET + alert;
  return { reason, text: alertText(alert) ?? `reason(${reason})`, func: 'ssl3_read_bytes', data: `SSL alert number ${alert}` };
}

// ---- failures found locally ---------------------------------------------------------------------

/** The local failures Node reports, each with OpenSSL's reason and the alert it sends. */
export const LOCAL = {
  PEER_DID_NOT_RETURN_A_CERTIFICATE: { reason: 199, text: 'peer did not return a certificate', func: 'tls_process_client_certificate' },
  NO_SHARED_CIPHER: { reason: 193, text: 'no shared cipher', func: 'tls_post_process_client_hello' },
  UNSUPPORTED_PROTOCOL: { reason: 258, text: 'unsupported protocol', func: 'tls_early_post_process_client_hello' },
  WRONG_VERSION_NUMBER: { reason: 267, text: 'wrong version number', func: 'ssl3_get_record' },
  NO_APPLICATION_PROTOCOL: { reason: 235, text: 'no application protocol', func: 'tls_handle_alpn' },
  NO_CIPHER_MATCH: { reason: 185, text: 'no cipher match', func: '' },
  INVALID_COMMAND: { reason: 280, text: 'invalid command', func: '' },
  HTTP_REQUEST: { reason: 156, text: 'http request', func: 'ssl3_get_record' },
  HTTPS_PROXY_REQUEST: { reason: 155, text: 'https proxy request', func: 'ssl3_get_record' },
  PACKET_LENGTH_TOO_LONG: { reason: 198, text: 'packet length too long', func: 'ssl3_get_record' },
  UNEXPECTED_MESSAGE: { reason: 244, text: 'unexpected message', func: 'ssl3_read_bytes' },
  DECRYPTION_FAILED_OR_BAD_RECORD_MAC: { reason: 281, text: 'decryption failed or bad record mac', func: 'ssl3_get_record' },
  // OpenSSL 3's provider reports a TLS 1.2 AES-GCM record that fails to decrypt (ERR_LIB_PROV).
  CIPHER_OPERATION_FAILED: { reason: 102, text: 'cipher operation failed', func: 'ossl_gcm_stream_update', lib: { name: 'Provider routines', number: 57 } },
} as const;
export type LocalReason = keyof typeof LOCAL;

export const local = (r: LocalReason): OpenSSLError => ({ ...LOCAL[r], data: '' });

/** GnuTLS's failures of the record layer (gnutls.h): what Node reports depends on the record. */
const RECORD_FAILURES = new Set([-8 /* UNSUPPORTED_VERSION_PACKET */, -9 /* UNEXPECTED_PACKET_LENGTH */, -15 /* UNEXPECTED_PACKET */, -417 /* RECORD_OVERFLOW */]);

/** GnuTLS error codes (gnutls.h) with the local failure Node reports for them. */
const GNUTLS_LOCAL: Record<number, { server?: LocalReason; client?: LocalReason }> = {
  [-49 /* NO_CERTIFICATE_FOUND */]: { server: 'PEER_DID_NOT_RETURN_A_CERTIFICATE' },
  [-112 /* CERTIFICATE_REQUIRED */]: { server: 'PEER_DID_NOT_RETURN_A_CERTIFICATE' },
  [-87 /* NO_CIPHER_SUITES */]: { server: 'NO_SHARED_CIPHER' },
  [-21 /* UNKNOWN_CIPHER_SUITE */]: { server: 'NO_SHARED_CIPHER' },
  [-8 /* UNSUPPORTED_VERSION_PACKET */]: { server: 'UNSUPPORTED_PROTOCOL', client: 'WRONG_VERSION_NUMBER' },
  [-344 /* NO_APPLICATION_PROTOCOL */]: { server: 'NO_APPLICATION_PROTOCOL' },
  [-417 /* RECORD_OVERFLOW */]: { server: 'PACKET_LENGTH_TOO_LONG', client: 'PACKET_LENGTH_TOO_LONG' },
  // For every record that fails to decrypt but a TLS 1.2 AES-GCM one (see localReason).
  [-24 /* DECRYPTION_FAILED */]: { server: 'DECRYPTION_FAILED_OR_BAD_RECORD_MAC', client: 'DECRYPTION_FAILED_OR_BAD_RECORD_MAC' },
};

/** A record header as read off the wire. */
export interface RecordHeader {
  type: number;
  major: number;
  minor: number;
  length: number;
  /** The five bytes themselves. */
  start: Buffer;
}

/** What the failure looked like, where the reason depends on it. */
export interface Situation {
  isServer: boolean;
  /** Server: the client offered no version the server enables. */
  noSharedVersion?: boolean;
  /** During the handshake: the header of the peer's last record. */
  record?: RecordHeader | null;
  /** Server: no ClientHello has arrived yet. */
  beforeHello?: boolean;
  /** The connection's records are TLS 1.2 AES-GCM (OpenSSL's provider reports their failures). */
  tls12Gcm?: boolean;
}

/** The first bytes of an HTTP request (OpenSSL looks for these in a first record). */
const HTTP_METHODS = ['GET ', 'POST', 'HEAD', 'PUT '];

/**
 * The local OpenSSL reason for a GnuTLS failure, if Node has one for it. A record failure in the
 * handshake is judged by the record's header, as OpenSSL does: a version other than 3.x is a
 * wrong version number (an HTTP request, on a server), then a length over the limit is too long,
 * and anything else unexpected.
 */
export function localReason(gnutlsCode: number, s: Situation): LocalReason | undefined {
  // An alert where a server waits for a ClientHello is a message it did not expect.
  if (gnutlsCode === -12 && s.isServer && s.beforeHello) return 'UNEXPECTED_MESSAGE';
  if (s.record && RECORD_FAILURES.has(gnutlsCode)) {
    if (s.record.major !== 3) {
      const text = s.record.start.toString('latin1', 0, 4);
      if (s.isServer && HTTP_METHODS.includes(text)) return 'HTTP_REQUEST';
      if (s.isServer && text === 'CONN') return 'HTTPS_PROXY_REQUEST';
      return 'WRONG_VERSION_NUMBER';
    }
    if (gnutlsCode === -417) return 'PACKET_LENGTH_TOO_LONG';
    if (gnutlsCode === -15) return 'UNEXPECTED_MESSAGE';
  }
  if (gnutlsCode === -24 && s.tls12Gcm) return 'CIPHER_OPERATION_FAILED';
  const r = GNUTLS_LOCAL[gnutlsCode]?.[s.isServer ? 'server' : 'client'];
  if (s.isServer && s.noSharedVersion && (r === 'NO_SHARED_CIPHER' || r === 'UNSUPPORTED_PROTOCOL')) return 'UNSUPPORTED_PROTOCOL';
  return r;
}

/**
 * The alert OpenSSL sends for a local failure (version: the negotiated one, if known); null: it
 * sends none, undefined: the one GnuTLS picks.
 */
export function alertFor(r: LocalReason, version: string | null): number | null | undefined {
  switch (r) {
    case 'WRONG_VERSION_NUMBER':
    case 'HTTP_REQUEST':
    case 'HTTPS_PROXY_REQUEST':
      return null;
    case 'PACKET_LENGTH_TOO_LONG':
      return 22;
    case 'UNEXPECTED_MESSAGE':
      return 10;
    case 'PEER_DID_NOT_RETURN_A_CERTIFICATE':
      return version === 'TLS1.3' ? 116 : 40;
    case 'NO_SHARED_CIPHER':
      return 40;
    case 'UNSUPPORTED_PROTOCOL':
      return 70;
    case 'NO_APPLICATION_PROTOCOL':
      return 120;
    default:
      return undefined;
  }
}

// ---- the message ---------------------------------------------------------------------------------

/**
 * OpenSSL's message for an error: `<thread>:error:<code>:SSL routines:<function>:<reason>:<file>:<line>:<data>`
 * and a newline. The thread field is this thread's, the file and line name where GnuTLS reported it
 * (`gnutls` and its error code), as OpenSSL's would name its own source.
 */
export function message(o: OpenSSLError, gnutlsCode: number | undefined): string {
  return `${THREAD}:error:${packed(o)}:${libraryOf(o)}:${o.func}:${o.text}:gnutls:${gnutlsCode ?? 0}:${o.data}\n`;
}

/** The short form OpenSSL gives errors raised outside a handshake (`error:0A0000B9:SSL routines::no cipher match`). */
export function shortMessage(o: OpenSSLError): string {
  return `error:${packed(o)}:${libraryOf(o)}:${o.func}:${o.text}`;
}

/** An identifier of this thread in OpenSSL's form (hex digits, as its thread id prints). */
const THREAD = ((BigInt(process.pid) << 20n) | BigInt(threadId)).toString(16).toUpperCase().padStart(16, '0');
