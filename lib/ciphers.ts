// Cipher-suite names: GnuTLS/IANA names to Node's (OpenSSL) names for getCipher(), and Node's
// `ciphers` option (OpenSSL names) to a GnuTLS priority string.

interface Suite {
  kx: string; // GnuTLS priority keyword for the key exchange ('' for TLS 1.3)
  cipher: string; // GnuTLS cipher keyword
  mac: string; // GnuTLS MAC keyword
}

const CIPHERS: Record<string, { openssl: string; gnutls: string; mac?: string }> = {
  AES_128_GCM: { openssl: 'AES128-GCM', gnutls: 'AES-128-GCM', mac: 'AEAD' },
  AES_256_GCM: { openssl: 'AES256-GCM', gnutls: 'AES-256-GCM', mac: 'AEAD' },
  AES_128_CCM: { openssl: 'AES128-CCM', gnutls: 'AES-128-CCM', mac: 'AEAD' },
  AES_256_CCM: { openssl: 'AES256-CCM', gnutls: 'AES-256-CCM', mac: 'AEAD' },
  CHACHA20_POLY1305: { openssl: 'CHACHA20-POLY1305', gnutls: 'CHACHA20-POLY1305', mac: 'AEAD' },
  AES_128_CBC: { openssl: 'AES128', gnutls: 'AES-128-CBC' },
  AES_256_CBC: { openssl: 'AES256', gnutls: 'AES-256-CBC' },
};
const KX: Record<string, { openssl: string; gnutls: string }> = {
  ECDHE_ECDSA: { openssl: 'ECDHE-ECDSA-', gnutls: 'ECDHE-ECDSA' },
  ECDHE_RSA: { openssl: 'ECDHE-RSA-', gnutls: 'ECDHE-RSA' },
  DHE_RSA: { openssl: 'DHE-RSA-', gnutls: 'DHE-RSA' },
  RSA: { openssl: '', gnutls: 'RSA' },
  ECDHE_PSK: { openssl: 'ECDHE-PSK-', gnutls: 'ECDHE-PSK' },
  DHE_PSK: { openssl: 'DHE-PSK-', gnutls: 'DHE-PSK' },
  RSA_PSK: { openssl: 'RSA-PSK-', gnutls: 'RSA-PSK' },
  PSK: { openssl: 'PSK-', gnutls: 'PSK' },
};
/** KX keys, longest first, so that 'ECDHE_PSK' is tried before 'PSK'. */
const KX_LONGEST_FIRST = Object.keys(KX).sort((a, b) => b.length - a.length);
const MACS: Record<string, string> = { SHA: 'SHA1', SHA256: 'SHA256', SHA384: 'SHA384' };

/** 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' → 'ECDHE-RSA-AES128-GCM-SHA256' (TLS 1.3 names unchanged). */
export function opensslName(iana: string): string {
  const m = /^TLS_(.+)_WITH_(.+?)(?:_(SHA|SHA256|SHA384))?$/.exec(iana);
  if (!m) return iana;
  const kx = KX[m[1]];
  const c = CIPHERS[m[2]];
  if (!kx || !c) return iana;
  const mac = !m[3] || (c.mac === 'AEAD' && m[2] === 'CHACHA20_POLY1305') ? '' : `-${m[3]}`;
  return `${kx.openssl}${c.openssl}${mac}`;
}

/** GnuTLS's suite name ('TLS_ECDHE_RSA_AES_128_GCM_SHA256', 'TLS_RSA_AES_128_CBC_SHA1') → IANA's. */
export function gnutlsSuiteToIana(name: string): string {
  if (TLS13[name]) return name;
  const body = name.replace(/^TLS_/, '');
  const kxKey = KX_LONGEST_FIRST.find((k) => body.startsWith(`${k}_`));
  if (!kxKey) return name;
  let rest = body.slice(kxKey.length + 1);
  const cKey = Object.keys(CIPHERS).find((c) => rest.startsWith(c));
  if (!cKey) return name;
  rest = rest.slice(cKey.length);
  const mac = rest === '_SHA1' ? 'SHA' : rest === '' ? (cKey.endsWith('CCM') ? '' : 'SHA256') : rest.slice(1);
  return mac ? `TLS_${kxKey}_WITH_${cKey}_${mac}` : `TLS_${kxKey}_WITH_${cKey}`;
}

const TLS13: Record<string, string> = {
  TLS_AES_128_GCM_SHA256: 'AES-128-GCM',
  TLS_AES_256_GCM_SHA384: 'AES-256-GCM',
  TLS_CHACHA20_POLY1305_SHA256: 'CHACHA20-POLY1305',
  TLS_AES_128_CCM_SHA256: 'AES-128-CCM',
};

function parseOpenssl(name: string): Suite | undefined {
  if (TLS13[name]) return { kx: '', cipher: TLS13[name], mac: 'AEAD' };
  for (const [kxKey, kx] of Object.entries(KX)) {
    for (const [cKey, c] of Object.entries(CIPHERS)) {
      for (const [macKey, mac] of Object.entries(MACS)) {
        const iana = `TLS_${kxKey}_WITH_${cKey}_${macKey}`;
        if (opensslName(iana) === name || iana === name) {
          return { kx: kx.gnutls, cipher: c.gnutls, mac: c.mac ?? mac };
        }
      }
    }
  }
  return undefined;
}

/**
 * Turns Node's `ciphers` (OpenSSL-style list, ':' or ',' separated) into GnuTLS priority
 * keywords. Names without a GnuTLS equivalent and OpenSSL keywords (HIGH, !aNULL, ...) are
 * skipped; returns undefined when nothing at all maps.
 */
export function ciphersToPriority(ciphers: string): string | undefined {
  const kx = new Set<string>();
  const ciph = new Set<string>();
  const mac = new Set<string>();
  for (const raw of ciphers.split(/[:, ]+/)) {
    const s = parseOpenssl(raw.trim());
    if (!s) continue;
    if (s.kx) kx.add(s.kx);
    ciph.add(s.cipher);
    mac.add(s.mac);
  }
  if (ciph.size === 0) return undefined;
  const parts = ['-CIPHER-ALL', '-MAC-ALL'];
  for (const c of ciph) parts.push(`+${c}`);
  for (const m of mac) parts.push(`+${m}`);
  if (kx.size > 0) {
    parts.push('-KX-ALL');
    for (const k of kx) parts.push(`+${k}`);
  }
  return parts.join(':');
}
