// PEM forms OpenSSL reads that GnuTLS does not: OpenSSL's "TRUSTED CERTIFICATE" (a certificate
// followed by its trust settings) becomes the plain certificate it holds, and is left out when its
// settings reject a purpose or trust some purposes but not TLS (GnuTLS has no per-purpose trust).
import type { BinaryLike } from './secure-context';

const TRUSTED = /-----BEGIN TRUSTED CERTIFICATE-----([\s\S]+?)-----END TRUSTED CERTIFICATE-----/g;

/** The DER element at the start of `der`: its tag, header length and total length (0: none). */
function derElement(der: Buffer): { tag: number; header: number; length: number } {
  const none = { tag: 0, header: 0, length: 0 };
  if (der.length < 2) return none;
  const first = der[1];
  if (first < 0x80) return 2 + first <= der.length ? { tag: der[0], header: 2, length: 2 + first } : none;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || der.length < 2 + n) return none;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i];
  return 2 + n + len <= der.length ? { tag: der[0], header: 2 + n, length: 2 + n + len } : none;
}

/** The elements inside a constructed DER element's contents. */
function children(contents: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let rest = contents; rest.length > 0; ) {
    const e = derElement(rest);
    if (e.length === 0) break;
    out.push(rest.subarray(0, e.length));
    rest = rest.subarray(e.length);
  }
  return out;
}

const contentsOf = (el: Buffer): Buffer => el.subarray(derElement(el).header);
/** serverAuth, clientAuth and anyExtendedKeyUsage, DER-encoded OID contents. */
const TLS_PURPOSES = ['2b06010505070301', '2b06010505070302', '551d2500'];

/** Whether OpenSSL's trust settings (X509_CERT_AUX) after a certificate allow it for TLS. */
function auxAllowsTls(aux: Buffer): boolean {
  if (aux.length === 0) return true;
  const seq = derElement(aux);
  if (seq.tag !== 0x30) return false;
  for (const el of children(contentsOf(aux.subarray(0, seq.length)))) {
    const oids = children(contentsOf(el)).map((o) => contentsOf(o).toString('hex'));
    if (el[0] === 0xa0 && oids.length > 0) return false; // some purpose rejected
    if (el[0] === 0x30 && !oids.some((o) => TLS_PURPOSES.includes(o))) return false; // trusted, but not for TLS
  }
  return true;
}

function pem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----`;
}

/**
 * `input` with each TRUSTED CERTIFICATE block replaced by its certificate, or dropped (see above);
 * null when nothing is left. Unchanged without such blocks.
 */
export function withPlainCertificates(input: BinaryLike): BinaryLike | null {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  if (!text.includes('-----BEGIN TRUSTED CERTIFICATE-----')) return input;
  const out = text.replace(TRUSTED, (block, body: string) => {
    const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
    const n = derElement(der).length;
    if (n === 0) return block; // not DER: left for the parser to report
    return auxAllowsTls(der.subarray(n)) ? pem(der.subarray(0, n)) : '';
  });
  return out.includes('-----BEGIN') ? out : null;
}
