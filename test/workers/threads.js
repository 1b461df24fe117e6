'use strict';
// worker_threads: the addon loaded in several threads at once. Run as a child process by
// socket.errors.test.ts so that a crash shows up as an exit code/signal.
//   node threads.js echo [workers]        N workers handshake + echo concurrently, exit on their own
//   node threads.js terminate [rounds] [n] n busy workers terminated mid-traffic, `rounds` times
// Both end with a handshake + echo on the main thread ("MAIN {...}") and "DONE".
const path = require('path');
const fs = require('fs');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

const PKG = path.join(__dirname, '..', '..');
const fixture = (n) => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));

/** Our server + our client on 127.0.0.1 in this thread: handshake, echo `bytes`, close. */
async function roundTrip(tls, fill, bytes) {
  const server = tls.createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem') }, (s) => s.pipe(s));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const c = tls.connect({ port: server.address().port, host: '127.0.0.1', servername: 'localhost', ca: fixture('ca.pem') });
  await new Promise((resolve, reject) => {
    c.once('secureConnect', resolve);
    c.once('error', reject);
  });
  const payload = Buffer.alloc(bytes, fill);
  const got = [];
  let n = 0;
  await new Promise((resolve, reject) => {
    c.on('data', (d) => {
      got.push(d);
      n += d.length;
      if (n >= bytes) resolve();
    });
    c.once('error', reject);
    c.write(payload);
  });
  const result = { echoed: Buffer.concat(got).equals(payload), protocol: c.getProtocol(), authorized: c.authorized };
  await new Promise((resolve) => {
    c.once('close', resolve);
    c.end();
  });
  await new Promise((resolve) => server.close(resolve));
  return result;
}

async function workerMain() {
  const tls = require(PKG);
  const { binding } = require(path.join(PKG, 'dist', 'native'));
  if (workerData.mode === 'echo') {
    const r = await roundTrip(tls, workerData.id, 256 * 1024);
    parentPort.postMessage({ id: workerData.id, ...r, gnutls: tls.gnutlsVersion, live: binding.liveSessions() });
    return; // nothing left open: the worker exits by itself
  }
  // busy: echo forever until terminated
  const server = tls.createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem') }, (s) => s.pipe(s));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const c = tls.connect({ port: server.address().port, host: '127.0.0.1', servername: 'localhost', ca: fixture('ca.pem') });
  await new Promise((resolve) => c.once('secureConnect', resolve));
  const chunk = Buffer.alloc(64 * 1024, 7);
  let n = 0;
  let told = false;
  c.on('data', (d) => {
    n += d.length;
    if (!told && n > 512 * 1024) {
      told = true;
      parentPort.postMessage({ busy: true });
    }
    c.write(chunk);
  });
  c.write(chunk);
}

function startWorker(data) {
  const w = new Worker(__filename, { workerData: data });
  const messages = [];
  const exited = new Promise((resolve) => w.once('exit', resolve));
  w.on('message', (m) => messages.push(m));
  w.on('error', (e) => messages.push({ error: String(e && e.stack) }));
  const nextMessage = () =>
    new Promise((resolve, reject) => {
      if (messages.length) return resolve(messages.shift());
      const onMsg = () => {
        cleanup();
        resolve(messages.shift());
      };
      const onExit = (code) => {
        cleanup();
        reject(new Error(`worker exited with ${code} before posting`));
      };
      const cleanup = () => {
        w.off('message', onMsg);
        w.off('exit', onExit);
      };
      w.once('message', onMsg);
      w.once('exit', onExit);
    });
  return { w, exited, nextMessage, messages };
}

async function main() {
  const mode = process.argv[2];
  const t0 = Date.now();
  if (mode === 'echo') {
    const count = Number(process.argv[3] || 4);
    const workers = Array.from({ length: count }, (_, i) => startWorker({ mode: 'echo', id: i + 1 }));
    const results = await Promise.all(workers.map((x) => x.nextMessage()));
    console.log('RESULTS ' + JSON.stringify(results));
    const codes = await Promise.all(workers.map((x) => x.exited));
    console.log('EXITS ' + JSON.stringify(codes));
  } else if (mode === 'terminate') {
    const rounds = Number(process.argv[3] || 10);
    const perRound = Number(process.argv[4] || 2);
    for (let r = 0; r < rounds; r++) {
      const workers = Array.from({ length: perRound }, (_, i) => startWorker({ mode: 'busy', id: i + 1 }));
      const ready = await Promise.all(workers.map((x) => x.nextMessage()));
      if (!ready.every((m) => m && m.busy)) throw new Error('worker not busy: ' + JSON.stringify(ready));
      console.log(`ROUND ${r} terminating ${perRound} busy workers`);
      const codes = await Promise.all(workers.map((x) => x.w.terminate()));
      console.log(`TERMINATED ${JSON.stringify(codes)}`);
    }
  } else {
    throw new Error('unknown mode ' + mode);
  }
  const tls = require(PKG);
  const { binding } = require(path.join(PKG, 'dist', 'native'));
  const main = await roundTrip(tls, 0x4d, 64 * 1024);
  console.log('MAIN ' + JSON.stringify({ ...main, live: binding.liveSessions(), ms: Date.now() - t0 }));
  console.log('DONE');
}

if (isMainThread) {
  main().catch((e) => {
    console.error('FAIL', e && e.stack);
    process.exit(1);
  });
} else {
  workerMain().catch((e) => parentPort.postMessage({ error: String(e && e.stack) }));
}
