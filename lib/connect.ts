// connect(): Node's tls.connect signatures, over a new net.Socket or a given Duplex.
import * as net from 'net';
import { Duplex } from 'stream';
import { TLSSocket, TLSSocketOptions } from './tls-socket';
import { contextFor } from './secure-context';
import { clientContext } from './client-contexts';
import type { ClientPskCallback } from './features';

/** Node's `tls.connect()` options: the socket's TLS options and where to connect. */
export interface ConnectionOptions extends TLSSocketOptions {
  /** The host to connect to (default 'localhost'); also the default SNI name and identity checked. */
  host?: string;
  /** The TCP port to connect to. */
  port?: number;
  /** Connect to this Unix socket instead of TCP. */
  path?: string;
  /** Run TLS over this connected Duplex (a net.Socket or any stream) instead of a new TCP connection. */
  socket?: Duplex;
  /** Idle timeout in milliseconds (`socket.setTimeout()`). */
  timeout?: number;
  /** The local address to connect from (net.connect's). */
  localAddress?: string;
  /** The local port to connect from (net.connect's). */
  localPort?: number;
  /** IP version of the address to look up: 4, 6 or 0 for both (net.connect's). */
  family?: number;
  /** `dns.lookup()` hints (net.connect's). */
  hints?: number;
  /** A custom lookup function (net.connect's). */
  lookup?: net.LookupFunction;
  /** Try the host's addresses in turn, Happy Eyeballs style (net.connect's). */
  autoSelectFamily?: boolean;
  /** Milliseconds to wait for one address before trying the next (net.connect's). */
  autoSelectFamilyAttemptTimeout?: number;
  /** Disable Nagle's algorithm on the TCP connection. */
  noDelay?: boolean;
  /** Enable TCP keep-alive on the connection. */
  keepAlive?: boolean;
  /** Milliseconds before the first TCP keep-alive probe. */
  keepAliveInitialDelay?: number;
  /** Node's client PSK callback: (hint) → { psk, identity } | null (hint is null under TLS 1.3). */
  pskCallback?: ClientPskCallback;
}

type Callback = () => void;

/** The socket.connect() / net.Socket options a TCP connection is opened with, as Node passes them. */
const NET_OPTIONS = [
  'port',
  'localAddress',
  'localPort',
  'family',
  'hints',
  'lookup',
  'autoSelectFamily',
  'autoSelectFamilyAttemptTimeout',
  'noDelay',
  'keepAlive',
  'keepAliveInitialDelay',
] as const;

function netOptions(o: ConnectionOptions, host: string): net.NetConnectOpts {
  // The TLSSocket applies allowHalfOpen, after close_notify.
  if (o.path) return { path: o.path, allowHalfOpen: true };
  const out: Record<string, unknown> = { host, allowHalfOpen: true };
  for (const k of NET_OPTIONS) if (o[k] != null) out[k] = o[k];
  return out as unknown as net.NetConnectOpts;
}

/** Node's `tls.connect(options[, cb])`: a client TLSSocket; `cb` runs on 'secureConnect'. */
export function connect(options: ConnectionOptions, cb?: () => void): TLSSocket;
/** Node's `tls.connect(port[, host][, options][, cb])`. */
export function connect(port: number, host?: string, options?: ConnectionOptions, cb?: () => void): TLSSocket;
/** Node's `tls.connect(port[, options][, cb])`. */
export function connect(port: number, options?: ConnectionOptions, cb?: () => void): TLSSocket;
export function connect(...args: unknown[]): TLSSocket {
  let options: ConnectionOptions = {};
  let cb: Callback | undefined;
  if (typeof args[args.length - 1] === 'function') cb = args.pop() as Callback;
  if (typeof args[0] === 'object' && args[0] !== null) {
    options = { ...(args[0] as ConnectionOptions) };
  } else {
    const [port, hostOrOpts, maybeOpts] = args;
    const extra = (typeof hostOrOpts === 'object' ? hostOrOpts : maybeOpts) as ConnectionOptions | undefined;
    options = { ...extra, port: Number(port) };
    if (typeof hostOrOpts === 'string') options.host = hostOrOpts;
  }
  options.rejectUnauthorized = options.rejectUnauthorized !== false;
  const host = options.host ?? 'localhost';
  // Options are checked (and credentials parsed) before any connection is opened, as Node does.
  options.secureContext = options.secureContext == null ? clientContext(options) : contextFor(options.secureContext, options);

  let socket = options.socket;
  socket ??= net.connect(netOptions(options, host));
  const tls = new TLSSocket(socket, { ...options, isServer: false, host });
  if (options.timeout) tls.setTimeout(options.timeout);
  if (cb) tls.once('secureConnect', cb);
  return tls;
}
