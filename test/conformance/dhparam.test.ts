// Differential scenarios: Node's `dhparam` option. Without it (or with parameters that do not
// parse) a server has no finite-field DHE for TLS 1.2; 'auto' and a PEM group enable it; a group
// under 1024 bits is refused and one under 2048 bits warned about.
import * as fs from 'fs';
import * as path from 'path';
import type * as tls from 'tls';
import { closed, close, differential, listen, settle, show } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const rsa = { key: fixture('server-rsa.key'), cert: fixture('server-rsa.pem') };

const VALUES: Array<[string, unknown]> = [
  ['undefined', undefined],
  ["'auto'", 'auto'],
  ['a 1024-bit PEM group', fixture('dhparam-1024.pem')],
  ['a 2048-bit PEM group', fixture('dhparam-2048.pem')],
  ['a 512-bit PEM group', fixture('dhparam-512.pem')],
  ['a string that is no group', 'garbage'],
  ['a number', 123],
];

differential('dhparam: what createSecureContext takes, refuses and warns about', async ({ server: S }, t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(`${w.name}: ${w.message}`);
  };
  process.on('warning', onWarning);
  try {
    for (const [label, value] of VALUES) {
      t.call(`context dhparam ${label}`, () => (S.createSecureContext({ ...rsa, dhparam: value as string }), 'made'));
      await settle(10); // warnings are emitted on the next tick
      t.value(`context dhparam ${label} warnings`, warnings.splice(0));
    }
  } finally {
    process.off('warning', onWarning);
  }
}, { pairings: 'same' });

for (const [label, value] of VALUES.slice(0, 4).concat([VALUES[5]])) {
  differential(`dhparam: a TLS 1.2 client offering only DHE, server dhparam ${label}`, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ...rsa, dhparam: value as string }, (s) => s.end());
    server.on('tlsClientError', (e: Error & { code?: string }) => t.push(`server tlsClientError ${e.code}`));
    const port = await listen(server);
    const c = C.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.2', ciphers: 'DHE-RSA-AES128-GCM-SHA256' });
    c.on('secureConnect', () => {
      t.value('client getCipher().name', c.getCipher().name);
      const k = c.getEphemeralKeyInfo() as tls.EphemeralKeyInfo;
      t.value('client key exchange', `${k.type} ${k.size}`);
    });
    c.on('error', (e: Error) => t.push(`client error ${show(e).replace(/ message=.*/, '}')}`));
    c.resume();
    await closed(c);
    await settle(20);
    await close(server);
  }, { pairings: 'server' });
}
