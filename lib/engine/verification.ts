// Verification policy: from what GnuTLS reports about the peer to `authorized`,
// `authorizationError` and, when the connection must not go on, the alert to send.
import type { NativeInfo, NativeSession } from '../native';
import { ALERT } from '../constants';
import { TLSError, nodeError } from '../errors';
import type { SecureContext } from '../secure-context';
import { peerPublicKey, rawKeyFailure } from '../features';
import { PeerCertificate, alertFor, checkIdentity, verifyFailure } from '../verify';
import type { VerifyClientMode } from './session-setup';

/** gnutls_certificate_type_get_name(GNUTLS_CRT_RAWPK). */
export const RAW_PUBLIC_KEY = 'Raw Public Key';

export interface VerifyInput {
  isServer: boolean;
  /** Server: the client-certificate mode. */
  mode: VerifyClientMode;
  session: NativeSession;
  info: NativeInfo;
  ctx: SecureContext;
  usesPsk: boolean;
  rejectUnauthorized: boolean;
  /** Client: the name the server must hold. */
  hostname: string;
  checkServerIdentity?: (hostname: string, cert: PeerCertificate) => Error | undefined;
}

export interface Verdict {
  authorized: boolean;
  authorizationError: string | null;
  /**
   * Set when the connection must close: the alert to send (null: none, the connection just
   * closes before our last flight, as Node's does) and the error to report.
   */
  reject?: { alert: number | null; err: Error };
}

const OK: Verdict = { authorized: true, authorizationError: null };

/** What Node's server reports when it drops a client it did not authorize. */
const hangUp = (): TLSError => nodeError('ECONNRESET', 'socket hang up');

export function verifyPeer(v: VerifyInput): Verdict {
  if (v.isServer && v.mode === 'none') return { authorized: false, authorizationError: null };
  const chain = v.session.peerCertificates();
  const info = v.info;
  if (v.usesPsk && chain.length === 0 && !info.resumed && /PSK/.test(info.kx ?? '')) return OK; // the key authenticated both sides
  const rawKey = info.peerCertType === RAW_PUBLIC_KEY;
  let err: Error | null = null;
  if (rawKey) {
    const key = peerPublicKey(info.peerCertType, chain[0]);
    err = key ? rawKeyFailure(key.pin, v.ctx.pinnedPublicKeys) : new TLSError('no raw public key', { code: 'ERR_TLS_RAW_PUBLIC_KEY_NOT_PINNED' });
  } else {
    const failure = verifyFailure(v.session.verifyPeer(), chain);
    if (failure) err = new TLSError(failure.message, { code: failure.code });
    // Node checks the name only on a full handshake (a resumed session was checked when made).
    else if (!v.isServer && !info.resumed) err = checkIdentity(v.hostname, chain, v.checkServerIdentity) ?? null;
  }
  if (!err) return OK;
  const code = (err as { code?: string }).code;
  const verdict: Verdict = { authorized: false, authorizationError: code ?? err.message };
  if (v.isServer) {
    // 'verify-if-sent' X.509 chains were checked by GnuTLS inside the handshake.
    if (v.mode === 'require') verdict.reject = { alert: rawKey ? ALERT.BAD_CERTIFICATE : null, err: rawKey ? err : hangUp() };
    else if (rawKey && v.mode === 'verify-if-sent' && chain.length > 0) verdict.reject = { alert: ALERT.BAD_CERTIFICATE, err };
    return verdict;
  }
  if (!v.rejectUnauthorized) return verdict;
  // Node's client reports checkServerIdentity's own error, whatever it is.
  verdict.reject = { alert: rawKey ? alertFor(code ?? '') : null, err };
  return verdict;
}
