// Cipher-suite names for getCipher() and getCipherSuites(): GnuTLS's to IANA's to OpenSSL's.
import { allSuites, describeSuite, TLS13_SUITES } from './suites';

let byIana: Map<string, string> | undefined;

/** 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' → 'ECDHE-RSA-AES128-GCM-SHA256' (TLS 1.3 names unchanged). */
export function opensslName(iana: string): string {
  if (TLS13_SUITES[iana]) return iana;
  byIana ??= new Map(allSuites().map((s) => [s.ianaName, s.opensslName]));
  return byIana.get(iana) ?? iana;
}

/** GnuTLS's suite name ('TLS_ECDHE_RSA_AES_128_GCM_SHA256', 'TLS_RSA_AES_128_CBC_SHA1') → IANA's. */
export function gnutlsSuiteToIana(name: string): string {
  if (TLS13_SUITES[name]) return name;
  return describeSuite(name, 0)?.ianaName ?? name;
}

let versionByIana: Map<string, string> | undefined;
const VERSION_NAME = { SSLv3: 'SSLv3', TLSv1: 'TLSv1.0', 'TLSv1.2': 'TLSv1.2' } as const;

/** getCipher().version: OpenSSL's lowest protocol version of the suite ('SSLv3', 'TLSv1.0', ...). */
export function cipherVersion(iana: string): string | undefined {
  if (TLS13_SUITES[iana]) return 'TLSv1.3';
  versionByIana ??= new Map(allSuites().map((s) => [s.ianaName, VERSION_NAME[s.minTls]]));
  return versionByIana.get(iana);
}
