// Output of the node-gnutls tool: readable lines or one JSON object per line, certificate and
// error summaries shared by both commands.
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from '../index';

/** One certificate as the tool reports it. */
export interface CertSummary {
  subject: string;
  issuer: string;
  subjectAltName: string | null;
  serialNumber: string;
  validFrom: string;
  validTo: string;
  fingerprint256: string;
  /** Whether the peer sent it (false: the trust anchor that completed the chain). */
  sent: boolean;
}

/** An error as the tool reports it: Node's/node-gnutls's code and the GnuTLS name when there is one. */
export interface ErrorSummary {
  message: string;
  code: string | null;
  gnutlsName: string | null;
  alert: string | null;
}

type Name = PeerCertificate['subject'];

/** 'O=node-gnutls, CN=localhost' from Node's certificate name object (in certificate order). */
export function dn(name: Name | undefined): string {
  if (!name) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(name as unknown as Record<string, string | string[]>)) {
    for (const one of Array.isArray(v) ? v : [v]) parts.push(`${k}=${one}`);
  }
  return parts.join(', ');
}

/** Whether a getPeerCertificate() result holds a certificate (it is `{}` when none was sent). */
export function hasCert(c: PeerCertificate | null | undefined | Record<string, never>): c is PeerCertificate {
  return !!c && typeof c === 'object' && 'subject' in c && c.subject !== undefined;
}

export function certSummary(c: PeerCertificate, sent = true): CertSummary {
  return {
    subject: dn(c.subject),
    issuer: dn(c.issuer),
    subjectAltName: c.subjectaltname ?? null,
    serialNumber: c.serialNumber,
    validFrom: c.valid_from,
    validTo: c.valid_to,
    fingerprint256: c.fingerprint256,
    sent,
  };
}

/** The peer's chain, leaf first, as getPeerCertificate(true) links it (a trusted root included). */
export function peerChain(socket: TLSSocket): CertSummary[] {
  const sent = new Set(socket.getPeerX509Chain().map((x) => x.fingerprint256));
  const out: CertSummary[] = [];
  let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<DetailedPeerCertificate>();
  while (hasCert(c) && !seen.has(c)) {
    seen.add(c);
    out.push(certSummary(c, sent.has(c.fingerprint256)));
    c = c.issuerCertificate;
  }
  return out;
}

/** The leaf certificate the peer presented, or null. */
export function peerLeaf(socket: TLSSocket): CertSummary | null {
  const c = socket.getPeerCertificate();
  return hasCert(c) ? certSummary(c) : null;
}

/** The subject of the certificate we presented in this session, or null. */
export function ownSubject(socket: TLSSocket): string | null {
  const own = socket.getCertificate() as PeerCertificate | null;
  return hasCert(own) ? dn(own.subject) : null;
}

export function errorSummary(err: unknown): ErrorSummary {
  const e = (err ?? {}) as { message?: string; code?: string; gnutlsName?: string; alert?: string };
  return {
    // OpenSSL-form messages end in a newline.
    message: (e.message ?? String(err)).trimEnd(),
    code: e.code ?? null,
    gnutlsName: e.gnutlsName ?? null,
    alert: e.alert ?? null,
  };
}

/** 'message (code=X, gnutlsName=Y, alert=Z)'. */
export function errorText(err: unknown): string {
  const s = errorSummary(err);
  const extra = [`code=${s.code ?? '-'}`, `gnutlsName=${s.gnutlsName ?? '-'}`];
  if (s.alert) extra.push(`alert=${s.alert}`);
  return `${s.message} (${extra.join(', ')})`;
}

/** Session facts both commands print. */
export interface SessionSummary {
  protocol: string | null;
  cipher: string | null;
  cipherStandardName: string | null;
  alpn: string | null;
  servername: string | null;
  resumed: boolean;
  /** RFC 5746 status; null under TLS 1.3, which has no renegotiation. */
  safeRenegotiation: boolean | null;
  postHandshakeAuth: boolean;
  authorized: boolean;
  authorizationError: string | null;
  keyExchange: string | null;
  /** 'X.509' or 'Raw Public Key' (RFC 7250). */
  peerCertificateType: string | null;
  /** SPKI SHA-256 pin of the peer's key (certificate or raw key). */
  peerPublicKeyPin: string | null;
  /** Server: the identity a PSK client used. */
  pskIdentity: string | null;
  /** Hex, or null where the protocol has none (tls-unique under TLS 1.3). */
  channelBindings: Record<'tls-unique' | 'tls-server-end-point' | 'tls-exporter', string | null>;
}

function binding(socket: TLSSocket, type: 'tls-unique' | 'tls-server-end-point' | 'tls-exporter'): string | null {
  try {
    return socket.getChannelBinding(type)?.toString('hex') ?? null;
  } catch {
    return null;
  }
}

export function sessionSummary(socket: TLSSocket): SessionSummary {
  const cipher = socket.getCipher();
  const protocol = socket.getProtocol();
  const negotiated = socket.getNegotiatedParameters();
  return {
    protocol,
    cipher: cipher?.name ?? null,
    cipherStandardName: cipher?.standardName ?? null,
    alpn: socket.alpnProtocol || null,
    servername: socket.servername || null,
    resumed: socket.isSessionReused(),
    safeRenegotiation: protocol === 'TLSv1.3' ? null : socket.safeRenegotiation,
    postHandshakeAuth: socket.postHandshakeAuthEnabled,
    authorized: socket.authorized,
    authorizationError: socket.authorizationError,
    keyExchange: negotiated?.keyExchange ?? null,
    peerCertificateType: negotiated?.certificateType.peer ?? null,
    peerPublicKeyPin: socket.getPeerPublicKey()?.pin ?? null,
    pskIdentity: negotiated?.pskIdentity ?? null,
    channelBindings: {
      'tls-unique': binding(socket, 'tls-unique'),
      'tls-server-end-point': binding(socket, 'tls-server-end-point'),
      'tls-exporter': binding(socket, 'tls-exporter'),
    },
  };
}

/** Lines for the key exchange, the peer's raw key or PSK identity, and the channel bindings. */
export function detailLines(s: SessionSummary, indent: string): string[] {
  const lines = [`${indent}- Key exchange: ${s.keyExchange ?? 'none'}`];
  if (s.peerCertificateType === 'Raw Public Key') lines.push(`${indent}- Peer raw public key: ${s.peerPublicKeyPin}`);
  if (s.pskIdentity) lines.push(`${indent}- PSK identity: ${s.pskIdentity}`);
  lines.push(`${indent}- Channel bindings`);
  for (const [k, v] of Object.entries(s.channelBindings)) lines.push(`${indent} - '${k}': ${v ?? 'not available'}`);
  return lines;
}

export function certLines(chain: CertSummary[], indent: string): string[] {
  const lines: string[] = [];
  chain.forEach((c, i) => {
    lines.push(`${indent}[${i}] subject: ${c.subject}${c.sent ? '' : ' (trust anchor, not sent by the peer)'}`);
    lines.push(`${indent}    issuer:  ${c.issuer}`);
    if (c.subjectAltName) lines.push(`${indent}    altnames: ${c.subjectAltName}`);
    lines.push(`${indent}    valid:   ${c.validFrom} .. ${c.validTo}`);
    lines.push(`${indent}    sha256:  ${c.fingerprint256}`);
  });
  return lines;
}

/**
 * Writes events either as readable text or as JSON lines `{ "event": name, ...fields }`.
 * Writes to a pipe or file are synchronous in Node on Linux, so each event is out before the next.
 */
export class Reporter {
  constructor(
    readonly json: boolean,
    private readonly out: NodeJS.WritableStream,
  ) {}

  event(event: string, fields: Record<string, unknown>, text: string | string[]): void {
    if (this.json) {
      this.out.write(`${JSON.stringify({ event, ...fields })}\n`);
      return;
    }
    const lines = Array.isArray(text) ? text : [text];
    this.out.write(lines.map((l) => `${l}\n`).join(''));
  }
}
