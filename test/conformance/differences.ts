// The one list of what a program can observe differently from Node's tls, and why. The README's
// "Differences from Node's tls" table is checked against it (readme.test.ts): each entry is one row,
// `difference | why`, verbatim. The differential harness applies an entry's `normalise` to both
// traces of the scenarios it names, so a difference nobody listed fails its scenario.
import type { Pair } from './harness';

export interface Difference {
  /** The README row's first cell. */
  difference: string;
  /** The README row's second cell: GnuTLS cannot, or we deliberately do better. */
  why: string;
  /** The scenarios (by name) whose traces it touches; /^$/ when no scenario observes it. */
  scenarios: RegExp;
  /** In which pairings it shows (default: all). */
  when?: (p: Pair) => boolean;
  /** Maps a trace line to what is compared (null drops it). */
  normalise: (line: string) => string | null;
}

const same = (l: string): string => l;

export const DIFFERENCES: Difference[] = [
  {
    difference:
      "Node's `http2` over a node-gnutls socket reports `encrypted` false and `alpnProtocol` `'h2c'` for the session, a client session connects at once (its frames wait in the socket until the handshake), and `session.socket` / `req.socket` are http2's wrapper, whose `stream` is the TLS socket (`req.socket.stream.getPeerCertificate()`)",
    why: 'http2 wraps a socket that has no native stream handle in its own JS stream socket and reads these from the wrapper; a socket written in JavaScript cannot have such a handle through public APIs',
    scenarios: /^http2: /,
    normalise: (l) =>
      l === 'client session connect' ? null : l.replace(/^(\w+ session (encrypted|alpnProtocol|socket is the TLS socket)) = .*/, '$1 = (differs)'),
  },
  {
    difference: '`_parent` is `null` when the transport is not a `net.Socket` (a `PassThrough`, a tunnel); the transport is `socket.socket`',
    why: "net.Socket's timers walk `_parent` expecting a `net.Socket`",
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference:
      "The raw transport of a socket on the fd fast path (`socket.socket`, a `net.Socket`) gets a prototype of its own between it and its class: `instanceof` holds, `Object.getPrototypeOf()` is not `net.Socket.prototype`",
    why: "its `bytesRead`/`bytesWritten` add the ciphertext the session moved on the descriptor; accessors on the instance would make every transport a dictionary-mode object (1.6 KiB more each)",
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference: '`getPeerX509Certificate()` has no `issuerCertificate`',
    why: '`crypto.X509Certificate` made from DER cannot carry one; `getPeerCertificate(true)` has the chain',
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference:
      'With TLS 1.3 enabled, a TLS 1.2 `ciphers` list also gets, for TLS 1.2, the ciphers of the TLS 1.3 suites (AES-GCM, ChaCha20) with its key exchanges, and TLS 1.3 gets the TLS 1.3 suites of its ciphers (AES-128-CCM, CCM-8)',
    why: 'a GnuTLS 3.7 priority enables one product of key exchanges, ciphers and MACs, shared by TLS 1.2 and TLS 1.3',
    scenarios: /^ciphers: a TLS 1\.2 list shares its ciphers/,
    when: (p) => p.server === 'gnutls',
    normalise: (l) => l.replace(/^(\w+ getCipher\(\)) = .*/, '$1 = (differs)'),
  },
  {
    difference: 'A `ciphers` list that matches only suites GnuTLS lacks or that are not modelled (ARIA, SRP) throws `ERR_SSL_NO_CIPHER_MATCH`; Node accepts it',
    why: 'the grammar is evaluated over the suites GnuTLS 3.7 has',
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference:
      "One order for both versions: TLS 1.3 suites as named (else OpenSSL's default three), then the TLS 1.2 list's ciphers; key exchanges in the order of their first suite; MACs AEAD, SHA-256, SHA-384, SHA-1. So a server choosing by its own order may pick for TLS 1.2 a cipher of the TLS 1.3 suites (AES-256-GCM) before its TLS 1.2 list's",
    why: 'GnuTLS orders suites by key exchange, then cipher, then MAC, one list each; SHA-256 first because GnuTLS takes the first MAC as the hash of TLS 1.3 external PSKs',
    scenarios: /^ciphers: one TLS 1\.2 suite, TLS 1\.2 client/,
    when: (p) => p.server === 'gnutls',
    normalise: (l) => l.replace(/^(\w+ getCipher\(\)) = .*/, '$1 = (differs)'),
  },
  {
    difference:
      "A server choosing by its own order (Node's default) also picks the key-exchange group by its order, X25519 first unless `ecdhCurve` says otherwise, and asks a client that sent no key share for that group for one (a HelloRetryRequest); OpenSSL takes a share the client sent",
    why: "GnuTLS 3.7's %SERVER_PRECEDENCE orders groups as well as suites; the default order is OpenSSL's, whose clients (and GnuTLS's) send an X25519 share, so they get no extra round trip",
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference: 'RSA-PSK suites in `ciphers` are left out while TLS 1.3 can be negotiated',
    why: 'in GnuTLS 3.7 `+RSA-PSK` in a priority stops TLS 1.3 PSK',
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference: "`@SECLEVEL=n` in `ciphers` selects suites as OpenSSL's level does; key sizes and signature algorithms follow GnuTLS's NORMAL",
    why: "GnuTLS's security levels (profiles) are not OpenSSL's",
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference: "Without `ciphers` (or with `''`/`null`) the suites are GnuTLS's NORMAL (which has CCM and TLS_AES_128_CCM_SHA256), not `tls.DEFAULT_CIPHERS`; a `pskCallback` adds the PSK key exchanges (with a `ciphers` list, only while TLS 1.3 can be negotiated), and with them TLS 1.2 PSK suites",
    why: "GnuTLS's defaults; GnuTLS negotiates TLS 1.3 PSK only with the PSK key exchanges in the priority",
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference:
      "A server's `renegotiate({ requestCert: true })` gets the client's certificate, and `authorized` follows its verification; Node's server lets OpenSSL resume the session in the renegotiation, so a Node client sends none",
    why: 'the re-handshake a server starts is a full one, never a resumption: asking for a certificate gets one',
    scenarios: /renegotiate\(\{ requestCert/,
    normalise: (l) => l.replace(/^(server (authorized|authorizationError|peer CN) after) = .*$/, '$1 = (differs)'),
  },
  {
    difference: "After `ERR_TLS_SESSION_ATTACK` (too many client renegotiations) the server answers with a fatal `handshake_failure` alert and its socket is destroyed with that error; Node's emits it and lets the renegotiation go on",
    why: 'an attack that is detected is stopped, whether or not the application listens for the error',
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference:
      '`getTLSTicket()` on a client, `getSharedSigalgs()`, `enableTrace()` and `setKeyCert()` throw an `Error` with code `ERR_GNUTLS_UNSUPPORTED` (after close the getters return `null` as Node\'s do; a server\'s `getTLSTicket()` is `undefined`)',
    why: "GnuTLS exposes neither the raw session ticket nor the shared signature algorithms, has no per-connection protocol trace, and fixes a session's credentials when it is made",
    scenarios: /^socket surface: setMaxSendFragment/,
    when: (p) => p.client === 'gnutls',
    normalise: (l) => {
      const m = /^client (enableTrace\(\)|setKeyCert\(\)|getTLSTicket\(\) kind|getSharedSigalgs\(\) kind) (?:-> (?:undefined|"Buffer"|"Array")|threw Error\{name=Error code=ERR_GNUTLS_UNSUPPORTED .*)$/.exec(l);
      return m ? `client ${m[1]} (GnuTLS cannot)` : l;
    },
  },
  {
    difference: '`tls.rootCertificates` lists GnuTLS\'s system trust store, the default trust when no `ca` is given',
    why: "Node's is its bundled Mozilla store; ours reports what we actually trust",
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference: "An `ALPNCallback` choosing no protocol fails the handshake with `ERR_SSL_NO_APPLICATION_PROTOCOL` and our message, not OpenSSL's error string",
    why: "the message of Node's error is OpenSSL's internal error text (with its source path)",
    scenarios: /^options: ALPNCallback picks none$/,
    when: (p) => p.server === 'gnutls',
    normalise: (l) => l.replace(/^(server tlsClientError code=ERR_SSL_NO_APPLICATION_PROTOCOL message=).*$/, '$1(differs)'),
  },
  {
    difference:
      "A `TRUSTED CERTIFICATE` in `ca` whose trust settings reject a purpose, or trust some but not TLS, is not trusted at all (`authorizationError` is then `UNABLE_TO_GET_ISSUER_CERT_LOCALLY`, Node's says `INVALID_PURPOSE`)",
    why: 'GnuTLS has no per-purpose trust: such a certificate is left out, never trusted for more than OpenSSL would',
    scenarios: /^options: a TRUSTED CERTIFICATE in ca with (-addtrust emailProtection|-addreject serverAuth)$/,
    when: (p) => p.client === 'gnutls',
    normalise: (l) => l.replace(/authorized=false authorizationError=(INVALID_PURPOSE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/, 'authorized=false authorizationError=(untrusted)'),
  },
  {
    difference: "A TLS 1.3 server sends one session ticket per handshake (GnuTLS's default), resumptions included; Node's sends two after a full handshake and none after a resumption",
    why: "tickets sent after the handshake with `gnutls_session_ticket_send()` made a client that closes right after its handshake see a TCP reset instead of our FIN; GnuTLS's own ticket goes out with the handshake",
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference:
      "A fatal TLS error after the handshake closes the socket once its `'error'` listeners ran (on an open socket, as Node's; `'close'` has `hadError` false); Node's socket stays open until the application or the peer closes it",
    why: 'a GnuTLS session cannot be used after a fatal error, so nothing is left to keep open',
    // The peer's end of the connection, which Node's open socket still reads, is not seen.
    scenarios: /^TLS 1\.2: a client renegotiation with a corrupted Finished/,
    when: (p) => p.server === 'gnutls',
    normalise: (l) => (l === 'server end()' ? null : l),
  },
  {
    difference:
      "An OpenSSL-form error message (`<thread>:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:<file>:<line>:SSL alert number 40`) names our thread identifier and, for file and line, `gnutls` and the GnuTLS error code",
    why: "OpenSSL's thread id and source position have no GnuTLS counterpart; the code, function, reason and data fields are OpenSSL's",
    scenarios: /^errors: |^TLS 1\.2: a client renegotiation with a corrupted Finished/,
    // Only the thread field and the file:line pair are masked; every other field is compared.
    normalise: (l) =>
      l.replace(/\b[0-9A-F]{16}:error:([0-9A-F]{8}):(SSL|Provider) routines:([^:"]*):([^:"]*):[^:"]*:-?\d+:/g, '<thread>:error:$1:$2 routines:$3:$4:<file>:<line>:'),
  },
  {
    difference:
      "A `dhparam` group serves only clients that name no RFC 7919 group; a client that names one (OpenSSL's and GnuTLS's clients do) gets that group (ffdhe2048 for Node's client, where Node's server uses the given group). A server without DH parameters takes no FFDHE key share under TLS 1.3 either",
    why: 'GnuTLS 3.7 prefers the RFC 7919 groups a client names to its own DH parameters, and enables FFDHE groups only with a DHE key exchange',
    scenarios: /^dhparam: a TLS 1\.2 client offering only DHE, server dhparam a 1024-bit PEM group/,
    when: (p) => p.server === 'gnutls',
    normalise: (l) => l.replace(/^client key exchange = .*/, 'client key exchange = (differs)'),
  },
  {
    difference:
      'A TLS 1.2 server resumes sessions by session ID (its cache, or `newSession`/`resumeSession`) and issues no TLS 1.2 session tickets, with or without `SSL_OP_NO_TICKET`; Node\'s issues tickets unless told not to',
    why: 'GnuTLS 3.7 cannot safely resume a TLS 1.2 ticket offered in a renegotiation ClientHello, and renegotiation is on by default',
    scenarios: /^$/,
    normalise: same,
  },
];
