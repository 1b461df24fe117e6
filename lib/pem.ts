// PEM forms OpenSSL reads that GnuTLS does not: OpenSSL's "TRUSTED CERTIFICATE" (a certificate
// followed by its trust settings) becomes the plain certificate it holds.
import type { BinaryLike } from './secure-context';

const TRUSTED = /-----BEGIN TRUSTED CERTIFICATE-----([\s\S]+?)-----END TRUSTED CERTIFICATE-----/g;

/** The length of the DER element at the start of `der` (tag, length, contents), or 0. */
function derElementLength(der: Buffer): number {
  if (der.length < 2) return 0;
  const first = der[1];
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || der.length < 2 + n) return 0;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i];
  return 2 + n + len;
}

function pem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----`;
}

/** `input` with each TRUSTED CERTIFICATE block replaced by its certificate (unchanged otherwise). */
export function withPlainCertificates(input: BinaryLike): BinaryLike {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  if (!text.includes('-----BEGIN TRUSTED CERTIFICATE-----')) return input;
  return text.replace(TRUSTED, (block, body: string) => {
    const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
    const n = derElementLength(der);
    return n > 0 && n <= der.length ? pem(der.subarray(0, n)) : block;
  });
}
