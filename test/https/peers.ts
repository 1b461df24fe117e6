// Shared pieces of the HTTP adapter tests: fixtures, and one GET through Node's https client.
import * as http from 'http';
import * as https from 'https';
import type { Duplex } from 'stream';
import { fixture } from '../helpers';

export const ca = fixture('ca.pem');
export const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
export const clientCert = { key: fixture('client.key'), cert: fixture('client.pem') };

/** What a GET brought back: status, body, the client socket, whether the agent reused it. */
export interface Got {
  status: number | undefined;
  body: string;
  socket: Duplex;
  reused: boolean;
  /** The socket's isSessionReused() when the response ended (null once a socket is closed, as on Node). */
  resumed: boolean | null;
}

/** GET https://127.0.0.1:port/path through Node's https client, SNI 'localhost'. */
export function get(port: number, path: string, options: https.RequestOptions = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    let socket: Duplex | undefined;
    const req = https.get({ host: '127.0.0.1', port, path, servername: 'localhost', ...options }, (res: http.IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({
          status: res.statusCode,
          body,
          socket: socket!,
          reused: req.reusedSocket,
          resumed: (socket as unknown as { isSessionReused(): boolean | null }).isSessionReused(),
        }));
      res.on('error', reject);
    });
    req.on('socket', (s: Duplex) => (socket = s));
    req.on('error', reject);
  });
}
