'use strict';
// destroy() called from inside our own event handlers, run in a child process so that an
// exception escaping the library (uncaught: it would kill the process) is observed as exit code 70.
//   node destroy-in-handler.js <scenario> <TLSv1.2|TLSv1.3>
// scenarios: client-secureConnect, client-keylog (our client vs a Node server),
//            server-secureConnection (our server vs a Node client and our client)
// Prints "RESULT <json>" and "DONE"; exit 2 on a hang.
const path = require('path');
const fs = require('fs');
const nodeTls = require('tls');

const PKG = path.join(__dirname, '..', '..');
const tls = require(PKG);
const fixture = (n) => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
const ca = fixture('ca.pem');

process.on('uncaughtException', (e) => {
  console.log(`UNCAUGHT ${e && e.code} ${e && e.message}`);
  console.error(e && e.stack);
  process.exit(70);
});
const hang = setTimeout(() => {
  console.log('HANG');
  process.exit(2);
}, 5000);

/** Resolves with the events seen once the socket closes. */
function watch(sock) {
  const events = [];
  for (const ev of ['secureConnect', 'end', 'close']) sock.on(ev, () => events.push(ev));
  sock.on('error', (e) => events.push('error:' + e.code));
  return new Promise((resolve) => sock.once('close', () => resolve(events)));
}

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

async function main() {
  const [scenario, version] = process.argv.slice(2);
  const result = { scenario, version };
  if (scenario === 'client-secureConnect' || scenario === 'client-keylog') {
    const server = nodeTls.createServer({ ...serverOpts, maxVersion: version }, (s) => {
      s.on('error', () => {});
      s.end('hello');
    });
    const port = await listen(server);
    const c = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, maxVersion: version });
    if (scenario === 'client-secureConnect') c.once('secureConnect', () => c.destroy());
    else c.once('keylog', () => c.destroy());
    result.events = await watch(c);
    result.destroyed = c.destroyed;
    await new Promise((r) => setTimeout(r, 50)); // anything thrown late would show up here
    server.close();
  } else if (scenario === 'server-secureConnection') {
    let secured = 0;
    const server = tls.createServer({ ...serverOpts, maxVersion: version }, (s) => {
      secured++;
      s.destroy();
    });
    const clientErrors = [];
    server.on('tlsClientError', (e) => clientErrors.push(e.code));
    const port = await listen(server);
    const node = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, maxVersion: version });
    result.nodeClient = await watch(node);
    const ours = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, maxVersion: version });
    result.ourClient = await watch(ours);
    result.secured = secured;
    result.tlsClientErrors = clientErrors;
    await new Promise((r) => server.close(r));
  } else {
    throw new Error('unknown scenario ' + scenario);
  }
  clearTimeout(hang);
  console.log('RESULT ' + JSON.stringify(result));
  console.log('DONE');
}

main().catch((e) => {
  console.error('FAIL', e && e.stack);
  process.exit(1);
});
