// The GnuTLS priority made from a `ciphers` string enables every TLS 1.2 suite OpenSSL's grammar
// selects (evaluated as cipher-grammar.test.ts checks against `openssl ciphers`), and exactly them
// when they form one product of key exchanges, ciphers and MACs; GnuTLS itself lists the suites.
import { allowedAtLevel, allSuites, evaluateCipherList } from '../../lib/ciphers';
import { binding } from '../../lib/native';
import { createSecureContext } from '../../lib';

const STRINGS = [
  'AES128-SHA', 'AES256-SHA:AES128-SHA', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE+AESGCM', 'ECDHE+AESGCM:ECDHE+CHACHA20',
  'HIGH:!aNULL:!kRSA:!PSK', 'DEFAULT', 'PSK', 'PSK+HIGH', 'kECDHE+SHA256', 'AESCCM8', 'CAMELLIA', 'ADH:@SECLEVEL=0',
  'NULL:@SECLEVEL=0', 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305', 'DHE-RSA-AES128-GCM-SHA256:AES256-SHA',
];

describe('the priority a ciphers string becomes', () => {
  const byGnutls = new Map(allSuites().map((s) => [s.gnutlsName, s]));

  test.each(STRINGS)('%s (TLS 1.2 only)', (str) => {
    const r = evaluateCipherList(str);
    const want = r.suites.filter((s) => allowedAtLevel(s, r.secLevel));
    const ctx = createSecureContext({ ciphers: str, maxVersion: 'TLSv1.2' });
    const got = binding.cipherSuites(ctx.priority).map((s) => byGnutls.get(s.name)?.opensslName ?? s.name);
    const wanted = want.map((s) => s.opensslName);
    expect(got).toEqual(expect.arrayContaining(wanted));
    // Nothing outside the product of the selected suites' parts.
    const kx = new Set(want.map((s) => s.gnutls.kx));
    const ciphers = new Set(want.map((s) => s.gnutls.cipher));
    const macs = new Set(want.map((s) => s.gnutls.mac));
    const product = allSuites().filter((s) => kx.has(s.gnutls.kx) && ciphers.has(s.gnutls.cipher) && macs.has(s.gnutls.mac));
    expect(product.map((s) => s.opensslName)).toEqual(expect.arrayContaining(got));
    if (product.length === want.length) expect([...got].sort()).toEqual([...wanted].sort());
  });

  test('a TLS 1.3-only string enables exactly its TLS 1.3 suites, in order', () => {
    const ctx = createSecureContext({ ciphers: 'TLS_AES_128_CCM_8_SHA256:TLS_CHACHA20_POLY1305_SHA256' });
    expect(binding.cipherSuites(ctx.priority).map((s) => s.name)).toEqual(['TLS_AES_128_CCM_8_SHA256', 'TLS_CHACHA20_POLY1305_SHA256']);
  });

  test("a TLS 1.2-only string keeps OpenSSL's TLS 1.3 defaults first, in their order", () => {
    const ctx = createSecureContext({ ciphers: 'AES128-SHA' });
    const tls13 = binding.cipherSuites(ctx.priority).filter((s) => s.minVersion === 'TLS1.3').map((s) => s.name);
    expect(tls13).toEqual(['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256']);
  });
});
