// node-gnutls/https undiciConnector(): undici's Client/Agent and fetch over node-gnutls
// connections, HTTP/1.1 and HTTP/2, against Node's https and http2 servers and against ours.
import * as http2 from 'http2';
import * as https from 'https';
import * as net from 'net';
import { Agent, Client, fetch } from 'undici';
import * as gtls from '../../lib';
import { createServer, undiciConnector, UndiciConnector } from '../../lib/https';
import { closeServer, listen } from '../helpers';
import { ca, clientCert, serverOpts } from './peers';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});
function closing<T extends { close(): Promise<unknown> }>(d: T): T {
  closers.push(() => d.close());
  return d;
}
async function serve(server: net.Server & { closeAllConnections?: () => void }): Promise<number> {
  closers.push(async () => {
    server.closeAllConnections?.();
    await closeServer(server);
  });
  return listen(server);
}

/** A connector that also records the sockets it opens. */
function recording(options: Parameters<typeof undiciConnector>[0]): { connect: UndiciConnector; sockets: gtls.TLSSocket[] } {
  const inner = undiciConnector(options);
  const sockets: gtls.TLSSocket[] = [];
  const connect: UndiciConnector = (params, cb) => {
    const s = inner(params, cb);
    sockets.push(s as gtls.TLSSocket);
    return s;
  };
  return { connect, sockets };
}

/** What the handlers report. */
type Seen = { v: string; port: number; alpn: string | false; cn: string | null };

const h1 = (req: { socket: net.Socket; httpVersion: string }, res: { end(s: string): void }): void => {
  const s = req.socket as import('tls').TLSSocket;
  const cert = s.getPeerCertificate();
  res.end(JSON.stringify({ v: req.httpVersion, port: s.remotePort, alpn: s.alpnProtocol, cn: cert?.subject?.CN ?? null }));
};

test("fetch over HTTP/1.1 to Node's https server: keep-alive, servername, ca and client certificate", async () => {
  const port = await serve(https.createServer({ ...serverOpts, ca, requestCert: true, rejectUnauthorized: true }, h1));
  const { connect, sockets } = recording({ ca, servername: 'localhost', ...clientCert });
  const client = closing(new Client(`https://127.0.0.1:${port}`, { connect }));
  const a = (await (await fetch(`https://127.0.0.1:${port}/a`, { dispatcher: client })).json()) as Seen;
  const b = (await (await fetch(`https://127.0.0.1:${port}/b`, { dispatcher: client })).json()) as Seen;
  expect(a).toEqual({ v: '1.1', port: a.port, alpn: 'http/1.1', cn: 'client.node-gnutls' });
  expect(b.port).toBe(a.port);
  expect(sockets).toHaveLength(1);
  expect(sockets[0]).toBeInstanceOf(gtls.TLSSocket);
  expect(sockets[0].authorized).toBe(true);
});

test("fetch with allowH2 to Node's http2 server: h2 by ALPN, two requests on one session", async () => {
  const server = http2.createSecureServer({ ...serverOpts, allowHTTP1: true }, (req, res) => {
    res.end(JSON.stringify({ v: req.httpVersion, alpn: req.stream.session?.alpnProtocol, port: req.socket.remotePort }));
  });
  const port = await serve(server);
  const { connect, sockets } = recording({ ca, servername: 'localhost', allowH2: true });
  const dispatcher = closing(new Agent({ connect }));
  const url = `https://127.0.0.1:${port}/`;
  const a = (await (await fetch(url, { dispatcher })).json()) as Seen;
  const b = (await (await fetch(url, { dispatcher })).json()) as Seen;
  expect(a).toEqual({ v: '2.0', alpn: 'h2', port: a.port });
  expect(b.port).toBe(a.port);
  expect(sockets).toHaveLength(1);
  expect(sockets[0].alpnProtocol).toBe('h2');
});

test("without allowH2 only http/1.1 is offered: Node's http2 server (allowHTTP1) answers in HTTP/1.1", async () => {
  const server = http2.createSecureServer({ ...serverOpts, allowHTTP1: true }, (req, res) => res.end(req.httpVersion));
  const port = await serve(server);
  const dispatcher = closing(new Agent({ connect: undiciConnector({ ca, servername: 'localhost' }) }));
  expect(await (await fetch(`https://127.0.0.1:${port}/`, { dispatcher })).text()).toBe('1.1');
});

test('fetch over HTTP/1.1 to our https server; a second Client resumes the cached session', async () => {
  const port = await serve(createServer(serverOpts, h1));
  const { connect, sockets } = recording({ ca, servername: 'localhost', allowH2: true });
  const url = `https://127.0.0.1:${port}/`;
  const first = closing(new Client(url, { connect }));
  const a = (await (await fetch(url, { dispatcher: first })).json()) as Seen;
  const b = (await (await fetch(url, { dispatcher: first })).json()) as Seen;
  expect(a).toEqual({ v: '1.1', port: a.port, alpn: 'http/1.1', cn: null }); // our server offers http/1.1 only
  expect(b.port).toBe(a.port);
  const resumedFirst = sockets[0].isSessionReused();
  const second = closing(new Client(url, { connect }));
  await (await fetch(url, { dispatcher: second })).text();
  expect(sockets).toHaveLength(2);
  expect([resumedFirst, sockets[1].isSessionReused()]).toEqual([false, true]);
});

test("a server that never answers the handshake: undici's connect timeout error", async () => {
  const silent = net.createServer(() => {}); // accepts TCP, says nothing
  const held: net.Socket[] = [];
  silent.on('connection', (s) => held.push(s));
  const port = await listen(silent);
  closers.push(async () => {
    for (const s of held) s.destroy();
    await closeServer(silent);
  });
  const client = closing(new Client(`https://127.0.0.1:${port}`, { connect: undiciConnector({ ca, servername: 'localhost', timeout: 300 }) }));
  await expect(client.request({ path: '/', method: 'GET' })).rejects.toMatchObject({ code: 'UND_ERR_CONNECT_TIMEOUT' });
});

test('a server certificate the ca does not vouch for fails the fetch with the verification error', async () => {
  const port = await serve(https.createServer(serverOpts, h1));
  const dispatcher = closing(new Agent({ connect: undiciConnector({ servername: 'localhost' }) })); // system CAs only
  const err = await fetch(`https://127.0.0.1:${port}/`, { dispatcher }).catch((e: Error & { cause?: { code?: string } }) => e);
  expect((err as Error & { cause?: { code?: string } }).cause?.code).toBe('UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
});

test("Node's http2 client over a node-gnutls connection (createConnection), to Node's http2 server", async () => {
  const server = http2.createSecureServer(serverOpts, (req, res) => res.end(`${req.httpVersion} ${req.stream.session?.alpnProtocol}`));
  const port = await serve(server);
  const session = http2.connect(`https://localhost:${port}`, {
    createConnection: () => gtls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca, ALPNProtocols: ['h2'] }) as unknown as import('stream').Duplex,
  });
  closers.push(() => new Promise<void>((resolve) => session.close(() => resolve())));
  const body = await new Promise<string>((resolve, reject) => {
    const req = session.request({ ':path': '/' });
    let b = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (b += d));
    req.on('end', () => resolve(b));
    req.on('error', reject);
  });
  expect(body).toBe('2.0 h2');
  // Node's http2 wraps a socket without a native handle in a JS stream and reads `encrypted` and
  // `alpnProtocol` from the wrapper: the client session reports h2c, whatever the socket negotiated.
  expect([session.encrypted, session.alpnProtocol]).toEqual([false, 'h2c']);
});

test("fetch with allowH2 to our TLS server carrying Node's http2 server layer: h2 on GnuTLS at both ends", async () => {
  const h2 = http2.createServer((req, res) => res.end(`${req.httpVersion} ${(req.socket as unknown as { alpnProtocol?: string }).alpnProtocol ?? '-'}`));
  const server = gtls.createServer({ ...serverOpts, ALPNProtocols: ['h2', 'http/1.1'] }, (socket) => h2.emit('connection', socket));
  const port = await serve(server);
  const { connect, sockets } = recording({ ca, servername: 'localhost', allowH2: true });
  const dispatcher = closing(new Agent({ connect }));
  const url = `https://127.0.0.1:${port}/`;
  expect(await (await fetch(url, { dispatcher })).text()).toMatch(/^2\.0 /);
  expect(await (await fetch(url, { dispatcher })).text()).toMatch(/^2\.0 /);
  expect(sockets).toHaveLength(1);
  expect(sockets[0].alpnProtocol).toBe('h2');
});

test('a server that closes before the handshake: the connector calls back once, with ECONNRESET', async () => {
  const rude = net.createServer((s) => s.resume().end()); // reads, so it sees the client's FIN and closes
  const port = await listen(rude);
  closers.push(() => closeServer(rude));
  const calls: Array<string | undefined> = [];
  await new Promise<void>((resolve) => {
    undiciConnector({ timeout: 5000 })({ hostname: '127.0.0.1', host: 'localhost', protocol: 'https:', port }, (...args) => {
      calls.push((args[0] as (Error & { code?: string }) | null)?.code);
      setTimeout(resolve, 50);
    });
  });
  expect(calls).toEqual(['ECONNRESET']);
});
