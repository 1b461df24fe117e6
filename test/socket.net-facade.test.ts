// TLSSocket as a net.Socket, compared with Node's tls.TLSSocket in the same scenario: instanceof,
// the 'connect'/'ready'/'secureConnect' order, connecting/pending/readyState along the way,
// bytesRead/bytesWritten and timeout.
import * as net from 'net';
import * as nodeTls from 'tls';
import * as gtls from '../lib';
import { closeServer, fixture, listen, once } from './helpers';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };

type Stack = 'node' | 'gnutls';
const connectWith = (stack: Stack, opts: nodeTls.ConnectionOptions): net.Socket =>
  stack === 'node' ? nodeTls.connect(opts) : (gtls.connect(opts as gtls.ConnectionOptions) as unknown as net.Socket);

/** Connects, exchanges 1000 bytes each way, ends; records what a net.Socket user can observe. */
async function trace(stack: Stack, port: number): Promise<string[]> {
  const out: string[] = [];
  const state = (s: net.Socket, at: string): void => {
    out.push(`${at}: connecting=${s.connecting} pending=${s.pending} readyState=${s.readyState}`);
  };
  const c = connectWith(stack, { port, host: '127.0.0.1', servername: 'localhost', ca });
  out.push(`instanceof net.Socket=${c instanceof net.Socket}`);
  state(c, 'created');
  for (const ev of ['connect', 'ready', 'secureConnect', 'end', 'finish']) c.on(ev, () => out.push(`event ${ev}`));
  c.on('connect', () => state(c, 'connect'));
  const closed = new Promise<void>((resolve) =>
    c.on('close', (hadError: boolean) => {
      out.push(`event close hadError=${hadError}`);
      state(c, 'closed');
      out.push(`bytes after close: read=${c.bytesRead} written=${c.bytesWritten}`);
      resolve();
    }),
  );
  await once(c, 'secureConnect');
  state(c, 'secureConnect');
  out.push(`bytes at secureConnect: read=${c.bytesRead} written=${c.bytesWritten}`);
  c.setTimeout(5000);
  out.push(`timeout=${c.timeout}`);
  c.setTimeout(0);
  let got = 0;
  c.on('data', (d: Buffer) => (got += d.length));
  c.cork();
  c.write(Buffer.alloc(1000, 1));
  out.push(`bytesWritten after write=${c.bytesWritten} bufferSize=${c.bufferSize}`);
  c.uncork();
  await once(c, 'end');
  out.push(`received ${got}, bytesRead=${c.bytesRead}`);
  await closed;
  return out;
}

test('a client socket looks the same as Node\'s to net.Socket code (Node server; both stacks)', async () => {
  const server = nodeTls.createServer(serverOpts, (s) => {
    s.on('data', () => {
      s.end(Buffer.alloc(1000, 2));
    });
  });
  const port = await listen(server);
  const node = await trace('node', port);
  const ours = await trace('gnutls', port);
  expect(ours).toEqual(node);
  expect(ours).toContain('instanceof net.Socket=true');
  await closeServer(server);
});

test('a server socket is a net.Socket with plaintext byte counts (our server, Node client)', async () => {
  let seen: { instance: boolean; read: number; written: number; hadError?: boolean } | null = null;
  const closed = new Promise<void>((resolve) => {
    const server = gtls.createServer(serverOpts, (s) => {
      s.on('data', () => s.end(Buffer.alloc(300)));
      s.on('close', (hadError: boolean) => {
        seen = { instance: s instanceof net.Socket, read: s.bytesRead, written: s.bytesWritten, hadError };
        server.close();
        resolve();
      });
    });
    void listen(server).then((port) => {
      const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca }, () => c.end(Buffer.alloc(700)));
      c.resume();
    });
  });
  await closed;
  expect(seen).toEqual({ instance: true, read: 700, written: 300, hadError: false });
});

describe('setServername(), setSession(), getPeerX509Certificate(), getX509Certificate() as on Node\'s socket', () => {
  // Both stacks have setServername()/setSession(); @types/node does not declare them.
  type Client = nodeTls.TLSSocket & { setServername(name: string): void; setSession(session: Buffer): void };
  const connectTo = (stack: Stack, port: number, extra: nodeTls.ConnectionOptions = {}): Client =>
    connectWith(stack, { port, host: '127.0.0.1', ca, ...extra }) as unknown as Client;

  /** What a client observes when it names the server with setServername() and resumes with setSession(). */
  async function observe(stack: Stack, port: number, seen: () => string | undefined): Promise<Record<string, unknown>> {
    const first = connectTo(stack, port, { servername: 'localhost', maxVersion: 'TLSv1.2' });
    await once(first, 'secureConnect');
    const session = first.getSession()!;
    const peer = first.getPeerX509Certificate();
    const own = first.getX509Certificate();
    first.destroy();
    const second = connectTo(stack, port, { maxVersion: 'TLSv1.2', checkServerIdentity: () => undefined });
    second.setServername('localhost');
    second.setSession(session);
    await once(second, 'secureConnect');
    const out = {
      sniSeenByServer: seen(),
      resumed: second.isSessionReused(),
      peerSubject: peer?.subject,
      peerIsX509: peer !== undefined && typeof peer.fingerprint256 === 'string',
      own: own === undefined ? 'undefined' : own.subject,
    };
    second.destroy();
    return out;
  }

  test('a client against a Node server, both stacks', async () => {
    let sni: string | undefined;
    const server = nodeTls.createServer({ ...serverOpts, SNICallback: (name, cb) => { sni = name; cb(null); } });
    const port = await listen(server);
    const node = await observe('node', port, () => sni);
    sni = undefined;
    const ours = await observe('gnutls', port, () => sni);
    expect(ours).toEqual(node);
    expect(ours).toMatchObject({ sniSeenByServer: 'localhost', resumed: true, own: 'undefined' });
    await closeServer(server);
  });

  test('on a server socket: setServername() throws ERR_TLS_SNI_FROM_SERVER, getX509Certificate() is the served one', async () => {
    const results: Array<Record<string, unknown>> = [];
    for (const stack of ['node', 'gnutls'] as Stack[]) {
      const server: net.Server =
        stack === 'node' ? nodeTls.createServer(serverOpts) : (gtls.createServer(serverOpts) as unknown as net.Server);
      const secured = once<nodeTls.TLSSocket>(server, 'secureConnection');
      const port = await listen(server);
      const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
      const s = await secured;
      let code: unknown;
      try {
        (s as nodeTls.TLSSocket & { setServername(name: string): void }).setServername('x');
      } catch (e) {
        code = (e as { code?: string }).code;
      }
      results.push({ code, own: s.getX509Certificate()?.subject, peer: s.getPeerX509Certificate() });
      c.destroy();
      s.destroy();
      await closeServer(server);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[1].code).toBe('ERR_TLS_SNI_FROM_SERVER');
  });
});
