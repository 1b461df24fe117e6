// Differential scenarios for the `ciphers` option: the same string on Node's server and ours,
// against Node's client and ours, and what each end reads off the connection; then the errors
// Node throws for strings it refuses; then OpenSSL's s_server with -cipher / -ciphersuites.
import * as fs from 'fs';
import * as path from 'path';
import type * as tls from 'tls';
import { connect as gConnect, ConnectionOptions, TLSSocket } from '../../lib';
import { opensslServer, stopPeer } from '../helpers';
import { close, closed, differential, listen, settle, Trace } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const ca = fixture('ca.pem');
// An RSA certificate, so that RSA key exchange and ECDHE-RSA suites can be chosen.
const serverOpts = { key: fixture('server-rsa.key'), cert: fixture('server-rsa.pem') };

function state(t: Trace, who: string, s: tls.TLSSocket): void {
  t.value(`${who} getCipher()`, s.getCipher());
  t.value(`${who} getProtocol()`, s.getProtocol());
}

interface Case {
  server: string | undefined;
  serverOptions?: tls.TlsOptions;
  client?: tls.ConnectionOptions;
}

/** One connection: whether it was made, and if so the suite and protocol each end reports. */
/**
 * Records whether the client's handshake succeeded (and then its state), and waits for both ends
 * to close. The server ends the connection once it has read its side: closing first would race it.
 */
async function clientOutcome(t: Trace, sock: tls.TLSSocket, server: tls.Server): Promise<void> {
  const outcome = await new Promise<string>((resolve) => {
    sock.once('secureConnect', () => resolve('secureConnect'));
    sock.once('error', () => resolve('error'));
  });
  t.push(`client ${outcome}`);
  if (outcome === 'secureConnect') state(t, 'client', sock);
  sock.resume();
  await closed(sock);
  await settle(50);
  await close(server);
}

function handshake(name: string, c: Case): void {
  differential(name, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ...serverOpts, ciphers: c.server, ...c.serverOptions }, (s) => {
      state(t, 'server', s);
      s.end();
    });
    server.on('tlsClientError', () => t.push('server tlsClientError'));
    const port = await listen(server);
    const sock = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...c.client });
    await clientOutcome(t, sock, server);
  });
}

const TLS12 = { maxVersion: 'TLSv1.2' as const };

handshake('ciphers: one TLS 1.2 suite, TLS 1.2 client', {
  server: 'ECDHE-RSA-AES128-GCM-SHA256',
  client: { ...TLS12, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384' },
});
handshake('ciphers: a TLS 1.2 list shares its ciphers with the TLS 1.3 defaults', {
  server: 'ECDHE-RSA-AES128-GCM-SHA256',
  client: { ...TLS12, ciphers: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256' },
});
for (const honorCipherOrder of [true, false]) {
  handshake(`ciphers: honorCipherOrder ${honorCipherOrder} picks by the ${honorCipherOrder ? "server's" : "client's"} order`, {
    server: 'AES256-SHA:AES128-SHA',
    serverOptions: { honorCipherOrder },
    client: { ...TLS12, ciphers: 'AES128-SHA:AES256-SHA' },
  });
}
handshake("ciphers: a server's own order by default", {
  server: 'AES256-SHA:AES128-SHA',
  client: { ...TLS12, ciphers: 'AES128-SHA:AES256-SHA' },
});
handshake('ciphers: a suite whose OpenSSL version is TLSv1.0', {
  server: 'ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA',
  client: { ...TLS12, ciphers: 'ECDHE-RSA-AES128-SHA' },
});
handshake('ciphers: keywords with removals (HIGH:!aNULL:!kRSA:!PSK)', {
  server: 'HIGH:!aNULL:!kRSA:!PSK',
  client: { ...TLS12, ciphers: 'ECDHE-RSA-CHACHA20-POLY1305' },
});
handshake("ciphers: Node's DEFAULT_CIPHERS against a client naming one of its suites", {
  server: undefined,
  client: { ...TLS12, ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' },
});
handshake('ciphers: a TLS 1.2-only list leaves TLS 1.3 at its defaults', { server: 'ECDHE-RSA-AES128-GCM-SHA256' });
handshake('ciphers: a TLS 1.3-only list, TLS 1.3 client', { server: 'TLS_CHACHA20_POLY1305_SHA256' });
handshake('ciphers: a TLS 1.3-only list makes the server TLS 1.3-only', { server: 'TLS_CHACHA20_POLY1305_SHA256', client: TLS12 });
handshake('ciphers: a TLS 1.3-only list on a TLS 1.2 server has no suite', {
  server: 'TLS_AES_128_GCM_SHA256',
  serverOptions: { maxVersion: 'TLSv1.2' },
});
handshake('ciphers: TLS 1.3 CCM-8 named on both ends', {
  server: 'TLS_AES_128_CCM_8_SHA256',
  client: { ciphers: 'TLS_AES_128_CCM_8_SHA256' },
});
handshake('ciphers: the client names its TLS 1.3 suite', { server: undefined, client: { ciphers: 'TLS_AES_128_GCM_SHA256' } });
handshake('ciphers: no TLS 1.2 suite in common fails', { server: 'AES128-SHA', client: { ...TLS12, ciphers: 'AES256-SHA' } });
handshake('ciphers: no TLS 1.3 suite in common fails', {
  server: 'TLS_AES_256_GCM_SHA384',
  client: { ciphers: 'TLS_CHACHA20_POLY1305_SHA256' },
});

/** How a thrown error shows here: its class, code and message (`name` is not compared). */
function thrown(e: unknown): string {
  const err = e as Error & { code?: string };
  return `${err.name === 'TypeError' ? 'TypeError' : 'Error'} code=${String(err.code)} message=${JSON.stringify(err.message)}`;
}

const REFUSED: unknown[] = [':', '::', 'nonsense', 'TLS_FOO', '!TLS_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256:!AES128-SHA', 'AES_128', 'HIGH:@FOO', '@SECLEVEL=9', '+HIGH', 1, true, {}, []];
const ACCEPTED: unknown[] = ['', null, undefined, 'DEFAULT', 'HIGH:!aNULL', 'nonsense:AES128-SHA', 'TLS_FOO:TLS_AES_128_GCM_SHA256', 'ALL:@SECLEVEL=0'];

differential('ciphers: the strings createSecureContext refuses and accepts', async ({ server: S }, t) => {
  for (const v of [...REFUSED, ...ACCEPTED]) {
    try {
      S.createSecureContext({ ciphers: v as string });
      t.push(`context ${JSON.stringify(v)} ok`);
    } catch (e) {
      t.push(`context ${JSON.stringify(v)} threw ${thrown(e)}`);
    }
  }
}, { pairings: 'same' });

describe('ciphers against openssl s_server', () => {
  async function against(args: string[], opts: ConnectionOptions): Promise<string> {
    const srv = await opensslServer([
      '-cert', path.join(__dirname, '..', 'fixtures', 'server-rsa.pem'),
      '-key', path.join(__dirname, '..', 'fixtures', 'server-rsa.key'),
      ...args,
    ]);
    try {
      const sock: TLSSocket = gConnect({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca, ...opts });
      return await new Promise<string>((resolve) => {
        sock.once('secureConnect', () => {
          const c = sock.getCipher();
          resolve(`${sock.getProtocol()} ${c?.name} ${c?.standardName}`);
          sock.destroy();
        });
        sock.once('error', (e: Error & { code?: string }) => resolve(`error ${e.code}`));
      });
    } finally {
      await stopPeer(srv);
    }
  }

  test('-cipher AES128-SHA: our client with the same suite', async () => {
    expect(await against(['-tls1_2', '-cipher', 'AES128-SHA'], { ciphers: 'AES256-SHA:AES128-SHA' })).toBe(
      'TLSv1.2 AES128-SHA TLS_RSA_WITH_AES_128_CBC_SHA',
    );
  });
  test('-cipher AES128-SHA: our client without it fails', async () => {
    expect(await against(['-tls1_2', '-cipher', 'AES128-SHA'], { ciphers: 'AES256-SHA:ECDHE-RSA-AES128-GCM-SHA256' })).toMatch(/^error /);
  });
  test('-ciphersuites TLS_AES_128_CCM_8_SHA256: our client naming it', async () => {
    expect(await against(['-ciphersuites', 'TLS_AES_128_CCM_8_SHA256'], { ciphers: 'TLS_AES_128_CCM_8_SHA256' })).toBe(
      'TLSv1.3 TLS_AES_128_CCM_8_SHA256 TLS_AES_128_CCM_8_SHA256',
    );
  });
  test('-ciphersuites TLS_CHACHA20_POLY1305_SHA256: our TLS 1.2-only list keeps the TLS 1.3 defaults', async () => {
    expect(await against(['-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256'], { ciphers: 'AES128-SHA' })).toBe(
      'TLSv1.3 TLS_CHACHA20_POLY1305_SHA256 TLS_CHACHA20_POLY1305_SHA256',
    );
  });
  test('-cipher ECDHE-RSA-AES256-SHA384 -tls1_2: our DEFAULT-based keyword list', async () => {
    expect(await against(['-tls1_2', '-cipher', 'ECDHE-RSA-AES256-SHA384'], { ciphers: 'DEFAULT:!AESGCM:!CHACHA20' })).toBe(
      'TLSv1.2 ECDHE-RSA-AES256-SHA384 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
    );
  });
});

/** PSK on both ends (no certificate): the suite the `ciphers` of each end lead to. */
function pskHandshake(name: string, serverCiphers: string, client: tls.ConnectionOptions): void {
  const key = Buffer.from('d731ef57be09e5204f0b205b60627028', 'hex');
  differential(name, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ciphers: serverCiphers, pskCallback: () => key, honorCipherOrder: true }, (s) => {
      state(t, 'server', s);
      s.end();
    });
    server.on('tlsClientError', () => t.push('server tlsClientError'));
    const port = await listen(server);
    const sock = C.connect({ port, host: '127.0.0.1', checkServerIdentity: () => undefined, pskCallback: () => ({ psk: key, identity: 'id' }), ...client });
    await clientOutcome(t, sock, server);
  });
}

pskHandshake('ciphers: PSK+HIGH, a TLS 1.2 PSK suite', 'PSK+HIGH', { ...TLS12, ciphers: 'PSK-AES128-GCM-SHA256' });
pskHandshake('ciphers: PSK with a TLS 1.2 list that has no PSK suite, over TLS 1.3', 'ECDHE-RSA-AES128-GCM-SHA256', { ciphers: 'TLS_AES_128_GCM_SHA256' });
