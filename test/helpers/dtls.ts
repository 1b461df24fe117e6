// DTLS test helpers: UDP ports, peers over UDP (gnutls-serv/cli --udp, openssl -dtls), and
// collectors of what our sockets receive.
import * as dgram from 'dgram';
import { Peer, onCleanup, spawnPeer, within } from './index';
import type { DTLSServer, DTLSSocket } from '../../lib/dtls';

/** A UDP port that was free a moment ago (for peers that cannot be told to pick one). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** `gnutls-serv --udp` on a free port, line-buffered, once it says it listens. */
export async function gnutlsServUdp(args: string[]): Promise<Peer & { port: number }> {
  const port = await freeUdpPort();
  const peer = spawnPeer('stdbuf', ['-oL', '-eL', 'gnutls-serv', '--udp', '-p', String(port), ...args]);
  onCleanup(() => peer.kill());
  await peer.waitFor(/listening on IPv4/);
  return Object.assign(peer, { port });
}

/** `openssl s_server -dtls` on 127.0.0.1 and a free port, once it accepts. */
export async function opensslServerDtls(args: string[]): Promise<Peer & { port: number }> {
  const port = await freeUdpPort();
  const peer = spawnPeer('stdbuf', ['-oL', '-eL', 'openssl', 's_server', '-dtls', '-accept', `127.0.0.1:${port}`, ...args]);
  onCleanup(() => peer.kill());
  await peer.waitFor(/ACCEPT/);
  return Object.assign(peer, { port });
}

/** A peer started by the test and killed after it. */
export function udpPeer(cmd: string, args: string[]): Peer {
  const peer = spawnPeer('stdbuf', ['-oL', '-eL', cmd, ...args]);
  onCleanup(() => peer.kill());
  return peer;
}

/** Our server bound to 127.0.0.1 (OS-chosen port), closed after the test. */
export async function bindServer(server: DTLSServer): Promise<number> {
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.bind(0, '127.0.0.1', () => resolve());
  });
  return server.address().port;
}

/** Closed after the test. */
export function trackedDtls(s: DTLSSocket): DTLSSocket {
  onCleanup(() => s.close());
  return s;
}

/** The messages a socket receives, as text, with a waiter. */
export function messages(sock: DTLSSocket): { all: Buffer[]; text: () => string; waitFor: (s: string) => Promise<void> } {
  const all: Buffer[] = [];
  const waiters: Array<() => void> = [];
  sock.on('message', (m) => {
    all.push(m);
    for (const w of waiters.slice()) w();
  });
  const text = (): string => Buffer.concat(all).toString();
  return {
    all,
    text,
    waitFor: (s) =>
      within(
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (text().includes(s)) resolve();
          };
          waiters.push(check);
          check();
        }),
        10000,
        `${JSON.stringify(s)} (received so far: ${JSON.stringify(text())})`,
      ),
  };
}

/** The hex after `label` in a peer's output (key material lines). */
export function hexAfter(out: string, label: RegExp): string {
  const m = new RegExp(`${label.source}\\s*([0-9A-Fa-f]+)`).exec(out);
  if (!m) throw new Error(`no ${label} in:\n${out}`);
  return m[1].toLowerCase();
}

export const SRTP = 'SRTP_AES128_CM_HMAC_SHA1_80';
