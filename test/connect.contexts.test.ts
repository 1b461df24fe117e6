// connect() shares the context it makes between connections whose options read the same
// (lib/client-contexts.ts). Whatever is shared, each connection must still get what its own
// options and the module defaults at that moment say, as with Node's tls: the same sequence of
// connects runs with Node's tls client and with ours against one Node tls server, and the
// negotiated versions, suites and verification results must be the same. The same holds for the
// client's name check, whose passes are remembered per certificate and host name.
import * as nodeTls from 'tls';
import * as gtls from '../lib';
import { fixture, serveTracked } from './helpers';

type Tls = typeof nodeTls;
// The modules themselves (their DEFAULT_* settings are written below; an import namespace is read-only).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeModule = require('tls') as Tls;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ours = require('../lib') as Tls;
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem'), minVersion: 'TLSv1.2' as const };

interface Seen {
  protocol: string | null;
  cipher: string;
  authorized: boolean;
  error: string | null;
}

function once(tls: Tls, port: number, opts: nodeTls.ConnectionOptions): Promise<Seen> {
  return new Promise((resolve) => {
    const c = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ...opts });
    c.on('error', (e: NodeJS.ErrnoException) => resolve({ protocol: null, cipher: '', authorized: false, error: `${e.code}: ${e.message}` }));
    c.on('secureConnect', () => {
      const seen = { protocol: c.getProtocol(), cipher: c.getCipher().name, authorized: c.authorized, error: c.authorizationError?.toString() ?? null };
      c.destroy();
      resolve(seen);
    });
  });
}

/** The sequence of connects, with the defaults changed between some of them. */
async function run(tls: Tls, port: number): Promise<Seen[]> {
  const seen: Seen[] = [];
  const noVerify = { rejectUnauthorized: false };
  seen.push(await once(tls, port, noVerify));
  seen.push(await once(tls, port, noVerify));
  seen.push(await once(tls, port, { ...noVerify, maxVersion: 'TLSv1.2' }));
  seen.push(await once(tls, port, { ...noVerify, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256' }));
  seen.push(await once(tls, port, noVerify));
  seen.push(await once(tls, port, { ca: fixture('ca.pem') }));
  seen.push(await once(tls, port, { ca: fixture('ca.pem') }));
  // The name check: a pass is remembered per certificate and host name, never for another name.
  const other = { ca: fixture('ca.pem'), servername: 'other.example' };
  seen.push(await once(tls, port, other));
  seen.push(await once(tls, port, { ca: fixture('ca.pem') }));
  seen.push(await once(tls, port, other));
  seen.push(await once(tls, port, { ...other, checkServerIdentity: () => undefined }));
  seen.push(await once(tls, port, { ca: fixture('ca.pem'), checkServerIdentity: () => new Error('refused by the application') }));
  seen.push(await once(tls, port, { ca: fixture('client.pem') }));
  seen.push(await once(tls, port, {}));
  const before = tls.DEFAULT_MAX_VERSION;
  tls.DEFAULT_MAX_VERSION = 'TLSv1.2';
  try {
    seen.push(await once(tls, port, noVerify));
  } finally {
    tls.DEFAULT_MAX_VERSION = before;
  }
  seen.push(await once(tls, port, noVerify));
  return seen;
}

test('a sequence of connects with and without the same options negotiates as Node does', async () => {
  const { port } = await serveTracked(nodeTls.createServer(serverOpts, (s) => s.on('error', () => {})));
  const node = await run(nodeModule, port);
  const gnutls = await run(ours, port);
  expect(gnutls).toEqual(node);
  expect(node.map((s) => s.protocol)).toEqual(['TLSv1.3', 'TLSv1.3', 'TLSv1.2', 'TLSv1.2', 'TLSv1.3', 'TLSv1.3', 'TLSv1.3', null, 'TLSv1.3', null, 'TLSv1.3', null, null, null, 'TLSv1.2', 'TLSv1.3']);
});

test('connects with options that read the same share one context; others get their own', async () => {
  const { port } = await serveTracked(gtls.createServer(serverOpts, (s) => s.on('error', () => {})));
  const contextOf = (opts: gtls.ConnectionOptions): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const c = gtls.connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false, ...opts });
      c.on('error', reject);
      c.on('secureConnect', () => {
        resolve((c as unknown as { _engine: { ctx: unknown } })._engine.ctx);
        c.destroy();
      });
    });
  const a = await contextOf({});
  expect(await contextOf({})).toBe(a);
  expect(await contextOf({ maxVersion: 'TLSv1.2' })).not.toBe(a);
  // `ca` is compared by content; a changed certificate list gets its own context.
  const withCa = await contextOf({ ca: fixture('ca.pem') });
  expect(await contextOf({ ca: fixture('ca.pem') })).toBe(withCa);
  expect(await contextOf({ ca: [fixture('ca.pem')] })).not.toBe(withCa);
  expect(await contextOf({ ca: [fixture('ca.pem'), fixture('server.pem')] })).not.toBe(withCa);
  // A private key is never kept for comparison: such a context is never shared.
  const client = { key: fixture('client.key'), cert: fixture('client.pem') };
  const withKey = await contextOf(client);
  expect(await contextOf(client)).not.toBe(withKey);
});
