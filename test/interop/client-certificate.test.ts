// Our client's certificate reaches `openssl s_server -Verify 1` whose CertificateRequest names
// only a CA that did not issue it (OpenSSL's client sends its certificate regardless; GnuTLS's
// would send none without GNUTLS_FORCE_CLIENT_CERT). The check reads what s_server printed.
import { connect } from '../../lib';
import { VERSIONS, fixture, onCleanup, once, opensslServer, tracked } from '../helpers';

const WAIT = 8000;

describe.each(VERSIONS)('%s', (version) => {
  test('a client certificate from a CA the server does not list is sent', async () => {
    const vflag = version === 'TLSv1.2' ? '-tls1_2' : '-tls1_3';
    const srv = await opensslServer(['-key', 'server.key', '-cert', 'server.pem', '-cert_chain', 'int.pem', '-Verify', '1', '-CAfile', 'other-ca.pem', vflag]);
    onCleanup(() => srv.kill());
    const c = tracked(connect({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca: fixture('ca.pem'), key: fixture('client.key'), cert: fixture('client.pem') }));
    c.on('error', () => {});
    await once(c, 'secureConnect', WAIT);
    expect(c.getProtocol()).toBe(version);
    // s_server's verify callback names the certificate it got, and why it does not trust it.
    await srv.waitFor(/depth=0 O = node-gnutls, CN = client\.node-gnutls/, WAIT);
    // The lone leaf goes with its root from `ca` (as OpenSSL completes it for Node), a root the
    // server does not trust.
    await srv.waitFor(/verify error:num=19:self-signed certificate in certificate chain/, WAIT);
    expect(srv.out() + srv.err()).not.toMatch(/No client certificate CA names sent|peer did not return a certificate/);
  });
});
