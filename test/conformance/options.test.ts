// Differential scenarios: options as Node's tls takes them (secureProtocol, null for "not set",
// socket.connect() options, key/certificate pairing, trust formats, ALPNCallback, SNICallback).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import type * as tls from 'tls';
import { closed, close, differential, listen, once, settle, Trace, TlsModule } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };

/** One connection: what the client and the server saw, until both closed. */
async function session(
  t: Trace,
  S: TlsModule,
  C: TlsModule,
  sopts: tls.TlsOptions,
  copts: tls.ConnectionOptions,
): Promise<void> {
  let serverClosed: Promise<void> = Promise.resolve();
  const server = S.createServer({ ...serverOpts, ...sopts }, (s) => {
    t.value('server secureConnection alpnProtocol', s.alpnProtocol);
    t.value('server getProtocol()', s.getProtocol());
    serverClosed = closed(s);
    s.end();
  });
  // The code of an error the application's callback made is the error-shape work's (see README).
  server.on('tlsClientError', (e: Error & { code?: string }) => t.push(`server tlsClientError ${e.code === undefined || e.code === 'ERR_TLS_TRANSPORT' ? '' : `code=${e.code} `}message=${JSON.stringify(e.message)}`));
  const port = await listen(server);
  const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...copts });
  c.on('secureConnect', () => {
    t.value('client secureConnect alpnProtocol', c.alpnProtocol);
    t.value('client getProtocol()', c.getProtocol());
    const cert = c.getPeerCertificate();
    t.value('client peer subject', cert.subject);
    t.value('client peer key type', cert.asn1Curve ? 'EC' : cert.bits ? 'RSA' : 'none');
  });
  c.on('error', () => t.push('client error'));
  c.resume();
  await closed(c);
  await serverClosed;
  await settle(20);
  await close(server);
}

// ---- secureProtocol ----------------------------------------------------------------------------

differential(
  'options: secureProtocol names and conflicts',
  async ({ server: S }, t) => {
    for (const secureProtocol of ['TLS_method', 'SSLv23_method', 'TLSv1_2_method', 'TLSv1_2_server_method', 'TLS_client_method', 'SSLv2_method', 'SSLv3_method', 'SSLv3_client_method', 'TLSv1_3_method', 'bogus']) {
      t.call(`createSecureContext({ secureProtocol: ${secureProtocol} })`, () => typeof S.createSecureContext({ secureProtocol }));
    }
    t.call('secureProtocol with minVersion', () => S.createSecureContext({ secureProtocol: 'TLS_method', minVersion: 'TLSv1.2' }));
    t.call('secureProtocol with maxVersion', () => S.createSecureContext({ secureProtocol: 'TLSv1_2_method', maxVersion: 'TLSv1.3' }));
    t.call('secureProtocol with null versions', () => typeof S.createSecureContext({ secureProtocol: 'TLSv1_2_method', minVersion: null as never, maxVersion: undefined }));
  },
  { pairings: 'same' },
);

for (const [label, sopts, copts] of [
  ['server TLSv1_2_method', { secureProtocol: 'TLSv1_2_method' }, {}],
  ['server TLS_method', { secureProtocol: 'TLS_method' }, {}],
  ['client TLSv1_2_client_method', {}, { secureProtocol: 'TLSv1_2_client_method' }],
  ['both SSLv23', { secureProtocol: 'SSLv23_server_method' }, { secureProtocol: 'SSLv23_method' }],
] as Array<[string, tls.TlsOptions, tls.ConnectionOptions]>) {
  differential(`options: secureProtocol negotiates (${label})`, async ({ server: S, client: C }, t) => {
    await session(t, S, C, sopts, copts);
  });
}

// ---- null means "not set" ----------------------------------------------------------------------

differential('options: null means not set', async ({ server: S, client: C }, t) => {
  const nulls = { ciphers: null, minVersion: null, maxVersion: null, ALPNProtocols: null, secureProtocol: null } as unknown as tls.TlsOptions;
  await session(t, S, C, { ...nulls, SNICallback: null, sessionTimeout: null, ticketKeys: null, crl: null, pfx: null } as unknown as tls.TlsOptions, {
    ...(nulls as tls.ConnectionOptions),
    session: null,
    key: null,
    cert: null,
  } as unknown as tls.ConnectionOptions);
});

// ---- socket.connect() options ------------------------------------------------------------------

differential(
  'options: connect() passes lookup, family, hints, localAddress and localPort to the TCP connection',
  async ({ server: S, client: C }, t) => {
    const server = S.createServer(serverOpts, (s) => s.end());
    const port = await listen(server);
    // A port free a moment ago, for localPort.
    const probe = net.createServer();
    const localPort = await listen(probe);
    await close(probe);
    const c = C.connect({
      port,
      localPort,
      host: 'tls-peer.invalid',
      servername: 'localhost',
      ca,
      family: 4,
      hints: 0,
      localAddress: '127.0.0.1',
      lookup: (host: string, options: object, cb: (e: null, a: string, f: number) => void) => {
        t.push(`client lookup ${host} ${JSON.stringify(options)}`);
        cb(null, '127.0.0.1', 4);
      },
    } as tls.ConnectionOptions);
    c.on('connect', () => t.push(`client connect local=${c.localAddress} localPort ok=${c.localPort === localPort} remote=${c.remoteAddress} remotePort ok=${c.remotePort === port}`));
    c.on('secureConnect', () => t.push(`client secureConnect authorized=${c.authorized}`));
    c.resume();
    await closed(c);
    await close(server);
  },
  { pairings: 'client' },
);

// ---- keys, certificates, trust -----------------------------------------------------------------

const rsa = { key: fixture('server-rsa.key'), cert: fixture('server-rsa.pem') };
const ec = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
for (const [label, sopts] of [
  ['keys in the order of the certs', { key: [ec.key, rsa.key], cert: [ec.cert, rsa.cert] }],
  ['keys in the other order', { key: [rsa.key, ec.key], cert: [ec.cert, rsa.cert] }],
  ['key/cert with pfx', { key: rsa.key, cert: rsa.cert, pfx: fixture('server.pfx'), passphrase: 'secret' }],
] as Array<[string, tls.TlsOptions]>) {
  for (const suite of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256']) {
    differential(`options: ${label} (${suite})`, async ({ server: S, client: C }, t) => {
      await session(t, S, C, { ...sopts, maxVersion: 'TLSv1.2' }, { ciphers: suite, maxVersion: 'TLSv1.2' });
    });
  }
}

const trustedCa = execFileSync('openssl', ['x509', '-addtrust', 'serverAuth', '-trustout'], { input: ca });
differential("options: '-----BEGIN TRUSTED CERTIFICATE-----' in ca", async ({ server: S, client: C }, t) => {
  t.value('is a TRUSTED CERTIFICATE', trustedCa.toString().startsWith('-----BEGIN TRUSTED CERTIFICATE-----'));
  await session(t, S, C, {}, { ca: trustedCa });
}, { pairings: 'client' });

for (const settings of [['-addtrust', 'emailProtection'], ['-addreject', 'serverAuth'], ['-addtrust', 'anyExtendedKeyUsage']]) {
  const pem = execFileSync('openssl', ['x509', ...settings, '-trustout'], { input: ca });
  differential(`options: a TRUSTED CERTIFICATE in ca with ${settings.join(' ')}`, async ({ server: S, client: C }, t) => {
    const server = S.createServer(serverOpts, (s) => s.end());
    const port = await listen(server);
    const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: pem, rejectUnauthorized: false });
    c.on('secureConnect', () => t.push(`client secureConnect authorized=${c.authorized} authorizationError=${c.authorizationError}`));
    c.resume();
    await closed(c);
    await close(server);
  }, { pairings: 'client' });
}

// ---- ALPNCallback, SNICallback -----------------------------------------------------------------

for (const [label, pick] of [
  ['picks one', (p: string[]) => p[1]],
  ['picks none', () => undefined],
  ['picks one not offered', () => 'zz'],
  ['throws', () => {
    throw new Error('from ALPNCallback');
  }],
] as Array<[string, (p: string[]) => string | undefined]>) {
  differential(`options: ALPNCallback ${label}`, async ({ server: S, client: C }, t) => {
    const ALPNCallback = ({ servername, protocols }: { servername: string; protocols: string[] }): string | undefined => {
      t.push(`server ALPNCallback servername=${servername} protocols=${protocols.join(',')}`);
      return pick(protocols);
    };
    await session(t, S, C, { ALPNCallback } as tls.TlsOptions, { ALPNProtocols: ['a', 'b'] });
  }, { pairings: 'server' });
}

differential('options: ALPNCallback with a client that offers no ALPN or no SNI, and with ALPNProtocols', async ({ server: S, client: C }, t) => {
  const ALPNCallback = (): string => {
    t.push('server ALPNCallback called');
    return 'a';
  };
  await session(t, S, C, { ALPNCallback } as tls.TlsOptions, {});
  const named = ({ servername, protocols }: { servername: string; protocols: string[] }): string => {
    t.push(`server ALPNCallback servername=${JSON.stringify(servername)}`);
    return protocols[0];
  };
  await session(t, S, C, { ALPNCallback: named } as tls.TlsOptions, { ALPNProtocols: ['x'], servername: undefined, rejectUnauthorized: false });
  t.call('createServer({ ALPNCallback, ALPNProtocols })', () => S.createServer({ ALPNCallback, ALPNProtocols: ['a'] } as tls.TlsOptions));
}, { pairings: 'server' });

for (const [label, answer] of [
  ['a plain object', {}],
  ['a string', 'not a context'],
  ['nothing', undefined],
] as Array<[string, unknown]>) {
  differential(`options: SNICallback answering ${label}`, async ({ server: S, client: C }, t) => {
    await session(t, S, C, { SNICallback: (_name: string, cb: (e: null, c: unknown) => void) => cb(null, answer) } as tls.TlsOptions, {});
  }, { pairings: 'server' });
}

void once;
