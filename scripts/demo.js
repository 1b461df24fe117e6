#!/usr/bin/env node
// The demo: makes a CA, a server and a client certificate with certtool, starts a node-gnutls
// server and connects a node-gnutls client over TLS 1.3 (anonymous, then upgraded with
// post-handshake auth) and TLS 1.2 (mutual TLS, then a server-initiated re-handshake), printing
// what was negotiated and who is who. Exits 0 on success.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const tls = require('..');

function makeCertificates(dir) {
  const run = (args) => execFileSync('certtool', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const template = (name, lines) => fs.writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
  for (const k of ['ca', 'server', 'client']) run(['--generate-privkey', '--key-type', 'ecdsa', '--outfile', `${k}.key`]);
  template('ca.tmpl', ['cn = node-gnutls demo CA', 'ca', 'cert_signing_key', 'expiration_days = 2']);
  template('server.tmpl', ['cn = localhost', 'dns_name = localhost', 'tls_www_server', 'signing_key', 'expiration_days = 2']);
  template('client.tmpl', ['cn = demo-client', 'tls_www_client', 'signing_key', 'expiration_days = 2']);
  run(['--generate-self-signed', '--load-privkey', 'ca.key', '--template', 'ca.tmpl', '--outfile', 'ca.pem']);
  for (const k of ['server', 'client']) {
    run(['--generate-certificate', '--load-privkey', `${k}.key`, '--load-ca-certificate', 'ca.pem',
      '--load-ca-privkey', 'ca.key', '--template', `${k}.tmpl`, '--outfile', `${k}.pem`]);
  }
  const read = (f) => fs.readFileSync(path.join(dir, f));
  return { ca: read('ca.pem'), serverKey: read('server.key'), serverCert: read('server.pem'),
    clientKey: read('client.key'), clientCert: read('client.pem') };
}

const t0 = Date.now();
const log = (who, msg) => console.log(`${String(Date.now() - t0).padStart(5)} ms  ${who.padEnd(6)} ${msg}`);

function session(pki, version) {
  return new Promise((resolve, reject) => {
    // TLS 1.3: the client starts anonymous and the server upgrades it with post-handshake auth.
    // TLS 1.2: mutual TLS from the start, then a server-initiated re-handshake.
    const tls13 = version === 'TLSv1.3';
    const server = tls.createServer({
      key: pki.serverKey, cert: pki.serverCert, ca: pki.ca,
      requestCert: !tls13, rejectUnauthorized: true, maxVersion: version, ALPNProtocols: ['demo/1'],
    }, async (socket) => {
      const peer = socket.getPeerCertificate();
      const who = peer.subject ? `client "${peer.subject.CN}"` : 'anonymous client';
      log('server', `secure: ${socket.getProtocol()} ${socket.getCipher().name}, ${who} authorized=${socket.authorized}`);
      socket.on('data', (d) => socket.write(`echo: ${d}`));
      socket.on('end', () => socket.end());
      try {
        if (tls13) {
          log('server', 'reauth(): asking for a client certificate after the handshake');
          const cert = await socket.reauth({ require: true, timeout: 5000 });
          log('server', `reauth done: client "${cert.subject.CN}" authorized=${socket.authorized}`);
        } else {
          log('server', `rehandshake(): safe renegotiation=${socket.safeRenegotiation}`);
          await socket.rehandshake({ timeout: 5000 });
          log('server', 'rehandshake done');
        }
        socket.write('ready');
      } catch (err) {
        reject(err);
      }
    });
    server.on('tlsClientError', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      log('server', `listening on 127.0.0.1:${port} (max ${version})`);
      const client = tls.connect({
        port, host: '127.0.0.1', servername: 'localhost', ca: pki.ca,
        key: pki.clientKey, cert: pki.clientCert, ALPNProtocols: ['demo/1'],
      }, () => {
        const peer = client.getPeerCertificate(true);
        log('client', `secure: ${client.getProtocol()} ${client.getCipher().standardName}, ALPN ${client.alpnProtocol}`);
        log('client', `server "${peer.subject.CN}" issued by "${peer.issuer.CN}", authorized=${client.authorized}`);
        const kx = client.getEphemeralKeyInfo();
        if (kx && kx.name) log('client', `key exchange ${kx.type} ${kx.name}`);
      });
      client.on('reauthRequest', (req) => {
        log('client', 'server asked for a certificate (TLS 1.3 post-handshake auth): accepting');
        req.accept();
      });
      client.on('rehandshakeRequest', (req) => {
        log('client', `server asked to re-handshake (safe renegotiation=${req.safeRenegotiation}): accepting`);
        req.accept();
      });
      client.on('data', (d) => {
        log('client', `received "${d}"`);
        if (String(d) === 'ready') client.end(`hello over ${version}`);
      });
      client.on('error', reject);
      client.on('close', () => server.close(() => resolve()));
    });
  });
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-gnutls-demo-'));
  try {
    log('demo', `GnuTLS ${tls.gnutlsVersion}; generating certificates in ${dir}`);
    const pki = makeCertificates(dir);
    await session(pki, 'TLSv1.3');
    await session(pki, 'TLSv1.2');
    log('demo', 'done');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error('demo failed:', err);
  process.exit(1);
});
