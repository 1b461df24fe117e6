// maxHandshakeSize: GnuTLS's limit on the handshake messages of one handshake (its default, 128
// KiB, unless set). A ClientHello declaring more is refused as soon as its header is in, with
// the alert GnuTLS sends for GNUTLS_E_HANDSHAKE_TOO_LARGE; below it GnuTLS's own count decides
// (it counts its own messages too: the ServerHello must fit as well).
import * as gtls from '../../lib';
import { fixture } from '../helpers';
import { clientHello, exchange, records } from './tls-builder';
import { startGnutlsServ, startOurs } from './servers';

const ofSize = (size: number): Buffer => {
  const base = clientHello({ version: '1.3' }).length;
  return clientHello({ version: '1.3', padding: size - base - 4 });
};

describe('maxHandshakeSize', () => {
  test('a ClientHello declaring more: refused when its first record arrives, not buffered', async () => {
    const ours = await startOurs('pipeline', 'NORMAL', { maxHandshakeSize: 16384 });
    const ref = await startGnutlsServ('NORMAL');
    try {
      // Only the first 200-byte record of a 20 KiB ClientHello; the connection stays open.
      const first = records(ofSize(20000), 200).subarray(0, 205);
      const a = await exchange(ours.port, first, { waitMs: 1000 });
      await new Promise((r) => setTimeout(r, 50));
      expect(`${a.first}; ${a.then}`).toBe('alert 2/50; closed');
      expect(ours.errorFor(a.localPort)).toBe('GNUTLS_E_HANDSHAKE_TOO_LARGE');
      expect(a.ms).toBeLessThan(500);
      // gnutls-serv (no such setting, 128 KiB) waits for the rest of the message.
      expect((await exchange(ref.port, first, { waitMs: 1000 })).first).toBe('nothing');
    } finally {
      await ours.stop();
      await ref.stop();
    }
  });

  test.each([
    ['well below the limit: served', 12000, 'ServerHello TLS1.3 AES_128_GCM_SHA256 x25519; open'],
    // GnuTLS counts the ServerHello it is about to send with the ClientHello.
    ['below the limit by less than a ServerHello: GnuTLS refuses it itself', 16350, 'alert 2/50; closed'],
    ['over the limit', 16385, 'alert 2/50; closed'],
  ])('%s', async (_name, size, expected) => {
    const ours = await startOurs('plain', 'NORMAL', { maxHandshakeSize: 16384 });
    try {
      const a = await exchange(ours.port, records(ofSize(size), 1000));
      expect(`${a.first}; ${a.then}`).toBe(expected);
      if (a.then === 'closed') {
        await new Promise((r) => setTimeout(r, 50));
        expect(ours.errorFor(a.localPort)).toBe('GNUTLS_E_HANDSHAKE_TOO_LARGE');
      }
    } finally {
      await ours.stop();
    }
  });

  test.each([0, -1, 1.5, '4096', 2 ** 24 + 4])('maxHandshakeSize %p is refused by createServer', (v) => {
    expect(() => gtls.createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem'), maxHandshakeSize: v as number })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
  });
});
