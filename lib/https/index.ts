// node-gnutls/https: HTTP over node-gnutls. A server like Node's https.Server, an https.Agent for
// Node's HTTP client, and a connector for undici (fetch).
export { Server, createServer, ServerOptions, RequestListener } from './server';
export { HttpsServerEvents, SecureIncomingMessage } from './events';
export { Agent, AgentOptions } from './agent';
export {
  undiciConnector,
  UndiciConnector,
  UndiciConnectorOptions,
  UndiciConnectParams,
  UndiciConnectCallback,
} from './undici';
