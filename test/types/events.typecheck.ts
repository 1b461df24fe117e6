// Compiled by `npm run typecheck` (part of `npm test`); never run. Each @ts-expect-error line must
// be a compile error: if typing regresses and it compiles, tsc fails on the unused directive.
import * as tls from '../../lib';

export function typedEvents(socket: tls.TLSSocket, server: tls.Server): void {
  socket.on('secureConnect', () => {});
  socket.on('reauthRequest', (req) => req.accept());
  socket.on('rehandshakeRequest', (req) => (req.safeRenegotiation ? req.accept() : req.refuse()));
  socket.on('session', (session: Buffer) => session.length);
  socket.once('keylog', (line: Buffer) => line.toString());
  socket.on('data', (chunk: Buffer) => chunk.length);
  server.on('secureConnection', (s: tls.TLSSocket) => s.reauth());
  server.on('tlsClientError', (err: tls.TLSError) => err.gnutlsCode);

  // @ts-expect-error misspelled event name
  socket.on('secureConect', () => {});
  // @ts-expect-error misspelled event name
  socket.once('reauthRequests', () => {});
  // @ts-expect-error listener of the wrong type: a ReauthRequest is not a string
  socket.on('reauthRequest', (req: string) => req);
  // @ts-expect-error listener of the wrong type: session is a Buffer
  socket.on('session', (session: number) => session);
  // @ts-expect-error misspelled server event
  server.on('secureConnect', () => {});
  // @ts-expect-error emit with the wrong argument
  socket.emit('keylog', 'not a buffer');
}
