// Node's deprecated createSecurePair (DEP0064): a TLSSocket (`cleartext`) over one end of an
// in-memory duplex pair whose other end (`encrypted`) carries the ciphertext.
import { EventEmitter } from 'events';
import { Duplex } from 'stream';
import { TLSSocket } from './tls-socket';
import type { TLSSocketOptions } from './socket-options';
import type { Server } from './server';
import { SecureContext, createSecureContext } from './secure-context';

/** One end of a pair: what is written to it is read from the other end. */
class DuplexEnd extends Duplex {
  peer: DuplexEnd | null = null;
  private pendingWrite: (() => void) | null = null;

  override _read(): void {
    const resume = this.peer?.pendingWrite;
    if (resume && this.peer) {
      this.peer.pendingWrite = null;
      resume();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const peer = this.peer!;
    if (peer.push(chunk)) cb();
    else this.pendingWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.peer!.push(null);
    cb();
  }
}

function duplexPair(): [DuplexEnd, DuplexEnd] {
  const a = new DuplexEnd();
  const b = new DuplexEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Node's deprecated SecurePair (`createSecurePair()`): a TLS socket over an in-memory pair of streams. */
export class SecurePair extends EventEmitter {
  /** The server given in the options. */
  readonly server: Server | undefined;
  /** The context of the TLS socket. */
  readonly credentials: SecureContext;
  /** The ciphertext side: pipe it to and from the transport. */
  readonly encrypted: Duplex;
  /** The plaintext side. */
  readonly cleartext: TLSSocket;

  /** @internal Use `createSecurePair()`. */
  constructor(
    context: SecureContext = createSecureContext(),
    isServer = false,
    requestCert = !isServer,
    rejectUnauthorized = false,
    options: TLSSocketOptions = {},
  ) {
    super();
    const [encrypted, inner] = duplexPair();
    this.server = options.server;
    this.credentials = context;
    this.encrypted = encrypted;
    // As Node's: the options win over the positional arguments.
    this.cleartext = new TLSSocket(inner, { secureContext: context, isServer, requestCert, rejectUnauthorized, ...options });
    this.cleartext.once('secure', () => this.emit('secure'));
  }

  /** Destroys both sides. */
  destroy(): void {
    this.cleartext.destroy();
    this.encrypted.destroy();
  }
}
