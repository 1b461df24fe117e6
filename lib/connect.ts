// connect(): Node's tls.connect signatures, over a new net.Socket or a given Duplex.
import * as net from 'net';
import { Duplex } from 'stream';
import { TLSSocket, TLSSocketOptions } from './tls-socket';
import { contextFor } from './secure-context';
import type { ClientPskCallback } from './features';

export interface ConnectionOptions extends TLSSocketOptions {
  host?: string;
  port?: number;
  path?: string;
  socket?: Duplex;
  timeout?: number;
  localAddress?: string;
  localPort?: number;
  family?: number;
  hints?: number;
  lookup?: net.LookupFunction;
  autoSelectFamily?: boolean;
  autoSelectFamilyAttemptTimeout?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
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

export function connect(options: ConnectionOptions, cb?: Callback): TLSSocket;
export function connect(port: number, host?: string, options?: ConnectionOptions, cb?: Callback): TLSSocket;
export function connect(port: number, options?: ConnectionOptions, cb?: Callback): TLSSocket;
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
  options.secureContext = contextFor(options.secureContext, options);

  let socket = options.socket;
  socket ??= net.connect(netOptions(options, host));
  const tls = new TLSSocket(socket, { ...options, isServer: false, host });
  if (options.timeout) tls.setTimeout(options.timeout);
  if (cb) tls.once('secureConnect', cb);
  return tls;
}
