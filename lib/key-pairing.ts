// Which certificate each private key goes with: the one holding its public key, whatever the
// order of the `key` and `cert` arrays (as OpenSSL pairs them for Node).
import { X509Certificate, createPrivateKey, createPublicKey } from 'crypto';

/** The SPKI (DER) of a private key, or null when Node's crypto cannot read it (GnuTLS may). */
function keySpki(pem: Buffer | string, passphrase: string | undefined): Buffer | null {
  try {
    const key = createPrivateKey({ key: pemOnly(pem), passphrase, format: 'pem' });
    return createPublicKey(key).export({ type: 'spki', format: 'der' });
  } catch {
    return null;
  }
}

/** The SPKI (DER) of a certificate input's first certificate (its leaf), or null. */
function certSpki(cert: Buffer | string): Buffer | null {
  try {
    const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(Buffer.from(cert).toString('latin1'));
    const x = new X509Certificate(m ? m[0] : Buffer.from(cert));
    return x.publicKey.export({ type: 'spki', format: 'der' });
  } catch {
    return null;
  }
}

/** The PEM block of a key file (certtool writes a text description before it). */
function pemOnly(b: Buffer | string): Buffer | string {
  const m = /-----BEGIN [^-]+-----[\s\S]+?-----END [^-]+-----/.exec(Buffer.from(b).toString('latin1'));
  return m ? m[0] : b;
}

/**
 * For each key (by index), the index of its certificate: the one with the same public key; where
 * none matches (or a key cannot be read here), the certificate at the key's position (or the last).
 */
export function pairKeysWithCerts(
  keys: Array<{ pem: Buffer | string; passphrase?: string }>,
  certs: Array<Buffer | string>,
): number[] {
  if (certs.length < 2) return keys.map((_, i) => Math.min(i, certs.length - 1));
  const spkis = certs.map((c) => certSpki(c));
  return keys.map((k, i) => {
    const fallback = Math.min(i, certs.length - 1);
    const spki = keySpki(k.pem, k.passphrase);
    if (!spki) return fallback;
    const found = spkis.findIndex((s) => s !== null && s.equals(spki));
    return found >= 0 ? found : fallback;
  });
}
