// `node-gnutls serve --udp` and `node-gnutls connect --udp`: the same tools over DTLS 1.2
// (node-gnutls/dtls). The echo server sends every datagram back; the client sends each line of
// stdin as one datagram and writes each datagram it receives to stdout.
import * as readline from 'readline';
import { DTLSServer, DTLSSocket, connect, createServer } from '../dtls';
import type { DTLSConnectOptions, DTLSServerOptions } from '../dtls';
import type { ConnectArgs, ServeArgs } from './args';
import { Reporter, errorSummary, errorText } from './report';

function pskServerOptions(a: ServeArgs): Partial<DTLSServerOptions> {
  const keys = a.extra.pskKeys;
  if (!keys) return {};
  return { pskCallback: (_s, identity) => keys.get(identity) ?? null, pskIdentityHint: a.extra.pskHint };
}

function summary(s: DTLSSocket): Record<string, unknown> {
  const cert = s.getPeerCertificate();
  return {
    protocol: s.getProtocol(),
    cipher: s.getCipher()?.name ?? null,
    alpn: s.alpnProtocol || null,
    srtpProfile: s.srtpProfile,
    authorized: s.authorized,
    authorizationError: s.authorizationError,
    peerCertificate: cert && 'subject' in cert ? (cert.subject?.CN ?? null) : null,
  };
}

export function serveDtls(a: ServeArgs): Promise<number> {
  const out = new Reporter(a.json, process.stdout);
  let server: DTLSServer;
  try {
    server = createServer({
      ...pskServerOptions(a),
      key: a.key,
      cert: a.cert,
      ca: a.ca,
      priority: a.priority,
      ALPNProtocols: a.alpn,
      requestCert: a.clientCert !== 'none',
      rejectUnauthorized: a.clientCert === 'require',
    });
  } catch (err) {
    process.stderr.write(`node-gnutls serve: ${errorText(err)}\n`);
    return Promise.resolve(1);
  }
  let nextId = 1;
  server.on('secureConnection', (s) => {
    const id = nextId++;
    const info = summary(s);
    out.event('secure', { id, remoteAddress: s.remoteAddress, remotePort: s.remotePort, ...info }, `[${id}] secure: ${s.remoteAddress}:${s.remotePort} ${info.protocol}, ${info.cipher}, ALPN ${info.alpn ?? 'none'}`);
    s.on('message', (m) => s.send(m, (err) => err && out.event('error', { id, error: errorSummary(err) }, `[${id}] error: ${errorText(err)}`)));
    s.on('error', (err) => out.event('error', { id, error: errorSummary(err) }, `[${id}] error: ${errorText(err)}`));
    s.on('close', () => out.event('close', { id }, `[${id}] closed`));
  });
  server.on('clientError', (err, rinfo) =>
    out.event('handshake-error', { remoteAddress: rinfo.address, remotePort: rinfo.port, error: errorSummary(err) }, `handshake from ${rinfo.address}:${rinfo.port} failed: ${errorText(err)}`),
  );
  return new Promise<number>((resolve) => {
    server.once('error', (err) => {
      process.stderr.write(`node-gnutls serve: cannot bind ${a.host}:${a.port}/udp: ${errorText(err)}\n`);
      resolve(1);
    });
    server.bind(a.port, a.host, () => {
      const addr = server.address();
      out.event('listening', { host: addr.address, port: addr.port, mode: 'dtls-echo', clientCert: a.clientCert, alpn: a.alpn ?? null }, `listening on ${addr.address}:${addr.port}/udp (DTLS echo)`);
      const stop = (signal: string): void => {
        out.event('shutdown', { signal }, `shutting down (${signal})`);
        server.close(() => resolve(0));
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
  });
}

export function connectDtls(a: ConnectArgs): Promise<number> {
  const out = new Reporter(a.json, process.stderr);
  const o: DTLSConnectOptions = {
    host: a.host,
    port: a.port,
    ca: a.ca,
    key: a.key,
    cert: a.cert,
    priority: a.priority,
    ALPNProtocols: a.alpn,
    servername: a.servername,
    rejectUnauthorized: !a.insecure,
    handshakeTimeout: a.timeout,
  };
  if (a.extra.pskUsername && a.extra.pskKey) {
    const identity = a.extra.pskUsername;
    const psk = a.extra.pskKey;
    o.pskCallback = () => ({ identity, psk });
  }
  let socket: DTLSSocket;
  try {
    socket = connect(o);
  } catch (err) {
    out.event('error', { stage: 'setup', error: errorSummary(err) }, `error: ${errorText(err)}`);
    return Promise.resolve(1);
  }
  let failed = false;
  let secure = false;
  socket.once('secureConnect', () => {
    secure = true;
    const info = summary(socket);
    out.event('connected', { target: `${a.host}:${a.port}`, ...info }, [
      `- Connected to ${a.host}:${a.port}/udp`,
      `- Protocol: ${info.protocol}`,
      `- Cipher: ${info.cipher}`,
      `- ALPN: ${info.alpn ?? 'none'}`,
      `- Verification: ${socket.authorized ? 'ok' : `FAILED: ${socket.authorizationError ?? 'not verified'}${a.insecure ? ' (ignored: --insecure)' : ''}`}`,
      `- Largest message: ${socket.maxMessageSize} bytes`,
    ]);
    // One line of stdin, one datagram; end of stdin sends close_notify.
    const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    lines.on('line', (line) => socket.send(`${line}\n`));
    lines.on('close', () => setTimeout(() => socket.close(), 200));
  });
  socket.on('message', (m) => process.stdout.write(m));
  socket.on('error', (err) => {
    failed = true;
    out.event('error', { stage: secure ? 'connection' : 'handshake', error: errorSummary(err) }, `error: ${errorText(err)}`);
  });
  return new Promise<number>((resolve) => {
    socket.on('close', () => {
      out.event('close', { ok: !failed }, '* Connection closed');
      resolve(failed ? 1 : 0);
    });
  });
}
