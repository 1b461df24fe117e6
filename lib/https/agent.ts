// An https.Agent whose connections are node-gnutls TLSSockets: keep-alive pooling is Node's
// http.Agent's; TLS sessions are cached per connection key for resumption, as Node's https.Agent does.
import * as http from 'http';
import * as https from 'https';
import type { Duplex } from 'stream';
import { connect, ConnectionOptions } from '../connect';
import type { TLSSocket } from '../tls-socket';

/** Options of {@link Agent}: Node's `http.Agent` options, and the TLS options of every connection. */
export interface AgentOptions extends http.AgentOptions, Omit<ConnectionOptions, keyof http.AgentOptions> {
  /** How many TLS sessions to keep for resumption (default 100; 0 disables resumption). */
  maxCachedSessions?: number;
}

/** What http.Agent hands to createConnection(): the request's options merged with the agent's. */
type AgentConnectOptions = ConnectionOptions & { _agentKey?: string };

/** The options that change a connection and that Node's https.Agent#getName() leaves out. */
const GNUTLS_KEY_OPTIONS = ['priority', 'allowUnsafeRenegotiation', 'pinnedPublicKeys', 'postHandshakeAuth', 'requestOCSP'] as const;

/**
 * Node's `https.Agent` with node-gnutls connections: pass it as `agent` to `https.request()`,
 * `https.get()`, or a library that takes an agent (ws, ...).
 */
export class Agent extends https.Agent {
  /** How many TLS sessions are kept for resumption. */
  maxCachedSessions: number;
  /** Connection key → the last TLS session of a connection with that key (oldest first). */
  private readonly _sessions = new Map<string, Buffer>();

  constructor(options: AgentOptions = {}) {
    super(options as https.AgentOptions);
    this.maxCachedSessions = options.maxCachedSessions ?? 100;
  }

  /** Opens a node-gnutls connection for a request, resuming the key's cached session if there is one. */
  override createConnection(options: http.ClientRequestArgs, _callback?: (err: Error | null, stream: Duplex) => void): Duplex {
    const opts = { ...(options as AgentConnectOptions) };
    const key = opts._agentKey;
    if (key && opts.session == null) {
      const session = this._getSession(key);
      if (session) opts.session = session;
    }
    const socket: TLSSocket = connect(opts);
    if (key) {
      socket.on('session', (session) => this._cacheSession(key, session));
      socket.once('close', (hadError) => {
        if (hadError) this._evictSession(key);
      });
    }
    return socket;
  }

  /** The pool key of a request: Node's (host, port, TLS options) plus node-gnutls's own options. */
  override getName(options: http.ClientRequestArgs = {}): string {
    const o = options as Record<string, unknown>;
    let name = super.getName(options);
    for (const k of GNUTLS_KEY_OPTIONS) name += `:${o[k] === undefined ? '' : JSON.stringify(o[k])}`;
    return name;
  }

  /** The cached TLS session for a connection key. */
  _getSession(key: string): Buffer | undefined {
    return this._sessions.get(key);
  }

  /** Keeps `session` for `key`, dropping the oldest key beyond `maxCachedSessions`. */
  _cacheSession(key: string, session: Buffer): void {
    if (this.maxCachedSessions === 0) return;
    this._sessions.delete(key);
    this._sessions.set(key, session);
    while (this._sessions.size > this.maxCachedSessions) this._sessions.delete(this._sessions.keys().next().value as string);
  }

  /** Forgets the session of `key` (its connection ended in an error). */
  _evictSession(key: string): void {
    this._sessions.delete(key);
  }
}
