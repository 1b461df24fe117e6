// Client-certificate modes on our server (verifyClient, and Node's requestCert/rejectUnauthorized),
// with Node's tls as the client: no certificate, a trusted one, an untrusted one.
import * as nodeTls from 'tls';
import * as gtls from '../lib';
import { VERSIONS, closeServer, fixture, listen, spawnPeer } from './helpers';

const ca = fixture('ca.pem');
const clients: Record<string, object> = {
  none: {},
  trusted: { key: fixture('client.key'), cert: fixture('client.pem') },
  untrusted: { key: fixture('other-leaf.key'), cert: fixture('other-leaf.pem') },
};

/** What the server saw ('authorized:authorizationError:CN'), or 'rejected' when the handshake failed. */
async function outcome(serverOpts: gtls.TlsOptions, client: object): Promise<string> {
  const server = gtls.createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem'), ca, ...serverOpts }, (s) =>
    s.end(`${s.authorized}:${s.authorizationError}:${s.getPeerCertificate().subject?.CN}`),
  );
  let rejected = false;
  server.on('tlsClientError', () => (rejected = true));
  const port = await listen(server);
  const result = await new Promise<string>((resolve) => {
    const c = nodeTls.connect({ port, servername: 'localhost', ca, ...client });
    let data = '';
    c.on('data', (d) => (data += d));
    c.on('error', () => resolve('rejected'));
    // A client the server refuses after the handshake sees the connection end, with no data
    // (Node's server drops it silently, before its last flight).
    c.on('end', () => resolve(data === '' ? 'rejected' : data));
  });
  await closeServer(server);
  if (result === 'rejected') expect(rejected).toBe(true);
  return result;
}

const expected: Record<string, Record<string, string>> = {
  none: { none: 'false:null:undefined', trusted: 'false:null:undefined', untrusted: 'false:null:undefined' },
  request: {
    none: 'false:UNABLE_TO_GET_ISSUER_CERT:undefined',
    trusted: 'true:null:client.node-gnutls',
    untrusted: 'false:UNABLE_TO_VERIFY_LEAF_SIGNATURE:localhost',
  },
  require: { none: 'rejected', trusted: 'true:null:client.node-gnutls', untrusted: 'rejected' },
  'verify-if-sent': {
    none: 'false:UNABLE_TO_GET_ISSUER_CERT:undefined',
    trusted: 'true:null:client.node-gnutls',
    untrusted: 'rejected',
  },
};

describe.each(VERSIONS)('%s', (version) => {
  for (const mode of Object.keys(expected) as gtls.VerifyClientMode[]) {
    test(`verifyClient '${mode}'`, async () => {
      for (const [name, client] of Object.entries(clients)) {
        expect(`${name} → ${await outcome({ verifyClient: mode, maxVersion: version }, client)}`).toBe(
          `${name} → ${expected[mode][name]}`,
        );
      }
    });
  }

  test("Node's requestCert/rejectUnauthorized map onto 'require' and 'request'", async () => {
    expect(await outcome({ requestCert: true, maxVersion: version }, clients.untrusted)).toBe('rejected');
    expect(await outcome({ requestCert: true, rejectUnauthorized: false, maxVersion: version }, clients.untrusted)).toBe(
      expected.request.untrusted,
    );
    expect(await outcome({ maxVersion: version }, clients.trusted)).toBe(expected.none.trusted);
  });
});

describe('verifyClientOnce', () => {
  /** How many CertificateRequests openssl s_client saw over a handshake plus one rehandshake(). */
  async function certificateRequests(once: boolean): Promise<number> {
    const server = gtls.createServer({
      key: fixture('server.key'),
      cert: fixture('server-chain.pem'),
      ca,
      requestCert: true,
      verifyClientOnce: once,
      maxVersion: 'TLSv1.2',
    });
    const port = await listen(server);
    const secured = new Promise<gtls.TLSSocket>((resolve) => server.once('secureConnection', resolve));
    const cli = spawnPeer('openssl', [
      's_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-msg', '-servername', 'localhost',
      '-CAfile', 'ca.pem', '-cert', 'client.pem', '-key', 'client.key',
    ]);
    const s = await secured;
    await s.rehandshake({ timeout: 5000 });
    expect(s.getPeerCertificate().subject.CN).toBe('client.node-gnutls');
    s.end();
    cli.proc.stdin!.end();
    await cli.exited;
    await closeServer(server);
    expect(cli.out()).toMatch(/ServerHello[\s\S]+ServerHello/); // two handshakes on the wire
    return (cli.out().match(/<<< TLS 1\.2, Handshake \[length [0-9a-f]+\], CertificateRequest/g) ?? []).length;
  }

  test('asks for the client certificate in the first handshake only (openssl s_client -msg)', async () => {
    expect(await certificateRequests(false)).toBe(2);
    expect(await certificateRequests(true)).toBe(1);
  });
});
