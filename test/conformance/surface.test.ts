// Differential scenarios: the TLSSocket and module surface (methods, properties, events) as
// Node's tls shows it.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import type * as tls from 'tls';
import { closed, close, differential, listen, once, settle, Trace } from './harness';

const fixture = (n: string): Buffer => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };

type Getter = (s: tls.TLSSocket) => unknown;
/** What each getter answers, reduced to its kind (values differ between runs). */
const GETTERS: Record<string, Getter> = {
  'getCipher()': (s) => s.getCipher(),
  'getProtocol()': (s) => s.getProtocol(),
  'getPeerCertificate()': (s) => s.getPeerCertificate(),
  'getCertificate()': (s) => s.getCertificate(),
  'getSession()': (s) => s.getSession(),
  'getFinished()': (s) => s.getFinished(),
  'getPeerFinished()': (s) => s.getPeerFinished(),
  'getEphemeralKeyInfo()': (s) => s.getEphemeralKeyInfo(),
  'isSessionReused()': (s) => s.isSessionReused(),
  'getPeerX509Certificate()': (s) => s.getPeerX509Certificate(),
  'getX509Certificate()': (s) => s.getX509Certificate(),
  'getTLSTicket()': (s) => s.getTLSTicket(),
  'getSharedSigalgs()': (s) => s.getSharedSigalgs(),
};
const kind = (v: unknown): string =>
  v === null ? 'null' : v === undefined ? 'undefined' : Buffer.isBuffer(v) ? 'Buffer' : Array.isArray(v) ? 'Array' : typeof v;

function getters(t: Trace, who: string, s: tls.TLSSocket): void {
  for (const [name, get] of Object.entries(GETTERS)) t.call(`${who} ${name} kind`, () => kind(get(s)));
  for (const p of ['readyState', 'encrypted', 'connecting', 'pending', 'bytesRead', 'bytesWritten'] as const) t.value(`${who} ${p}`, s[p]);
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  differential(`socket surface: connect, ready, getters live and after close (${version})`, async ({ server: S, client: C }, t) => {
    let serverDone: Promise<void> = Promise.resolve();
    const server = S.createServer({ ...serverOpts, maxVersion: version }, (s) => {
      serverDone = closed(s).then(() => getters(t, 'server(after close)', s));
      s.on('close', (hadError: boolean) => t.push(`server close(hadError=${hadError})`));
      s.end('hi');
    });
    const port = await listen(server);
    const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
    t.value('client readyState (new)', c.readyState);
    c.on('connect', () => t.push(`client connect readyState=${c.readyState}`));
    c.on('ready', () => t.push('client ready'));
    c.on('secureConnect', () => {
      t.push('client secureConnect');
      t.value('client getPeerCertificate().subject.CN', c.getPeerCertificate().subject.CN);
    });
    c.on('end', () => t.push(`client end readyState=${c.readyState}`));
    c.on('close', (hadError: boolean) => t.push(`client close(hadError=${hadError})`));
    c.on('data', () => {});
    await closed(c);
    getters(t, 'client(after close)', c);
    await serverDone;
    await close(server);
  });
}

differential('socket surface: destroy(err) closes with hadError and destroySoon() ends first', async ({ server: S, client: C }, t) => {
  let accepted: () => void = () => {};
  const server = S.createServer(serverOpts, (s) => {
    accepted();
    s.on('error', (e: Error & { code?: string }) => t.push(`server error ${e.code}`));
    s.on('data', (d: Buffer) => t.push(`server data ${d.length}`));
    s.on('end', () => {
      t.push('server end');
      s.end();
    });
  });
  const port = await listen(server);
  const serverSide = new Promise<void>((r) => (accepted = r));
  const a = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
  a.on('error', (e: Error) => t.push(`client error ${e.message}`));
  a.on('close', (hadError: boolean) => t.push(`client close(hadError=${hadError})`));
  await Promise.all([once(a, 'secureConnect'), serverSide]);
  a.destroy(new Error('boom'));
  await closed(a);
  t.value('client destroyed', a.destroyed);
  const b = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
  b.on('finish', () => t.push('client2 finish'));
  b.on('close', (hadError: boolean) => t.push(`client2 close(hadError=${hadError})`));
  await once(b, 'secureConnect');
  b.write('abc');
  b.destroySoon();
  t.value('client2 writable after destroySoon()', b.writable);
  await closed(b);
  await settle();
  await close(server);
});

differential('socket surface: a write over highWaterMark returns false and never completes synchronously', async ({ server: S, client: C }, t) => {
  const server = S.createServer(serverOpts, (s) => {
    let n = 0;
    s.on('data', (d: Buffer) => (n += d.length));
    s.on('end', () => {
      t.push(`server received ${n}`);
      s.end();
    });
  });
  const port = await listen(server);
  const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
  await once(c, 'secureConnect');
  let sync = true;
  const ok = c.write(Buffer.alloc(c.writableHighWaterMark + 1), () => t.push(`client write callback sync=${sync}`));
  sync = false;
  t.value('client write() returned', ok);
  t.value('client writableNeedDrain', c.writableNeedDrain);
  c.on('drain', () => t.push('client drain'));
  c.end();
  c.resume();
  await closed(c);
  await close(server);
});

differential('socket surface: setMaxSendFragment, enableTrace, getTLSTicket, getSharedSigalgs (TLSv1.2)', async ({ server: S, client: C }, t) => {
  let serverDone: Promise<void> = Promise.resolve();
  const server = S.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' }, (s) => {
    t.call('server getTLSTicket() kind', () => kind(s.getTLSTicket()));
    let n = 0;
    s.on('data', (d: Buffer) => (n += d.length));
    serverDone = once(s, 'end').then(() => {
      t.push(`server received ${n}`);
      s.end();
    });
  });
  const port = await listen(server);
  const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
  await once(c, 'secureConnect');
  for (const size of [511, 512, 16384, 16385, 1.5, 2 ** 40, 'x' as unknown as number]) t.call(`client setMaxSendFragment(${String(size)})`, () => c.setMaxSendFragment(size));
  t.call('client setMaxSendFragment(600)', () => c.setMaxSendFragment(600));
  t.call('client enableTrace()', () => c.enableTrace());
  t.call('client setKeyCert()', () => c.setKeyCert(C.createSecureContext({ ca })));
  t.call('client getTLSTicket() kind', () => kind(c.getTLSTicket()));
  t.call('client getSharedSigalgs() kind', () => kind(c.getSharedSigalgs()));
  c.end(Buffer.alloc(5000, 1));
  c.resume();
  await closed(c);
  await serverDone;
  await close(server);
}, { pairings: 'client' });

// ---- module ----------------------------------------------------------------------------------

differential(
  'module surface: Server without new, rootCertificates, convertALPNProtocols, createSecurePair',
  async ({ server: S }, t) => {
    const make = S.Server as unknown as (o: tls.TlsOptions) => tls.Server;
    const s = make(serverOpts);
    t.value('Server() instanceof Server', s instanceof S.Server);
    t.value('Server() has listen', typeof s.listen);
    t.value('new Server() instanceof Server', new S.Server(serverOpts) instanceof S.Server);
    const roots = S.rootCertificates;
    t.value('rootCertificates is a frozen array', Array.isArray(roots) && Object.isFrozen(roots));
    t.value('rootCertificates is the same array each time', S.rootCertificates === roots);
    t.value('rootCertificates are PEM', roots.length > 0 && roots.every((r) => /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n?$/.test(r)));
    // Node's, though @types/node does not declare it.
    const { convertALPNProtocols } = S as typeof S & { convertALPNProtocols(p: unknown, out: object): void };
    const out: { ALPNProtocols?: Uint8Array } = {};
    convertALPNProtocols(['h2', 'http/1.1'], out);
    t.value('convertALPNProtocols(array)', Buffer.from(out.ALPNProtocols!).toString('hex'));
    const out2: { ALPNProtocols?: Uint8Array } = {};
    convertALPNProtocols(new Uint8Array([1, 97]), out2);
    t.value('convertALPNProtocols(Uint8Array) is a Buffer', Buffer.isBuffer(out2.ALPNProtocols));
    t.call('convertALPNProtocols(too long)', () => convertALPNProtocols(['x'.repeat(256)], {}));
    t.call('createSecurePair(1)', () => S.createSecurePair(1 as unknown as tls.SecureContext));
    t.call("createSecurePair('x')", () => S.createSecurePair('x' as unknown as tls.SecureContext));
    t.call('createSecurePair() kind', () => typeof S.createSecurePair());
  },
  { pairings: 'same' },
);

differential('module surface: a server createSecurePair over a TCP connection', async ({ server: S, client: C }, t) => {
  // @types/node declares less of it than Node has (the options argument, its events, destroy()).
  type Pair = tls.SecurePair & NodeJS.EventEmitter & { destroy(): void };
  const make = S.createSecurePair as unknown as (ctx: tls.SecureContext, isServer: boolean, requestCert: boolean, reject: boolean) => Pair;
  let pair: Pair | undefined;
  let serverDone: Promise<void> = Promise.resolve();
  const server = net.createServer((tcp) => {
    const p = (pair = make(S.createSecureContext(serverOpts), true, false, false));
    t.value('pair has', ['encrypted', 'cleartext', 'credentials'].map((k) => typeof (p as unknown as Record<string, unknown>)[k]));
    tcp.pipe(p.encrypted).pipe(tcp);
    p.on('secure', () => t.push(`server pair secure protocol=${p.cleartext.getProtocol()} servername=${(p.cleartext as tls.TLSSocket & { servername?: string }).servername}`));
    serverDone = new Promise((resolve) =>
      p.cleartext.on('data', (d: Buffer) => {
        t.push(`server pair data ${d.toString()}`);
        p.cleartext.end(d, () => resolve());
      }),
    );
  });
  const port = await listen(server);
  const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
  await once(c, 'secureConnect');
  t.push(`client secureConnect authorized=${c.authorized}`);
  c.write('over the pair');
  let got = '';
  c.on('data', (d: Buffer) => (got += d.toString()));
  await once(c, 'end');
  t.push(`client got ${got}`);
  await serverDone;
  c.destroy();
  pair?.destroy();
  server.close();
}, { pairings: 'server' });

differential(
  'module surface: DEFAULT_MIN_VERSION and DEFAULT_MAX_VERSION settable, read at run time',
  async ({ client: C, pair }, t) => {
    // The module object itself (an `import * as` copy cannot be assigned to).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const S: typeof tls = pair.server === 'node' ? require('tls') : require('../../lib');
    const m = S as { -readonly [K in keyof typeof S]: (typeof S)[K] };
    const saved = [m.DEFAULT_MIN_VERSION, m.DEFAULT_MAX_VERSION, m.CLIENT_RENEG_LIMIT, m.CLIENT_RENEG_WINDOW] as const;
    t.value('defaults', saved);
    try {
      m.DEFAULT_MAX_VERSION = 'TLSv1.2';
      m.CLIENT_RENEG_LIMIT = 5;
      m.CLIENT_RENEG_WINDOW = 60;
      t.value('after setting', [m.DEFAULT_MAX_VERSION, m.CLIENT_RENEG_LIMIT, m.CLIENT_RENEG_WINDOW]);
      const server = S.createServer(serverOpts, (s) => {
        t.value('server getProtocol()', s.getProtocol());
        s.end();
      });
      const port = await listen(server);
      const c = C.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
      await once(c, 'secureConnect');
      t.value('client getProtocol()', c.getProtocol());
      c.resume();
      c.end();
      await closed(c);
      await close(server);
      m.DEFAULT_MAX_VERSION = saved[1];
      m.DEFAULT_MIN_VERSION = 'TLSv1.3';
      const server2 = S.createServer(serverOpts, (s) => s.end());
      server2.on('tlsClientError', () => t.push('server tlsClientError'));
      const port2 = await listen(server2);
      const c2 = C.connect({ port: port2, host: '127.0.0.1', servername: 'localhost', ca, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
      c2.on('error', () => t.push('client error'));
      c2.on('secureConnect', () => t.push('client secureConnect'));
      await closed(c2);
      await close(server2);
    } finally {
      [m.DEFAULT_MIN_VERSION, m.DEFAULT_MAX_VERSION, m.CLIENT_RENEG_LIMIT, m.CLIENT_RENEG_WINDOW] = saved;
    }
  },
  { pairings: 'same' },
);
