// Differential scenarios: a plain connection from connect to close, as Node's tls shows it.
import * as fs from 'fs';
import * as path from 'path';
import type * as tls from 'tls';
import { closed, close, differential, listen, once, Trace } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };

/** The state a user reads off a secure socket. */
function state(t: Trace, who: string, s: tls.TLSSocket): void {
  t.value(`${who} authorized`, s.authorized);
  t.value(`${who} authorizationError`, s.authorizationError);
  t.value(`${who} encrypted`, s.encrypted);
  t.value(`${who} getProtocol()`, s.getProtocol());
  t.value(`${who} alpnProtocol`, s.alpnProtocol);
  t.value(`${who} isSessionReused()`, s.isSessionReused());
  t.value(`${who} getPeerCertificate().subject.CN`, s.getPeerCertificate()?.subject?.CN);
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  differential(`connect, echo, end (${version})`, async ({ server: S, client: C }, t) => {
    let serverClosed: Promise<void> = Promise.resolve();
    const server = S.createServer({ ...serverOpts, maxVersion: version, ALPNProtocols: ['h2', 'http/1.1'] }, (s) => {
      t.events('server', s, ['end', 'close'], (n, a) => (n === 'close' ? `hadError=${a[0]}` : ''));
      serverClosed = closed(s);
      state(t, 'server', s);
      t.value('server servername', (s as tls.TLSSocket & { servername?: string }).servername);
      s.on('data', (d: Buffer) => {
        t.push(`server data ${d.length}`);
        s.end(d);
      });
    });
    const port = await listen(server);
    const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] });
    t.events('client', c, ['secureConnect', 'end', 'finish'], () => '');
    c.on('close', (hadError: boolean) => t.push(`client close(hadError=${hadError})`));
    await once(c, 'secureConnect');
    state(t, 'client', c);
    let got = 0;
    c.on('data', (d: Buffer) => (got += d.length));
    c.end(Buffer.alloc(3000, 7));
    await closed(c);
    t.push(`client received ${got}`);
    await serverClosed;
    await close(server);
  });
}
