// The package as a user gets it: `npm pack` of a copy of this tree (its prepack script builds the
// prebuild, its prepare script dist/), the tarball installed into a fresh app with --ignore-scripts
// (as pnpm's default and npm's script blocking do), and a real handshake with Node's own tls from the
// installed package. Then, on copies of that app: the prebuild whose libgnutls the loader cannot find,
// no prebuild at all, and the source build (`npm rebuild`, the install script) that follows.
// Everything is offline: the dependencies are packed from this checkout's node_modules.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ChildResult, FIXTURES, runChild, tmpDir } from './helpers';

const ROOT = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const PREBUILD = `prebuilds/${process.platform}-${process.arch}/node-gnutls.node`;
const MINUTE = 60_000;

let work: string;
let app: string;
let packed: string[];

/** The environment of the children: no npm lifecycle variables of this run, no addon override. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== 'NODE_GNUTLS_ADDON' && k !== 'INIT_CWD') env[k] = v;
  }
  return env;
}

async function run(cmd: string, args: string[], cwd: string, killAfterMs = 4 * MINUTE): Promise<ChildResult> {
  const r = await runChild(cmd, args, { cwd, env: childEnv(), killAfterMs });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited with ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** node-gnutls as installed in `dir`: a client against Node's tls server; what it saw, as JSON. */
const HANDSHAKE = `
  const fs = require('fs');
  const nodeTls = require('tls');
  const gtls = require('node-gnutls');
  const f = (n) => fs.readFileSync(require('path').join(process.argv[1], n));
  const server = nodeTls.createServer({ key: f('server.key'), cert: f('server-chain.pem') }, (s) => s.end('hello from node:tls'));
  server.listen(0, '127.0.0.1', () => {
    const c = gtls.connect({ port: server.address().port, host: '127.0.0.1', servername: 'localhost', ca: f('ca.pem') });
    let got = '';
    c.on('data', (d) => (got += d));
    c.on('end', () => {
      const addons = process.report.getReport().sharedObjects.filter((s) => /node[-_]gnutls[^/]*\\.node$/.test(s));
      console.log(JSON.stringify({ got, protocol: c.getProtocol(), authorized: c.authorized, addons,
        resolved: require.resolve('node-gnutls') }));
      server.close();
    });
  });`;

async function handshake(dir: string): Promise<{ got: string; protocol: string; authorized: boolean; addons: string[]; resolved: string }> {
  const r = await run(process.execPath, ['-e', HANDSHAKE, FIXTURES], dir, MINUTE);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** Tries to load the package installed in `dir`: the exit code and stderr. */
function loadFails(dir: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['-e', "require('node-gnutls')"], { cwd: dir, env: childEnv(), encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

beforeAll(async () => {
  work = tmpDir('node-gnutls-pack-');
  // A copy of this tree as git sees it (tracked and new files, nothing ignored): a clean clone.
  const src = path.join(work, 'src');
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const f of listed.stdout.split('\0').filter(Boolean)) {
    if (!fs.existsSync(path.join(ROOT, f))) continue; // deleted, not yet committed
    fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(src, f));
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'), 'dir');
  const out = path.join(work, 'out');
  fs.mkdirSync(out);
  const r = await run('npm', ['pack', '--json', '--pack-destination', out], src);
  const report = JSON.parse(r.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = report[0].files.map((f) => f.path).sort();
  // The dependencies, packed from the installed copies (their published contents) so that the
  // install below needs no registry.
  const deps = Object.keys(pkg.dependencies).map((d) => path.join(ROOT, 'node_modules', d));
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', out, ...deps], work);
  app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const tarballs = fs.readdirSync(out).map((f) => path.join(out, f));
  await run('npm', ['install', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', ...tarballs], app);
}, 8 * MINUTE);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  test('the tarball holds exactly test/package.files.txt plus the prebuild for this platform', () => {
    const expected = fs.readFileSync(path.join(__dirname, 'package.files.txt'), 'utf8').split('\n').filter(Boolean);
    const files = packed.filter((f) => !f.startsWith('prebuilds/'));
    const extra = files.filter((f) => !expected.includes(f));
    const missing = expected.filter((f) => !files.includes(f));
    expect({ extra, missing }).toEqual({ extra: [], missing: [] }); // when intended, update test/package.files.txt
    expect(packed.filter((f) => f.startsWith('prebuilds/'))).toEqual([PREBUILD]);
    expect(packed.filter((f) => /^(test|fuzz|bench|scripts)\//.test(f) || /\.test\.|\.ts$/.test(f.replace(/\.d\.ts$/, '')))).toEqual([]);
  });

  test("main, types, exports and bin name files in the tarball; LICENSE is the LGPL's text", () => {
    const targets = [pkg.main, pkg.types, ...Object.values(pkg.bin as Record<string, string>)];
    const walk = (v: unknown): void => {
      if (typeof v === 'string') targets.push(v);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(pkg.exports);
    for (const t of targets) expect(packed).toContain(path.posix.normalize(t));
    const installed = path.join(app, 'node_modules', 'node-gnutls');
    expect(fs.readFileSync(path.join(installed, 'LICENSE'), 'utf8')).toMatch(/GNU LESSER GENERAL PUBLIC LICENSE\s+Version 2\.1, February 1999/);
    expect(pkg.license).toBe('LGPL-2.1-or-later');
  });

  test('every source map in the tarball carries the sources it names', () => {
    const installed = path.join(app, 'node_modules', 'node-gnutls');
    const maps = packed.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(10);
    for (const m of maps) {
      const map = JSON.parse(fs.readFileSync(path.join(installed, m), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
      expect({ m, n: map.sourcesContent?.filter((s) => typeof s === 'string' && s.length > 0).length }).toEqual({ m, n: map.sources.length });
    }
  });
});

describe('installed with --ignore-scripts', () => {
  test('nothing was compiled, and a handshake with Node\'s tls runs on the shipped prebuild', async () => {
    const installed = path.join(app, 'node_modules', 'node-gnutls');
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
    const r = await handshake(app);
    expect(r.resolved.startsWith(fs.realpathSync(installed))).toBe(true);
    expect(r.addons.map((a) => fs.realpathSync(a))).toEqual([fs.realpathSync(path.join(installed, PREBUILD))]);
    expect(r).toMatchObject({ got: 'hello from node:tls', protocol: 'TLSv1.3', authorized: true });
    const ldd = spawnSync('ldd', [path.join(installed, PREBUILD)], { encoding: 'utf8' });
    expect(ldd.stdout).toMatch(/^\s*libgnutls\.so\.30 => \/\S+/m); // the system GnuTLS
    const file = spawnSync('file', ['-L', path.join(installed, PREBUILD)], { encoding: 'utf8' });
    if (file.status === 0) expect(file.stdout).toMatch(/, stripped/);
  });

  test('the ES module entry and the typings resolve from the installed package', async () => {
    const esm = await run(process.execPath, ['--input-type=module', '-e', "import { connect, TLSSocket } from 'node-gnutls'; console.log(typeof connect, typeof TLSSocket)"], app, MINUTE);
    expect(esm.stdout.trim()).toBe('function function');
    const installed = path.join(app, 'node_modules', 'node-gnutls');
    expect(fs.readFileSync(path.join(installed, pkg.types), 'utf8')).toMatch(/export .*connect/);
  });
});

describe('on another machine', () => {
  let copy: string;
  beforeAll(() => {
    copy = path.join(work, 'app-copy');
    fs.cpSync(app, copy, { recursive: true, verbatimSymlinks: true });
  });

  test('without the GnuTLS the prebuild links: the error names the package to install and the source build', () => {
    // The prebuild's DT_NEEDED entry is made to name a soname no machine has, so dlopen() fails in
    // the installed package's own loader exactly as on a machine without libgnutls.so.30.
    const file = path.join(copy, 'node_modules', 'node-gnutls', PREBUILD);
    const bin = fs.readFileSync(file);
    const needle = Buffer.from('libgnutls.so.30\0');
    let n = 0;
    for (let at = bin.indexOf(needle); at !== -1; at = bin.indexOf(needle, at + 1), n++) Buffer.from('libgnutls.so.77\0').copy(bin, at);
    expect(n).toBeGreaterThan(0);
    fs.writeFileSync(file, bin);
    const r = loadFails(copy);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('links the system GnuTLS library (libgnutls.so.77), which is not installed');
    expect(r.stderr).toContain('apt-get install libgnutls30');
    expect(r.stderr).toContain('apt-get install libgnutls28-dev g++ make python3');
    expect(r.stderr).toContain(file);
  });

  test('with no prebuild for the platform: the error says how to build from source', () => {
    fs.rmSync(path.join(copy, 'node_modules', 'node-gnutls', 'prebuilds'), { recursive: true });
    const r = loadFails(copy);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('there is no prebuilt node-gnutls addon for this platform');
    expect(r.stderr).toContain('apt-get install libgnutls28-dev g++ make python3');
    expect(r.stderr).toContain('No native build was found');
  });

  test('the source build (npm rebuild runs the install script) works and is the addon then loaded', async () => {
    await run('npm', ['rebuild', 'node-gnutls', '--offline'], copy, 5 * MINUTE);
    const installed = path.join(copy, 'node_modules', 'node-gnutls');
    const r = await handshake(copy);
    expect(r.addons.map((a) => fs.realpathSync(a))).toEqual([fs.realpathSync(path.join(installed, 'build', 'Release', 'node_gnutls.node'))]);
    expect(r).toMatchObject({ got: 'hello from node:tls', protocol: 'TLSv1.3', authorized: true });
  }, 6 * MINUTE);
});
