// Differential scenarios: Node's http2 over a TLS socket, as a client session and as a server fed
// the server's sockets, and the TLSSocket prototype that http2 (and other code) checks.
import * as fs from 'fs';
import * as http2 from 'http2';
import * as net from 'net';
import * as path from 'path';
import * as nodeTls from 'tls';
import { TLSSocket as GnutlsSocket } from '../../lib';
import { NODE_TLS_INTERNALS } from '../../lib/socket-base';
import { close, differential, listen, once, Trace } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem'), ca, requestCert: true, ALPNProtocols: ['h2'] };
const clientOpts = { host: '127.0.0.1', servername: 'localhost', ca, key: fixture('client.key'), cert: fixture('client.pem'), ALPNProtocols: ['h2'] };

/**
 * The TLS socket behind an http2 session's socket. Node's own TLS socket is the session's socket;
 * a node-gnutls socket is wrapped by http2 in a JS stream socket whose `stream` it is (see the
 * README's Differences).
 */
function tlsSocketOf(s: unknown): nodeTls.TLSSocket {
  const x = s as nodeTls.TLSSocket & { stream?: nodeTls.TLSSocket };
  return typeof x.getPeerCertificate === 'function' ? x : (x.stream as nodeTls.TLSSocket);
}

function identity(t: Trace, who: string, s: nodeTls.TLSSocket): void {
  t.value(`${who} authorized`, s.authorized);
  t.value(`${who} alpnProtocol`, s.alpnProtocol);
  t.value(`${who} encrypted`, s.encrypted);
  t.value(`${who} peer CN`, s.getPeerCertificate().subject?.CN);
  t.value(`${who} getProtocol()`, s.getProtocol());
}

differential('http2: a client session over the TLS socket, a server fed the TLS sockets', async ({ server: S, client: C }, t) => {
  const h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    const session = stream.session!;
    t.value('server session encrypted', session.encrypted);
    t.value('server session alpnProtocol', session.alpnProtocol);
    t.value('server session socket is the TLS socket', typeof (session.socket as nodeTls.TLSSocket).getPeerCertificate === 'function');
    identity(t, 'server socket', tlsSocketOf(session.socket));
    t.value('server :path', headers[':path']);
    stream.respond({ ':status': 200 });
    stream.end('hello over h2');
  });
  h2.on('request', (req: http2.Http2ServerRequest) => identity(t, 'server(compat) req.socket', tlsSocketOf(req.socket)));
  const server = S.createServer(serverOpts, (s) => h2.emit('connection', s));
  const port = await listen(server);
  let socket: nodeTls.TLSSocket | undefined;
  const session = http2.connect(`https://localhost:${port}`, {
    createConnection: () => {
      socket = C.connect({ ...clientOpts, port });
      socket.on('secureConnect', () => t.push('client socket secureConnect'));
      return socket;
    },
  });
  session.on('connect', () => t.push('client session connect'));
  const req = session.request({ ':path': '/h2' });
  const response = once<http2.IncomingHttpHeaders>(req, 'response');
  const ended = once(req, 'end');
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => (body += d));
  req.end();
  t.value('client :status', (await response)[':status']);
  await ended;
  t.value('client body', body);
  t.value('client session encrypted', session.encrypted);
  t.value('client session alpnProtocol', session.alpnProtocol);
  identity(t, 'client socket', socket!);
  await new Promise<void>((r) => session.close(() => r()));
  h2.close();
  await close(server);
});

differential('instanceof: a socket is a tls.TLSSocket and a net.Socket', async ({ server: S, client: C }, t) => {
  const server = S.createServer(serverOpts, (s) => {
    t.value('server instanceof tls.TLSSocket', s instanceof nodeTls.TLSSocket);
    t.value('server instanceof net.Socket', s instanceof net.Socket);
    t.value('server secureConnecting', (s as { secureConnecting?: boolean }).secureConnecting);
    s.end();
  });
  const port = await listen(server);
  const c = C.connect({ ...clientOpts, port });
  t.value('client instanceof tls.TLSSocket', c instanceof nodeTls.TLSSocket);
  t.value('client secureConnecting (connecting)', (c as { secureConnecting?: boolean }).secureConnecting);
  c.on('secureConnect', () => t.value('client secureConnecting (secureConnect)', (c as { secureConnecting?: boolean }).secureConnecting));
  c.on('secure', () => t.value('client _secureEstablished (secure)', (c as { _secureEstablished?: boolean })._secureEstablished));
  c.resume();
  await once(c, 'close');
  await close(server);
});

test("every method of Node's TLSSocket prototype is node-gnutls's own; Node's handle internals throw", () => {
  const ours = new Set<string>();
  for (let p = GnutlsSocket.prototype; p !== nodeTls.TLSSocket.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of Object.getOwnPropertyNames(p)) ours.add(n);
  }
  const missing = Object.getOwnPropertyNames(nodeTls.TLSSocket.prototype).filter((n) => !ours.has(n));
  expect(missing).toEqual([]);
  const s = new GnutlsSocket(new net.Socket());
  for (const name of NODE_TLS_INTERNALS) {
    expect(() => (s as unknown as Record<string, () => void>)[name]()).toThrow(expect.objectContaining({ code: 'ERR_GNUTLS_UNSUPPORTED' }));
  }
  s.destroy();
});
