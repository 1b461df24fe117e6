// `node-gnutls connect`: a TLS client piping stdin/stdout through the connection, answering
// re-authentication and re-handshake requests and reporting everything on stderr.
import { ConnectionOptions, ReauthRequest, RehandshakeRequest, TLSSocket, connect } from '../index';
import type { ConnectArgs } from './args';
import { extraOptions, saveOcsp } from './extras';
import { Reporter, detailLines, certLines, errorSummary, errorText, ownSubject, peerChain, peerLeaf, sessionSummary } from './report';

export function clientOptions(a: ConnectArgs): ConnectionOptions {
  const o: ConnectionOptions = {
    ...extraOptions(a),
    host: a.host,
    port: a.port,
    rejectUnauthorized: !a.insecure,
    postHandshakeAuth: a.postHandshakeAuth,
    handshakeTimeout: a.timeout,
  };
  if (a.cert && a.key) {
    o.cert = a.cert;
    o.key = a.key;
  }
  if (a.ca) o.ca = a.ca;
  if (a.servername !== undefined) o.servername = a.servername;
  if (a.priority !== undefined) o.priority = a.priority;
  if (a.minVersion) o.minVersion = a.minVersion;
  if (a.maxVersion) o.maxVersion = a.maxVersion;
  if (a.alpn) o.ALPNProtocols = a.alpn;
  return o;
}

/** Connects, pipes stdin/stdout, resolves with the exit status once the connection has closed. */
export function connectCommand(a: ConnectArgs): Promise<number> {
  const out = new Reporter(a.json, process.stderr);
  const target = a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
  let socket: TLSSocket;
  try {
    socket = connect(clientOptions(a));
  } catch (err) {
    out.event('error', { stage: 'setup', error: errorSummary(err) }, `error: ${errorText(err)}`);
    return Promise.resolve(1);
  }
  const hasOwnCert = a.cert !== undefined;
  socket.on('OCSPResponse', (response: Buffer) => {
    saveOcsp(a, response);
    out.event('ocsp', { bytes: response.length, saved: a.extra.saveOcsp ?? null }, `- OCSP response stapled: ${response.length} bytes${a.extra.saveOcsp ? ` (saved to ${a.extra.saveOcsp})` : ''}`);
  });
  let secure = false;
  let failed = false;

  socket.once('secureConnect', () => {
    secure = true;
    reportConnected(out, socket, target, a);
    socket.pipe(process.stdout, { end: false });
    process.stdin.pipe(socket);
    if (a.rehandshake) {
      const protocol = socket.getProtocol();
      socket.rehandshake({ timeout: a.timeout }).then(
        () => {
          const s = sessionSummary(socket);
          const what = protocol === 'TLSv1.3' ? 'TLS 1.3: key update, server asked to update' : `${s.protocol}, ${s.cipher}`;
          out.event('rehandshake', { ok: true, initiator: 'client', protocol: s.protocol, cipher: s.cipher, peerCertificate: peerLeaf(socket) }, `* Re-handshake (client-initiated) completed: ${what}`);
        },
        (err: unknown) => {
          out.event('rehandshake', { ok: false, initiator: 'client', protocol, error: errorSummary(err) }, `* Re-handshake (client-initiated) failed: ${errorText(err)}`);
        },
      );
    }
  });

  socket.on('reauthRequest', (req: ReauthRequest) => {
    if (hasOwnCert) {
      out.event('reauth-request', { answer: 'certificate' }, '* Re-authentication requested by the server (TLS 1.3 post-handshake auth): answering with our certificate');
      req.accept();
    } else {
      out.event('reauth-request', { answer: 'none' }, '* Re-authentication requested by the server (TLS 1.3 post-handshake auth): no --cert given, answering without a certificate');
      req.decline();
    }
  });

  socket.on('reauth', () => {
    const subject = ownSubject(socket);
    out.event('reauth', { ok: true, certificate: subject }, `* Re-authentication answered${subject ? `: sent ${subject}` : ' without a certificate'}`);
  });

  socket.on('rehandshakeRequest', (req: RehandshakeRequest) => {
    const accept = req.safeRenegotiation;
    out.event(
      'rehandshake-request',
      { safeRenegotiation: req.safeRenegotiation, answer: accept ? 'accept' : 'refuse' },
      `* Re-handshake requested by the server (TLS 1.2 HelloRequest, safe renegotiation ${req.safeRenegotiation ? 'on' : 'off'}): ${accept ? 'accepting' : 'refusing'}`,
    );
    if (accept) req.accept();
    else req.refuse();
  });

  socket.on('renegotiated', () => {
    const s = sessionSummary(socket);
    const peer = peerLeaf(socket);
    const mine = ownSubject(socket);
    out.event(
      'renegotiated',
      { ok: true, initiator: 'server', protocol: s.protocol, cipher: s.cipher, authorized: s.authorized, peerCertificate: peer, clientCertificate: mine },
      `* Re-handshake (server-requested) completed: ${s.protocol}, ${s.cipher}${peer ? `, server ${peer.subject}` : ''}${mine ? `, sent ${mine}` : ''}`,
    );
  });

  socket.on('keyUpdate', () => out.event('peer-keyupdate', {}, '* The server updated its keys (TLS 1.3 key update)'));

  socket.on('error', (err: Error) => {
    failed = true;
    const stage = secure ? 'connection' : 'handshake';
    const prefix = secure ? 'error' : `error: connection to ${target} failed`;
    out.event('error', { stage, error: errorSummary(err) }, `${prefix}: ${errorText(err)}`);
  });

  return new Promise<number>((resolve) => {
    socket.on('close', () => {
      process.stdin.unpipe(socket);
      out.event('close', { ok: !failed }, '* Connection closed');
      resolve(failed ? 1 : 0);
    });
  });
}

function reportConnected(out: Reporter, socket: TLSSocket, target: string, a: ConnectArgs): void {
  const s = sessionSummary(socket);
  const chain = peerChain(socket);
  const mine = ownSubject(socket);
  const verification = s.authorized
    ? 'ok'
    : `FAILED: ${s.authorizationError ?? 'not verified'}${a.insecure ? ' (ignored: --insecure)' : ''}`;
  const lines = [
    `- Connected to ${target}`,
    `- Protocol: ${s.protocol}`,
    `- Cipher: ${s.cipher} (${s.cipherStandardName})`,
    `- ALPN: ${s.alpn ?? 'none'}`,
    `- Server name (SNI): ${s.servername ?? 'none'}`,
    `- Session resumed: ${s.resumed ? 'yes' : 'no'}`,
    `- Safe renegotiation: ${s.safeRenegotiation === null ? 'n/a (TLS 1.3)' : s.safeRenegotiation ? 'yes' : 'no'}`,
    `- Post-handshake auth offered: ${s.postHandshakeAuth ? 'yes' : 'no'}`,
    `- Verification: ${verification}`,
    `- Peer certificate chain (${chain.filter((c) => c.sent).length} sent${chain.some((c) => !c.sent) ? ', completed by a trust anchor' : ''}):`,
    ...certLines(chain, '  '),
    `- Client certificate sent: ${mine ?? 'none'}`,
    ...detailLines(s, ''),
  ];
  out.event('connected', { target, ...s, peerCertificates: chain, clientCertificate: mine }, lines);
}
