// Differential scenarios: which certificate a client sends when the server asks for one, as
// Node's tls shows it from the server's side.
import * as fs from 'fs';
import * as path from 'path';
import { closed, close, differential, listen, once } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
// The chain is given whole: OpenSSL would otherwise complete a lone leaf from `ca` (see the
// README's differences), GnuTLS sends what it is given.
const clientCreds = { key: fixture('client.key'), cert: Buffer.concat([fixture('client.pem'), fixture('ca.pem')]) };

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  // The server's CertificateRequest names other-ca only; the client's certificate is from ca.
  differential(`a client certificate from a CA the server does not list is sent (${version})`, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ...serverOpts, maxVersion: version, requestCert: true, rejectUnauthorized: false, ca: fixture('other-ca.pem') }, (s) => {
      t.value('server authorized', s.authorized);
      t.value('server authorizationError', s.authorizationError);
      t.value('server peer CN', s.getPeerCertificate()?.subject?.CN);
      s.end();
    });
    const port = await listen(server);
    const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: fixture('ca.pem'), ...clientCreds });
    await once(c, 'secureConnect');
    t.push('client secureConnect');
    c.resume();
    await closed(c);
    await close(server);
  }, { pairings: 'client' });

}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  // The server's socket is gone when 'tlsClientError' reports it, and both sides' 'close' say
  // whether an error closed them (under TLS 1.3 the client learns of it after its handshake).
  differential(`a required client certificate that is missing: tlsClientError, then each side's close (${version})`, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ...serverOpts, maxVersion: version, requestCert: true, ca: fixture('ca.pem') }, () => t.push('server secureConnection'));
    let serverClosed: Promise<void> = Promise.resolve();
    server.on('tlsClientError', (e: Error & { code?: string }, s: import('tls').TLSSocket) => {
      t.push(`server tlsClientError ${e.code} destroyed=${s.destroyed} remotePort=${typeof s.remotePort} remoteAddress=${s.remoteAddress}`);
      serverClosed = new Promise((r) => s.on('close', (hadError: boolean) => (t.push(`server close(hadError=${hadError})`), r())));
    });
    const port = await listen(server);
    const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: fixture('ca.pem'), maxVersion: version });
    c.on('secureConnect', () => t.push('client secureConnect'));
    c.on('error', (e: Error & { code?: string }) => t.push(`client error ${e.code} destroyed=${c.destroyed}`));
    c.on('close', (hadError: boolean) => t.push(`client close(hadError=${hadError})`));
    c.resume();
    await closed(c);
    await serverClosed;
    await close(server);
  });
}
