// Differential scenarios: the chain a peer sends for a lone leaf in `cert`. OpenSSL completes it
// with the issuers it finds in `ca` (up to and including the root); the peer's verification result
// and the chain it sees show it.
import * as fs from 'fs';
import * as path from 'path';
import type * as tls from 'tls';
import { closed, close, differential, listen, once, Trace } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));

/** The subjects of a peer's chain as it arrived (getPeerCertificate(true), issuer by issuer). */
function chain(t: Trace, who: string, s: tls.TLSSocket): void {
  const names: string[] = [];
  let c: tls.DetailedPeerCertificate | undefined = s.getPeerCertificate(true);
  for (let i = 0; c && c.subject && i < 5; i++) {
    names.push(c.subject.CN);
    if (c.issuerCertificate === c) break;
    c = c.issuerCertificate;
  }
  t.value(`${who} peer chain`, names);
  t.value(`${who} authorized`, s.authorized);
  t.value(`${who} authorizationError`, s.authorizationError);
}

const cases: Array<{ name: string; ca: Buffer[]; trust: string }> = [
  { name: 'the intermediate and the root in ca: the whole chain is sent', ca: [fixture('int.pem'), fixture('ca.pem')], trust: 'ca.pem' },
  { name: 'only the root in ca: the leaf alone is sent', ca: [fixture('ca.pem')], trust: 'ca.pem' },
  { name: 'a peer trusting another root sees the root that was sent', ca: [fixture('int.pem'), fixture('ca.pem')], trust: 'other-ca.pem' },
];

for (const c of cases) {
  differential(`served chain: a server's lone leaf, ${c.name}`, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ key: fixture('server.key'), cert: fixture('server.pem'), ca: c.ca }, (s) => s.end());
    const port = await listen(server);
    const sock = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: fixture(c.trust), rejectUnauthorized: false });
    await once(sock, 'secureConnect');
    chain(t, 'client', sock);
    sock.resume();
    await closed(sock);
    await close(server);
  }, { pairings: 'server' });
}

differential("served chain: a client's lone leaf is completed from its ca", async ({ server: S, client: C }, t) => {
  const server = S.createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem'), requestCert: true, rejectUnauthorized: false, ca: fixture('other-ca.pem') }, (s) => {
    chain(t, 'server', s);
    s.end();
  });
  const port = await listen(server);
  const sock = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: fixture('ca.pem'), key: fixture('client.key'), cert: fixture('client.pem') });
  await once(sock, 'secureConnect');
  sock.resume();
  await closed(sock);
  await close(server);
}, { pairings: 'client' });
