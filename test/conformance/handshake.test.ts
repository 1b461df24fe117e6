// Differential scenarios: how a handshake fails, in which order each side sees it, and which
// alert goes out, as Node's tls shows it.
import * as fs from 'fs';
import * as path from 'path';
import { closed, close, differential, listen, once, show } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };

differential('an untrusted server certificate fails the client', async ({ server: S, client: C }, t) => {
  const server = S.createServer(serverOpts, () => t.push('server secureConnection'));
  server.on('tlsClientError', (e: Error & { code?: string }) => t.push(`server tlsClientError`));
  const port = await listen(server);
  const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost' });
  c.on('secureConnect', () => t.push('client secureConnect'));
  const err = await once<Error>(c, 'error');
  t.push(`client error ${show(err)}`);
  await closed(c);
  t.value('client authorized after', c.authorized);
  await close(server);
});
