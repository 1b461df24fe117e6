// node-gnutls/https Agent: Node's https client (and ws) over node-gnutls connections, against
// Node's own https server (OpenSSL) and against ours.
import * as https from 'https';
import WebSocket, { WebSocketServer } from 'ws';
import * as gtls from '../../lib';
import { Agent, createServer } from '../../lib/https';
import { VERSIONS, closeServer, fixture, listen, within } from '../helpers';
import { ca, clientCert, get, serverOpts } from './peers';

type AnyServer = https.Server | ReturnType<typeof createServer>;
const servers: AnyServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await closeServer(s);
  }
});
async function serve(server: AnyServer): Promise<number> {
  servers.push(server);
  return listen(server);
}

/** Handler answering with what the server saw of the connection. */
const report: Parameters<typeof https.createServer>[1] = (req, res) => {
  const s = req.socket as import('tls').TLSSocket;
  const cert = s.getPeerCertificate();
  res.end(JSON.stringify({ port: s.remotePort, cn: cert?.subject?.CN ?? null, authorized: s.authorized, protocol: s.getProtocol() }));
};

test("Node's https server: keep-alive reuses one node-gnutls connection for two requests", async () => {
  const port = await serve(https.createServer(serverOpts, report));
  const agent = new Agent({ keepAlive: true, ca });
  const a = await get(port, '/', { agent });
  const b = await get(port, '/', { agent });
  agent.destroy();
  expect(a.socket).toBeInstanceOf(gtls.TLSSocket);
  expect(b.reused).toBe(true);
  expect(b.socket).toBe(a.socket);
  expect(JSON.parse(b.body).port).toBe(JSON.parse(a.body).port);
  expect(JSON.parse(a.body).protocol).toBe('TLSv1.3');
});

test("Node's https server: the agent's client certificate and servername, verified against its ca", async () => {
  const port = await serve(https.createServer({ ...serverOpts, ca, requestCert: true, rejectUnauthorized: true }, report));
  const agent = new Agent({ ...clientCert, ca, servername: 'localhost' });
  const got = await get(port, '/', { agent, servername: undefined });
  expect(JSON.parse(got.body)).toMatchObject({ cn: 'client.node-gnutls', authorized: true });
  const sock = got.socket as gtls.TLSSocket;
  expect(sock.authorized).toBe(true);
  expect(sock.servername).toBe('localhost');
  // Another trust anchor fails verification, as with Node's agent.
  const strict = new Agent({ ...clientCert, ca: fixture('other-ca.pem') });
  await expect(get(port, '/', { agent: strict })).rejects.toMatchObject({ code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' });
});

describe.each(VERSIONS)('%s', (version) => {
  test("Node's https server: the second connection resumes the session the agent cached", async () => {
    const port = await serve(https.createServer({ ...serverOpts, minVersion: version, maxVersion: version }, report));
    const agent = new Agent({ ca }); // no keep-alive: one connection per request
    const first = await get(port, '/', { agent });
    const second = await get(port, '/', { agent });
    const [s1, s2] = [first.socket as gtls.TLSSocket, second.socket as gtls.TLSSocket];
    expect(s2).not.toBe(s1);
    expect(first.resumed).toBe(false);
    expect(second.resumed).toBe(true);
    expect(JSON.parse(second.body).protocol).toBe(version);
    const key = agent.getName({ ...agent.options, host: '127.0.0.1', port, servername: 'localhost' } as object);
    expect(agent._getSession(key)).toBeInstanceOf(Buffer);
  });

  test('our https server: keep-alive, then resumption on a new connection', async () => {
    const port = await serve(createServer({ ...serverOpts, minVersion: version, maxVersion: version }, report));
    const agent = new Agent({ ca, keepAlive: true });
    const a = await get(port, '/', { agent });
    const b = await get(port, '/', { agent });
    expect(b.socket).toBe(a.socket);
    agent.destroy(); // closes the pooled connection; the session stays cached
    const c = await get(port, '/', { agent });
    expect(c.socket).not.toBe(a.socket);
    expect([a.resumed, c.resumed]).toEqual([false, true]);
    expect(JSON.parse(c.body).protocol).toBe(version);
    agent.destroy();
  });
});

test('maxCachedSessions: 0 turns resumption off', async () => {
  const port = await serve(https.createServer(serverOpts, report));
  const agent = new Agent({ ca, maxCachedSessions: 0 });
  await get(port, '/', { agent });
  const second = await get(port, '/', { agent });
  expect(second.resumed).toBe(false);
});

test("getName() keys node-gnutls's own options too: another priority string is another pool", () => {
  const agent = new Agent();
  const base = { host: 'localhost', port: 443 };
  expect(agent.getName({ ...base, priority: 'NORMAL' } as object)).not.toBe(agent.getName(base));
  expect(agent.getName(base)).toBe(new https.Agent().getName(base) + ':::::');
});

test("ws: a WebSocket through our Agent to ws's server on Node's https server", async () => {
  const server = https.createServer(serverOpts);
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo ${String(m)}`)));
  const port = await serve(server);
  const agent = new Agent({ ca, servername: 'localhost' });
  const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { agent });
  const reply = new Promise<string>((resolve, reject) => {
    ws.on('open', () => ws.send('over gnutls'));
    ws.on('message', (m) => resolve(String(m)));
    ws.on('error', reject);
  });
  expect(await within(reply, 10000, 'the echo')).toBe('echo over gnutls');
  const sock = (ws as unknown as { _socket: unknown })._socket;
  expect(sock).toBeInstanceOf(gtls.TLSSocket);
  ws.close();
  await new Promise((r) => ws.once('close', r));
  wss.close();
});

test("an IP host without servername: no SNI, and the certificate is checked against the IP, as by Node's agent", async () => {
  const seen: unknown[] = [];
  const codeOf = async (cert: { key: Buffer; cert: Buffer }, agent: https.Agent): Promise<unknown> => {
    const server = https.createServer(cert, report);
    server.on('secureConnection', (s) => seen.push((s as unknown as { servername: unknown }).servername));
    const port = await serve(server);
    return get(port, '/', { agent, servername: undefined }).then(
      () => 'ok',
      (err: Error & { code?: string }) => err.code,
    );
  };
  const wrong = { key: fixture('wronghost.key'), cert: fixture('wronghost.pem') };
  // server.pem names IP 127.0.0.1; wronghost.pem does not.
  const results = [
    await codeOf(serverOpts, new Agent({ ca })),
    await codeOf(serverOpts, new https.Agent({ ca })),
    await codeOf(wrong, new Agent({ ca })),
    await codeOf(wrong, new https.Agent({ ca })),
  ];
  expect(results).toEqual(['ok', 'ok', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_TLS_CERT_ALTNAME_INVALID']);
  expect(seen).toEqual([false, false]); // the rejected handshakes end before 'secureConnection'
});

test("'keylog' on the agent: NSS key-log lines of its connections, as Node's agent emits them", async () => {
  const port = await serve(https.createServer(serverOpts, report));
  const agent = new Agent({ ca });
  const lines: string[] = [];
  let from: unknown;
  agent.on('keylog', (line: Buffer, socket: unknown) => {
    lines.push(line.toString());
    from = socket;
  });
  const got = await get(port, '/', { agent });
  expect(from).toBe(got.socket);
  expect(lines.some((l) => l.startsWith('CLIENT_HANDSHAKE_TRAFFIC_SECRET '))).toBe(true);
  expect(lines.some((l) => l.startsWith('CLIENT_TRAFFIC_SECRET_0 '))).toBe(true);
});
