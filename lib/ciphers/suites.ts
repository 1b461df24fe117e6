// The cipher-suite table: every TLS 1.2 suite GnuTLS has that OpenSSL also names, with the
// attributes OpenSSL's cipher-list grammar selects on (key exchange, authentication, encryption,
// MAC, protocol version, strength), and the GnuTLS priority keywords that enable it. Built once,
// from the suites the native addon reports for a priority that enables all of them.
import { binding } from '../native';

export type Mkey = 'kRSA' | 'kECDHE' | 'kDHE' | 'kPSK' | 'kRSAPSK' | 'kDHEPSK' | 'kECDHEPSK';
export type Auth = 'aRSA' | 'aECDSA' | 'aDSS' | 'aPSK' | 'aNULL';
export type Enc =
  | 'AES128' | 'AES256' | 'AES128GCM' | 'AES256GCM' | 'AES128CCM' | 'AES256CCM' | 'AES128CCM8' | 'AES256CCM8'
  | 'CHACHA20POLY1305' | 'CAMELLIA128' | 'CAMELLIA256' | 'eNULL';
export type Mac = 'SHA1' | 'SHA256' | 'SHA384' | 'AEAD';
/** OpenSSL's lowest protocol version of a suite: 'SSLv3', 'TLSv1' or 'TLSv1.2'. */
export type MinTls = 'SSLv3' | 'TLSv1' | 'TLSv1.2';
export type Strength = 'HIGH' | 'MEDIUM' | 'LOW' | 'NONE';

export interface Suite {
  /** Two-byte IANA code point, as a number (0xc02f). */
  id: number;
  gnutlsName: string;
  ianaName: string;
  opensslName: string;
  mkey: Mkey;
  auth: Auth;
  enc: Enc;
  mac: Mac;
  minTls: MinTls;
  /** Symmetric strength in bits (OpenSSL's strength_bits). */
  bits: number;
  strength: Strength;
  /** In OpenSSL's COMPLEMENTOFDEFAULT (left out of DEFAULT although in ALL). */
  notDefault: boolean;
  /** GnuTLS priority keywords of the three parts. */
  gnutls: { kx: string; cipher: string; mac: string };
}

interface KxInfo { mkey: Mkey; auth: Auth; openssl: string; gnutls: string; iana: string }
const KX: Record<string, KxInfo> = {
  ECDHE_ECDSA: { mkey: 'kECDHE', auth: 'aECDSA', openssl: 'ECDHE-ECDSA-', gnutls: 'ECDHE-ECDSA', iana: 'ECDHE_ECDSA' },
  ECDHE_RSA: { mkey: 'kECDHE', auth: 'aRSA', openssl: 'ECDHE-RSA-', gnutls: 'ECDHE-RSA', iana: 'ECDHE_RSA' },
  DHE_RSA: { mkey: 'kDHE', auth: 'aRSA', openssl: 'DHE-RSA-', gnutls: 'DHE-RSA', iana: 'DHE_RSA' },
  DHE_DSS: { mkey: 'kDHE', auth: 'aDSS', openssl: 'DHE-DSS-', gnutls: 'DHE-DSS', iana: 'DHE_DSS' },
  RSA: { mkey: 'kRSA', auth: 'aRSA', openssl: '', gnutls: 'RSA', iana: 'RSA' },
  ECDHE_PSK: { mkey: 'kECDHEPSK', auth: 'aPSK', openssl: 'ECDHE-PSK-', gnutls: 'ECDHE-PSK', iana: 'ECDHE_PSK' },
  DHE_PSK: { mkey: 'kDHEPSK', auth: 'aPSK', openssl: 'DHE-PSK-', gnutls: 'DHE-PSK', iana: 'DHE_PSK' },
  RSA_PSK: { mkey: 'kRSAPSK', auth: 'aRSA', openssl: 'RSA-PSK-', gnutls: 'RSA-PSK', iana: 'RSA_PSK' },
  PSK: { mkey: 'kPSK', auth: 'aPSK', openssl: 'PSK-', gnutls: 'PSK', iana: 'PSK' },
  ECDH_ANON: { mkey: 'kECDHE', auth: 'aNULL', openssl: 'AECDH-', gnutls: 'ANON-ECDH', iana: 'ECDH_anon' },
  DH_ANON: { mkey: 'kDHE', auth: 'aNULL', openssl: 'ADH-', gnutls: 'ANON-DH', iana: 'DH_anon' },
};
/** Longest first, so that 'ECDHE_PSK' is tried before 'PSK' and 'RSA_PSK' before 'RSA'. */
const KX_KEYS = Object.keys(KX).sort((a, b) => b.length - a.length);

interface CipherInfo { enc: Enc; bits: number; openssl: string; gnutls: string; aead: boolean }
const CIPHERS: Record<string, CipherInfo> = {
  AES_128_GCM: { enc: 'AES128GCM', bits: 128, openssl: 'AES128-GCM', gnutls: 'AES-128-GCM', aead: true },
  AES_256_GCM: { enc: 'AES256GCM', bits: 256, openssl: 'AES256-GCM', gnutls: 'AES-256-GCM', aead: true },
  AES_128_CCM_8: { enc: 'AES128CCM8', bits: 128, openssl: 'AES128-CCM8', gnutls: 'AES-128-CCM-8', aead: true },
  AES_256_CCM_8: { enc: 'AES256CCM8', bits: 256, openssl: 'AES256-CCM8', gnutls: 'AES-256-CCM-8', aead: true },
  AES_128_CCM: { enc: 'AES128CCM', bits: 128, openssl: 'AES128-CCM', gnutls: 'AES-128-CCM', aead: true },
  AES_256_CCM: { enc: 'AES256CCM', bits: 256, openssl: 'AES256-CCM', gnutls: 'AES-256-CCM', aead: true },
  CHACHA20_POLY1305: { enc: 'CHACHA20POLY1305', bits: 256, openssl: 'CHACHA20-POLY1305', gnutls: 'CHACHA20-POLY1305', aead: true },
  AES_128_CBC: { enc: 'AES128', bits: 128, openssl: 'AES128', gnutls: 'AES-128-CBC', aead: false },
  AES_256_CBC: { enc: 'AES256', bits: 256, openssl: 'AES256', gnutls: 'AES-256-CBC', aead: false },
  CAMELLIA_128_CBC: { enc: 'CAMELLIA128', bits: 128, openssl: 'CAMELLIA128', gnutls: 'CAMELLIA-128-CBC', aead: false },
  CAMELLIA_256_CBC: { enc: 'CAMELLIA256', bits: 256, openssl: 'CAMELLIA256', gnutls: 'CAMELLIA-256-CBC', aead: false },
  NULL: { enc: 'eNULL', bits: 0, openssl: 'NULL', gnutls: 'NULL', aead: false },
};
/** Longest first, so that 'AES_128_CCM_8' is tried before 'AES_128_CCM'. */
const CIPHER_KEYS = Object.keys(CIPHERS).sort((a, b) => b.length - a.length);
const MACS: Record<string, Mac> = { SHA1: 'SHA1', SHA256: 'SHA256', SHA384: 'SHA384' };

/** The TLS 1.3 suites: IANA name to GnuTLS cipher keyword. */
export const TLS13_SUITES: Record<string, string> = {
  TLS_AES_256_GCM_SHA384: 'AES-256-GCM',
  TLS_CHACHA20_POLY1305_SHA256: 'CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: 'AES-128-GCM',
  TLS_AES_128_CCM_SHA256: 'AES-128-CCM',
  TLS_AES_128_CCM_8_SHA256: 'AES-128-CCM-8',
};

/** A priority under which GnuTLS lists every suite of the table (and some OpenSSL lacks). */
export const ALL_SUITES_PRIORITY = [
  'NONE:+VERS-TLS1.2',
  ...Object.values(CIPHERS).map((c) => `+${c.gnutls}`),
  '+AEAD:+SHA384:+SHA256:+SHA1',
  ...Object.values(KX).map((k) => `+${k.gnutls}`),
  '+SIGN-ALL:+GROUP-ALL:+COMP-NULL:+CTYPE-X509',
].join(':');

/** The parts of a GnuTLS TLS 1.2 suite name ('TLS_ECDHE_RSA_AES_128_CBC_SHA1'), if the table knows them. */
function parseGnutlsName(name: string): { kx: string; cipher: string; mac: string } | undefined {
  const body = name.replace(/^TLS_/, '');
  const kx = KX_KEYS.find((k) => body.startsWith(`${k}_`));
  if (!kx) return undefined;
  const rest = body.slice(kx.length + 1);
  const cipher = CIPHER_KEYS.find((c) => rest === c || rest.startsWith(`${c}_`));
  if (!cipher) return undefined;
  const mac = rest.slice(cipher.length + 1);
  if (mac !== '' && !MACS[mac]) return undefined;
  return { kx, cipher, mac };
}

/** OpenSSL's minimum version for a suite, by the rules its table follows. */
function minTlsOf(kx: KxInfo, c: CipherInfo, mac: Mac): MinTls {
  if (mac === 'AEAD') return 'TLSv1.2';
  const psk = kx.mkey !== 'kRSA' && kx.mkey !== 'kECDHE' && kx.mkey !== 'kDHE';
  if (mac !== 'SHA1') return psk ? 'TLSv1' : 'TLSv1.2';
  return kx.mkey === 'kECDHE' || kx.mkey === 'kECDHEPSK' ? 'TLSv1' : 'SSLv3';
}

/** A table row for a GnuTLS suite name, or undefined when OpenSSL has no such suite. */
export function describeSuite(gnutlsName: string, id: number): Suite | undefined {
  const p = parseGnutlsName(gnutlsName);
  if (!p) return undefined;
  const kx = KX[p.kx];
  const c = CIPHERS[p.cipher];
  const mac: Mac = c.aead ? 'AEAD' : MACS[p.mac];
  // GCM suites name their PRF hash; CCM and ChaCha20 suites use SHA-256 without saying so.
  const hash = p.mac || (p.cipher === 'CHACHA20_POLY1305' ? 'SHA256' : '');
  const ianaMac = hash === 'SHA1' ? 'SHA' : hash;
  const isPsk = kx.mkey !== 'kRSA' && kx.mkey !== 'kECDHE' && kx.mkey !== 'kDHE';
  const osslCipher = isPsk && (p.cipher === 'AES_128_CBC' || p.cipher === 'AES_256_CBC') ? `${c.openssl}-CBC` : c.openssl;
  const osslMac = p.mac === '' || p.cipher === 'CHACHA20_POLY1305' || p.cipher.includes('CCM') ? '' : `-${ianaMac}`;
  return {
    id,
    gnutlsName,
    ianaName: `TLS_${kx.iana}_WITH_${p.cipher}${ianaMac && !p.cipher.includes('CCM') ? `_${ianaMac}` : ''}`,
    opensslName: `${kx.openssl}${osslCipher}${osslMac}`,
    mkey: kx.mkey,
    auth: kx.auth,
    enc: c.enc,
    mac,
    minTls: minTlsOf(kx, c, mac),
    bits: c.bits,
    strength: c.bits === 0 ? 'NONE' : 'HIGH',
    notDefault: (kx.auth === 'aNULL' && c.enc !== 'eNULL') || kx.auth === 'aDSS' || p.cipher.includes('CCM') || p.cipher.startsWith('CAMELLIA'),
    gnutls: { kx: kx.gnutls, cipher: c.gnutls, mac: c.aead ? 'AEAD' : p.mac },
  };
}

let table: Suite[] | undefined;

/** Every suite of the table, in OpenSSL's initial order (descending code point). */
export function allSuites(): readonly Suite[] {
  if (!table) {
    const rows: Suite[] = [];
    for (const s of binding.cipherSuites(ALL_SUITES_PRIORITY)) {
      const row = describeSuite(s.name, (s.id[0] << 8) | s.id[1]);
      if (row) rows.push(row);
    }
    table = rows.sort((a, b) => b.id - a.id);
  }
  return table;
}
