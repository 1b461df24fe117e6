// The events that hand session data to the application: a server's 'newSession' (TLS 1.2
// session-ID entries for an external cache, the handshake going on once every listener called
// back) and a client's 'session' (data for a later resumption).
import type { NativeSession } from './native';
import type { Engine } from './engine/engine';
import type { Server } from './server';
import type { TLSSocket } from './tls-socket';

/**
 * Server: hands the new TLS 1.2 session-ID entries to 'newSession'. True when the handshake waits
 * for the listeners' callbacks (`done` runs after the last one, unless the socket closed).
 */
export function announceNewSessions(server: Server | undefined, session: NativeSession, socket: TLSSocket, done: () => void): boolean {
  const stored = session.takeStoredSessions();
  if (!server || !stored || server.listenerCount('newSession') === 0) return false;
  let pending = stored.length;
  for (const [id, data] of stored) {
    let called = false;
    server.emit('newSession', id, data, () => {
      if (called) return;
      called = true;
      if (--pending > 0 || socket.destroyed) return;
      done();
    });
    if (socket.destroyed) return true;
  }
  return true;
}

/** Client: the session data for a later resumption, to 'session' listeners. */
export function emitSessionData(socket: TLSSocket, engine: Engine): void {
  if (engine.closed || socket.listenerCount('session') === 0) return;
  const data = engine.session.sessionData();
  if (data) socket.emit('session', data);
}
