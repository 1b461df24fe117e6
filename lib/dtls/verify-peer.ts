// The TLS verification rule (lib/engine/verification.ts) applied to a DTLS session.
import type { NativeDtlsSession, NativeInfo, NativeSession } from '../native';
import { Verdict, verifyPeer } from '../engine/verification';
import type { SocketInit } from './socket';

/** Server: requestCert + rejectUnauthorized → 'require', requestCert alone → 'request'. */
export function dtlsVerdict(init: SocketInit, s: NativeDtlsSession, info: NativeInfo): Verdict {
  return verifyPeer({
    isServer: init.isServer,
    mode: init.isServer ? (init.requestCert ? (init.rejectUnauthorized ? 'require' : 'request') : 'none') : 'require',
    // Only peerCertificates() and verifyPeer() are used, which the DTLS session has alike.
    session: s as unknown as NativeSession,
    info,
    ctx: init.ctx,
    usesPsk: init.usesPsk,
    rejectUnauthorized: init.rejectUnauthorized,
    hostname: init.hostname,
    checkServerIdentity: init.checkServerIdentity,
  });
}
