// The only module that loads the compiled addon; it also declares the native surface as types.
// The addon is found by node-gyp-build (build/Release, else prebuilds/<platform>-<arch>/), or is the
// file named by the NODE_GNUTLS_ADDON environment variable (e.g. the cmake-js build,
// build-cmake/Release/node_gnutls.node). A failure to load says what to install (native-load-error.ts).
import * as path from 'path';
import { addonLoadError } from './native-load-error';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const gypBuild: { resolve(dir: string): string } = require('node-gyp-build');

export interface NativeInfo {
  protocol: string | null;
  suite: string | null;
  cipher: string | null;
  mac: string | null;
  kx: string | null;
  group: string | null;
  sign: string | null;
  resumed: boolean;
  flags: number;
  safeRenegotiation: boolean;
  alpn: string | null;
  serverName: string | null;
  clientSign: string | null;
  ownCertType: string | null;
  peerCertType: string | null;
  statusRequested: boolean;
  /** Server: the ALPN protocols the ClientHello offered (null: no ALPN extension). */
  clientAlpn: string[] | null;
  /** Server: the versions the ClientHello offered, bit n for TLS 1.n (0 before a ClientHello). */
  offeredVersions: number;
  pskIdentity: string | null;
  dhBits: number;
}

/** The order of the fields in the array a native session's info() returns (session-common.cc). */
const INFO_FIELDS = [
  'protocol', 'suite', 'cipher', 'mac', 'kx', 'group', 'sign', 'clientSign', 'ownCertType', 'peerCertType',
  'resumed', 'flags', 'safeRenegotiation', 'alpn', 'serverName', 'statusRequested', 'clientAlpn',
  'offeredVersions', 'pskIdentity', 'dhBits',
] as const;
/** How many of INFO_FIELDS (the first) name an algorithm, a version or a certificate type. */
const NAME_FIELDS = 10;
/** NativeInfo's fields as the native session returns them, in INFO_FIELDS order. */
export type NativeInfoFields = unknown[] & { readonly length: typeof INFO_FIELDS.length };
/** Names GnuTLS reports (a few dozen in all), one string each instead of one per connection. */
const names = new Map<string, string>();

/**
 * What a session negotiated, as one object literal with shared names (10 strings fewer per
 * connection). The native side returns an array: an object built there a property at a time
 * costs a name lookup per property, and becomes a dictionary (0.8 KiB more per connection).
 */
export function sessionInfo(session: { info(): NativeInfoFields }): NativeInfo {
  const f = session.info();
  for (let k = 0; k < NAME_FIELDS; k++) {
    const v = f[k] as string | null;
    if (v === null) continue;
    const known = names.get(v);
    if (known !== undefined) f[k] = known;
    else if (names.size < 256) names.set(v, v);
  }
  return {
    protocol: f[0] as string | null,
    suite: f[1] as string | null,
    cipher: f[2] as string | null,
    mac: f[3] as string | null,
    kx: f[4] as string | null,
    group: f[5] as string | null,
    sign: f[6] as string | null,
    resumed: f[10] as boolean,
    flags: f[11] as number,
    safeRenegotiation: f[12] as boolean,
    alpn: f[13] as string | null,
    serverName: f[14] as string | null,
    clientSign: f[7] as string | null,
    ownCertType: f[8] as string | null,
    peerCertType: f[9] as string | null,
    statusRequested: f[15] as boolean,
    clientAlpn: f[16] as string[] | null,
    offeredVersions: f[17] as number,
    pskIdentity: f[18] as string | null,
    dhBits: f[19] as number,
  };
}

export interface NativeContext {
  setPriority(priority: string, serverPriority?: string): void;
  /** Use `other`'s parsed priorities (set with the same strings) instead of parsing them again. */
  sharePriority(other: NativeContext): void;
  setDhParams(pkcs3: Buffer): number;
  addTrust(ca: Buffer): number;
  useSystemTrust(): number;
  addKeyPair(cert: Buffer, key: Buffer, passphrase?: string): number;
  addPkcs12(pfx: Buffer, passphrase?: string): number;
  addCrl(crl: Buffer): number;
  addUrlKeyPair(cert: Buffer | string, keyUrl: string, pin?: string): number;
  addRawPublicKey(spki: Buffer, key: Buffer, passphrase?: string): number;
  enableTickets(): void;
  getTicketKey(): Buffer | undefined;
  setTicketKey(key: Buffer): void;
  setSessionCache(maxEntries: number, timeoutSeconds: number): void;
}

export interface NativeSession {
  setContext(ctx: NativeContext): void;
  setServerName(name: string): void;
  setAlpn(protocols: string[], flags: number): void;
  setSessionData(data: Buffer): number;
  setCertRequest(mode: 0 | 1 | 2): void;
  setVerifyCert(mode: 0 | 1 | 2, hostname?: string): void;
  enableKeylog(on: boolean): void;
  enableTickets(ctx: NativeContext): void;
  /** gnutls_handshake_set_max_packet_length(): handshake message bytes taken per handshake. */
  setMaxHandshakeSize(bytes: number): void;
  refuseResumption(): void;
  feed(ciphertext: Buffer): number;
  nextRecordType(): number;
  handshake(holdAppData?: boolean): number;
  /** mode 0: all records; 1: only already-decrypted buffered data; 2: application records up to the next other record. */
  recv(maxBytes: number, mode?: 0 | 1 | 2): Buffer | number;
  /** Plaintext into slab[offset..]: the byte count (> 0), or a GnuTLS code (<= 0). */
  recv(maxBytes: number, mode: 0, slab: Buffer, offset: number): number;
  /**
   * feed(chunk) (when given), then decrypt into plain[offset..offset+max): the byte count; the
   * stopping code and the rest are in the state array (setStateArray).
   */
  receive(chunk: Buffer | undefined, plain: Buffer, offset: number, max: number): number;
  /**
   * Int32Array(7): [code, event bits (JS clears them), output() bytes, takeKeylog() lines, queued
   * input bytes, ciphertext waiting for the attached descriptor, its write errno (negative)].
   */
  setStateArray(state: Int32Array): void;
  /**
   * Fd fast path: ciphertext from now on goes to and comes from a duplicate of `fd`, polled
   * natively; `callback(kind, value)`: 1 input queued (value bytes), 2 EOF, 3 read error
   * (-errno), 4 writes drained, 5 write error (-errno). 0, or a negative errno.
   */
  attachFd(fd: number, callback: (kind: number, value: number) => void): number;
  /** Poll the attached descriptor for input (true) or not. */
  fdRead(on: boolean): void;
  /** Whether the attached descriptor's poll handle keeps the event loop alive. */
  fdRef(on: boolean): void;
  /** Ciphertext handed to the attached descriptor so far (sent or waiting); readable after close. */
  fdBytesWritten(): number;
  send(data: Buffer | Buffer[]): number;
  /** Ciphertext into slab[offset..] as far as it fits: that byte count, or a GnuTLS code (< 0); the rest is in output(). */
  send(data: Buffer | Buffer[], slab: Buffer, offset: number): number;
  output(): Buffer | undefined;
  bye(): number;
  /** Client: NewSessionTickets received since the last call. */
  takeTicketCount(): number;
  reauth(): number;
  rehandshake(): number;
  keyUpdate(requestPeer: boolean): number;
  sendAlert(level: number, description: number): number;
  sendAppropriateAlert(code: number): number;
  lastAlert(): number;
  takeEvents(): number;
  takeKeylog(): Buffer[] | undefined;
  /** What was negotiated: see sessionInfo(). */
  info(): NativeInfoFields;
  peerCertificates(): Buffer[];
  ownCertificate(): Buffer[];
  verifyPeer(): number;
  sessionData(): Buffer | undefined;
  exportKeyingMaterial(label: string, length: number, context?: Buffer): Buffer;
  finished(peer: boolean): Buffer | undefined;
  close(): void;
  useExternalCache(): void;
  setResumeData(id: Buffer, data: Buffer): void;
  takeStoredSessions(): Array<[Buffer, Buffer]> | undefined;
  setPsk(callback: (arg: string | null) => unknown, hint?: string): void;
  requestOcsp(): void;
  ocspResponse(): Buffer | undefined;
  setOcspResponse(response: Buffer | null): void;
  channelBinding(type: 0 | 1 | 2): Buffer | undefined;
  /** Server: the ClientHello's supported_versions named none of the versions we enable. */
  noCommonVersion(): boolean;
}

export interface NativeCipherSuite {
  name: string;
  id: [number, number];
  minVersion: string | null;
}

export interface NativeBinding {
  Context: new () => NativeContext;
  Session: new (ctx: NativeContext, isServer: boolean, flags: number) => NativeSession;
  setErrorClass(cls: new (message: string, gnutlsCode: number, gnutlsName: string | null) => Error): void;
  errorName(code: number): string | null;
  strerror(code: number): string;
  alertName(alert: number): string | null;
  version(): string;
  liveSessions(): number;
  cipherSuites(priority: string): NativeCipherSuite[];
  addPkcs11Provider(modulePath: string): void;
  /** The CA certificates of GnuTLS's system trust store, DER. */
  systemTrust(): Buffer[];
}

function loadBinding(): NativeBinding {
  let file: string | undefined;
  try {
    const chosen = process.env.NODE_GNUTLS_ADDON;
    file = chosen ? path.resolve(chosen) : gypBuild.resolve(path.join(__dirname, '..'));
    return require(file) as NativeBinding;
  } catch (err) {
    throw addonLoadError(err, file);
  }
}

export const binding = loadBinding();

// ---- DTLS (src-native/dtls-session.h): a datagram-mode session and the stateless cookie exchange.

/** The SRTP keying material of a DTLS association (RFC 5764 4.2, exporter label 'EXTRACTOR-dtls_srtp'). */
export interface NativeSrtpKeys {
  /** The whole exported block: client key, server key, client salt, server salt. */
  material: Buffer;
  /** The client's SRTP master key. */
  clientKey: Buffer;
  /** The client's SRTP master salt. */
  clientSalt: Buffer;
  /** The server's SRTP master key. */
  serverKey: Buffer;
  /** The server's SRTP master salt. */
  serverSalt: Buffer;
}

export interface NativeDtlsSession {
  setServerName(name: string): void;
  setAlpn(protocols: string[], flags: number): void;
  setCertRequest(mode: 0 | 1 | 2): void;
  setVerifyCert(mode: 0 | 1 | 2, hostname?: string): void;
  setPsk(callback: (arg: string | null) => unknown, hint?: string): void;
  setMtu(bytes: number): void;
  setTimeouts(retransmitMs: number, totalMs: number): void;
  /** A GnuTLS code (< 0: the profile list was refused). */
  setSrtpProfiles(profiles: string): number;
  setPrestate(prestate: [number, number, number]): void;
  /** Queues one datagram: 0; or drops it: 1 the queue is full, 2 it is not whole DTLS records. */
  feed(datagram: Buffer): 0 | 1 | 2;
  handshake(): number;
  /** [code, record, record, ...]: the application-data records of the queued datagrams. */
  receive(): [number, ...Buffer[]];
  /** One record in one datagram: the byte count, or a GnuTLS code (GNUTLS_E_LARGE_PACKET above dataMtu()). */
  send(data: Buffer): number;
  takeOutput(): Buffer[] | undefined;
  bye(): number;
  /** gnutls_dtls_get_timeout(): ms until GnuTLS wants handshake() called again. */
  timeout(): number;
  dataMtu(): number;
  lastAlert(): number;
  sendAlert(level: number, description: number): number;
  sendAppropriateAlert(code: number): number;
  /** What was negotiated: see sessionInfo(). */
  info(): NativeInfoFields;
  peerCertificates(): Buffer[];
  ownCertificate(): Buffer[];
  verifyPeer(): number;
  exportKeyingMaterial(label: string, length: number, context?: Buffer): Buffer;
  channelBinding(type: 0 | 1 | 2): Buffer | undefined;
  srtpProfile(): string | null;
  srtpKeys(): NativeSrtpKeys | number;
  discarded(): number;
  close(): void;
}

export interface NativeDtlsBinding {
  DtlsSession: new (ctx: NativeContext, isServer: boolean) => NativeDtlsSession;
  /** The ClientHello's sequence numbers when its cookie is valid, else a GnuTLS code. */
  dtlsCookieVerify(key: Buffer, client: Buffer, datagram: Buffer): [number, number, number] | number;
  /** The HelloVerifyRequest answering the ClientHello in `datagram`, or a GnuTLS code. */
  dtlsCookieSend(key: Buffer, client: Buffer, datagram: Buffer): Buffer | number;
}

export const dtlsBinding = binding as unknown as NativeDtlsBinding;
