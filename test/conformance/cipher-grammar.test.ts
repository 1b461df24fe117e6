// The cipher-list evaluator against OpenSSL's own: for each string, `openssl ciphers -V` (the list
// SSL_CTX_set_cipher_list makes) and `openssl ciphers -s -tls1_2 -V` (what a TLS 1.2 client offers,
// after the security level) restricted to the suites GnuTLS has, compared in order with ours.
import { execFileSync } from 'child_process';
import * as nodeTls from 'tls';
import { allowedAtLevel, allSuites, evaluateCipherList } from '../../lib/ciphers';
import { CipherListError } from '../../lib/ciphers/grammar';

// Node's OpenSSL does not read the system openssl.cnf (which may raise the security level).
const env = { ...process.env, OPENSSL_CONF: '/dev/null' };

/** OpenSSL's TLS 1.2 suites for a string, as code points, or the reason it refused it. */
function openssl(str: string, supported: boolean): number[] | string {
  const args = ['ciphers', ...(supported ? ['-s', '-tls1_2'] : []), '-V', str];
  try {
    const out = execFileSync('openssl', args, { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    return out
      .split('\n')
      .map((l) => /0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && !m[3].startsWith('TLS_'))
      .map((m) => parseInt(m[1] + m[2], 16));
  } catch (e) {
    const err = String((e as { stderr?: Buffer }).stderr ?? e);
    return /:([a-z ]+):[^:]*:\d+:?\s*$/m.exec(err.trim())?.[1] ?? err;
  }
}

/** Ours, in the same terms. */
function ours(str: string, supported: boolean): number[] | string {
  try {
    const r = evaluateCipherList(str);
    let suites = r.suites;
    // `openssl ciphers -s` is a client without a PSK callback: it offers no PSK suite.
    if (supported) suites = suites.filter((s) => allowedAtLevel(s, r.secLevel) && !['kPSK', 'kRSAPSK', 'kDHEPSK', 'kECDHEPSK'].includes(s.mkey));
    if (r.suites.length === 0) return 'no cipher match';
    return suites.map((s) => s.id);
  } catch (e) {
    if (e instanceof CipherListError) return e.reason;
    throw e;
  }
}

const STRINGS = [
  'DEFAULT', 'ALL', 'ALL:COMPLEMENTOFALL', 'ALL:COMPLEMENTOFALL:@SECLEVEL=0', 'COMPLEMENTOFDEFAULT:@SECLEVEL=0',
  'HIGH', 'MEDIUM', 'LOW', 'HIGH:!aNULL:!eNULL', 'HIGH:@STRENGTH', 'ALL:@STRENGTH:@SECLEVEL=0',
  'RSA', 'kRSA', 'aRSA', 'ECDHE', 'EECDH', 'kECDHE', 'ECDH:@SECLEVEL=0', 'DHE', 'EDH', 'kDHE', 'DH:@SECLEVEL=0',
  'ECDSA', 'aECDSA', 'DSS', 'PSK', 'kPSK', 'aPSK', 'kECDHEPSK', 'kDHEPSK', 'kRSAPSK', 'PSK+HIGH',
  'aNULL', 'aNULL:@SECLEVEL=0', 'eNULL', 'eNULL:@SECLEVEL=0', 'NULL:@SECLEVEL=0', 'AECDH:@SECLEVEL=0', 'ADH:@SECLEVEL=0',
  'AES', 'AES128', 'AES256', 'AESGCM', 'AESCCM', 'AESCCM8', 'CHACHA20', 'CAMELLIA', 'CAMELLIA128:@SECLEVEL=0',
  'SHA1', 'SHA', 'SHA256', 'SHA384', 'TLSv1.2', 'TLSv1', 'TLSv1.0', 'SSLv3',
  'ECDHE+AESGCM', 'ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM', 'RSA+AES128+SHA', 'AES+SHA256', 'ECDHE+RSA',
  'HIGH:-AES256:AES256', 'HIGH:!AES256:AES256', 'HIGH:+AES128', 'AES128-SHA:AES256-SHA:+AES128-SHA',
  'DEFAULT:!RSA', 'DEFAULT:@SECLEVEL=2', 'DEFAULT:@SECLEVEL=3', 'ALL:@SECLEVEL=4', 'ALL:@SECLEVEL=5',
  'DEFAULTX', 'HIGH:DEFAULT', 'HIGH,!SHA1 !SHA256;!SHA384', ':-ALL:HIGH', 'HIGH!aNULL', 'AES128-SHA!x', '!ALL:HIGH', '+HIGH', '@STRENGTH',
  'AES128-SHA', 'AES256-SHA', 'AES256-SHA:AES128-SHA', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256:!RC4',
  'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305', 'DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA',
  'PSK-AES128-CBC-SHA256', 'ECDHE-PSK-AES128-CBC-SHA256', 'RSA-PSK-AES128-GCM-SHA256', 'DHE-PSK-AES256-CCM8',
  'AES128-CCM8:AES256-CCM', 'ECDHE-RSA-CAMELLIA128-SHA256', 'ADH-AES128-GCM-SHA256:@SECLEVEL=0', 'NULL-SHA256:@SECLEVEL=0',
  'ECDHE-ECDSA-ARIA128-GCM-SHA256', 'nonsense', 'nonsense:AES128-SHA', 'AES_128', 'HIGH:@FOO', '@SECLEVEL=9', 'HIGH+', 'AESGCM+',
  'AES128-SHA+RSA', 'AES128-SHA+ECDHE', 'TLSv1.2+ECDHE+AES', 'TLSv1+TLSv1.2', 'kDHE:!DSS:@SECLEVEL=0',
  // Node's DEFAULT_CIPHERS without its TLS 1.3 names (Node hands those to OpenSSL apart).
  nodeTls.DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_')).join(':'),
];

describe("OpenSSL's cipher-list grammar over GnuTLS's suites", () => {
  const have = new Set(allSuites().map((s) => s.id));
  const restrict = (v: number[] | string): number[] | string => (typeof v === 'string' ? v : v.filter((id) => have.has(id)));
  const name = (id: number): string => allSuites().find((s) => s.id === id)?.opensslName ?? id.toString(16);
  const named = (v: number[] | string): string[] | string => (typeof v === 'string' ? v : v.map(name));

  test('each suite has the name and code point OpenSSL gives it', () => {
    const all = execFileSync('openssl', ['ciphers', '-V', 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'], { env }).toString();
    const byId = new Map<number, string>();
    for (const m of all.matchAll(/0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)/g)) byId.set(parseInt(m[1] + m[2], 16), m[3]);
    const mismatched = allSuites().filter((s) => byId.get(s.id) !== s.opensslName).map((s) => `${s.opensslName} ${byId.get(s.id)}`);
    expect(mismatched).toEqual([]);
    expect(allSuites().length).toBeGreaterThan(100);
  });

  test.each(STRINGS)('%s: the list OpenSSL makes', (str) => {
    const o = restrict(openssl(str, false));
    // A list of only suites GnuTLS lacks (ARIA, ...) matches nothing here.
    expect(named(ours(str, false))).toEqual(named(o.length === 0 ? 'no cipher match' : o));
  });

  test.each(STRINGS)('%s: what a TLS 1.2 client offers', (str) => {
    const full = restrict(openssl(str, false));
    const o = openssl(str, true);
    // A list that matched only suites GnuTLS lacks is refused here; one whose suites the level
    // forbids (so that OpenSSL offers none) offers none here either.
    const theirs = typeof full === 'string' ? full : full.length === 0 ? 'no cipher match' : o === 'no cipher match' ? [] : restrict(o);
    expect(named(ours(str, true))).toEqual(named(theirs));
  });
});
