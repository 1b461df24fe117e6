// Differential scenarios: session tickets and resumption, as Node's tls (OpenSSL) shows them.
import * as fs from 'fs';
import * as path from 'path';
import type * as tls from 'tls';
import { closed, close, differential, listen, once, settle, Trace, TlsModule } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };

/** One connection: echo a line, end; records reuse and each 'session' event; returns the last session. */
async function connectOnce(C: TlsModule, port: number, t: Trace, label: string, session?: Buffer): Promise<Buffer | undefined> {
  const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, maxVersion: 'TLSv1.3', minVersion: 'TLSv1.3', session });
  let last: Buffer | undefined;
  c.on('session', (s: Buffer) => {
    t.push(`client ${label} session event`);
    last = s;
  });
  await once(c, 'secureConnect');
  t.value(`client ${label} isSessionReused()`, c.isSessionReused());
  c.write('ping');
  await once(c, 'data');
  await settle(100); // tickets arrive after the handshake
  c.end();
  await closed(c);
  return last;
}

// Our client against Node's server: one 'session' per ticket. (Our server sends GnuTLS's one ticket
// per handshake: see the README's Differences.)
differential('TLS 1.3: two tickets after a full handshake, none after a resumption', async ({ server: S, client: C }, t) => {
  const server = S.createServer(serverOpts, (s: tls.TLSSocket) => {
    t.push(`server secureConnection reused=${s.isSessionReused()}`);
    s.on('data', (d: Buffer) => s.write(d));
    s.on('error', () => {});
  });
  const port = await listen(server);
  const session = await connectOnce(C, port, t, 'full');
  t.value('client got a session', session !== undefined);
  await connectOnce(C, port, t, 'resumed', session);
  await close(server);
}, { pairings: 'client' });

// A TLS 1.2 session from a server that issued a ticket (Node's does unless SSL_OP_NO_TICKET), offered
// to another server: it resumes by the ticket or not at all, and no 'resumeSession' is asked.
differential("TLS 1.2: a client offering a session ticket gets no 'resumeSession' lookup", async ({ server: S }, t) => {
  const nodeTls = await import('tls');
  const issuer = nodeTls.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' }, (s) => s.end());
  const issuerPort = await listen(issuer);
  const first = nodeTls.connect({ port: issuerPort, host: '127.0.0.1', servername: 'localhost', ca, maxVersion: 'TLSv1.2' });
  const session = await new Promise<Buffer>((resolve) => first.once('session', resolve));
  first.resume();
  await closed(first);
  await close(issuer);
  const server = S.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' }, (s) => s.end());
  server.on('resumeSession', (id: Buffer, cb: (err: Error | null, data?: Buffer | null) => void) => {
    t.push('server resumeSession');
    cb(null, null);
  });
  const port = await listen(server);
  const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, maxVersion: 'TLSv1.2', session });
  await once(c, 'secureConnect');
  t.value('client isSessionReused()', c.isSessionReused());
  c.resume();
  await closed(c);
  await close(server);
}, { pairings: 'server' });
