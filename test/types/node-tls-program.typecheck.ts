// Compiled by `npm run typecheck` and by test/types.test.ts (under --strict); never run. A program
// written against @types/node's `tls`, with only the import changed: it must compile unchanged.
import * as nodeTls from 'tls';
import * as net from 'net';
import * as tls from '../../lib';

/** Library code that takes Node's socket type. */
function describe(socket: nodeTls.TLSSocket): string {
  const cipher: nodeTls.CipherNameAndProtocol = socket.getCipher();
  return `${socket.getProtocol() ?? 'none'} ${cipher.name} ${cipher.standardName} ${cipher.version} ${socket.authorized}`;
}
function counts(socket: net.Socket): number {
  return socket.bytesRead + socket.bytesWritten;
}
function takesServer(server: nodeTls.Server): net.AddressInfo | string | null {
  return server.address();
}

export function program(key: Buffer, cert: Buffer, ca: Buffer): void {
  let saved: Buffer | undefined;
  const options: nodeTls.TlsOptions = { key, cert, ALPNProtocols: ['h2'], minVersion: 'TLSv1.2', requestCert: false };
  const server = tls.createServer(options, (socket) => {
    describe(socket);
    counts(socket);
    const bytes: number = socket.bytesRead + socket.bytesWritten;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: Buffer | string) => socket.write(chunk));
    socket.on('end', () => socket.end());
    socket.on('close', (hadError: boolean) => void hadError);
    socket.on('error', (err: Error) => void err.message);
    socket.once('custom-event', (...args: unknown[]) => void args);
    socket.emit('custom-event', bytes);
    const peer: nodeTls.PeerCertificate = socket.getPeerCertificate();
    void peer.subject;
  });
  takesServer(server);
  server.on('tlsClientError', (err: Error, socket: nodeTls.TLSSocket) => void (err.message + describe(socket)));
  server.on('keylog', (line: Buffer, socket: nodeTls.TLSSocket) => void [line, socket]);
  server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => void [id, data, done()]);
  server.on('resumeSession', (id: Buffer, cb: (err: Error | null, data: Buffer | null) => void) => cb(null, null));
  server.on('listening', () => {
    const { port } = server.address() as net.AddressInfo;
    const client = tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost', session: saved, checkServerIdentity: tls.checkServerIdentity }, () => {
      const cert: nodeTls.DetailedPeerCertificate = client.getPeerCertificate(true);
      void [cert.subject.CN, cert.issuerCertificate, cert.valid_to, cert.fingerprint256];
      void client.getPeerX509Certificate()?.subject;
      void client.getEphemeralKeyInfo();
      void client.isSessionReused();
      void client.exportKeyingMaterial(32, 'EXPORTER-x');
      describe(client);
      client.end('bye');
    });
    client.on('session', (session: Buffer) => (saved = session));
    client.on('keylog', (line: Buffer) => void line.toString());
    client.on('OCSPResponse', (response: Buffer) => void response.length);
    client.on('secureConnect', () => void client.alpnProtocol);
    client.on('lookup', (err: Error | null, address: string, family: string | number, host: string) => void [err, address, family, host]);
    client.on('timeout', () => client.destroy());
    client.setTimeout(1000);
    client.setNoDelay(true);
    client.setKeepAlive(true, 1000);
    const ok: boolean = client.write('hello', 'utf8', (err?: Error | null) => void err);
    void ok;
    const asNode: nodeTls.TLSSocket = client;
    const asNet: net.Socket = client;
    void [asNode, asNet];
  });
  server.listen(0, '127.0.0.1');
  const secureContext: nodeTls.SecureContext = tls.createSecureContext({ ca });
  void secureContext;
}
