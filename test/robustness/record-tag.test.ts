// AES-128-CCM-8 (8-byte tag) and AES-128-GCM connections from Node's client, through a proxy that
// flips one bit of the tag of the client's first application-data record: our server rejects the
// record as gnutls-serv does (what Node's client sees: the alert, or the close), and reports it.
import * as net from 'net';
import * as nodeTls from 'tls';
import { fixture, listen, closeServer } from '../helpers';
import { Running, startGnutlsServ, startOurs } from './servers';

const ca = fixture('ca.pem');

/** Forwards to `target`; flips the last byte of the client's `nth` application-data record (0-based). */
async function tagFlipper(target: number, nth: number): Promise<{ port: number; close: () => Promise<void> }> {
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    const up = net.connect(target, '127.0.0.1');
    conns.add(c).add(up);
    let pending = Buffer.alloc(0);
    let seen = 0;
    c.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      let p = 0;
      while (p + 5 <= pending.length && p + 5 + pending.readUInt16BE(p + 3) <= pending.length) {
        const end = p + 5 + pending.readUInt16BE(p + 3);
        if (pending[p] === 23 && seen++ === nth) pending[end - 1] ^= 0x01;
        p = end;
      }
      up.write(pending.subarray(0, p));
      pending = pending.subarray(p);
    });
    up.pipe(c);
    const end = (): void => {
      c.destroy();
      up.destroy();
    };
    c.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  const port = await listen(server);
  return { port, close: () => { for (const s of conns) s.destroy(); return closeServer(server); } };
}

/** What Node's client sees after its first write through the flipper. */
async function clientView(server: Running, v: '1.2' | '1.3', cipher: string): Promise<string> {
  // TLS 1.3: the client's Finished is its first encrypted record.
  const flipper = await tagFlipper(server.port, v === '1.3' ? 1 : 0);
  try {
    return await new Promise<string>((resolve) => {
      const version = v === '1.3' ? 'TLSv1.3' : 'TLSv1.2';
      const c = nodeTls.connect({ port: flipper.port, host: '127.0.0.1', servername: 'localhost', ca, minVersion: version, maxVersion: version, ciphers: cipher });
      let suite = '';
      c.on('secureConnect', () => {
        suite = c.getCipher().standardName ?? c.getCipher().name;
        c.write('ping\n');
      });
      c.on('data', () => resolve(`${suite}: echoed`));
      c.on('error', (e: NodeJS.ErrnoException) => resolve(`${suite}: ${e.code}`));
      c.on('close', () => resolve(`${suite}: closed`));
      setTimeout(() => resolve(`${suite}: no answer`), 3000).unref();
    });
  } finally {
    await flipper.close();
  }
}

const PRIORITY = 'NORMAL:+AES-128-CCM-8';

describe.each([
  ['1.2', 'ECDHE-ECDSA-AES128-CCM8'],
  ['1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
  ['1.3', 'TLS_AES_128_CCM_8_SHA256'],
  ['1.3', 'TLS_AES_128_GCM_SHA256'],
] as const)('TLS %s, %s, a record with a flipped tag bit', (v, cipher) => {
  test('answered as gnutls-serv answers, and reported', async () => {
    const ref = await startGnutlsServ(PRIORITY);
    let reference: string;
    try {
      reference = await clientView(ref, v, cipher);
    } finally {
      await ref.stop();
    }
    expect(reference).toMatch(/^\w+.*: (ERR_SSL_\w*BAD_RECORD_MAC|closed|ECONNRESET)$/);
    const ours = await startOurs('plain', PRIORITY);
    try {
      expect(await clientView(ours, v, cipher)).toBe(reference);
    } finally {
      await ours.stop();
    }
  });
});
