'use strict';
// A self-signed ECDSA P-256 certificate for localhost, made with certtool in a temporary
// directory (removed at once), for the one-process profiling scripts.
const fs = require('fs');
const path = require('path');
const os = require('os');
const { execFileSync } = require('child_process');

/** { key, cert } (PEM Buffers); the certificate serves TLS servers, and clients too with `client`. */
function selfSigned({ client = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngtls-prof-'));
  try {
    const run = (args) => execFileSync('certtool', args, { cwd: dir, stdio: 'ignore' });
    const purposes = client ? 'tls_www_server\ntls_www_client\n' : 'tls_www_server\n';
    fs.writeFileSync(path.join(dir, 't'), `cn = localhost\ndns_name = localhost\nexpiration_days = 2\nsigning_key\n${purposes}`);
    run(['--generate-privkey', '--key-type', 'ecdsa', '--outfile', 'k.pem']);
    run(['--generate-self-signed', '--load-privkey', 'k.pem', '--template', 't', '--outfile', 'c.pem']);
    return { key: fs.readFileSync(path.join(dir, 'k.pem')), cert: fs.readFileSync(path.join(dir, 'c.pem')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { selfSigned };
