// `node-gnutls serve`: an echo server that understands gnutls-serv's in-band commands, or a tiny
// HTTPS server describing the session.
import * as http from 'http';
import type * as net from 'net';
import { spawnSync } from 'child_process';
import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Server, TLSSocket, TlsOptions, createServer } from '../index';
import { extraOptions } from './extras';
import type { ServeArgs } from './args';
import { Reporter, detailLines, certSummary, dn, errorSummary, errorText, hasCert, peerLeaf, sessionSummary } from './report';

/** In-band commands of echo mode (a line starting with one of them). */
const COMMANDS = ['**REAUTH**', '**REHANDSHAKE**', '**KEYUPDATE**'] as const;
type Command = 'REAUTH' | 'REHANDSHAKE' | 'KEYUPDATE';
/** Echo mode writes back a partial line once this many bytes arrived without a newline. */
const MAX_LINE = 64 * 1024;

export function serverOptions(a: ServeArgs): TlsOptions {
  const o: TlsOptions = {
    ...extraOptions(a),
    key: a.key,
    cert: a.cert,
    allowHalfOpen: true,
    // Client-initiated TLS 1.2 renegotiation is accepted (gnutls-serv accepts it too).
    renegotiation: 'accept',
  };
  if (a.ca) o.ca = a.ca;
  if (a.priority !== undefined) o.priority = a.priority;
  if (a.minVersion) o.minVersion = a.minVersion;
  if (a.maxVersion) o.maxVersion = a.maxVersion;
  if (a.alpn) o.ALPNProtocols = a.alpn;
  if (a.clientCert === 'require') {
    o.verifyClient = 'require';
  } else {
    if (a.clientCert === 'request') o.verifyClient = 'request';
    // As gnutls-serv: without --require-client-cert any outcome is accepted, in the handshake and
    // in a later **REAUTH** alike; the verification status is reported, the connection kept.
    o.rejectUnauthorized = false;
  }
  return o;
}

/** A self-signed ECDSA certificate for localhost, made with certtool in a temporary folder. */
function throwAwayCertificate(): { cert: Buffer; key: Buffer; fingerprint256: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-gnutls-serve-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    const tmpl = path.join(dir, 'cert.cfg');
    fs.writeFileSync(tmpl, 'cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\nexpiration_days = 2\ntls_www_server\nsigning_key\n');
    const run = (args: string[]): void => {
      const r = spawnSync('certtool', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.error || r.status !== 0) {
        throw new Error(`certtool (gnutls-bin) is needed for a throw-away certificate, or give --cert/--key: ${r.error?.message ?? r.stderr}`);
      }
    };
    run(['--generate-privkey', '--key-type', 'ecdsa', '--outfile', key]);
    run(['--generate-self-signed', '--load-privkey', key, '--template', tmpl, '--outfile', cert]);
    const pem = fs.readFileSync(cert);
    return { cert: pem, key: fs.readFileSync(key), fingerprint256: new X509Certificate(pem).fingerprint256 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the server until SIGINT/SIGTERM; resolves with the exit status. */
export function serve(a: ServeArgs): Promise<number> {
  const out = new Reporter(a.json, process.stdout);
  let server: Server;
  try {
    if (!a.cert && !a.extra.rawpkKey && !a.extra.pskKeys) {
      const made = throwAwayCertificate();
      a = { ...a, cert: made.cert, key: made.key };
      out.event(
        'certificate',
        { selfSigned: true, subject: 'CN=localhost', fingerprint256: made.fingerprint256 },
        `using a throw-away self-signed certificate for localhost, SHA-256 ${made.fingerprint256}`,
      );
    }
    server = createServer(serverOptions(a));
  } catch (err) {
    process.stderr.write(`node-gnutls serve: ${errorText(err)}\n`);
    return Promise.resolve(1);
  }
  const ids = new WeakMap<object, number>();
  const open = new Set<net.Socket>();
  let nextId = 1;
  const idOf = (s: object): number => ids.get(s) ?? ids.get((s as { socket?: object }).socket ?? s) ?? 0;

  server.on('connection', (raw: net.Socket) => {
    const id = nextId++;
    ids.set(raw, id);
    open.add(raw);
    raw.on('close', () => open.delete(raw));
    out.event(
      'connection',
      { id, remoteAddress: raw.remoteAddress ?? null, remotePort: raw.remotePort ?? null },
      `[${id}] connection from ${hostPort(raw.remoteAddress, raw.remotePort)}`,
    );
  });

  server.on('tlsClientError', (err, socket) => {
    const id = idOf(socket);
    // The library's message already says 'handshake failed: ...'.
    const text = errorText(err).replace(/^handshake failed: /, '');
    out.event('handshake-error', { id, error: errorSummary(err) }, `[${id}] handshake failed: ${text}`);
  });

  const httpServer = a.mode === 'http' ? httpResponder(out, idOf) : null;

  server.on('secureConnection', (socket: TLSSocket) => {
    const id = idOf(socket);
    ids.set(socket, id);
    reportSecure(out, id, socket);
    socket.on('error', (err) => out.event('error', { id, error: errorSummary(err) }, `[${id}] error: ${errorText(err)}`));
    socket.on('renegotiated', () => {
      const s = sessionSummary(socket);
      out.event('renegotiated', { id, protocol: s.protocol, cipher: s.cipher, peerCertificate: peerLeaf(socket) }, `[${id}] client-initiated re-handshake completed: ${s.protocol}, ${s.cipher}`);
    });
    socket.on('keyUpdate', () => out.event('peer-keyupdate', { id }, `[${id}] the client updated its keys (TLS 1.3 key update)`));
    socket.on('close', (hadError: boolean) => {
      out.event(
        'close',
        { id, hadError, bytesRead: socket.bytesRead ?? null, bytesWritten: socket.bytesWritten ?? null },
        `[${id}] closed${hadError ? ' after an error' : ''}`,
      );
    });
    if (httpServer) httpServer.emit('connection', socket);
    else echo(out, id, socket, a);
  });

  return new Promise<number>((resolve) => {
    let done = false;
    const stop = (signal: string): void => {
      if (done) return;
      done = true;
      out.event('shutdown', { signal }, `shutting down (${signal})`);
      for (const raw of open) raw.destroy();
      server.close(() => resolve(0));
    };
    server.once('error', (err: Error) => {
      process.stderr.write(`node-gnutls serve: cannot listen on ${a.host}:${a.port}: ${errorText(err)}\n`);
      done = true;
      resolve(1);
    });
    server.listen(a.port, a.host, () => {
      const addr = server.address() as net.AddressInfo;
      out.event(
        'listening',
        { host: addr.address, port: addr.port, mode: a.mode, clientCert: a.clientCert, alpn: a.alpn ?? null },
        `listening on ${hostPort(addr.address, addr.port)} (${a.mode}${a.clientCert !== 'none' ? `, client certificate: ${a.clientCert}` : ''})`,
      );
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
  });
}

/** 'host:port', with an IPv6 address in brackets. */
function hostPort(host: string | undefined, port: number | undefined): string {
  return host?.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function reportSecure(out: Reporter, id: number, socket: TLSSocket): void {
  const s = sessionSummary(socket);
  const peer = peerLeaf(socket);
  const text = [
    `[${id}] secure: ${s.protocol}, ${s.cipher}, ALPN ${s.alpn ?? 'none'}, SNI ${s.servername ?? 'none'}` +
      `${s.resumed ? ', resumed' : ''}${s.protocol === 'TLSv1.3' ? `, post-handshake auth ${s.postHandshakeAuth ? 'offered' : 'not offered'}` : ''}`,
    `[${id}] client certificate: ${peer ? `${peer.subject} (${verdict(socket)})` : 'none'}`,
    ...detailLines(s, `[${id}] `),
  ];
  out.event('secure', { id, ...s, peerCertificate: peer }, text);
}

function verdict(socket: TLSSocket): string {
  return socket.authorized ? 'authorized' : `not authorized: ${socket.authorizationError ?? 'not verified'}`;
}

function commandOf(line: string): Command | null {
  for (const c of COMMANDS) if (line.startsWith(c)) return c.slice(2, -2) as Command;
  return null;
}

/**
 * Echo mode: each complete line is written back; lines are handled one after the other, so a
 * line that arrives while a command runs is echoed after the command's result.
 */
function echo(out: Reporter, id: number, socket: TLSSocket, a: ServeArgs): void {
  let pending: Buffer = Buffer.alloc(0);
  let chain: Promise<void> = Promise.resolve();
  const handle = (line: Buffer): Promise<void> => {
    const cmd = commandOf(line.toString('latin1'));
    const write = (): void => {
      if (socket.destroyed || !socket.writable) return;
      if (!socket.write(line)) {
        // Backpressure: read no more until the peer has taken what we echoed.
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    };
    if (!cmd) {
      write();
      return Promise.resolve();
    }
    return runCommand(out, id, socket, cmd, a).then(write);
  };
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (let nl = pending.indexOf(10); nl >= 0; nl = pending.indexOf(10)) {
      const line = pending.subarray(0, nl + 1);
      pending = pending.subarray(nl + 1);
      chain = chain.then(() => handle(line));
    }
    if (pending.length >= MAX_LINE) {
      // No newline in sight: echo what arrived rather than buffer without limit.
      const part = pending;
      pending = Buffer.alloc(0);
      chain = chain.then(() => handle(part));
    }
  });
  socket.on('end', () => {
    const rest = pending;
    pending = Buffer.alloc(0);
    if (rest.length) chain = chain.then(() => handle(rest));
    chain = chain.then(() => {
      if (!socket.destroyed) socket.end();
    });
  });
}

async function runCommand(out: Reporter, id: number, socket: TLSSocket, cmd: Command, a: ServeArgs): Promise<void> {
  const protocol = socket.getProtocol();
  try {
    if (cmd === 'REAUTH') {
      // As gnutls-serv: the certificate is required only with --require-client-cert.
      const cert = await socket.reauth({ require: a.clientCert === 'require', timeout: a.timeout });
      const peer = hasCert(cert) ? certSummary(cert) : null;
      out.event(
        'reauth',
        { id, ok: true, protocol, authorized: socket.authorized, authorizationError: socket.authorizationError, peerCertificate: peer },
        `[${id}] REAUTH ok (${protocol === 'TLSv1.3' ? 'post-handshake auth' : 're-handshake'}): client ${peer ? `${peer.subject} (${verdict(socket)})` : 'sent no certificate'}`,
      );
    } else if (cmd === 'REHANDSHAKE') {
      await socket.rehandshake({ timeout: a.timeout });
      const s = sessionSummary(socket);
      const peer = peerLeaf(socket);
      const what = protocol === 'TLSv1.3' ? 'key update, peer asked to update' : `re-handshake, ${s.cipher}`;
      out.event(
        'rehandshake',
        { id, ok: true, protocol: s.protocol, cipher: s.cipher, peerCertificate: peer },
        `[${id}] REHANDSHAKE ok (${what})${peer ? `: client ${peer.subject}` : ''}`,
      );
    } else {
      await socket.keyUpdate();
      out.event('keyupdate', { id, ok: true, protocol }, `[${id}] KEYUPDATE ok (our sending keys updated)`);
    }
  } catch (err) {
    const e = errorSummary(err);
    out.event(cmd.toLowerCase(), { id, ok: false, protocol, error: e }, `[${id}] ${cmd} failed: ${errorText(err)}`);
  }
}

/** HTTP mode: Node's http server over the TLS sockets; any GET gets a text description of the session. */
function httpResponder(out: Reporter, idOf: (s: object) => number): http.Server {
  const h = http.createServer((req, res) => {
    const socket = req.socket as unknown as TLSSocket;
    const id = idOf(socket);
    out.event('request', { id, method: req.method, url: req.url }, `[${id}] ${req.method} ${req.url}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    const s = sessionSummary(socket);
    const peer = socket.getPeerCertificate();
    const body = [
      'node-gnutls',
      `protocol: ${s.protocol}`,
      `cipher: ${s.cipher} (${s.cipherStandardName})`,
      `alpn: ${s.alpn ?? 'none'}`,
      `servername: ${s.servername ?? 'none'}`,
      `client certificate: ${hasCert(peer) ? `${dn(peer.subject)} (${verdict(socket)})` : 'none'}`,
      '',
    ].join('\n');
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  h.on('clientError', (err: Error, socket: net.Socket) => {
    const id = idOf(socket);
    out.event('http-error', { id, error: errorSummary(err) }, `[${id}] bad HTTP request: ${errorText(err)}`);
    if (!socket.destroyed) socket.destroy();
  });
  return h;
}
