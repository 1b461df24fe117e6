// Differential scenarios: the server's ClientHello callbacks (SNICallback, ALPNCallback,
// OCSPRequest) when the handshake goes through a HelloRetryRequest. A server that prefers its own
// group order asks a client whose key share is another group for one (GnuTLS does; OpenSSL takes
// the share), and the callbacks must still see the ClientHello and decide the handshake.
import * as fs from 'fs';
import * as path from 'path';
import type * as tls from 'tls';
import { close, differential, listen, once } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const ca = fixture('ca.pem');

differential('hello retry: SNICallback, ALPNCallback and OCSPRequest decide a handshake a HelloRetryRequest interrupts', async ({ server: S, client: C }, t) => {
  const other = S.createSecureContext({ key: fixture('a.example.key'), cert: fixture('a.example.pem') });
  const server = S.createServer(
    {
      key: fixture('server.key'),
      cert: fixture('server-chain.pem'),
      ecdhCurve: 'X25519:P-384',
      SNICallback: (name, cb) => {
        t.push(`server SNICallback ${name}`);
        cb(null, name === 'a.example.com' ? other : undefined);
      },
      ALPNCallback: ({ servername, protocols }) => {
        t.push(`server ALPNCallback ${servername} ${protocols.join(',')}`);
        return protocols[1];
      },
    },
    (s) => {
      t.value('server alpnProtocol', s.alpnProtocol);
      t.value('server servername', (s as tls.TLSSocket & { servername?: string }).servername);
      s.end();
    },
  );
  server.on('OCSPRequest', (_cert: Buffer, _issuer: Buffer, cb: (err: Error | null, resp?: Buffer) => void) => {
    t.push('server OCSPRequest');
    cb(null);
  });
  const port = await listen(server);
  // The client's only key share is P-384 (its first group).
  const c = C.connect({ port, host: '127.0.0.1', servername: 'a.example.com', ALPNProtocols: ['x', 'y'], ecdhCurve: 'P-384:X25519', requestOCSP: true, ca, rejectUnauthorized: false } as tls.ConnectionOptions);
  c.on('secureConnect', () => {
    t.value('client alpnProtocol', c.alpnProtocol);
    t.value('client peer CN', c.getPeerCertificate().subject.CN);
    t.value('client getProtocol()', c.getProtocol());
  });
  c.resume();
  await once(c, 'close');
  await close(server);
});
