// Server session-ID caches in JS (Node's 'newSession' / 'resumeSession'), TLS 1.2, against
// Node's tls client and gnutls-cli --resume.
import * as tls from 'tls';
import { createServer, Server } from '../lib';
import { closeServer, fixture, gnutlsPriority, listen, spawnPeer } from './helpers';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };

interface Cache {
  server: Server;
  port: number;
  store: Map<string, Buffer>;
  stored: string[];
  asked: string[];
}

async function cachingServer(answer = true): Promise<Cache> {
  const store = new Map<string, Buffer>();
  const stored: string[] = [];
  const asked: string[] = [];
  const server = createServer({ ...serverOpts, maxVersion: 'TLSv1.2' }, (s) => {
    s.on('error', () => undefined); // gnutls-cli may close before our reply lands (EPIPE)
    s.end('hello\n');
  });
  server.on('newSession', (id, data, done) => {
    stored.push(id.toString('hex'));
    store.set(id.toString('hex'), data);
    setImmediate(done); // asynchronous, as a shared cache would be
  });
  server.on('resumeSession', (id, cb) => {
    asked.push(id.toString('hex'));
    setImmediate(() => cb(null, answer ? store.get(id.toString('hex')) ?? null : null));
  });
  const port = await listen(server);
  return { server, port, store, stored, asked };
}

function nodeClient(port: number, session?: Buffer, maxVersion: tls.SecureVersion = 'TLSv1.2'): Promise<{ reused: boolean; session: Buffer; data: string }> {
  return new Promise((resolve, reject) => {
    const c = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, session, maxVersion });
    let data = '';
    let sess: Buffer | undefined;
    c.on('session', (s) => (sess = s));
    c.on('data', (d) => (data += d));
    c.on('error', reject);
    c.on('end', () => {
      resolve({ reused: c.isSessionReused(), session: sess ?? c.getSession()!, data });
      c.destroy();
    });
  });
}

describe("session-ID cache in the application ('newSession' / 'resumeSession')", () => {
  test('Node client: the entry stored by newSession resumes through resumeSession', async () => {
    const c = await cachingServer();
    try {
      let secured = 0;
      c.server.on('secureConnection', (s) => {
        secured++;
        expect(s.isSessionReused()).toBe(secured === 2);
      });
      const first = await nodeClient(c.port);
      expect(first.reused).toBe(false);
      expect(first.data).toBe('hello\n');
      expect(c.stored).toHaveLength(1);
      const second = await nodeClient(c.port, first.session);
      expect(second.reused).toBe(true);
      expect(second.data).toBe('hello\n');
      expect(c.asked).toEqual([c.stored[0]]);
      expect(secured).toBe(2);
    } finally {
      await closeServer(c.server);
    }
  });

  test('resumeSession answering null: a full handshake, not an error', async () => {
    const c = await cachingServer(false);
    try {
      const first = await nodeClient(c.port);
      const second = await nodeClient(c.port, first.session);
      expect(c.asked).toHaveLength(1);
      expect(second.reused).toBe(false);
      expect(second.data).toBe('hello\n');
      expect(c.stored).toHaveLength(2);
    } finally {
      await closeServer(c.server);
    }
  });

  test('gnutls-cli --resume resumes from the application cache', async () => {
    const c = await cachingServer();
    try {
      const cli = spawnPeer('gnutls-cli', [
        '--port', String(c.port), '127.0.0.1', '--x509cafile', 'ca.pem', '--sni-hostname', 'localhost',
        '--verify-hostname', 'localhost', '--resume', '--priority', gnutlsPriority('TLSv1.2'),
      ]);
      cli.proc.stdin?.end();
      expect(await cli.exited).toBe(0);
      expect(cli.out()).toContain('This is a resumed session');
      expect(c.stored.length).toBeGreaterThanOrEqual(1);
      expect(c.asked).toContain(c.stored[0]);
    } finally {
      await closeServer(c.server);
    }
  });

  test('a TLS 1.3 ClientHello is not looked up (TLS 1.3 resumes with tickets)', async () => {
    const store: string[] = [];
    const server = createServer(serverOpts, (s) => s.end('hello\n'));
    server.on('resumeSession', (id, cb) => {
      store.push(id.toString('hex'));
      cb(null, null);
    });
    const port = await listen(server);
    try {
      const r = await nodeClient(port, undefined, 'TLSv1.3');
      expect(r.data).toBe('hello\n');
      expect(store).toEqual([]);
    } finally {
      await closeServer(server);
    }
  });
});
