// A node-gnutls server or context whose key is a PKCS#11 URL, run in its own process so that the
// PKCS#11 module loads with this process's SOFTHSM2_CONF. Prints one JSON line per result.
// argv: <mode: serve | context | provider> <json options>
const path = require('path');
const fs = require('fs');
const tls = require(path.join(__dirname, '..', '..'));

const [mode, json] = process.argv.slice(2);
const o = JSON.parse(json || '{}');
const cert = o.certUrl || (o.certFile && fs.readFileSync(o.certFile));
const say = (v) => process.stdout.write(`${JSON.stringify(v)}\n`);
const failure = (e) => ({ ok: false, code: e.code, gnutlsName: e.gnutlsName, message: e.message });

if (mode === 'provider') {
  try {
    tls.addPkcs11Provider(o.module);
    say({ ok: true });
  } catch (e) {
    say(failure(e));
  }
} else if (mode === 'context') {
  try {
    tls.createSecureContext({ key: o.keyUrl, cert, passphrase: o.pin });
    say({ ok: true });
  } catch (e) {
    say(failure(e));
  }
} else {
  const server = tls.createServer({ key: o.keyUrl, cert, passphrase: o.pin }, (s) => {
    say({ event: 'secureConnection', protocol: s.getProtocol() });
    s.end('signed by the token\n');
  });
  server.on('tlsClientError', (e) => say({ event: 'tlsClientError', ...failure(e) }));
  server.listen(0, '127.0.0.1', () => say({ event: 'listening', port: server.address().port }));
  process.stdin.on('end', () => server.close());
  process.stdin.resume();
}
