// node-gnutls: Node's tls API with GnuTLS doing the TLS.
import * as nodeTls from 'tls';
import { binding } from './native';
import { opensslName, gnutlsSuiteToIana } from './ciphers/index';
import { TLSVersion, priorityFor } from './secure-context';
import { exposeDefaults } from './defaults';
import { callableClass, rootCertificates as trustedRoots } from './module-surface';
import { Server as ServerClass } from './server';

export { TLSError } from './errors';
export {
  SecureContext,
  SecureContextOptions,
  createSecureContext,
  TLSVersion,
} from './secure-context';
export {
  TLSSocket,
  TLSSocketOptions,
  VerifyClientMode,
  CipherNameAndProtocol,
  EphemeralKeyInfo,
  SNICallback,
  NegotiatedParameters,
} from './tls-socket';
export { PeerPublicKey, ServerPskCallback, ClientPskCallback, ChannelBindingType, publicKeyPin } from './features';
export { TlsOptions, createServer, DEFAULT_HANDSHAKE_TIMEOUT } from './server';
/** Node's tls.Server: a class that may also be called without `new`. */
export type Server = ServerClass;
/** Node's tls.Server (a net.Server of TLSSockets), callable without `new`: see {@link createServer}. */
export const Server = callableClass(ServerClass);
export { connect, ConnectionOptions } from './connect';
export { TLSSocketEvents, ServerEvents } from './events';
export {
  ReauthRequest,
  RehandshakeRequest,
  ReauthOptions,
  RehandshakeOptions,
  KeyUpdateOptions,
  RenegotiationPolicy,
} from './reauth';
export { checkServerIdentity, PeerCertificate, DetailedPeerCertificate } from './verify';

/** Node's default cipher list string (informational; GnuTLS priorities decide). */
export const DEFAULT_CIPHERS = nodeTls.DEFAULT_CIPHERS;
/** Node's default `ecdhCurve` ('auto': GnuTLS's default groups). */
export const DEFAULT_ECDH_CURVE = 'auto';
export { convertALPNProtocols, createSecurePair } from './module-surface';
export { SecurePair } from './secure-pair';

// Settable at run time, as Node's are: read where used (lib/defaults.ts).
/** The lowest version a context enables when `minVersion` is not given ('TLSv1.2'; settable). */
export declare let DEFAULT_MIN_VERSION: TLSVersion;
/** The highest version a context enables when `maxVersion` is not given ('TLSv1.3'; settable). */
export declare let DEFAULT_MAX_VERSION: TLSVersion;
/** Renegotiations a client may start per CLIENT_RENEG_WINDOW under `renegotiation: 'accept'` (3; settable). */
export declare let CLIENT_RENEG_LIMIT: number;
/** The window of CLIENT_RENEG_LIMIT, in seconds (600; settable). */
export declare let CLIENT_RENEG_WINDOW: number;
exposeDefaults(module.exports);
/** The CA certificates trusted when no `ca` is given (GnuTLS's system store), PEM, frozen. */
export declare const rootCertificates: readonly string[];
Object.defineProperty(module.exports, 'rootCertificates', { enumerable: true, configurable: false, get: trustedRoots });

/** The GnuTLS version the addon runs against. */
export const gnutlsVersion: string = binding.version();

/** A cipher suite as `getCipherSuites()` lists it, in GnuTLS's, IANA's and OpenSSL's names. */
export interface CipherSuiteInfo {
  /** GnuTLS's name, e.g. 'TLS_ECDHE_ECDSA_AES_128_GCM_SHA256'. */
  gnutlsName: string;
  /** IANA name, e.g. 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'. */
  standardName: string;
  /** OpenSSL's (Node's) name, e.g. 'ECDHE-ECDSA-AES128-GCM-SHA256'. */
  name: string;
  /** The two-byte IANA code point, e.g. 'c02b'. */
  id: string;
  /** The lowest TLS version of the suite in GnuTLS's name, e.g. 'TLS1.2'. */
  minVersion: string | null;
}

/** The suites a GnuTLS priority string enables (default: this library's default policy), in order. */
export function getCipherSuites(priority?: string): CipherSuiteInfo[] {
  return binding.cipherSuites(priority ?? priorityFor({})).map((s) => {
    const standardName = gnutlsSuiteToIana(s.name);
    return {
      gnutlsName: s.name,
      standardName,
      name: opensslName(standardName),
      id: Buffer.from(s.id).toString('hex'),
      minVersion: s.minVersion,
    };
  });
}

/** Node's tls.getCiphers(): lower-case OpenSSL names of the suites the default policy enables. */
export function getCiphers(): string[] {
  return [...new Set(getCipherSuites().map((s) => s.name.toLowerCase()))];
}

/** Load a PKCS#11 module (those p11-kit configures are loaded already). */
export function addPkcs11Provider(modulePath: string): void {
  if (typeof modulePath !== 'string' || modulePath === '') {
    throw new TypeError('addPkcs11Provider: modulePath must be a non-empty string');
  }
  binding.addPkcs11Provider(modulePath);
}

// Types the options and members above refer to.
export type { BinaryLike, KeyObjectLike, PxfObjectLike, SecureContextLike } from './secure-context';
export type { ALPNCallback } from './server-hello';
export type { AuthorizationError, OwnBuffer } from './socket-base';
export type { EventName, Listener, EmitArgs } from './events';
/** The class behind {@link Server} (the type its instances have), documented under this name. */
export type { Server as TLSServer } from './server';
export type { ErrorCodes, ErrorCode } from './error-codes';
