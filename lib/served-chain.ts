// The chain a context serves for a certificate given without its issuers: as OpenSSL builds one
// for Node, the issuers found among the `ca` certificates are appended, up to and including the
// root. A `cert` that already holds more than one certificate is served as given.
import { X509Certificate } from 'crypto';
import { Memo } from './memo';

/** Issuers are looked for this far up at most (a loop guard; real chains are short). */
const MAX_DEPTH = 8;

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * `chain` (DER, leaf first) completed from `trusted` (DER) when it is a lone leaf; null when there
 * is nothing to add (the input is then served as it is).
 */
export function completedChain(chain: readonly Buffer[], trusted: readonly Buffer[]): readonly Buffer[] | null {
  if (chain.length !== 1 || trusted.length === 0) return null;
  const key = [chain[0], ...trusted].map((d) => d.toString('latin1')).join('\0');
  return completed.get(key, () => complete(chain[0], trusted));
}

const completed = new Memo<readonly Buffer[] | null>(64);

function complete(leaf: Buffer, trusted: readonly Buffer[]): readonly Buffer[] | null {
  let pool: X509Certificate[];
  let last: X509Certificate;
  try {
    pool = trusted.map((d) => new X509Certificate(d));
    last = new X509Certificate(leaf);
  } catch {
    return null; // GnuTLS reports what it cannot read
  }
  const out: X509Certificate[] = [last];
  for (let depth = 0; depth < MAX_DEPTH && !issuedBy(last, last); depth++) {
    const issuer = pool.find((c) => !out.includes(c) && issuedBy(last, c));
    if (!issuer) break;
    out.push(issuer);
    last = issuer;
  }
  return out.length > 1 ? Object.freeze(out.map((c) => c.raw)) : null;
}

/** DER certificates as one PEM input (what the native key loader takes for a chain). */
export function pemChain(ders: readonly Buffer[]): Buffer {
  return Buffer.from(ders.map((d) => `-----BEGIN CERTIFICATE-----\n${d.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`).join(''));
}
