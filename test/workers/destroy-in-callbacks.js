'use strict';
// destroy() / end() called from inside a callback or event listener, run in a child process so
// that a crash (SIGSEGV, abort) or an exception escaping the library is observed from outside.
//   node --expose-gc destroy-in-callbacks.js <scenario> <TLSv1.2|TLSv1.3> <destroy|end> <gnutls|node>
// The last argument picks the stack of the side whose callback runs ("the victim"): node-gnutls,
// or Node's own tls for comparison. The other side is Node's tls where it can be (our own
// client/server for re-auth and re-handshake, which Node's tls does not have).
// Loads the compiled package (dist/, built by `npm ci` / `prepare`, or by the test's ensureDist()).
// Prints "RESULT <json>" and exits 0; "UNCAUGHT ..." and exit 70 on an uncaught exception;
// "HANG" and exit 2 when the scenario does not finish in time.
const fs = require('fs');
const net = require('net');
const path = require('path');
const nodeTls = require('tls');
const crypto = require('crypto');

const PKG = path.join(__dirname, '..', '..');
const gtls = require(PKG);
const { binding } = require(path.join(PKG, 'dist', 'native'));

const fixture = (n) => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
const clientCert = { key: fixture('client.key'), cert: fixture('client.pem') };
const PSK = crypto.randomBytes(32);
const PSK_HINT = 'node-gnutls-hint';
/** OpenSSL's (Node's) TLS 1.2 PSK suite; node-gnutls selects PSK from the callback alone. */
const NODE_PSK_CIPHERS = 'PSK-AES128-GCM-SHA256';
const CLOSE_WAIT = 3000;

process.on('uncaughtException', (e) => {
  console.log(`UNCAUGHT ${e && e.code} ${e && e.message}`);
  console.error(e && e.stack);
  process.exit(70);
});
process.on('unhandledRejection', (e) => {
  console.log(`UNCAUGHT (rejection) ${e && e.code} ${e && e.message}`);
  console.error(e && e.stack);
  process.exit(70);
});
const hang = setTimeout(() => {
  console.log('HANG');
  process.exit(2);
}, 8000);

const [scenarioName, version, action, stack] = process.argv.slice(2);
/** The library of the side whose callback runs. */
const lib = stack === 'node' ? nodeTls : gtls;
const isNode = lib === nodeTls;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const versions = { minVersion: version, maxVersion: version };

// ---- bookkeeping ---------------------------------------------------------------------------------

const result = { scenario: scenarioName, version, action, stack, fired: 0, notes: [] };
const servers = new Set();
const sockets = new Set();

/** Event trace of a socket: 'ACT' marks our destroy()/end(). */
function watch(sock) {
  const events = [];
  const closed = new Promise((resolve) => sock.once('close', () => resolve(true)));
  for (const ev of ['secure', 'secureConnect', 'end', 'close']) sock.on(ev, () => events.push(ev));
  sock.on('error', (e) => events.push(`error:${e.code || e.message}`));
  sock.on('data', () => {}); // flowing, so that 'end' can be emitted
  sockets.add(sock);
  return { sock, events, closed };
}

let victim = null;
/** The socket whose callback runs; its trace is the one compared. Idempotent. */
function watchVictim(sock) {
  if (!victim || victim.sock !== sock) victim = watch(sock);
  return victim;
}
let peer = null;
function watchPeer(sock) {
  peer = watch(sock);
  return peer;
}

/** Inside the callback: destroy() or end() the callback's socket (once), and keep going. */
function hit(sock) {
  result.fired++;
  if (result.fired > 1) return;
  const v = watchVictim(sock);
  v.events.push('ACT');
  if (action === 'destroy') sock.destroy();
  else sock.end();
}

function listen(server) {
  servers.add(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

/**
 * A server of `lib` for callbacks that get no socket (SNICallback, OCSPRequest, newSession,
 * resumeSession): the TLSSocket is made here, on a plain net.Server, so that the callback can
 * reach it; `tlsServer` (never listening) carries the Server events, as Node's TLSSocket option
 * `server` does. While `wrap.armed` is false, connections are plain successful ones.
 */
async function wrappingServer(tlsServer, opts = {}, onSocket = () => {}) {
  const { socket: socketOpts, ...contextOpts } = opts;
  const secureContext = lib.createSecureContext({ ...serverOpts, ...versions, ...contextOpts });
  const wrap = { armed: true, sock: null };
  const raw = net.createServer((conn) => {
    const s = new lib.TLSSocket(conn, { isServer: true, server: tlsServer, secureContext, ...socketOpts });
    if (!wrap.armed) {
      sockets.add(s);
      s.on('error', () => {});
      return;
    }
    wrap.sock = s;
    watchVictim(s);
    onSocket(s);
  });
  wrap.port = await listen(raw);
  return wrap;
}

/** Node's tls client (the peer of our servers), reading everything. */
function nodeClient(port, opts = {}) {
  const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...versions, ...opts });
  watchPeer(c);
  return c;
}

/** Node's tls server (the peer of our clients). */
async function nodeServer(opts) {
  const server = nodeTls.createServer({ ...versions, ...opts }, (s) => {
    watchPeer(s);
    s.write('hello');
  });
  server.on('tlsClientError', (e) => result.notes.push(`peer tlsClientError:${e.code}`));
  return listen(server);
}

const clientOf = (port, opts) => lib.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...versions, ...opts });

/** Records server-side errors before the handshake (they do not reach the socket's 'error'). */
function recordClientErrors(server) {
  server.on('tlsClientError', (e, s) => {
    if (victim && s === victim.sock) victim.events.push(`tlsClientError:${e.code}`);
    else result.notes.push(`tlsClientError:${e.code}`);
  });
  return server;
}

const pskClientOpts = { ciphers: NODE_PSK_CIPHERS, checkServerIdentity: () => undefined };
/** Node needs its PSK suite named; node-gnutls offers PSK whenever a pskCallback is set. */
const libPsk = isNode ? { ciphers: NODE_PSK_CIPHERS } : {};

// ---- scenarios ------------------------------------------------------------------------------------
// Each sets up one connection (two for resumeSession) whose callback calls hit(<its socket>).

const SCENARIOS = {
  // -- server side (victim: the server's socket; peer: Node's client) --
  async 'server-pskCallback'() {
    const server = recordClientErrors(
      lib.createServer({ ...versions, ...libPsk, pskIdentityHint: PSK_HINT, pskCallback: (s) => (hit(s), PSK) }),
    );
    const port = await listen(server);
    nodeClient(port, { ...pskClientOpts, pskCallback: () => ({ psk: PSK, identity: 'alice' }) });
  },
  async 'server-SNICallback'() {
    const sniContext = lib.createSecureContext({ ...serverOpts, ...versions });
    const tlsServer = recordClientErrors(lib.createServer(serverOpts));
    const wrap = await wrappingServer(tlsServer, {
      socket: { SNICallback: (name, cb) => (hit(wrap.sock), cb(null, sniContext)) },
    });
    nodeClient(wrap.port);
  },
  async 'server-OCSPRequest'() {
    const tlsServer = recordClientErrors(lib.createServer(serverOpts));
    const wrap = await wrappingServer(tlsServer);
    tlsServer.on('OCSPRequest', (cert, issuer, cb) => (hit(wrap.sock), cb(null, null)));
    nodeClient(wrap.port, { requestOCSP: true });
  },
  async 'server-newSession'() {
    const tlsServer = recordClientErrors(lib.createServer(serverOpts));
    // Node issues TLS 1.2 tickets instead of session IDs unless told not to.
    const wrap = await wrappingServer(tlsServer, { secureOptions: crypto.constants.SSL_OP_NO_TICKET });
    tlsServer.on('newSession', (id, data, done) => (hit(wrap.sock), done()));
    nodeClient(wrap.port);
  },
  async 'server-resumeSession'() {
    const cache = new Map();
    const tlsServer = recordClientErrors(lib.createServer(serverOpts));
    const wrap = await wrappingServer(tlsServer, { secureOptions: crypto.constants.SSL_OP_NO_TICKET });
    tlsServer.on('newSession', (id, data, done) => (cache.set(id.toString('hex'), data), done()));
    tlsServer.on('resumeSession', (id, cb) => {
      if (wrap.armed) hit(wrap.sock);
      cb(null, cache.get(id.toString('hex')) ?? null);
    });
    // First connection: a full handshake that leaves a session in the cache.
    wrap.armed = false;
    const first = nodeTls.connect({ port: wrap.port, host: '127.0.0.1', servername: 'localhost', ca, ...versions });
    sockets.add(first);
    first.on('error', () => {});
    let session;
    first.on('session', (sess) => {
      session = sess;
      first.end();
    });
    first.resume();
    await new Promise((r) => first.once('close', r));
    if (!session || cache.size === 0) throw new Error(`the first connection left no session (cache: ${cache.size})`);
    wrap.armed = true;
    nodeClient(wrap.port, { session });
  },
  async 'server-keylog'() {
    const server = recordClientErrors(lib.createServer({ ...serverOpts, ...versions }));
    server.on('keylog', (line, s) => hit(s));
    nodeClient(await listen(server));
  },
  async 'server-data'() {
    const server = recordClientErrors(
      lib.createServer({ ...serverOpts, ...versions }, (s) => watchVictim(s).sock.on('data', () => hit(s))),
    );
    const c = nodeClient(await listen(server));
    c.on('secureConnect', () => c.write('ping'));
  },
  async 'server-secureConnection'() {
    const server = recordClientErrors(lib.createServer({ ...serverOpts, ...versions }, (s) => hit(s)));
    const c = nodeClient(await listen(server));
    c.on('secureConnect', () => c.write('ping'));
  },
  async 'server-secure'() {
    const tlsServer = recordClientErrors(lib.createServer(serverOpts));
    const wrap = await wrappingServer(tlsServer, {}, (s) => s.on('secure', () => hit(s)));
    nodeClient(wrap.port);
  },

  // -- client side (victim: the client; peer: Node's server, which writes once secure) --
  async 'client-pskCallback'() {
    const port = await nodeServer({ ciphers: NODE_PSK_CIPHERS, pskIdentityHint: PSK_HINT, pskCallback: () => PSK });
    const c = clientOf(port, {
      ...libPsk,
      checkServerIdentity: () => undefined,
      pskCallback: () => (hit(c), { psk: PSK, identity: 'alice' }),
    });
    watchVictim(c);
  },
  async 'client-checkServerIdentity'() {
    const c = clientOf(await nodeServer(serverOpts), { checkServerIdentity: () => (hit(c), undefined) });
    watchVictim(c);
  },
  async 'client-keylog'() {
    const c = watchVictim(clientOf(await nodeServer(serverOpts))).sock;
    c.on('keylog', () => hit(c));
  },
  async 'client-session'() {
    const c = watchVictim(clientOf(await nodeServer(serverOpts))).sock;
    c.on('session', () => hit(c));
  },
  async 'client-data'() {
    const c = watchVictim(clientOf(await nodeServer(serverOpts))).sock;
    c.on('data', () => hit(c));
  },
  async 'client-secureConnect'() {
    const c = watchVictim(clientOf(await nodeServer(serverOpts))).sock;
    c.on('secureConnect', () => hit(c));
  },

  // -- node-gnutls only: re-authentication and re-handshake (peer: our own server / client) --
  async 'client-reauthRequest'() {
    const c = watchVictim(clientOf(await ourServer((s) => s.reauth({ require: true, timeout: 2000 })), clientCert)).sock;
    c.on('reauthRequest', (req) => (hit(c), req.accept()));
  },
  async 'client-rehandshakeRequest'() {
    const c = watchVictim(clientOf(await ourServer((s) => s.rehandshake({ timeout: 2000 })), clientCert)).sock;
    c.on('rehandshakeRequest', (req) => (hit(c), req.accept()));
  },
  /** The server's 'data' listener runs while reauth() is pending; the client sends while it answers. */
  async 'server-data-during-reauth'() {
    const server = recordClientErrors(
      lib.createServer({ ...serverOpts, ca, ...versions }, (s) => {
        watchVictim(s).sock.on('data', () => s.reauthPending && hit(s));
        settle('server reauth', s.reauth({ require: true, timeout: 2000 }));
      }),
    );
    const port = await listen(server);
    const c = watchPeer(gtls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...versions, ...clientCert })).sock;
    const answer = (req) => {
      // Application data while the server's re-auth is in flight, then the answer.
      let n = 0;
      const t = setInterval(() => {
        if (c.destroyed || ++n > 10) {
          clearInterval(t);
          req.accept();
          return;
        }
        c.write(`data ${n} `.repeat(50));
      }, 2);
    };
    c.on('reauthRequest', answer); // TLS 1.3: post-handshake auth
    c.on('rehandshakeRequest', answer); // TLS 1.2: reauth() is a re-handshake
  },
};

/** Records how an operation's promise settled (it may reject: the victim closed). */
function settle(what, p) {
  p.then(
    () => result.notes.push(`${what}: resolved`),
    (e) => result.notes.push(`${what}: ${e.code || e.message}`),
  );
}

/** Our server, the peer of our client in the re-auth / re-handshake scenarios. */
async function ourServer(operation) {
  const server = gtls.createServer({ ...serverOpts, ca, ...versions }, (s) => {
    watchPeer(s);
    settle('server operation', operation(s));
  });
  server.on('tlsClientError', (e) => result.notes.push(`peer tlsClientError:${e.code}`));
  return listen(server);
}

// ---- run -----------------------------------------------------------------------------------------

const within = (p, ms) => Promise.race([p, sleep(ms).then(() => false)]);

async function main() {
  const scenario = SCENARIOS[scenarioName];
  if (!scenario) throw new Error(`unknown scenario ${scenarioName}`);
  result.liveBefore = binding.liveSessions();
  await scenario();
  // Wait for the callback, then for both ends to close.
  const deadline = Date.now() + CLOSE_WAIT;
  while (!result.fired && Date.now() < deadline) await sleep(10);
  result.victimClosed = victim ? await within(victim.closed, Math.max(1, deadline - Date.now()) + CLOSE_WAIT) : false;
  await sleep(50); // anything thrown late shows up here; the peer may get its socket late
  // null: the peer's application never got a socket (its handshake did not complete).
  result.peerClosed = peer ? await within(peer.closed, CLOSE_WAIT) : null;
  result.victimEvents = victim ? victim.events : null;
  result.peerEvents = peer ? peer.events : null;
  // Cleanup, then count native sessions still alive.
  for (const s of sockets) s.destroy();
  await Promise.all([...servers].map((s) => new Promise((r) => s.close(() => r()))));
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    if (global.gc) global.gc();
  }
  result.liveSessions = binding.liveSessions();
  clearTimeout(hang);
  console.log('RESULT ' + JSON.stringify(result));
  process.exit(0);
}

main().catch((e) => {
  console.log(`FAIL ${e && e.stack}`);
  process.exit(1);
});
