// node-gnutls: Node's tls API with GnuTLS doing the TLS.
import * as nodeTls from 'tls';
import { binding } from './native';

export { TLSError } from './errors';
export {
  SecureContext,
  SecureContextOptions,
  createSecureContext,
  DEFAULT_MIN_VERSION,
  DEFAULT_MAX_VERSION,
} from './secure-context';
export { TLSSocket, TLSSocketOptions, VerifyClientMode, CipherNameAndProtocol, EphemeralKeyInfo, SNICallback } from './tls-socket';
export { Server, TlsOptions, createServer, DEFAULT_HANDSHAKE_TIMEOUT } from './server';
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
export const DEFAULT_ECDH_CURVE = 'auto';
export const CLIENT_RENEG_LIMIT = 3;
export const CLIENT_RENEG_WINDOW = 600;

/** The GnuTLS version the addon runs against. */
export const gnutlsVersion: string = binding.version();
