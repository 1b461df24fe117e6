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
