// Differential scenarios: the errors of failed handshakes and of bad arguments, as Node's tls
// shapes them (class, name, code, library, reason, message, stack header, String()).
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import type * as tls from 'tls';
import { close, closed, differential, listen, once, settle, Trace } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };

/** Fields node-gnutls adds to Node's shape (the GnuTLS error and alert behind it). */
const EXTRA = new Set(['gnutlsCode', 'gnutlsName', 'alert', 'alertCode']);

/** Everything a program reads off an error: what `show` gives, its fields, stack header, String(). */
function record(t: Trace, label: string, e: unknown): void {
  t.value(label, e);
  const err = e as Error & Record<string, unknown>;
  t.value(`${label} own keys`, Object.keys(err).filter((k) => !EXTRA.has(k)));
  t.value(`${label} library/reason`, [err.library, err.reason]);
  t.value(`${label} stack[0]`, String(err.stack).split('\n')[0]);
  t.value(`${label} String()`, String(err));
}

interface Case {
  name: string;
  server: tls.TlsOptions;
  client: tls.ConnectionOptions;
}

const CASES: Case[] = [
  ...(['TLSv1.2', 'TLSv1.3'] as const).map((v) => ({
    name: `server requires a certificate, the client sends none (${v})`,
    server: { requestCert: true, rejectUnauthorized: true, ca, maxVersion: v },
    client: {},
  })),
  { name: 'no shared version (server TLS 1.3 only, client TLS 1.2 only)', server: { minVersion: 'TLSv1.3' }, client: { maxVersion: 'TLSv1.2' } },
  { name: 'no shared version (server TLS 1.2 only, client TLS 1.3 only)', server: { maxVersion: 'TLSv1.2' }, client: { minVersion: 'TLSv1.3' } },
  {
    name: 'no shared cipher (TLS 1.2)',
    server: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256' },
    client: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384' },
  },
  ...(['TLSv1.2', 'TLSv1.3'] as const).map((v) => ({
    name: `no shared ALPN protocol (${v})`,
    server: { ALPNProtocols: ['h2'], maxVersion: v },
    client: { ALPNProtocols: ['http/1.1'] },
  })),
];

for (const c of CASES) {
  differential(`errors: ${c.name}`, async ({ server: S, client: C }, t) => {
    const server = S.createServer({ ...serverOpts, ...c.server }, (s) => {
      t.push('server secureConnection');
      s.on('error', (e) => record(t, 'server socket error', e));
    });
    const serverFailed = new Promise<void>((resolve) =>
      server.on('tlsClientError', (e: Error) => {
        record(t, 'server tlsClientError', e);
        resolve();
      }),
    );
    const port = await listen(server);
    const client = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...c.client });
    client.on('secureConnect', () => t.push('client secureConnect'));
    client.on('error', (e) => record(t, 'client error', e));
    client.on('close', () => t.push('client close'));
    await closed(client);
    await serverFailed;
    await settle();
    await close(server);
  });
}

// ---- argument errors -----------------------------------------------------------------------------

/** Runs fn and records what it threw, in full (or that it did not throw). */
function attempt(t: Trace, label: string, fn: () => unknown): void {
  try {
    fn();
    t.push(`${label} did not throw`);
  } catch (e) {
    record(t, label, e);
  }
}

const buf = (n: number): Buffer => Buffer.alloc(n, 1);

differential(
  'errors: options Node checks when making a context or a server',
  async ({ server: T }, t) => {
    attempt(t, 'ciphers: 1', () => T.createSecureContext({ ciphers: 1 as unknown as string }));
    attempt(t, 'ciphers: {}', () => T.createSecureContext({ ciphers: {} as unknown as string }));
    attempt(t, 'ciphers: null', () => T.createSecureContext({ ciphers: null as unknown as string }));
    attempt(t, "ciphers: 'NO-SUCH-CIPHER'", () => T.createSecureContext({ ciphers: 'NO-SUCH-CIPHER' }));
    attempt(t, 'passphrase: 1', () => T.createSecureContext({ ...serverOpts, passphrase: 1 as unknown as string }));
    attempt(t, 'key: 1', () => T.createSecureContext({ key: 1 as unknown as string }));
    attempt(t, 'cert: 1', () => T.createSecureContext({ cert: 1 as unknown as string }));
    attempt(t, 'ca: [1]', () => T.createSecureContext({ ca: [1 as unknown as string] }));
    attempt(t, 'ecdhCurve: 1', () => T.createSecureContext({ ecdhCurve: 1 as unknown as string }));
    attempt(t, "ecdhCurve: 'no-such-curve'", () => T.createSecureContext({ ecdhCurve: 'no-such-curve' }));
    attempt(t, "ecdhCurve: 'prime256v1:X25519'", () => T.createSecureContext({ ecdhCurve: 'prime256v1:X25519' }));
    attempt(t, "ecdhCurve: 'auto'", () => T.createSecureContext({ ecdhCurve: 'auto' }));
    attempt(t, "minVersion: 'TLSv9'", () => T.createSecureContext({ minVersion: 'TLSv9' as tls.SecureVersion }));
    attempt(t, 'minVersion: 1', () => T.createSecureContext({ minVersion: 1 as unknown as tls.SecureVersion }));
    attempt(t, "maxVersion: 'x'", () => T.createSecureContext({ maxVersion: 'x' as tls.SecureVersion }));
    attempt(t, 'createSecureContext(1)', () => T.createSecureContext(1 as unknown as tls.SecureContextOptions));
    attempt(t, "createServer('str')", () => T.createServer('str' as unknown as tls.TlsOptions));
    attempt(t, 'createServer(1)', () => T.createServer(1 as unknown as tls.TlsOptions));
    attempt(t, "handshakeTimeout: 'x'", () => T.createServer({ handshakeTimeout: 'x' as unknown as number }));
    attempt(t, 'ticketKeys: 64 bytes', () => T.createServer({ ticketKeys: buf(64) }));
    attempt(t, 'ticketKeys: 10 bytes', () => T.createServer({ ticketKeys: buf(10) }));
    attempt(t, "ticketKeys: 'x'", () => T.createServer({ ticketKeys: 'x' as unknown as Buffer }));
    attempt(t, "setTicketKeys('abc')", () => T.createServer({}).setTicketKeys('abc' as unknown as Buffer));
  },
  { pairings: 'same' },
);

differential(
  'errors: arguments Node checks on a socket',
  async ({ server: S, client: C }, t) => {
    const server = S.createServer(serverOpts, (s) => s.on('error', () => undefined));
    const port = await listen(server);
    const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, maxVersion: 'TLSv1.2' });
    attempt(t, 'client exportKeyingMaterial() before the handshake', () => c.exportKeyingMaterial(32, 'label', undefined as unknown as Buffer));
    attempt(t, 'client setServername(1)', () => (c as unknown as { setServername(n: unknown): void }).setServername(1));
    attempt(t, 'client setSession(1)', () => (c as unknown as { setSession(s: unknown): void }).setSession(1));
    await once(c, 'secureConnect');
    for (const [label, args] of [
      ['0', [0, 'label']],
      ['-1', [-1, 'label']],
      ["'a'", ['a', 'label']],
      ['1.5', [1.5, 'label']],
      ['2 ** 32', [2 ** 32, 'label']],
      ['label 1', [8, 1]],
      ["context 'abc'", [8, 'label', 'abc']],
    ] as Array<[string, unknown[]]>) {
      attempt(t, `client exportKeyingMaterial(${label})`, () => (c.exportKeyingMaterial as (...a: unknown[]) => Buffer)(...args));
    }
    t.value('client exportKeyingMaterial(8, label).length', c.exportKeyingMaterial(8, 'label', undefined as unknown as Buffer).length);
    attempt(t, 'client renegotiate(1, cb)', () => c.renegotiate(1 as unknown as { requestCert?: boolean }, () => undefined));
    attempt(t, 'client renegotiate({}, 1)', () => c.renegotiate({}, 1 as unknown as () => void));
    c.destroy();
    await closed(c);
    await close(server);
  },
  { pairings: 'same' },
);

// ---- a peer that does not speak TLS --------------------------------------------------------------

/** 300 bytes that are no TLS record (deterministic; the first's "version" byte is not 3). */
const noise = Buffer.concat(Array.from({ length: 10 }, (_v, i) => createHash('sha256').update(`noise ${i}`).digest())).subarray(0, 300);
const GARBAGE: Array<[string, Buffer]> = [
  ['bytes that are no record', noise],
  ['an HTTP message', Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')],
  ['zero bytes', Buffer.alloc(64)],
  ['a record header claiming 64 KiB', Buffer.from([0x16, 3, 3, 0xff, 0xff, 1, 2, 3])],
  ['a record of version 2.1', Buffer.from([0x16, 2, 1, 0, 5, 1, 2, 3, 4, 5])],
  ['application data before any handshake', Buffer.from([0x17, 3, 3, 0, 5, 1, 2, 3, 4, 5])],
  ['a fatal handshake_failure alert', Buffer.from([0x15, 3, 3, 0, 2, 2, 40])],
];

for (const [name, bytes] of GARBAGE) {
  differential(
    `errors: a TLS client gets ${name}`,
    async ({ client: C }, t) => {
      const peer = net.createServer((s) => {
        s.on('error', () => undefined);
        s.once('data', () => s.write(bytes));
        s.on('end', () => s.end());
      });
      const port = await listen(peer);
      const client = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
      client.on('secureConnect', () => t.push('client secureConnect'));
      client.on('error', (e) => record(t, 'client error', e));
      await closed(client);
      await close(peer);
    },
    { pairings: 'client' },
  );
}

for (const [name, bytes] of [...GARBAGE, ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')] as [string, Buffer]]) {
  differential(
    `errors: a TLS server gets ${name}`,
    async ({ server: S }, t) => {
      const server = S.createServer(serverOpts, () => t.push('server secureConnection'));
      const failed = new Promise<void>((resolve) =>
        server.on('tlsClientError', (e: Error) => {
          record(t, 'server tlsClientError', e);
          resolve();
        }),
      );
      const port = await listen(server);
      const raw = net.connect(port, '127.0.0.1', () => raw.write(bytes));
      raw.on('error', () => undefined);
      let got = Buffer.alloc(0);
      raw.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
      await closed(raw);
      // The alert the server sent back (none for a record that is no TLS).
      t.value('peer received', got.toString('hex'));
      await failed;
      await close(server);
    },
    { pairings: 'server' },
  );
}

// ---- outside jest --------------------------------------------------------------------------------

test("errors: without an application's prepareStackTrace, stack headers and util.inspect() read as Node's", () => {
  // Jest formats stacks itself; a plain node process uses Node's own formatting, which puts the
  // code of Node's coded errors in the header. The built package (dist/) is what runs here.
  const script = `
    const util = require('util'), net = require('net');
    const out = {};
    for (const [stack, tls] of [['node', require('tls')], ['gnutls', require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist'))})]]) {
      const sock = new tls.TLSSocket(new net.Socket());
      sock.on('error', () => {});
      const calls = {
        'ciphers: 1': () => tls.createSecureContext({ ciphers: 1 }),
        'ciphers: NO-SUCH-CIPHER': () => tls.createSecureContext({ ciphers: 'NO-SUCH-CIPHER' }),
        'ticketKeys: 10 bytes': () => tls.createServer({ ticketKeys: Buffer.alloc(10) }),
        'exportKeyingMaterial before the handshake': () => sock.exportKeyingMaterial(8, 'label'),
        'exportKeyingMaterial(0)': () => sock.exportKeyingMaterial(0, 'label'),
        'setSession(1)': () => sock.setSession(1),
      };
      out[stack] = {};
      for (const [k, f] of Object.entries(calls)) {
        try { f(); out[stack][k] = 'did not throw'; }
        catch (e) { out[stack][k] = [e.stack.split('\\n')[0], util.inspect(e).split('\\n')[0], String(e)]; }
      }
      sock.destroy();
    }
    console.log(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
  expect(Object.keys(out.node)).toHaveLength(6);
  expect(out.gnutls).toEqual(out.node);
});

