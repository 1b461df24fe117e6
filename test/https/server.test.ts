// node-gnutls/https createServer(): Node's HTTP/1.1 server layer on our TLS server, against real
// clients: Node's https (OpenSSL), undici (with Node's tls), ws, and gnutls-cli.
import * as https from 'https';
import * as net from 'net';
import * as nodeTls from 'tls';
import { Client } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import * as gtls from '../../lib';
import { createServer, Server } from '../../lib/https';
import { closeServer, fixture, fixturePath, listen, once, spawnPeer, within } from '../helpers';
import { ca, clientCert, get, serverOpts } from './peers';

/** Listens on loopback; after the test, every connection is destroyed and the server closed. */
async function serve(server: Server): Promise<number> {
  const port = await listen(server);
  afterCleanup.push(async () => {
    server.closeAllConnections();
    await closeServer(server);
  });
  return port;
}
const afterCleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (afterCleanup.length) await afterCleanup.pop()!();
});

/** What the handler saw of the connection. */
function describeSocket(s: gtls.TLSSocket): Record<string, unknown> {
  return { port: s.remotePort, ours: s instanceof gtls.TLSSocket, alpn: s.alpnProtocol, protocol: s.getProtocol() };
}

test('Node https client, keep-alive: two requests on one connection; req.socket is our TLSSocket', async () => {
  const server = createServer(serverOpts, (req, res) => res.end(JSON.stringify({ url: req.url, ...describeSocket(req.socket) })));
  const port = await serve(server);
  const agent = new https.Agent({ keepAlive: true, ca });
  const a = await get(port, '/one', { agent });
  const b = await get(port, '/two', { agent });
  agent.destroy();
  const [sa, sb] = [JSON.parse(a.body), JSON.parse(b.body)];
  // Node's https client offers no ALPN.
  expect(sa).toEqual({ url: '/one', port: sa.port, ours: true, alpn: false, protocol: 'TLSv1.3' });
  expect(sb.url).toBe('/two');
  expect(sb.port).toBe(sa.port);
  expect(b.reused).toBe(true);
  expect(a.socket).toBe(b.socket);
});

test('client certificate: the handler reads it from req.socket.getPeerCertificate()', async () => {
  const server = createServer({ ...serverOpts, ca, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const cert = req.socket.getPeerCertificate();
    res.end(JSON.stringify({ cn: cert.subject?.CN ?? null, authorized: req.socket.authorized, error: req.socket.authorizationError }));
  });
  const port = await serve(server);
  const withCert = await get(port, '/', { ca, ...clientCert, agent: false });
  expect(JSON.parse(withCert.body)).toEqual({ cn: 'client.node-gnutls', authorized: true, error: null });
  const without = await get(port, '/', { ca, agent: false });
  expect(JSON.parse(without.body)).toEqual({ cn: null, authorized: false, error: expect.any(String) });
});

test("TLS 1.3: reauth() from a handler, answered by gnutls-cli's post-handshake auth", async () => {
  const server = createServer({ ...serverOpts, ca }, async (req, res) => {
    const before = req.socket.authorized;
    try {
      const cert = await req.socket.reauth({ require: true, timeout: 5000 });
      res.end(`before=${before} after=${req.socket.authorized} cn=${'subject' in cert ? cert.subject.CN : '-'} peer=${req.socket.getPeerCertificate().subject?.CN}\n`);
    } catch (err) {
      res.statusCode = 403;
      res.end(`reauth failed: ${(err as Error).message}\n`);
    }
  });
  const port = await serve(server);
  const cli = spawnPeer('gnutls-cli', [
    '-p', String(port), '127.0.0.1', '--x509cafile', fixturePath('ca.pem'), '--sni-hostname', 'localhost',
    '--priority', 'NORMAL:-VERS-ALL:+VERS-TLS1.3', '--post-handshake-auth',
    '--x509certfile', fixturePath('client.pem'), '--x509keyfile', fixturePath('client.key'),
  ]);
  await cli.waitFor(/- Simple Client Mode/);
  cli.proc.stdin!.write('GET /private HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  const line = await cli.waitFor(/before=\w+ after=\w+ cn=\S+ peer=\S+(?=\r?\n)/); // the whole line
  expect(line).toBe('before=false after=true cn=client.node-gnutls peer=client.node-gnutls');
  expect(cli.out()).toMatch(/HTTP\/1\.1 200 OK/);
  await cli.kill();
});

test("TLS 1.2: reauth() from a handler re-handshakes; Node's client sends its certificate", async () => {
  const server = createServer({ ...serverOpts, ca, maxVersion: 'TLSv1.2' }, async (req, res) => {
    const cert = await req.socket.reauth({ require: true, timeout: 5000 });
    res.end(`${req.socket.getProtocol()} ${req.socket.authorized} ${'subject' in cert ? cert.subject.CN : '-'}`);
  });
  const port = await serve(server);
  const got = await get(port, '/', { ca, ...clientCert, agent: false });
  expect(got.body).toBe('TLSv1.2 true client.node-gnutls');
});

test("undici's own (Node tls) connector: two requests over one keep-alive connection", async () => {
  const server = createServer(serverOpts, (req, res) => res.end(`${req.socket.remotePort} ${req.socket.alpnProtocol}`));
  const port = await serve(server);
  const client = new Client(`https://127.0.0.1:${port}`, { connect: { ca, servername: 'localhost' } });
  const first = await (await client.request({ path: '/', method: 'GET' })).body.text();
  const second = await (await client.request({ path: '/', method: 'GET' })).body.text();
  await client.close();
  expect(second).toBe(first);
  expect(first).toMatch(/^\d+ http\/1\.1$/); // undici offers http/1.1 by ALPN; the server's default list has it
});

test("ws: a WebSocket server on ours, Node's ws client (Node tls) echoes both ways", async () => {
  const server = createServer(serverOpts);
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    ws.send(`hello over ${(req.socket as gtls.TLSSocket).getProtocol()}`);
    ws.on('message', (m) => ws.send(`echo ${String(m)}`));
  });
  const port = await serve(server);
  const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { ca, servername: 'localhost' } as WebSocket.ClientOptions); // TLS options go to Node's tls.connect
  const messages: string[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ws.on('message', (m) => {
      messages.push(String(m));
      if (messages.length === 1) ws.send('ping');
      else ws.close();
    });
    ws.on('close', () => resolve());
    ws.on('error', reject);
  });
  await within(done, 10000, 'the WebSocket exchange');
  expect(messages).toEqual(['hello over TLSv1.3', 'echo ping']);
  wss.close();
});

test("a failed handshake is a 'clientError' with the TLS error (Node's https.Server does the same)", async () => {
  const server = createServer({ ...serverOpts, ca, requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end('no'));
  const port = await serve(server);
  const clientError = once<Error & { code?: string }>(server, 'clientError');
  await expect(get(port, '/', { ca, agent: false })).rejects.toThrow();
  const err = await clientError;
  expect(err.code).toBe('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
});

test('keepAliveTimeout closes an idle connection; setTimeout() reports idle connections to its callback', async () => {
  const server = createServer(serverOpts, (_req, res) => res.end('ok'));
  server.keepAliveTimeout = 300;
  expect(server.keepAliveTimeout).toBe(300);
  const port = await serve(server);
  // A plain Node tls client: it keeps the connection open until the server closes it.
  const c = nodeTls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca });
  await once(c, 'secureConnect');
  c.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  const response = once<Buffer>(c, 'data');
  expect(String(await response)).toMatch(/^HTTP\/1\.1 200 OK[^]*Keep-Alive: timeout=0[^]*ok$/);
  const answered = Date.now();
  await within(once(c, 'close'), 5000, 'the server closing the idle connection');
  expect(Date.now() - answered).toBeGreaterThanOrEqual(250);

  const quiet = createServer(serverOpts, () => {}); // never answers
  const timedOut = new Promise<gtls.TLSSocket>((resolve) => quiet.setTimeout(300, (s) => resolve(s)));
  expect(quiet.timeout).toBe(300);
  const quietPort = await serve(quiet);
  const req = https.get({ host: '127.0.0.1', port: quietPort, servername: 'localhost', ca, agent: false });
  req.on('error', () => {});
  const s = await within(timedOut, 5000, "the server's 'timeout'");
  expect(s).toBeInstanceOf(gtls.TLSSocket);
  s.destroy();
});

test('closeAllConnections() destroys a connection with a request in progress', async () => {
  const server = createServer(serverOpts, () => {}); // never answers
  const port = await serve(server);
  const requested = once(server, 'request');
  const failed = get(port, '/', { ca, agent: false });
  await requested;
  server.closeAllConnections();
  await expect(failed).rejects.toThrow(/socket hang up|ECONNRESET/);
});

test('addContext(): SNI picks the certificate, as on a TLS server', async () => {
  const server = createServer(serverOpts, (req, res) => res.end(String(req.socket.servername)));
  server.addContext('a.example.com', { key: fixture('a.example.key'), cert: fixture('a.example.pem') });
  const port = await serve(server);
  let cn: string | undefined;
  const got = await new Promise<string>((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, servername: 'a.example.com', rejectUnauthorized: false, agent: false }, (res) => {
      cn = (res.socket as import('tls').TLSSocket).getPeerCertificate().subject.CN;
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
  expect(got).toBe('a.example.com');
  expect(cn).toBe('a.example.com');
});

test('close() stops listening and closes idle keep-alive connections', async () => {
  const server = createServer(serverOpts, (_req, res) => res.end('ok'));
  const port = await listen(server);
  const agent = new https.Agent({ keepAlive: true, ca });
  const got = await get(port, '/', { agent });
  const closed = once(got.socket, 'close');
  await within(new Promise<void>((resolve) => server.close(() => resolve())), 5000, 'server.close()');
  await within(closed, 5000, 'the idle connection to close');
  agent.destroy();
  await expect(new Promise((resolve, reject) => net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject))).rejects.toThrow(/ECONNREFUSED/);
});

test("'checkContinue': without a listener the HTTP layer answers 100 itself; with one, the listener decides", async () => {
  const server = createServer(serverOpts, (req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => res.end(`got ${body}`));
  });
  const port = await serve(server);
  const post = (): Promise<{ status: number | undefined; body: string; continued: boolean }> =>
    new Promise((resolve, reject) => {
      let continued = false;
      const req = https.request({ host: '127.0.0.1', port, servername: 'localhost', ca, agent: false, method: 'POST', headers: { Expect: '100-continue' } });
      req.on('continue', () => {
        continued = true;
        req.end('payload');
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body, continued }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
  expect(await post()).toEqual({ status: 200, body: 'got payload', continued: true });
  server.on('checkContinue', (_req, res) => {
    res.statusCode = 417;
    res.end('no thanks');
  });
  expect(await post()).toEqual({ status: 417, body: 'no thanks', continued: false });
  server.removeAllListeners('checkContinue'); // back to the HTTP layer's default
  expect(await post()).toEqual({ status: 200, body: 'got payload', continued: true });
});
