// Which alert a failed handshake or record sends, where OpenSSL (Node's reference) picks another
// one than GnuTLS's gnutls_alert_send_appropriate() would.
import { ALERT, E } from '../constants';
import { Situation, alertFor, localReason } from '../openssl-errors';
import type { Engine } from './engine';
import { sessionInfo } from '../native';

/** GnuTLS error codes (<gnutls/gnutls.h>) whose alert differs from OpenSSL's. */
const NO_CERTIFICATE_FOUND = -49;
const PSK_IDENTITY_UNKNOWN = -31; // GNUTLS_E_SRP_PWD_ERROR, what a server PSK callback's null gives
const UNSUPPORTED_VERSION_PACKET = -8;
const DECODE_ERROR = 50;

/**
 * The alert OpenSSL sends for `code`, or undefined to let GnuTLS choose. `protocol` is the
 * negotiated one ('TLS1.3', ...) once the handshake is done, else null.
 */
function opensslAlert(code: number, isServer: boolean, protocol: string | null, noCommonVersion = false): number | undefined {
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

/**
 * The alert a failure sends: in the handshake OpenSSL's for Node's reason (openssl-errors.ts), then
 * the cases above (records after the handshake too); undefined: GnuTLS's; null: none.
 */
export function failureAlert(e: Engine, code: number, situation: Situation): number | null | undefined {
  const secure = e.state === 'secure';
  const reason = localReason(code, situation);
  const alert = reason && !secure ? alertFor(reason, sessionInfo(e.session).protocol) : undefined;
  if (alert !== undefined) return alert;
  return opensslAlert(code, e.isServer, secure ? e.info?.protocol ?? null : null, e.isServer && !secure && e.session.noCommonVersion());
}

/** What decides which of Node's errors a failure is: the role, and a server's version mismatch. */
export function failureSituation(e: Engine, code: number): Situation {
  const record = e.state === 'secure' ? null : e.records?.last;
  if (code === E.DECRYPTION_FAILED && e.info) {
    return { isServer: e.isServer, record, tls12Gcm: e.info.protocol === 'TLS1.2' && /GCM/.test(e.info.cipher ?? '') };
  }
  if (e.isServer && code === E.FATAL_ALERT_RECEIVED && e.state !== 'secure') {
    return { isServer: true, record, beforeHello: sessionInfo(e.session).offeredVersions === 0 };
  }
  if (!e.isServer || (code !== E.NO_CIPHER_SUITES && code !== E.UNSUPPORTED_VERSION_PACKET)) return { isServer: e.isServer, record };
  const offered = sessionInfo(e.session).offeredVersions;
  return { isServer: true, noSharedVersion: offered !== 0 && (offered & e.ctx.versions) === 0, record };
}
