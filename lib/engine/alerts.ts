// Which alert a failed handshake or record sends, where OpenSSL (Node's reference) picks another
// one than GnuTLS's gnutls_alert_send_appropriate() would.
import { ALERT } from '../constants';

/** GnuTLS error codes (<gnutls/gnutls.h>) whose alert differs from OpenSSL's. */
const NO_CERTIFICATE_FOUND = -49;
const PSK_IDENTITY_UNKNOWN = -31; // GNUTLS_E_SRP_PWD_ERROR, what a server PSK callback's null gives
const UNSUPPORTED_VERSION_PACKET = -8;
const DECODE_ERROR = 50;

/**
 * The alert OpenSSL sends for `code`, or undefined to let GnuTLS choose. `protocol` is the
 * negotiated one ('TLS1.3', ...) once the handshake is done, else null.
 */
export function opensslAlert(code: number, isServer: boolean, protocol: string | null, noCommonVersion = false): number | undefined {
  // TLS 1.3 records carry 3.3 always; OpenSSL calls another version a decode error.
  if (code === UNSUPPORTED_VERSION_PACKET && protocol === 'TLS1.3') return DECODE_ERROR;
  if (!isServer || protocol !== null) return undefined;
  // The client's supported_versions names none of ours (a TLS 1.3-only client, a server capped
  // at 1.2): GnuTLS finds no cipher suite, OpenSSL says protocol_version.
  if (noCommonVersion) return ALERT.PROTOCOL_VERSION;
  // A server that requires a client certificate and got none (TLS 1.2; 1.3 says certificate_required).
  if (code === NO_CERTIFICATE_FOUND) return ALERT.HANDSHAKE_FAILURE;
  if (code === PSK_IDENTITY_UNKNOWN) return ALERT.UNKNOWN_PSK_IDENTITY;
  return undefined;
}
