// Verification policy: from what GnuTLS reports about the peer to `authorized`,
// `authorizationError` and, when the connection must not go on, the alert to send.
import type { NativeInfo, NativeSession } from '../native';
import { ALERT } from '../constants';
import { TLSError } from '../errors';
import type { SecureContext } from '../secure-context';
import { peerPublicKey, rawKeyFailure } from '../features';
import { PeerCertificate, alertFor, checkServerIdentity as defaultCheckServerIdentity, peerCertificate, verifyFailure } from '../verify';
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
  /** Set when the connection must close: the alert to send and the error to report. */
  reject?: { alert: number; err: TLSError };
}

const OK: Verdict = { authorized: true, authorizationError: null };

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
    else if (!v.isServer) err = (v.checkServerIdentity ?? defaultCheckServerIdentity)(v.hostname, peerCertificate(chain, false)) ?? null;
  }
  if (!err) return OK;
  const code = (err as { code?: string }).code;
  const verdict: Verdict = { authorized: false, authorizationError: code ?? err.message };
  if (v.isServer) {
    // GnuTLS already enforced 'require' and 'verify-if-sent' for X.509 inside the handshake.
    if (!rawKey || v.mode === 'request' || (v.mode === 'verify-if-sent' && chain.length === 0)) return verdict;
    verdict.reject = { alert: ALERT.BAD_CERTIFICATE, err: err as TLSError };
    return verdict;
  }
  if (!v.rejectUnauthorized) return verdict;
  const tlsErr = err instanceof TLSError ? err : new TLSError(err.message, { code: code ?? 'ERR_TLS_CERT_REJECTED', cause: err });
  verdict.reject = { alert: alertFor(code ?? ''), err: tlsErr };
  return verdict;
}
