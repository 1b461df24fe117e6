// What was negotiated, reported in Node's names (getProtocol, getCipher, getEphemeralKeyInfo) and
// in GnuTLS's own (getNegotiatedParameters): pure functions of the native session's info.
import type { NativeInfo } from './native';
import { cipherVersion, opensslName } from './ciphers/index';

/** What `getCipher()` returns, as Node's. */
export interface CipherNameAndProtocol {
  /** OpenSSL's (Node's) name of the suite, e.g. 'TLS_AES_256_GCM_SHA384' or 'ECDHE-RSA-AES128-GCM-SHA256'. */
  name: string;
  /** The IANA name, e.g. 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'. */
  standardName: string;
  /** The lowest TLS version of the suite, as Node reports it ('TLSv1.2', 'TLSv1/SSLv3', ...). */
  version: string;
}

/** What `getEphemeralKeyInfo()` returns, as Node's (a client's view of the key exchange). */
export interface EphemeralKeyInfo {
  /** 'ECDH' or 'DH'. */
  type?: string;
  /** The curve, for ECDH, e.g. 'X25519' or 'prime256v1'. */
  name?: string;
  /** The key size in bits. */
  size?: number;
}

/** What `getNegotiatedParameters()` returns: the session's parameters in GnuTLS's names. */
export interface NegotiatedParameters {
  /** The version, e.g. 'TLS1.3'. */
  protocol: string | null;
  /** GnuTLS's suite name, e.g. 'TLS_AES_256_GCM_SHA384'. */
  cipherSuite: string | null;
  /** The bulk cipher, e.g. 'AES-256-GCM'. */
  cipher: string | null;
  /** The MAC, e.g. 'AEAD'. */
  mac: string | null;
  /** The key exchange, e.g. 'ECDHE-RSA' (TLS 1.2) or 'ECDHE' (TLS 1.3). */
  keyExchange: string | null;
  /** The group of the key exchange, e.g. 'X25519'. */
  group: string | null;
  /** Signature algorithm of the server's handshake signature. */
  serverSignature: string | null;
  /** Signature algorithm of the client's CertificateVerify (when it sent a certificate). */
  clientSignature: string | null;
  /** The certificate types: 'X.509' or 'RAWPK' (raw public key). */
  certificateType: {
    /** Ours. */
    own: string | null;
    /** The peer's. */
    peer: string | null;
  };
  /** Server: the PSK identity the client used. */
  pskIdentity: string | null;
}

const PROTOCOLS: Record<string, string> = { 'TLS1.3': 'TLSv1.3', 'TLS1.2': 'TLSv1.2', 'TLS1.1': 'TLSv1.1', 'TLS1.0': 'TLSv1' };
const GROUPS: Record<string, { name: string; size: number; type: string }> = {
  X25519: { name: 'X25519', size: 253, type: 'ECDH' },
  X448: { name: 'X448', size: 448, type: 'ECDH' },
  SECP256R1: { name: 'prime256v1', size: 256, type: 'ECDH' },
  SECP384R1: { name: 'secp384r1', size: 384, type: 'ECDH' },
  SECP521R1: { name: 'secp521r1', size: 521, type: 'ECDH' },
  FFDHE2048: { name: 'ffdhe2048', size: 2048, type: 'DH' },
  FFDHE3072: { name: 'ffdhe3072', size: 3072, type: 'DH' },
  FFDHE4096: { name: 'ffdhe4096', size: 4096, type: 'DH' },
};

export function protocolName(info: NativeInfo | null): string | null {
  return info?.protocol ? (PROTOCOLS[info.protocol] ?? info.protocol) : null;
}

export function cipherOf(info: NativeInfo | null): CipherNameAndProtocol | undefined {
  const suite = info?.suite;
  if (!suite) return undefined;
  const tls13 = info!.protocol === 'TLS1.3';
  const version = tls13 ? 'TLSv1.3' : cipherVersion(suite) ?? (/GCM|CCM|CHACHA|SHA256|SHA384/.test(suite) ? 'TLSv1.2' : 'TLSv1.0');
  return { name: opensslName(suite), standardName: suite, version };
}

/** Node reports the ephemeral key on clients only (`{}` on servers). */
export function ephemeralKeyInfo(info: NativeInfo | null, isServer: boolean): EphemeralKeyInfo | null {
  if (!info) return null;
  if (isServer) return {};
  const g = info.group ? GROUPS[info.group] : undefined;
  return g ? { type: g.type, name: g.name, size: g.size } : {};
}

/**
 * The key exchange as gnutls_session_get_desc() names it. Under TLS 1.3 a suite has no key
 * exchange and gnutls_kx_get() answers ECDHE-RSA whatever happened: the group (and PSK) say it.
 */
function keyExchange(i: NativeInfo): string | null {
  if (i.protocol !== 'TLS1.3') return i.kx;
  const psk = /PSK/.test(i.kx ?? '');
  if (!i.group) return psk ? 'PSK' : i.kx;
  const base = i.group.startsWith('FFDHE') ? 'DHE' : 'ECDHE';
  return psk ? `${base}-PSK-${i.group}` : `${base}-${i.group}`;
}

export function negotiatedParameters(i: NativeInfo | null): NegotiatedParameters | null {
  if (!i) return null;
  return {
    protocol: i.protocol,
    cipherSuite: i.suite,
    cipher: i.cipher,
    mac: i.mac,
    keyExchange: keyExchange(i),
    group: i.group,
    serverSignature: i.sign,
    clientSignature: i.clientSign,
    certificateType: { own: i.ownCertType, peer: i.peerCertType },
    pskIdentity: i.pskIdentity,
  };
}
