// The servers an adversarial peer is run against: gnutls-serv --echo (the baseline, same
// certificates and priority) and ours, plain or with the whole ClientHello pipeline in the way
// (resumeSession lookup, an async SNICallback that picks another context, OCSPRequest).
import * as gtls from '../../lib';
import { fixture, fixturePath, gnutlsServ, listen, stopPeer, closeServer } from '../helpers';

export type Mode = 'plain' | 'pipeline';
export const MODES: Mode[] = ['plain', 'pipeline'];

export interface Running {
  port: number;
  /** Ours: the tlsClientError code for a client's local port (once it came). */
  errorFor(clientPort: number): string | undefined;
  /** Ours: how many times each pipeline stage ran. */
  stages: { resumeSession: number; SNICallback: number; OCSPRequest: number };
  stop(): Promise<void>;
}

const key = fixture('server.key');
const cert = fixture('server-chain.pem');

export async function startGnutlsServ(priority: string): Promise<Running> {
  const peer = await gnutlsServ(['--echo', '--priority', priority, '--x509keyfile', fixturePath('server.key'), '--x509certfile', fixturePath('server-chain.pem')]);
  return {
    port: peer.port,
    errorFor: () => undefined,
    stages: { resumeSession: 0, SNICallback: 0, OCSPRequest: 0 },
    stop: () => stopPeer(peer),
  };
}

/** `resumeSession`: a listener of our own instead of the pipeline mode's. */
export async function startOurs(
  mode: Mode,
  priority: string,
  extra: gtls.TlsOptions = {},
  resumeSession?: (id: Buffer, cb: (err: Error | null, data?: Buffer | null) => void) => void,
): Promise<Running> {
  const stages = { resumeSession: 0, SNICallback: 0, OCSPRequest: 0 };
  const other = gtls.createSecureContext({ key, cert, priority });
  const server = gtls.createServer({
    key,
    cert,
    priority,
    ...(mode === 'pipeline'
      ? {
          SNICallback: (_name: string, cb: (err: Error | null, ctx?: gtls.SecureContext) => void) => {
            stages.SNICallback++;
            setTimeout(() => cb(null, other), 5);
          },
        }
      : {}),
    ...extra,
  });
  if (mode === 'pipeline') {
    server.on('resumeSession', (_id, cb) => {
      stages.resumeSession++;
      setTimeout(() => cb(null, null), 5);
    });
    server.on('OCSPRequest', (_cert, _issuer, cb) => {
      stages.OCSPRequest++;
      setTimeout(() => cb(null, null), 5);
    });
  }
  if (resumeSession) server.on('resumeSession', resumeSession);
  const errors = new Map<number, string>();
  server.on('tlsClientError', (err, socket) => {
    const port = (socket as { remotePort?: number }).remotePort ?? (socket as { _parent?: { remotePort?: number } })._parent?.remotePort;
    // GnuTLS's decision (the Node-shaped `code` is another file's subject: conformance/errors).
    const e = err as { code?: string; gnutlsName?: string };
    if (port !== undefined) errors.set(port, String(e.gnutlsName ?? e.code ?? 'untyped'));
  });
  server.on('secureConnection', (s) => s.on('error', () => {}));
  const port = await listen(server);
  return { port, errorFor: (p) => errors.get(p), stages, stop: () => closeServer(server) };
}
