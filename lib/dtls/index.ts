// node-gnutls/dtls: DTLS 1.2 over Node's dgram, with GnuTLS doing the protocol.
export { connect } from './connect';
export { createServer, DTLSServer, DTLSServerStats } from './server';
export { DTLSSocket } from './socket';
export { DTLSSocketEvents, DTLSServerEvents } from './events';
export {
  DTLSCommonOptions,
  DTLSConnectOptions,
  DTLSServerOptions,
  DTLSServerPskCallback,
  DTLSClientPskCallback,
} from './options';
export type { NativeSrtpKeys as SrtpKeyingMaterial } from '../native';
export { TLSError } from '../errors';
