'use strict';
// Native Session lifetime, run as `node --expose-gc lifetime.js <mode>` by socket.errors.test.ts.
// Prints "<label> <liveSessions>" lines and "DONE"; any failure exits non-zero.
const path = require('path');
const fs = require('fs');
const { Duplex } = require('stream');

const PKG = path.join(__dirname, '..', '..');
const tls = require(PKG);
const { binding } = require(path.join(PKG, 'dist', 'native'));
const fixture = (n) => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const live = () => binding.liveSessions();
const report = (label, n = live()) => console.log(`${label} ${n}`);

/** A transport that swallows writes and never delivers anything. */
const sink = () => new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });

/** Two Duplexes wired back to back (what one writes, the other reads). */
function pair() {
  let a = null;
  let b = null;
  a = new Duplex({ read() {}, write(c, _e, cb) { b.push(c); cb(); }, final(cb) { b.push(null); cb(); } });
  b = new Duplex({ read() {}, write(c, _e, cb) { a.push(c); cb(); }, final(cb) { a.push(null); cb(); } });
  return [a, b];
}

async function collectGarbage() {
  for (let i = 0; i < 8; i++) {
    global.gc();
    await sleep(15);
  }
}

async function main() {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
  const mode = process.argv[2];
  const serverCtx = tls.createSecureContext({ key: fixture('server.key'), cert: fixture('server-chain.pem') });
  const clientCtx = tls.createSecureContext({ ca: fixture('ca.pem') });
  report('start');

  if (mode === 'idle') {
    // 2,000 client + 2,000 server sockets, mid-handshake, dropped without destroy().
    (() => {
      for (let i = 0; i < 2000; i++) {
        new tls.TLSSocket(sink(), { secureContext: clientCtx, servername: 'localhost' });
        new tls.TLSSocket(sink(), { isServer: true, secureContext: serverCtx });
      }
    })();
    report('created');
    await sleep(10); // let the clients' handshakes start (ClientHello written into the sink)
    report('started');
    await collectGarbage();
    report('after-gc');
  } else if (mode === 'handshake') {
    // Complete handshakes + one echo over in-memory pairs, then drop everything without destroy().
    const N = 300;
    let echoed = 0;
    await (async () => {
      const waits = [];
      for (let i = 0; i < N; i++) {
        const [x, y] = pair();
        const s = new tls.TLSSocket(x, { isServer: true, secureContext: serverCtx });
        const c = new tls.TLSSocket(y, { secureContext: clientCtx, servername: 'localhost' });
        s.on('data', (d) => s.write(d));
        waits.push(
          new Promise((resolve, reject) => {
            c.on('error', reject);
            s.on('error', reject);
            c.once('secureConnect', () => {
              if (!c.authorized) reject(new Error('not authorized: ' + c.authorizationError));
              c.write('ping ' + i);
              c.once('data', (d) => {
                if (d.toString() === 'ping ' + i) echoed++;
                resolve();
              });
            });
          }),
        );
      }
      await Promise.all(waits);
    })();
    report('echoed', echoed);
    report('connected');
    await collectGarbage();
    report('after-gc');
  } else if (mode === 'destroy') {
    const socks = [];
    for (let i = 0; i < 100; i++) socks.push(new tls.TLSSocket(sink(), { secureContext: clientCtx, servername: 'localhost' }));
    report('created');
    for (const s of socks.slice(0, 60)) s.destroy();
    report('destroyed-60');
    for (const s of socks.slice(0, 60)) s.destroy();
    report('destroyed-60-again');
    for (const s of socks.slice(60)) s.destroy();
    report('destroyed-all');
    // Handshaken pairs: destroy() frees both sessions at once (no GC involved).
    const pairs = [];
    await Promise.all(
      Array.from({ length: 20 }, () => {
        const [x, y] = pair();
        const s = new tls.TLSSocket(x, { isServer: true, secureContext: serverCtx });
        const c = new tls.TLSSocket(y, { secureContext: clientCtx, servername: 'localhost' });
        pairs.push([s, c]);
        return new Promise((resolve, reject) => {
          c.once('secureConnect', resolve);
          c.once('error', reject);
        });
      }),
    );
    report('secure-pairs');
    for (const [s, c] of pairs) {
      s.destroy();
      c.destroy();
    }
    report('destroyed-pairs');
  } else if (mode === 'failed') {
    // A handshake that fails frees its session without waiting for GC.
    const errors = [];
    for (let i = 0; i < 50; i++) {
      const [x, y] = pair();
      const s = new tls.TLSSocket(x, { isServer: true, secureContext: serverCtx });
      s.on('error', (e) => errors.push(e.gnutlsName));
      y.write(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
      y.resume();
    }
    await sleep(20);
    report('errors', errors.filter((c) => /^(GNUTLS_E_|ERR_SSL_)/.test(c)).length);
    report('after-failures');
  } else {
    throw new Error('unknown mode ' + mode);
  }
  console.log('DONE');
}

main().catch((e) => {
  console.error('FAIL', e && e.stack);
  process.exit(1);
});
