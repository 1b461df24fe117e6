// Peer verification the way Node reports it: GnuTLS status bits → OpenSSL/Node reason codes, and
// certificates in Node's legacy object shape (parsed by Node's own X509Certificate).
import { X509Certificate } from 'crypto';
import * as tls from 'tls';
import { CERT } from './constants';
import { Memo } from './memo';

/** A certificate in Node's legacy object shape (`getPeerCertificate()`), as @types/node types it. */
export type PeerCertificate = tls.PeerCertificate;
/** A certificate with its `issuerCertificate` chain (`getPeerCertificate(true)`). */
export type DetailedPeerCertificate = tls.DetailedPeerCertificate;

export interface VerifyFailure {
  code: string;
  message: string;
}

function selfIssued(der: Buffer): boolean {
  try {
    const c = new X509Certificate(der);
    return c.subject === c.issuer && c.verify(c.publicKey);
  } catch {
    return false;
  }
}

/** Node's reason for a failed verification, or null when `status` says trusted. */
export function verifyFailure(status: number, chain: Buffer[]): VerifyFailure | null {
  if (status < 0 || chain.length === 0) {
    return { code: 'UNABLE_TO_GET_ISSUER_CERT', message: 'unable to get issuer certificate' };
  }
  if (status === 0) return null;
  if (status & CERT.SIGNER_NOT_FOUND) {
    if (chain.length === 1 && selfIssued(chain[0])) {
      return { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' };
    }
    if (chain.length > 1 && selfIssued(chain[chain.length - 1])) {
      return { code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed certificate in certificate chain' };
    }
    if (chain.length === 1) {
      return { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', message: 'unable to verify the first certificate' };
    }
    return { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', message: 'unable to get local issuer certificate' };
  }
  if (status & CERT.SIGNER_NOT_CA) return { code: 'INVALID_CA', message: 'invalid CA certificate' };
  if (status & CERT.SIGNATURE_FAILURE) return { code: 'CERT_SIGNATURE_FAILURE', message: 'certificate signature failure' };
  if (status & CERT.REVOKED) return { code: 'CERT_REVOKED', message: 'certificate revoked' };
  if (status & CERT.NOT_ACTIVATED) return { code: 'CERT_NOT_YET_VALID', message: 'certificate is not yet valid' };
  if (status & CERT.EXPIRED) return { code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' };
  if (status & CERT.INSECURE_ALGORITHM) {
    return { code: 'CA_MD_TOO_WEAK', message: 'CA signature digest algorithm too weak' };
  }
  if (status & CERT.PURPOSE_MISMATCH) return { code: 'INVALID_PURPOSE', message: 'unsupported certificate purpose' };
  return { code: 'CERT_REJECTED', message: `certificate rejected (GnuTLS status 0x${status.toString(16)})` };
}

/** The TLS alert a verifier sends for a failure reason. */
export function alertFor(code: string): number {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 45; // certificate_expired
    case 'CERT_REVOKED':
      return 44; // certificate_revoked
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 48; // unknown_ca
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return 42; // bad_certificate
    default:
      return 46; // certificate_unknown
  }
}

type Legacy = PeerCertificate & { issuerCertificate?: Legacy; raw: Buffer };

const legacy = (x: X509Certificate): Legacy => (x as unknown as { toLegacyObject(): Legacy }).toLegacyObject();

/** Certificates parsed once per content (a server's certificate, met by every client handshake; a `ca`). */
const parsedCerts = new Memo<X509Certificate>(64);
const parse = (der: Buffer): X509Certificate => parsedCerts.get(der.toString('latin1'), () => new X509Certificate(der));

/**
 * A certificate chain (leaf first) in Node's getPeerCertificate() shape. With `detailed`, each
 * certificate links its issuer through `issuerCertificate`; a self-issued root links itself.
 * Each certificate is parsed once per content: parsing is most of what a re-auth, or a client's
 * handshake, costs in JS.
 */
export function peerCertificate(chain: Buffer[], detailed: boolean, trust: readonly Buffer[] = []): Legacy {
  if (!detailed) {
    const leaf = legacy(parse(chain[0]));
    delete leaf.issuerCertificate;
    return leaf;
  }
  const x509s = chain.map(parse);
  // Complete the chain with a trusted issuer the peer did not send (usually the root).
  let last = x509s[x509s.length - 1];
  for (let guard = 0; guard < 8 && !last.checkIssued(last); guard++) {
    const issuer = trust.map(parse).find((t) => last.checkIssued(t));
    if (!issuer) break;
    x509s.push(issuer);
    last = issuer;
  }
  const certs = x509s.map(legacy);
  for (let i = 0; i < certs.length; i++) {
    const c = certs[i];
    if (i + 1 < certs.length) c.issuerCertificate = certs[i + 1];
    else if (x509s[i].checkIssued(x509s[i])) c.issuerCertificate = c;
    else delete c.issuerCertificate;
  }
  return certs[0];
}

/** Node's `tls.checkServerIdentity(hostname, cert)`: an Error when `cert` is not for `hostname`. */
export const checkServerIdentity = tls.checkServerIdentity;

/** Host names the default checkServerIdentity passed, per certificate (a pure function of the two). */
const identityPassed = new Memo<boolean>(64);

/**
 * The client's name check of the server's leaf certificate: `check`'s verdict, or the default
 * one's. The default passes or fails the same host name and certificate every time, so a pass is
 * remembered and the certificate's legacy object is built only for a check that needs it; a
 * failure is checked again for an Error of its own.
 */
export function checkIdentity(hostname: string, chain: Buffer[], check?: typeof checkServerIdentity): Error | undefined {
  const verdict = (): Error | undefined => (check ?? checkServerIdentity)(hostname, peerCertificate(chain, false));
  if (check !== undefined && check !== checkServerIdentity) return verdict();
  let err: Error | undefined;
  const passed = identityPassed.get(`${hostname}\0${chain[0].toString('latin1')}`, () => (err = verdict()) === undefined);
  return passed ? undefined : (err ?? verdict());
}
