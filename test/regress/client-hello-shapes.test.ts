// A ClientHello larger than one record (Node's client offering a 50 KB ALPN list, so the message
// spans four records) is served as Node's tls serves it: by our server plain, with an SNICallback
// (the ClientHello is held and replayed) and with a resumeSession listener (it is looked up first),
// under TLS 1.2 and 1.3. GnuTLS reads one record per call while it assembles such a message.
// Then a ClientHello re-fragmented into records of 1, 7 and 200 bytes, and one with empty records
// around it: our server answers as gnutls-serv does for the same bytes (what the ServerHello
// selected, or the alert, and whether the connection ends). test/robustness has many more shapes.
import * as net from 'net';
import * as nodeTls from 'tls';
import * as gtls from '../../lib';
import { VERSIONS, Version, closeServer, fixture, fixturePath, gnutlsServ, listen, stopPeer } from '../helpers';
import { emptyRecord, exchange as rawExchange, refragment } from '../robustness/tls-builder';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem'), ALPNProtocols: ['h2'] };
const hugeAlpn = [...Array.from({ length: 250 }, (_, i) => `${'x'.repeat(200)}${i}`), 'h2'];

type Mode = 'plain' | 'SNICallback' | 'resumeSession';

function ourServer(mode: Mode): gtls.Server {
  const server = gtls.createServer({
    ...serverOpts,
    ...(mode === 'SNICallback' ? { SNICallback: (_name: string, cb: (err: Error | null) => void) => cb(null) } : {}),
  });
  if (mode === 'resumeSession') server.on('resumeSession', (_id, cb) => cb(null, null));
  return server;
}

/** A Node client with the huge ClientHello: what it negotiated and what the server answered. */
async function exchange(server: nodeTls.Server | gtls.Server, v: Version): Promise<{ alpn: string | false | null; got: string }> {
  server.on('secureConnection', (s: nodeTls.TLSSocket | gtls.TLSSocket) => s.end('served'));
  const port = await listen(server);
  try {
    return await new Promise((resolve, reject) => {
      const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ALPNProtocols: hugeAlpn, minVersion: v, maxVersion: v });
      let got = '';
      c.on('data', (d: Buffer) => (got += d.toString()));
      c.on('end', () => resolve({ alpn: c.alpnProtocol, got }));
      c.on('error', reject);
      setTimeout(() => reject(new Error('stalled')), 5000).unref();
    });
  } finally {
    await closeServer(server);
  }
}

describe.each(VERSIONS)('a ClientHello over several records (%s)', (v) => {
  test.each(['plain', 'SNICallback', 'resumeSession'] as Mode[])('our server, %s: served as by Node\'s tls', async (mode) => {
    const reference = await exchange(nodeTls.createServer(serverOpts), v);
    expect(reference).toEqual({ alpn: 'h2', got: 'served' });
    expect(await exchange(ourServer(mode), v)).toEqual(reference);
  });
});

/** The first ClientHello record a Node client sends (TLS 1.2 and 1.3 offered). */
function captureHello(): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = net.createServer((c) => {
      let got = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) {
          resolve(got.subarray(0, 5 + got.readUInt16BE(3)));
          c.destroy();
          server.close();
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const c = nodeTls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'localhost' });
      c.on('error', () => {});
    });
  });
}

/** The first answer to `bytes` and whether the server closed (test/robustness/tls-builder). */
async function firstAnswer(port: number, bytes: Buffer): Promise<string> {
  const a = await rawExchange(port, bytes, { waitMs: 800 });
  return `${a.first}; ${a.then}`;
}

/** The same bytes to gnutls-serv and to our server: both answers. */
async function againstGnutlsServ(bytes: Buffer): Promise<{ reference: string; ours: string }> {
  const ref = await gnutlsServ(['--x509keyfile', fixturePath('server.key'), '--x509certfile', fixturePath('server-chain.pem')]);
  let reference: string;
  try {
    reference = await firstAnswer(ref.port, bytes);
  } finally {
    await stopPeer(ref);
  }
  const server = gtls.createServer(serverOpts);
  server.on('tlsClientError', () => {});
  const port = await listen(server);
  try {
    return { reference, ours: await firstAnswer(port, bytes) };
  } finally {
    await closeServer(server);
  }
}

describe('a ClientHello fragmented over many records, or with empty records around it', () => {
  test.each([1, 7, 200])('records of %i bytes: answered as gnutls-serv answers', async (size) => {
    const { reference, ours } = await againstGnutlsServ(refragment(await captureHello(), size));
    expect(reference).toMatch(/^ServerHello TLS1\.3 /);
    expect(ours).toBe(reference);
  });

  const empty = emptyRecord;
  test.each([
    ['an empty application-data record before it', (h: Buffer) => Buffer.concat([empty(23), h])],
    ['an empty application-data record after it', (h: Buffer) => Buffer.concat([h, empty(23)])],
    ['an empty handshake record before it', (h: Buffer) => Buffer.concat([empty(22), h])],
    ['a ChangeCipherSpec before it', (h: Buffer) => Buffer.concat([Buffer.from([20, 3, 3, 0, 1, 1]), h])],
  ])('%s: answered as gnutls-serv answers', async (_name, shape) => {
    const { reference, ours } = await againstGnutlsServ(shape(await captureHello()));
    expect(ours).toBe(reference);
  });
});
