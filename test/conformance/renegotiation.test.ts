// Differential scenarios: TLS 1.2 renegotiation through Node's API (renegotiate(), the server's
// limit on client-initiated renegotiations), as Node's tls shows it.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import type * as tls from 'tls';
import { closed, close, differential, listen, once, settle, show, Trace } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
const clientCert = { key: fixture('client.key'), cert: fixture('client.pem') };

function watch(t: Trace, who: string, s: tls.TLSSocket): void {
  t.events(who, s, ['secure', 'secureConnect', 'end'], () => '');
  s.on('error', (e: Error) => t.push(`${who} error ${show(e)}`));
  s.on('close', (hadError: boolean) => t.push(`${who} close(hadError=${hadError})`));
}

/** A TLS 1.2 server whose connections echo; resolves the server side of the first one. */
async function pair(S: typeof tls, C: typeof tls, t: Trace, serverExtra: tls.TlsOptions = {}, clientExtra: tls.ConnectionOptions = {}) {
  let resolveServer!: (s: tls.TLSSocket) => void;
  const serverSide = new Promise<tls.TLSSocket>((r) => (resolveServer = r));
  // Client renegotiation is accepted by default, on both stacks.
  const server = S.createServer({ ...serverOpts, maxVersion: 'TLSv1.2', ca, ...serverExtra } as tls.TlsOptions, (s) => {
    watch(t, 'server', s);
    s.on('data', (d: Buffer) => s.write(d));
    resolveServer(s);
  });
  const port = await listen(server);
  const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...clientExtra });
  watch(t, 'client', c);
  await once(c, 'secureConnect');
  const s = await serverSide;
  return { server, c, s };
}

/** Echo round trip: data still flows after what just happened. */
async function echo(c: tls.TLSSocket, t: Trace, text: string): Promise<void> {
  c.write(text);
  const got = await once<Buffer>(c, 'data');
  t.push(`client echo ${got.toString()}`);
}

differential('TLS 1.2: client renegotiate({}, cb): secure events on both sides, callback null', async ({ server: S, client: C }, t) => {
  const { server, c, s } = await pair(S, C, t);
  const r = c.renegotiate({}, (err) => t.push(`client renegotiate callback ${show(err)}`));
  t.value('client renegotiate() returned', r);
  await once(c, 'secure');
  await settle();
  await echo(c, t, 'after');
  c.end();
  await Promise.all([closed(c), closed(s)]);
  await close(server);
});

differential('TLS 1.2: server renegotiate({ requestCert, rejectUnauthorized: false }) asks for the certificate and re-verifies', async ({ server: S, client: C }, t) => {
  const { server, c, s } = await pair(S, C, t, {}, clientCert);
  t.value('server authorized before', s.authorized);
  t.value('server peer CN before', s.getPeerCertificate().subject?.CN);
  await new Promise<void>((resolve) => {
    const r = s.renegotiate({ requestCert: true, rejectUnauthorized: false }, (err) => {
      t.push(`server renegotiate callback ${show(err)}`);
      resolve();
    });
    t.value('server renegotiate() returned', r);
  });
  t.value('server authorized after', s.authorized);
  t.value('server authorizationError after', s.authorizationError);
  t.value('server peer CN after', s.getPeerCertificate().subject?.CN);
  await settle();
  await echo(c, t, 'after');
  c.end();
  await Promise.all([closed(c), closed(s)]);
  await close(server);
});

differential('TLS 1.3: renegotiate() returns false and calls back with an error', async ({ server: S, client: C }, t) => {
  const server = S.createServer(serverOpts, (s) => {
    s.on('error', () => {});
    s.on('data', (d: Buffer) => s.write(d));
  });
  const port = await listen(server);
  const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
  await once(c, 'secureConnect');
  let sync = true;
  const done = new Promise<void>((resolve) => {
    const r = c.renegotiate({}, (err) => {
      t.push(`client callback ${sync ? 'synchronously' : 'later'} with ${(err as { code?: string } | null)?.code}`);
      resolve();
    });
    t.value('client renegotiate() returned', r);
  });
  sync = false;
  await done;
  await echo(c, t, 'still up');
  c.end();
  await closed(c);
  await close(server);
}, { pairings: 'client' });

differential('TLS 1.2: the 4th client renegotiation within the window is ERR_TLS_SESSION_ATTACK', async ({ server: S, client: C }, t) => {
  let serverSide!: tls.TLSSocket;
  const server = S.createServer({ ...serverOpts, maxVersion: 'TLSv1.2', renegotiation: 'accept' } as tls.TlsOptions, (s) => {
    serverSide = s;
    let handshakes = 0;
    s.on('secure', () => handshakes++);
    s.once('error', (e: Error & { code?: string }) => {
      t.push(`server error ${e.code} after ${handshakes} handshakes`);
      s.destroy();
    });
  });
  const port = await listen(server);
  const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
  c.on('error', () => {});
  await once(c, 'secureConnect');
  for (let i = 1; i <= 4 && !c.destroyed; i++) {
    await new Promise<void>((resolve) => {
      c.renegotiate({}, () => resolve());
      c.once('close', () => resolve());
    });
    await settle();
  }
  c.destroy();
  await closed(serverSide);
  await close(server);
}, { pairings: 'server' });

// A client renegotiation whose second flight (ClientKeyExchange, ChangeCipherSpec, Finished) is
// corrupted on the way: the server's renegotiation fails, both sides report it and close.
differential('TLS 1.2: a client renegotiation with a corrupted Finished fails the connection on both sides', async ({ server: S, client: C }, t) => {
  const server = S.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' }, (s) => {
    watch(t, 'server', s);
    s.on('data', (d: Buffer) => s.write(d));
  });
  const port = await listen(server);
  let armed = false;
  let chunks = 0;
  const proxy = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    down.on('data', (d: Buffer) => {
      // After renegotiate(): the first chunk is the ClientHello, the second the flight to break.
      if (armed && ++chunks === 2) d[d.length - 1] ^= 0x01;
      up.write(d);
    });
    up.pipe(down);
    down.on('error', () => {});
    up.on('error', () => {});
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
  });
  const proxyPort = await listen(proxy);
  const c = C.connect({ port: proxyPort, host: '127.0.0.1', servername: 'localhost', ca, maxVersion: 'TLSv1.2' });
  watch(t, 'client', c);
  await once(c, 'secureConnect');
  await echo(c, t, 'before');
  armed = true;
  const failed = once(c, 'error');
  c.renegotiate({}, (err) => t.push(`client renegotiate callback ${err ? 'error' : 'null'}`));
  await failed;
  c.destroy(); // Node's socket stays open after a fatal error (see the README's Differences)
  await closed(c);
  await settle(100);
  await close(server);
  await close(proxy);
}, { pairings: 'server' });
