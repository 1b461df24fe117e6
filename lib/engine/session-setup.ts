// Creating and configuring a native GnuTLS session from a SecureContext and the socket's options.
import * as net from 'net';
import { binding, NativeSession } from '../native';
import { ALPN_MANDATORY, ALPN_SERVER_PRECEDENCE, INIT } from '../constants';
import type { SecureContext } from '../secure-context';
import type { ClientPskCallback, ServerPskCallback } from '../features';
import { pskBridge } from '../features';

/** Server: how client certificates are treated (the `verifyClient` option). */
export type VerifyClientMode = 'none' | 'request' | 'require' | 'verify-if-sent';

/** What a session needs to know, computed once per socket. */
export interface SessionSpec {
  isServer: boolean;
  alpn: string[];
  postHandshakeAuth?: boolean;
  allowIdentityChange?: boolean;
  verifyClient: VerifyClientMode;
  /** Client: the SNI name (undefined: none). */
  servername?: string;
  session?: Buffer;
  requestOCSP?: boolean;
  pskCallback?: ServerPskCallback | ClientPskCallback;
  pskIdentityHint?: string;
  /** The object handed to a server pskCallback as its first argument. */
  pskSocket?: unknown;
  onPskError?: (err: Error) => void;
  keylog: () => boolean;
  /** Handshake message bytes GnuTLS takes per handshake (undefined: GnuTLS's default). */
  maxHandshakeSize?: number;
  /** Server: TLS 1.2 session-ID entries go to/come from the application (newSession/resumeSession). */
  externalCache?: boolean;
  resumeData?: () => [Buffer, Buffer] | null;
}

/** The client-certificate mode from verifyClient, or from requestCert/rejectUnauthorized as Node does. */
export function verifyClientMode(o: { verifyClient?: VerifyClientMode; requestCert?: boolean; rejectUnauthorized?: boolean }): VerifyClientMode {
  if (o.verifyClient) return o.verifyClient;
  if (!o.requestCert) return 'none';
  return o.rejectUnauthorized !== false ? 'require' : 'request';
}

/** The client's default SNI name: `servername`, else `host` unless it is an IP address. */
export function defaultServername(o: { servername?: string; host?: string }): string | undefined {
  return o.servername ?? (o.host && net.isIP(o.host) === 0 ? o.host : undefined);
}

export function createSession(spec: SessionSpec, ctx: SecureContext): NativeSession {
  let flags = 0;
  if (spec.isServer || (spec.postHandshakeAuth ?? ctx.hasCertificate)) flags |= INIT.POST_HANDSHAKE_AUTH;
  // Servers resume TLS 1.2 from the context's session-ID cache, not tickets: GnuTLS resumes a
  // ticket offered in a re-handshake (OpenSSL clients do) and then fails to issue a new one.
  if (spec.isServer) flags |= INIT.NO_TICKETS_TLS12;
  if (spec.allowIdentityChange) flags |= INIT.ALLOW_ID_CHANGE;
  // Like OpenSSL's client, send the configured certificate even when its issuer is not among
  // the CA names of the server's CertificateRequest (the server decides whether it trusts it).
  if (!spec.isServer) flags |= INIT.FORCE_CLIENT_CERT;
  if (ctx.rawPublicKeys) flags |= INIT.ENABLE_RAWPK;
  const s = new binding.Session(ctx.context, spec.isServer, flags);
  try {
    configure(s, spec, ctx);
  } catch (err) {
    s.close();
    throw err;
  }
  return s;
}

function configure(s: NativeSession, spec: SessionSpec, ctx: SecureContext): void {
  // A server refuses a client whose ALPN list shares nothing with its own (no_application_protocol),
  // as Node does; a client that offers no ALPN at all is served.
  if (spec.alpn.length > 0) s.setAlpn(spec.alpn, spec.isServer ? ALPN_SERVER_PRECEDENCE | ALPN_MANDATORY : 0);
  if (spec.pskCallback) {
    const bridge = pskBridge(spec.isServer, spec.pskCallback, spec.pskSocket, (err) => spec.onPskError?.(err));
    s.setPsk(bridge, spec.isServer ? spec.pskIdentityHint : undefined);
  }
  if (spec.keylog()) s.enableKeylog(true);
  if (spec.maxHandshakeSize !== undefined) s.setMaxHandshakeSize(spec.maxHandshakeSize);
  if (spec.isServer) {
    ctx.context.enableTickets();
    s.enableTickets(ctx.context);
    const mode = spec.verifyClient;
    if (mode !== 'none') s.setCertRequest(mode === 'require' ? 2 : 1);
    // 'require' (Node's requestCert + rejectUnauthorized) is checked after the handshake, before
    // our last flight, as Node does; GnuTLS only enforces that a certificate is sent. GnuTLS's
    // in-handshake verification knows only X.509: raw public keys are checked after it.
    if (mode === 'verify-if-sent' && !ctx.rawPublicKeys) s.setVerifyCert(2);
    if (ctx.ocspResponse) s.setOcspResponse(ctx.ocspResponse);
    if (spec.externalCache) {
      s.useExternalCache();
      const resume = spec.resumeData?.();
      if (resume) s.setResumeData(...resume);
    }
  } else {
    if (spec.servername) s.setServerName(spec.servername);
    if (spec.session) s.setSessionData(Buffer.from(spec.session));
    if (spec.requestOCSP) s.requestOcsp();
  }
}
