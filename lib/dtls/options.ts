// DTLS options: the TLS names where they mean the same, plus the datagram ones; the context and
// the native session they make.
import { dtlsBinding, NativeDtlsSession } from '../native';
import { ALPN_MANDATORY, ALPN_SERVER_PRECEDENCE } from '../constants';
import { SecureContext, SecureContextLike, SecureContextOptions, contextFor, priorityFor } from '../secure-context';
import { pskBridge } from '../features';
import { alpnList } from '../socket-options';
import { codedError, validateObject } from '../validate';
import type { PeerCertificate } from '../verify';
import type { DTLSSocket } from './socket';

/** Server `pskCallback`: the key for `identity`, or null to refuse. */
export type DTLSServerPskCallback = (socket: DTLSSocket, identity: string) => NodeJS.ArrayBufferView | null | undefined;
/** Client `pskCallback`: the identity and key to use (`hint`: the server's identity hint). */
export type DTLSClientPskCallback = (hint: string | null) =>
  | {
      /** The pre-shared key. */
      psk: NodeJS.ArrayBufferView;
      /** The identity sent to the server. */
      identity: string;
    }
  | null
  | undefined;

/** Options of both roles: the TLS options of the same name and meaning, plus the datagram ones. */
export interface DTLSCommonOptions {
  /** Private keys (PEM or DER; encrypted ones with `passphrase`), as the TLS option. */
  key?: SecureContextOptions['key'];
  /** Certificate chains (PEM or DER), leaf first, as the TLS option. */
  cert?: SecureContextOptions['cert'];
  /** The passphrase of encrypted keys and PKCS#12 bundles. */
  passphrase?: string;
  /** Trusted CA certificates, replacing the system store. */
  ca?: SecureContextOptions['ca'];
  /** Certificate revocation lists (PEM or DER). */
  crl?: SecureContextOptions['crl'];
  /** PKCS#12 bundles: key, certificate chain and CA certificates. */
  pfx?: SecureContextOptions['pfx'];
  /** OpenSSL-style cipher list, mapped to GnuTLS as for TLS. */
  ciphers?: string;
  /** 'auto' or a colon-separated list of OpenSSL curve names, in order, as the TLS option (not used with `priority`). */
  ecdhCurve?: string;
  /**
   * A raw GnuTLS priority string (wins over `ciphers` and `ecdhCurve`); default `NORMAL` limited
   * to DTLS 1.2 (add `+VERS-DTLS1.0` to allow 1.0).
   */
  priority?: string;
  /** A context from `createSecureContext()` (the key, certificate and trust options are then not read); otherwise one is made from these options. */
  secureContext?: SecureContextLike;
  /** The ALPN protocols to offer (client) or accept (server), in order of preference. */
  ALPNProtocols?: ReadonlyArray<string | Buffer | Uint8Array> | NodeJS.ArrayBufferView;
  /** Ms before a handshake that has not completed fails with ERR_DTLS_HANDSHAKE_TIMEOUT (default 60000). */
  handshakeTimeout?: number;
  /** The largest datagram written, bytes (gnutls_dtls_set_mtu; default 1200). */
  mtu?: number;
  /** First retransmission after this many ms; GnuTLS doubles it each time (default 1000). */
  retransmitTimeout?: number;
  /** GnuTLS's own limit on the handshake, ms (default: handshakeTimeout). */
  totalTimeout?: number;
  /** use_srtp (RFC 5764): profiles in order, e.g. ['SRTP_AES128_CM_HMAC_SHA1_80']. */
  srtpProfiles?: string[];
  /**
   * Refuse a peer whose certificate does not verify, with a fatal alert (default true). Client:
   * the server's certificate and identity; server: only with `requestCert`, which it then makes required.
   */
  rejectUnauthorized?: boolean;
}

/** Options of {@link connect}: both roles' options and where to connect. */
export interface DTLSConnectOptions extends DTLSCommonOptions {
  /** The host to connect to (default 'localhost'; udp4 or udp6 follows its address); also the default SNI name and identity checked. */
  host?: string;
  /** The UDP port to connect to (1 to 65535; otherwise connect() throws ERR_SOCKET_BAD_PORT). */
  port: number;
  /** The SNI name and the name the certificate must hold (default: host unless an IP address). */
  servername?: string;
  /** Local address to bind the UDP socket to (default: any). */
  localAddress?: string;
  /** Local port to bind the UDP socket to (default: one the OS picks). */
  localPort?: number;
  /** PSK: called with the server's identity hint, returns the identity and key to use. */
  pskCallback?: DTLSClientPskCallback;
  /** Checks the server's certificate against the name (default: the TLS module's `checkServerIdentity`). */
  checkServerIdentity?: (hostname: string, cert: PeerCertificate) => Error | undefined;
}

/** Options of {@link createServer}: both roles' options and the server's own. */
export interface DTLSServerOptions extends DTLSCommonOptions {
  /** Ask each client for a certificate: required and enforced, or with `rejectUnauthorized: false` only requested (see `authorized`). */
  requestCert?: boolean;
  /** PSK: called with the socket and the identity the client sent, returns its key (null refuses). */
  pskCallback?: DTLSServerPskCallback;
  /** The identity hint sent to PSK clients. */
  pskIdentityHint?: string;
  /** Most peers past the cookie exchange but not yet through the handshake (default 100). */
  maxHalfOpen?: number;
  /** Ms between cookie secret rotations; a cookie stays valid for one more period (default 60000). */
  cookieRotation?: number;
  /** 'udp4' or 'udp6' (default: by the address given to bind(), else udp4). */
  type?: 'udp4' | 'udp6';
}

export const DEFAULTS = { handshakeTimeout: 60000, mtu: 1200, retransmitTimeout: 1000, maxHalfOpen: 100, cookieRotation: 60000 };

/** The GnuTLS priority for DTLS: the TLS 1.2 policy of the options with DTLS 1.2 versions. */
export function dtlsPriority(o: DTLSCommonOptions & { pskCallback?: unknown }): string {
  if (o.priority !== undefined) return priorityFor({ priority: o.priority, pskCallback: o.pskCallback });
  const tls12 = priorityFor({ ciphers: o.ciphers, ecdhCurve: o.ecdhCurve, pskCallback: o.pskCallback, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  return tls12.replace(/\+VERS-TLS1\.2/g, '+VERS-DTLS1.2');
}

export function dtlsContext(o: DTLSCommonOptions & { pskCallback?: unknown }): SecureContext {
  validateObject(o, 'options');
  const { key, cert, passphrase, ca, crl, pfx } = o;
  return contextFor(o.secureContext, { key, cert, passphrase, ca, crl, pfx, priority: dtlsPriority(o) });
}

function positive(v: unknown, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "options.${name}" is out of range. It must be a positive integer. Received ${String(v)}`);
  }
  return v;
}

export interface Timing {
  handshakeTimeout: number;
  retransmitTimeout: number;
  totalTimeout: number;
  mtu: number;
}

export function timing(o: DTLSCommonOptions): Timing {
  const handshakeTimeout = positive(o.handshakeTimeout, 'handshakeTimeout', DEFAULTS.handshakeTimeout);
  return {
    handshakeTimeout,
    retransmitTimeout: positive(o.retransmitTimeout, 'retransmitTimeout', DEFAULTS.retransmitTimeout),
    totalTimeout: positive(o.totalTimeout, 'totalTimeout', handshakeTimeout),
    mtu: positive(o.mtu, 'mtu', DEFAULTS.mtu),
  };
}

export interface SessionInput {
  isServer: boolean;
  ctx: SecureContext;
  options: DTLSCommonOptions & { pskCallback?: unknown; pskIdentityHint?: string; requestCert?: boolean; servername?: string };
  timing: Timing;
  /** Client: the SNI name. */
  servername?: string;
  socket: unknown;
  onPskError: (err: Error) => void;
}

/** A native DTLS session configured from the options. */
export function createDtlsSession(i: SessionInput): NativeDtlsSession {
  const s = new dtlsBinding.DtlsSession(i.ctx.context, i.isServer);
  try {
    const o = i.options;
    s.setMtu(i.timing.mtu);
    s.setTimeouts(i.timing.retransmitTimeout, i.timing.totalTimeout);
    const alpn = alpnList(o.ALPNProtocols);
    if (alpn.length > 0) s.setAlpn(alpn, i.isServer ? ALPN_SERVER_PRECEDENCE | ALPN_MANDATORY : 0);
    if (o.srtpProfiles !== undefined && o.srtpProfiles.length > 0) {
      if (!Array.isArray(o.srtpProfiles) || o.srtpProfiles.some((p) => typeof p !== 'string' || !/^SRTP_[A-Z0-9_]+$/.test(p))) {
        throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', 'options.srtpProfiles must be an array of SRTP profile names');
      }
      if (s.setSrtpProfiles(o.srtpProfiles.join(':')) < 0) {
        throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `options.srtpProfiles: unknown profile in ${o.srtpProfiles.join(', ')}`);
      }
    }
    if (o.pskCallback) {
      const bridge = pskBridge(i.isServer, o.pskCallback as never, i.socket, i.onPskError);
      s.setPsk(bridge, i.isServer ? o.pskIdentityHint : undefined);
    }
    if (i.isServer) {
      // requestCert + rejectUnauthorized (the default): a certificate is required and checked
      // after the handshake by the same rule as TLS; without rejectUnauthorized, only requested.
      if (o.requestCert) s.setCertRequest(o.rejectUnauthorized === false ? 1 : 2);
    } else if (i.servername) {
      s.setServerName(i.servername);
    }
  } catch (err) {
    s.close();
    throw err;
  }
  return s;
}
