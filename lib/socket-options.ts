// The options of a TLSSocket, and what the engine and its parts are configured with from them.
import type { SecureContextLike, SecureContextOptions } from './secure-context';
import type { ClientPskCallback, ServerPskCallback } from './features';
import type { PeerCertificate } from './verify';
import type { Server } from './server';
import type { RenegotiationPolicy } from './reauth';
import type { ALPNCallback, SNICallback, HelloHooks } from './server-hello';
import type { OperationsConfig } from './engine/operations';
import type { VerifyInput } from './engine/verification';
import { maxHandshakeSize } from './client-hello';
import { SessionSpec, VerifyClientMode, defaultServername, verifyClientMode } from './engine/session-setup';
import { tlsDefaults } from './defaults';

/** Node's `new tls.TLSSocket()` options, and GnuTLS's own (re-authentication, renegotiation policy, ...). */
export interface TLSSocketOptions extends SecureContextOptions {
  /** The server side of the connection (default false: a client). */
  isServer?: boolean;
  /** Server: the Server the socket belongs to (its events: 'tlsClientError', 'keylog', ...). */
  server?: Server;
  /** A context from `createSecureContext()`; otherwise one is made from these options. */
  secureContext?: SecureContextLike | null;
  /** Server: ask the client for a certificate. */
  requestCert?: boolean;
  /** Refuse a peer whose certificate does not verify (client default true; server: with requestCert). */
  rejectUnauthorized?: boolean;
  /** The ALPN protocols to offer (client) or accept (server), in order of preference. */
  ALPNProtocols?: ReadonlyArray<string | Buffer | Uint8Array> | NodeJS.ArrayBufferView;
  /** Server: picks the context for the client's SNI name. */
  SNICallback?: SNICallback;
  /** Server: picks the protocol from the client's ALPN list (not with ALPNProtocols). */
  ALPNCallback?: ALPNCallback;
  /** Client: a session to resume (from a 'session' event or `getSession()`). */
  session?: Buffer;
  /** Client: the SNI name to send (default: `host` unless an IP address). */
  servername?: string;
  /** The host the client connected to; the default servername and identity to check. */
  host?: string;
  /** Client: checks the server's certificate against the host name (default `checkServerIdentity`). */
  checkServerIdentity?: (hostname: string, cert: PeerCertificate) => Error | undefined;
  /** Milliseconds the handshake may take before ERR_TLS_HANDSHAKE_TIMEOUT. */
  handshakeTimeout?: number;
  /** Keep the writable side open after the peer ended (after its close_notify). */
  allowHalfOpen?: boolean;
  /** The readable side's buffer size in bytes. */
  highWaterMark?: number;
  /** Client: advertise TLS 1.3 post-handshake auth. Default: on when the client has a certificate. */
  postHandshakeAuth?: boolean;
  /** Client: answer re-auth requests with the configured certificate when no 'reauthRequest' listener exists (default true). */
  autoReauth?: boolean;
  /**
   * Server: what to do with a TLS 1.2 renegotiation the client starts: 'accept' (default, Node's
   * behaviour: at most CLIENT_RENEG_LIMIT per CLIENT_RENEG_WINDOW, then ERR_TLS_SESSION_ATTACK),
   * 'refuse' (a no_renegotiation warning) or 'close'.
   */
  renegotiation?: RenegotiationPolicy;
  /** Allow the peer to present a different identity in a re-handshake/re-auth (GNUTLS_ALLOW_ID_CHANGE). */
  allowIdentityChange?: boolean;
  /** Server: let rehandshake()/reauth() run under TLS 1.2 without safe renegotiation (RFC 5746). */
  allowUnsafeRenegotiation?: boolean;
  /**
   * Server: how to treat client certificates, overriding requestCert/rejectUnauthorized.
   * 'none': not asked for; 'request': asked for, any outcome accepted (see authorized);
   * 'require': must be sent and trusted; 'verify-if-sent': optional, but must be trusted if sent.
   */
  verifyClient?: VerifyClientMode;
  /** Server: do not ask for the client certificate again in a re-handshake (SSL_VERIFY_CLIENT_ONCE). */
  verifyClientOnce?: boolean;
  /** Node's PSK callback. Server: (socket, identity) → key | null. Client: (hint) → { psk, identity } | null. */
  pskCallback?: ServerPskCallback | ClientPskCallback;
  /** Server, TLS 1.2: the identity hint sent to PSK clients. */
  pskIdentityHint?: string;
  /** Client: ask the server to staple an OCSP response (the 'OCSPResponse' event). */
  requestOCSP?: boolean;
  /**
   * The most handshake message bytes one handshake may bring (GnuTLS's
   * gnutls_handshake_set_max_packet_length(); default 131072, GnuTLS's own). Server: a ClientHello
   * that declares more is refused as soon as its header arrives (alert, tlsClientError
   * GNUTLS_E_HANDSHAKE_TOO_LARGE); what a pending handshake holds stays below this plus the
   * records' 5-byte headers and one read of the transport.
   */
  maxHandshakeSize?: number;
}

/** The ALPN names from Node's forms: an array of strings/Buffers, or the wire format. */
export function alpnList(p: TLSSocketOptions['ALPNProtocols']): string[] {
  if (!p) return [];
  if (ArrayBuffer.isView(p)) {
    // Node also accepts the wire format: length-prefixed names.
    const b = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    const out: string[] = [];
    for (let i = 0; i < b.length; i += 1 + b[i]) out.push(b.subarray(i + 1, i + 1 + b[i]).toString('latin1'));
    return out;
  }
  return (p as Array<string | Buffer | Uint8Array>).map((x) => (typeof x === 'string' ? x : Buffer.from(x).toString('latin1')));
}


/** What every native session of one socket is made with. */
export function sessionSpec(
  o: TLSSocketOptions,
  socket: { listenerCount(event: string): number },
  extra: { isServer: boolean; keylogFile?: string; onPskError: (err: Error) => void },
): SessionSpec {
  const server = o.server;
  const spec: SessionSpec = {
    isServer: extra.isServer,
    alpn: alpnList(o.ALPNProtocols),
    postHandshakeAuth: o.postHandshakeAuth,
    allowIdentityChange: o.allowIdentityChange,
    verifyClient: verifyClientMode(o),
    session: o.session,
    requestOCSP: o.requestOCSP,
    pskCallback: o.pskCallback,
    pskIdentityHint: o.pskIdentityHint,
    pskSocket: socket,
    onPskError: extra.onPskError,
    maxHandshakeSize: maxHandshakeSize(o.maxHandshakeSize),
    keylog: () => !!extra.keylogFile || socket.listenerCount('keylog') > 0 || (server?.listenerCount('keylog') ?? 0) > 0,
  };
  if (extra.isServer) {
    spec.externalCache = !!server && server.listenerCount('newSession') + server.listenerCount('resumeSession') > 0;
  } else {
    spec.servername = defaultServername(o);
  }
  return spec;
}

export function operationsConfig(o: TLSSocketOptions, socket: { listenerCount(event: string): number }): OperationsConfig {
  return {
    renegotiation: o.renegotiation ?? 'accept',
    allowUnsafeRenegotiation: o.allowUnsafeRenegotiation === true,
    verifyClientOnce: o.verifyClientOnce === true,
    rejectUnauthorized: o.rejectUnauthorized !== false,
    autoReauth: o.autoReauth !== false,
    renegLimits,
    listens: (ev) => socket.listenerCount(ev) > 0,
  };
}

/** tls.CLIENT_RENEG_LIMIT / CLIENT_RENEG_WINDOW as they are now (a program may set them, as on Node's). */
function renegLimits(): { limit: number; windowS: number } {
  return { limit: tlsDefaults.clientRenegLimit, windowS: tlsDefaults.clientRenegWindow };
}

/** The Server events the ClientHello pipeline uses. */
export function helloHooks(server: Server | undefined): HelloHooks | undefined {
  if (!server) return undefined;
  return {
    listens: (ev) => server.listenerCount(ev) > 0,
    resumeSession: (id, cb) => server.emit('resumeSession', id, cb),
    ocspRequest: (cert, issuer, cb) => server.emit('OCSPRequest', cert, issuer, cb),
  };
}

export type { VerifyClientMode };

/** What verifying the peer at the handshake's end takes: the socket's options and its session. */
export function verifyInput(o: TLSSocketOptions, isServer: boolean, session: VerifyInput['session'], info: VerifyInput['info'], ctx: VerifyInput['ctx']): VerifyInput {
  return {
    isServer,
    mode: verifyClientMode(o),
    session,
    info,
    ctx,
    usesPsk: !!o.pskCallback,
    rejectUnauthorized: o.rejectUnauthorized !== false,
    hostname: o.servername || o.host || 'localhost',
    checkServerIdentity: o.checkServerIdentity,
  };
}
