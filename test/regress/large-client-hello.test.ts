// A ClientHello larger than one record (Node's client offering a 50 KB ALPN list, so the message
// spans four records) is served as Node's tls serves it: by our server plain, with an SNICallback
// (the ClientHello is held and replayed) and with a resumeSession listener (it is looked up first),
// under TLS 1.2 and 1.3. GnuTLS reads one record per call while it assembles such a message.
import * as nodeTls from 'tls';
import * as gtls from '../../lib';
import { VERSIONS, Version, closeServer, fixture, listen } from '../helpers';

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
