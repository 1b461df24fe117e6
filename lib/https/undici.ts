// A `connect` function for undici's Client, Pool and Agent (the signature of undici's own
// buildConnector), opening node-gnutls connections: `fetch(url, { dispatcher })` runs over GnuTLS.
import * as net from 'net';
import type { Duplex } from 'stream';
import { connect, ConnectionOptions } from '../connect';
import type { TLSSocket } from '../tls-socket';

/** What undici passes to a connector for each new connection. */
export interface UndiciConnectParams {
  /** The host name or IP address to connect to. */
  hostname: string;
  /** The origin's host, with the port when there is one (the default SNI name). */
  host?: string;
  /** 'https:' for TLS, 'http:' for plain TCP. */
  protocol: string;
  /** The port (undici passes '' for the protocol's default). */
  port: string | number;
  /** The SNI name undici asks for (its `servername` option), if any. */
  servername?: string | null;
  /** The local address to bind to. */
  localAddress?: string | null;
  /** An established plain connection to run TLS over (a proxy tunnel). */
  httpSocket?: Duplex;
}

/** The callback a connector calls once, with the connected socket or the error. */
export type UndiciConnectCallback = (...args: [null, net.Socket | TLSSocket] | [Error, null]) => void;

/** The connector undici's `connect` option takes. */
export type UndiciConnector = (params: UndiciConnectParams, callback: UndiciConnectCallback) => net.Socket | TLSSocket;

/** Options of {@link undiciConnector}: undici's connect options, and the TLS options of every connection. */
export interface UndiciConnectorOptions extends ConnectionOptions {
  /** Offer HTTP/2 by ALPN, preferred over HTTP/1.1 (default false: HTTP/1.1 only). */
  allowH2?: boolean;
  /** How many TLS sessions to keep for resumption, one per server name (default 100; 0: none). */
  maxCachedSessions?: number;
  /** Milliseconds to establish the connection, handshake included (default 10000; 0: no limit). */
  timeout?: number;
  /** Connect over this Unix socket instead of TCP. */
  socketPath?: string;
}

/** Undici's "connect timeout" error, with its code. */
function connectTimeoutError(hostname: string, port: string | number, ms: number): Error {
  return Object.assign(new Error(`Connect Timeout Error (attempted address: ${hostname}:${port}, timeout: ${ms}ms)`), {
    name: 'ConnectTimeoutError',
    code: 'UND_ERR_CONNECT_TIMEOUT',
  });
}

/** The SNI name for an origin's host: the host without port, or none for an IP address. */
function serverNameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':')[0];
  return net.isIP(name) ? undefined : name;
}

/**
 * A connector for undici (`new Agent({ connect: undiciConnector(options) })`): https origins get a
 * node-gnutls TLSSocket, http origins a net.Socket. With `allowH2` the connection offers h2 by
 * ALPN and undici speaks HTTP/2 over it when the server picks it.
 */
export function undiciConnector(options: UndiciConnectorOptions = {}): UndiciConnector {
  const { allowH2 = false, maxCachedSessions = 100, timeout = 10000, socketPath, ...tlsOptions } = options;
  const sessions = new Map<string, Buffer>();
  const cache = (key: string, session: Buffer): void => {
    if (maxCachedSessions === 0) return;
    sessions.delete(key);
    sessions.set(key, session);
    while (sessions.size > maxCachedSessions) sessions.delete(sessions.keys().next().value as string);
  };
  return (params, callback) => {
    const { hostname, protocol, localAddress, httpSocket } = params;
    let socket: net.Socket | TLSSocket;
    if (protocol === 'https:') {
      const port = Number(params.port) || 443;
      const servername = params.servername || tlsOptions.servername || serverNameOf(params.host);
      const key = servername || hostname;
      const tls = connect({
        ...tlsOptions,
        path: socketPath,
        host: hostname,
        port,
        servername,
        session: tlsOptions.session ?? sessions.get(key),
        localAddress: localAddress ?? tlsOptions.localAddress,
        socket: httpSocket,
        ALPNProtocols: allowH2 ? ['h2', 'http/1.1'] : ['http/1.1'],
      });
      tls.on('session', (session) => cache(key, session));
      socket = tls;
    } else {
      const port = Number(params.port) || 80;
      const base = { ...(localAddress ? { localAddress } : {}), noDelay: true } as const;
      socket = socketPath ? net.connect({ path: socketPath }) : net.connect({ ...base, host: hostname, port });
    }
    if (tlsOptions.keepAlive !== false) socket.setKeepAlive(true, tlsOptions.keepAliveInitialDelay ?? 60000);
    socket.setNoDelay(true);
    let done = false;
    const timer =
      timeout > 0
        ? setTimeout(() => socket.destroy(connectTimeoutError(hostname, params.port, timeout)), timeout).unref()
        : null;
    const finish = (err: Error | null): void => {
      if (timer) clearTimeout(timer);
      if (done) return;
      done = true;
      if (err) callback(err, null);
      else callback(null, socket);
    };
    socket.once(protocol === 'https:' ? 'secureConnect' : 'connect', () => finish(null));
    socket.on('error', (err: Error) => finish(err));
    return socket;
  };
}
