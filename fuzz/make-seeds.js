'use strict';
// Writes the seed corpora of the libFuzzer targets (fuzz/corpus/<target>/, named after the target binary):
//   session_fuzz: what real clients send to a server (gnutls-cli, openssl s_client, Node's tls),
//                 captured through a local TCP relay in front of a Node tls server, prefixed with
//                 the target's two control bytes (flags, feed split seed; see session_fuzz.cc);
//                 plus scripted-mode programs (in-memory client + server, operations).
//   record_queue_fuzz: operation programs (see record_queue_fuzz.cc).
// Usage: node fuzz/make-seeds.js [outdir]   (default fuzz/corpus). Needs no node-gnutls build.
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const path = require('path');
const tls = require('tls');

const ROOT = path.join(__dirname, '..');
const FIX = path.join(ROOT, 'test', 'fixtures');
const OUT = path.resolve(process.argv[2] || path.join(__dirname, 'corpus'));
const fixture = (n) => fs.readFileSync(path.join(FIX, n));

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

/**
 * Runs `startClient(port)` against a relay in front of a Node tls server (version-limited) and
 * returns everything the client sent (its whole side of the connection) once it is done.
 */
async function captureClientStream(version, startClient, ms = 4000) {
  const server = tls.createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem'), minVersion: version, maxVersion: version }, (s) => {
    s.on('error', () => {});
    s.on('data', (d) => s.write(d));
  });
  server.on('tlsClientError', () => {});
  const sport = await listen(server);
  const chunks = [];
  let done;
  const finished = new Promise((r) => (done = r));
  const relay = net.createServer((cs) => {
    const ss = net.connect(sport, '127.0.0.1');
    cs.on('data', (d) => {
      chunks.push(d);
      ss.write(d);
    });
    ss.on('data', (d) => cs.write(d));
    cs.on('error', () => {});
    ss.on('error', () => {});
    cs.on('close', () => {
      ss.destroy();
      done();
    });
    ss.on('close', () => cs.destroy());
  });
  const port = await listen(relay);
  const stop = await startClient(port);
  await Promise.race([finished, new Promise((r) => setTimeout(r, ms))]);
  if (stop) stop();
  relay.close();
  server.close();
  return Buffer.concat(chunks);
}

/** A command-line client writing `input` after it connected, then closing its stdin. */
function cli(cmd, args, input) {
  return async () => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'ignore'], cwd: FIX });
    p.on('error', () => {});
    setTimeout(() => {
      p.stdin.on('error', () => {});
      p.stdin.end(input);
    }, 600);
    return () => p.kill('SIGKILL');
  };
}

function nodeClient(version) {
  return async (port) => {
    const c = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: fixture('ca.pem'), minVersion: version, maxVersion: version });
    c.on('error', () => {});
    c.once('secureConnect', () => c.end('hello from node\n'));
    c.resume();
    return () => c.destroy();
  };
}

function have(cmd) {
  const r = require('child_process').spawnSync('sh', ['-c', `command -v ${cmd}`]);
  return r.status === 0;
}

/** The first TLS records of a stream (the ClientHello flight). */
function firstFlight(buf) {
  if (buf.length < 5) return buf;
  return buf.subarray(0, Math.min(buf.length, 5 + buf.readUInt16BE(3)));
}

function write(dir, name, buf) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), buf);
}

/** Deterministic pseudo-random bytes. */
function prng(label, n) {
  const out = [];
  let h = Buffer.from(label);
  for (let len = 0; len < n; len += 32) {
    h = crypto.createHash('sha256').update(h).digest();
    out.push(h);
  }
  return Buffer.concat(out).subarray(0, n);
}

async function main() {
  const sessionDir = path.join(OUT, 'session_fuzz');
  const rqDir = path.join(OUT, 'record_queue_fuzz');
  const streams = [];
  const cliArgs = (port, prio) => ['-p', String(port), '127.0.0.1', '--insecure', '--sni-hostname', 'localhost', '--priority', prio];
  if (have('gnutls-cli')) {
    streams.push(['gnutls-cli-tls13', 'TLSv1.3', (port) => cli('gnutls-cli', cliArgs(port, 'NORMAL:-VERS-ALL:+VERS-TLS1.3'), 'hello from gnutls-cli\n')()]);
    streams.push(['gnutls-cli-tls12', 'TLSv1.2', (port) => cli('gnutls-cli', cliArgs(port, 'NORMAL:-VERS-ALL:+VERS-TLS1.2'), 'hello from gnutls-cli\n')()]);
  }
  if (have('openssl')) {
    const sc = (port, v) => ['s_client', '-connect', `127.0.0.1:${port}`, v, '-servername', 'localhost', '-quiet'];
    streams.push(['openssl-tls13', 'TLSv1.3', (port) => cli('openssl', sc(port, '-tls1_3'), 'hello from openssl\n')()]);
    streams.push(['openssl-tls12', 'TLSv1.2', (port) => cli('openssl', sc(port, '-tls1_2'), 'hello from openssl\n')()]);
  }
  streams.push(['node-tls13', 'TLSv1.3', nodeClient('TLSv1.3')]);
  streams.push(['node-tls12', 'TLSv1.2', nodeClient('TLSv1.2')]);

  for (const [name, version, start] of streams) {
    const stream = await captureClientStream(version, start);
    if (stream.length < 5 || stream[0] !== 0x16) {
      console.log(`make-seeds: ${name}: nothing captured, skipped`);
      continue;
    }
    const hello = firstFlight(stream);
    // flags: 0 one feed; 0x02 the initial handshake through the re-handshake step (holdAppData);
    // 0x10 client certificate required; 0x80 ClientHello held once. Seed byte: split size.
    write(sessionDir, `${name}-hello`, Buffer.concat([Buffer.from([0x00, 0x00]), hello]));
    write(sessionDir, `${name}-hello-hold-split`, Buffer.concat([Buffer.from([0x02, 0x03]), hello]));
    write(sessionDir, `${name}-hello-certreq-pause`, Buffer.concat([Buffer.from([0x90, 0x40]), hello]));
    write(sessionDir, `${name}-stream`, Buffer.concat([Buffer.from([0x02, 0x00]), stream]));
    console.log(`make-seeds: ${name}: ClientHello ${hello.length} B, client stream ${stream.length} B`);
  }
  // Scripted mode: flags with bit0 set (TLS 1.2+1.3 / 1.3 / 1.2; renegotiation accepted both ways;
  // hold toggled), operation bytes pseudo-random.
  for (const flags of [0x01, 0x05, 0x09, 0x69, 0x6b, 0x0d]) {
    for (const n of [48, 160]) write(sessionDir, `scripted-${flags.toString(16)}-${n}`, Buffer.concat([Buffer.from([flags, 7]), prng(`s${flags}-${n}`, n)]));
  }
  for (const n of [16, 64, 256, 1024]) write(rqDir, `ops-${n}`, prng(`rq${n}`, n));
  console.log(`make-seeds: written to ${OUT}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
