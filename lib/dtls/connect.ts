// connect(): a DTLS client over its own connected UDP socket (udp4 or udp6 by the address).
import * as dgram from 'dgram';
import * as dns from 'dns';
import * as net from 'net';
import { defaultServername } from '../engine/session-setup';
import { validateObject } from '../validate';
import { codedError } from '../validate';
import { DTLSConnectOptions, createDtlsSession, dtlsContext, timing } from './options';
import { DTLSSocket, DatagramLink } from './socket';

/**
 * Opens a DTLS association to `options.host`:`options.port` over a UDP socket of its own
 * (connected to that address); `cb` runs on 'secureConnect'. Invalid options throw (a bad `port`:
 * ERR_SOCKET_BAD_PORT); a DNS or handshake failure is the socket's 'error'.
 */
export function connect(options: DTLSConnectOptions, cb?: () => void): DTLSSocket {
  validateObject(options, 'options');
  const port = options.port;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw codedError(RangeError, 'ERR_SOCKET_BAD_PORT', `options.port should be >= 1 and < 65536. Received ${String(port)}`);
  }
  const host = options.host ?? 'localhost';
  const ctx = dtlsContext(options);
  const t = timing(options);
  const servername = defaultServername({ servername: options.servername, host });
  let family = net.isIP(host);
  const address = family ? host : undefined;
  // The UDP socket is made once the address (hence udp4/udp6) is known.
  let udp: dgram.Socket | null = null;
  let released = false;
  const queued: Array<[Buffer[], ((err: Error | null) => void) | undefined]> = [];
  let refd = true;
  const link: DatagramLink = {
    send(datagrams, done) {
      if (!udp || released) {
        queued.push([datagrams, done]);
        return;
      }
      let left = datagrams.length;
      let first: Error | null = null;
      for (const d of datagrams) {
        udp.send(d, (err) => {
          first ??= err ?? null;
          if (--left === 0) done?.(first);
        });
      }
    },
    release() {
      released = true;
      if (udp) {
        try {
          udp.close();
        } catch {
          // already closed
        }
      }
    },
    address() {
      return udp ? udp.address() : { address: '', family: '', port: 0 };
    },
    ref() {
      refd = true;
      udp?.ref();
    },
    unref() {
      refd = false;
      udp?.unref();
    },
  };
  const remote: dgram.RemoteInfo = { address: address ?? host, family: family === 6 ? 'IPv6' : 'IPv4', port, size: 0 };
  const socket = new DTLSSocket({
    isServer: false,
    link,
    remote,
    ctx,
    timing: t,
    rejectUnauthorized: options.rejectUnauthorized !== false,
    requestCert: false,
    hostname: servername ?? host,
    checkServerIdentity: options.checkServerIdentity,
    usesPsk: Boolean(options.pskCallback),
    session: (_s, onPskError) => createDtlsSession({ isServer: false, ctx, options, timing: t, servername, socket: _s, onPskError }),
  });
  if (cb) socket.once('secureConnect', cb);
  const open = (addr: string): void => {
    if (released) return;
    Object.assign(remote, { address: addr, family: family === 6 ? 'IPv6' : 'IPv4' });
    Object.assign(socket, { remoteAddress: addr, remoteFamily: remote.family });
    udp = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    if (!refd) udp.unref();
    udp.on('message', (msg) => socket._datagram(msg));
    udp.on('error', (err) => socket._fail(err));
    const connectUdp = (): void => udp!.connect(port, addr, () => {
      for (const [d, done] of queued.splice(0)) link.send(d, done);
      socket._start();
    });
    if (options.localAddress !== undefined || options.localPort !== undefined) udp.bind(options.localPort ?? 0, options.localAddress, connectUdp);
    else connectUdp();
  };
  if (address) process.nextTick(open, address);
  else {
    dns.lookup(host, (err, addr, fam) => {
      if (err) return socket._fail(err);
      family = fam;
      open(addr);
    });
  }
  return socket;
}
