// Differential scenarios: how a handshake fails, in which order each side sees it, and which
// alert goes out, as Node's tls shows it. A received alert is recorded by name (Node's error
// code names it, ours has `alert`); other errors by code and message.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import type * as tls from 'tls';
import { closed, close, differential, listen, Trace } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
const clientCreds = { key: fixture('client.key'), cert: fixture('client.pem') };
const VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

type Err = Error & { code?: string; alert?: string };
/** An error in a trace: the alert it reports, else its code and message. */
function errLine(e: Err): string {
  const m = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(.+)$/.exec(e.code ?? '');
  const alert = e.alert ?? m?.[1].toLowerCase();
  if (alert) return `alert ${alert}`;
  // A local TLS failure: OpenSSL's reason codes and texts are not GnuTLS's (yet); what was sent
  // is what the peer's trace shows.
  if (/^(ERR_SSL_|GNUTLS_E_)/.test(e.code ?? '')) return 'local TLS failure';
  return `code=${e.code} message=${JSON.stringify(e.message)}`;
}

/**
 * Records what a server shows: 'tlsClientError', or 'secureConnection' and then its socket's
 * events. Resolves once the server is done with its one connection.
 */
function watchServer(t: Trace, server: net.Server, onSecure?: (s: tls.TLSSocket) => void): Promise<void> {
  return new Promise((resolve) => {
    server.on('tlsClientError', (e: Err) => {
      t.push(`server tlsClientError ${errLine(e)}`);
      resolve();
    });
    server.on('secureConnection', (s: tls.TLSSocket) => {
      t.push('server secureConnection');
      // Node leaves a socket open after a TLS error once the handshake is done: the application
      // destroys it (ours is destroyed already).
      s.on('error', (e: Err) => {
        t.push(`server error ${errLine(e)}`);
        s.destroy();
      });
      s.on('end', () => t.push('server end'));
      s.on('close', () => {
        t.push('server close');
        resolve();
      });
      s.resume();
      onSecure?.(s);
    });
  });
}

/** Records what a client shows until it has closed. */
async function watchClient(t: Trace, c: tls.TLSSocket): Promise<void> {
  c.on('secureConnect', () => t.push('client secureConnect'));
  c.on('error', (e: Err) => {
    t.push(`client error ${errLine(e)}`);
    c.destroy();
  });
  c.on('end', () => t.push('client end'));
  c.resume();
  await closed(c);
  t.push('client closed');
}

for (const version of VERSIONS) {
  differential(`an untrusted server certificate fails the client (${version})`, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ...serverOpts, maxVersion: version });
    const served = watchServer(t, server);
    const port = await listen(server);
    const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost' });
    await watchClient(t, c);
    t.value('client authorized', c.authorized);
    await served;
    await close(server);
  });

  differential(`checkServerIdentity's error fails the client (${version})`, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ...serverOpts, maxVersion: version });
    const served = watchServer(t, server);
    const port = await listen(server);
    const checkServerIdentity = (host: string, cert: tls.PeerCertificate): Error => {
      t.push(`client checkServerIdentity(${host}, ${cert.subject.CN})`);
      return Object.assign(new Error('not the host we wanted'), { code: 'E_WRONG_HOST' });
    };
    const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, checkServerIdentity });
    await watchClient(t, c);
    t.value('client authorizationError', c.authorizationError);
    await served;
    await close(server);
  });

  differential(`checkServerIdentity's error with rejectUnauthorized: false connects (${version})`, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ...serverOpts, maxVersion: version });
    const served = watchServer(t, server, (s) => s.end());
    const port = await listen(server);
    const checkServerIdentity = (): Error => Object.assign(new Error('not the host we wanted'), { code: 'E_WRONG_HOST' });
    const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, checkServerIdentity, rejectUnauthorized: false });
    c.on('secureConnect', () => {
      t.value('client authorized', c.authorized);
      t.value('client authorizationError', c.authorizationError);
    });
    await watchClient(t, c);
    await served;
    await close(server);
  });

  differential(`an untrusted server with rejectUnauthorized: false connects (${version})`, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ...serverOpts, maxVersion: version });
    const served = watchServer(t, server, (s) => s.end());
    const port = await listen(server);
    const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false });
    c.on('secureConnect', () => {
      t.value('client authorized', c.authorized);
      t.value('client authorizationError', c.authorizationError);
    });
    await watchClient(t, c);
    await served;
    await close(server);
  });

  differential(`a required client certificate that is missing (${version})`, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ...serverOpts, maxVersion: version, requestCert: true, ca });
    const served = watchServer(t, server);
    const port = await listen(server);
    await watchClient(t, C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca }));
    await served;
    await close(server);
  });

  differential(`a required client certificate the server does not trust (${version})`, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ...serverOpts, maxVersion: version, requestCert: true, ca: fixture('other-ca.pem') });
    const served = watchServer(t, server);
    const port = await listen(server);
    await watchClient(t, C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...clientCreds }));
    await served;
    await close(server);
  });
}

differential('a server capped at TLS 1.2 refuses a TLS 1.3-only client', async ({ server: S, client: C }, t) => {
  const server = S.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' });
  const served = watchServer(t, server);
  const port = await listen(server);
  await watchClient(t, C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, minVersion: 'TLSv1.3' }));
  await served;
  await close(server);
});

differential('a server capped at TLS 1.2 serves a client that offers TLS 1.3 too', async ({ server: S, client: C }, t) => {
  const server = S.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' });
  const served = watchServer(t, server, (s) => s.end());
  const port = await listen(server);
  const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
  c.on('secureConnect', () => t.value('client getProtocol()', c.getProtocol()));
  await watchClient(t, c);
  await served;
  await close(server);
});

differential('an unknown PSK identity (TLSv1.2)', async ({ server: S, client: C }, t) => {
  const key = Buffer.alloc(32, 9);
  const server = S.createServer({ ciphers: 'PSK-AES128-GCM-SHA256', maxVersion: 'TLSv1.2', pskCallback: (_s: tls.TLSSocket, id: string) => (id === 'alice' ? key : null) } as tls.TlsOptions);
  const served = watchServer(t, server);
  const port = await listen(server);
  const c = C.connect({ port, host: '127.0.0.1', maxVersion: 'TLSv1.2', ciphers: 'PSK-AES128-GCM-SHA256', checkServerIdentity: () => undefined, pskCallback: () => ({ psk: key, identity: 'mallory' }) });
  await watchClient(t, c);
  await served;
  await close(server);
});

/** A raw TCP client: what it received (hex) and how the connection ended. */
async function raw(t: Trace, port: number, send: (s: net.Socket) => void): Promise<void> {
  const s = net.connect(port, '127.0.0.1', () => send(s));
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => got.push(d));
  s.on('end', () => t.push('raw end'));
  s.on('error', (e: Err) => t.push(`raw error ${e.code}`));
  await closed(s);
  t.push(`raw received ${Buffer.concat(got).toString('hex') || 'nothing'}`);
}

differential('a client that leaves before its ClientHello', async ({ server: S }, t) => {
  const server = S.createServer(serverOpts);
  const served = watchServer(t, server);
  const port = await listen(server);
  await raw(t, port, (s) => s.end());
  await served;
  await close(server);
}, { pairings: 'server' });

differential('a client that leaves in the middle of its ClientHello', async ({ server: S }, t) => {
  const server = S.createServer(serverOpts);
  const served = watchServer(t, server);
  const port = await listen(server);
  await raw(t, port, (s) => s.end(Buffer.from('160301020001', 'hex')));
  await served;
  await close(server);
}, { pairings: 'server' });

for (const [what, bytes] of [
  ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')],
  ['bytes that are not TLS', Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')],
] as const) {
  differential(`${what} as the first record`, async ({ server: S }, t) => {
    const server = S.createServer(serverOpts);
    const served = watchServer(t, server);
    const port = await listen(server);
    await raw(t, port, (s) => s.write(bytes));
    await served;
    await close(server);
  }, { pairings: 'server' });
}

/**
 * A TCP relay between client and server that can inject bytes towards the server (after the
 * handshake: a record the client's TLS did not write).
 */
async function relay(target: number): Promise<{ port: number; inject: (b: Buffer) => void; server: net.Server }> {
  let upstream: net.Socket | undefined;
  const server = net.createServer((down) => {
    const up = net.connect(target, '127.0.0.1');
    upstream = up;
    down.pipe(up);
    up.pipe(down);
    const end = (): void => {
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  const port = await listen(server);
  return { port, server, inject: (b) => upstream?.write(b) };
}

for (const version of VERSIONS) {
  differential(`a record with a bad version after the handshake (${version})`, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ...serverOpts, maxVersion: version });
    let secure: () => void = () => {};
    const serverSecure = new Promise<void>((resolve) => (secure = resolve));
    const served = watchServer(t, server, () => secure());
    const port = await listen(server);
    const r = await relay(port);
    const c = C.connect({ port: r.port, host: '127.0.0.1', servername: 'localhost', ca });
    const watched = watchClient(t, c);
    await serverSecure;
    // An application-data record claiming version 3.1 (TLS 1.0), with 16 bytes of body.
    r.inject(Buffer.concat([Buffer.from('1703010010', 'hex'), Buffer.alloc(16, 1)]));
    await watched;
    await served;
    await close(server);
    await close(r.server);
  });
}
