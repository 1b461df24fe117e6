// lib/native.ts, the one loader of the addon: NODE_GNUTLS_ADDON chooses the file (the cmake-js build in
// CI's smoke run), node-gyp-build finds it otherwise, and a failure to load names what to install.
// Which file is loaded is read from the process's own list of shared objects (process.report).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { gnutlsVersion } from '../lib';
import { ensureDist, tmpDir } from './helpers';

const ROOT = path.join(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const gypBuild: { resolve(dir: string): string } = require('node-gyp-build');

const loadedAddons = (): string[] => {
  const report = process.report!.getReport() as unknown as { sharedObjects: string[] };
  return report.sharedObjects.filter((f) => /node[-_]gnutls[^/]*\.node$/.test(f)).map((f) => fs.realpathSync(f));
};

/** Runs `require('<root>/dist')` in a child with NODE_GNUTLS_ADDON set; its exit status and stderr. */
function loadWith(addon: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(ROOT, 'dist'))})`], {
    env: { ...process.env, NODE_GNUTLS_ADDON: addon },
    encoding: 'utf8',
  });
  return { status: r.status, stderr: r.stderr };
}

beforeAll(() => ensureDist());

test('the addon in this process is the one NODE_GNUTLS_ADDON names, else the one node-gyp-build finds', () => {
  expect(gnutlsVersion).toMatch(/^3\./); // the addon answered
  const chosen = process.env.NODE_GNUTLS_ADDON;
  const expected = fs.realpathSync(chosen ? path.resolve(chosen) : gypBuild.resolve(ROOT));
  expect(loadedAddons()).toEqual([expected]);
});

test('NODE_GNUTLS_ADDON naming a missing file: the error names that file', () => {
  const dir = tmpDir();
  try {
    const r = loadWith(path.join(dir, 'missing.node'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(path.join(dir, 'missing.node'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an addon whose libgnutls cannot be found by the dynamic loader: the error says what to install', () => {
  // A copy of the addon whose DT_NEEDED entry names a GnuTLS soname that no machine has: dlopen()
  // then fails exactly as it does for the real one on a machine without libgnutls.so.30.
  const dir = tmpDir();
  try {
    const original = fs.readFileSync(gypBuild.resolve(ROOT));
    const needle = Buffer.from('libgnutls.so.30\0');
    const patched = Buffer.from(original);
    let replaced = 0;
    for (let at = patched.indexOf(needle); at !== -1; at = patched.indexOf(needle, at + 1)) {
      Buffer.from('libgnutls.so.99\0').copy(patched, at);
      replaced++;
    }
    expect(replaced).toBeGreaterThan(0);
    const file = path.join(dir, 'node_gnutls.node');
    fs.writeFileSync(file, patched);
    const r = loadWith(file);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`node-gnutls: the node-gnutls addon ${file} links the system GnuTLS library (libgnutls.so.99), which is not installed.`);
    expect(r.stderr).toContain('apt-get install libgnutls30');
    expect(r.stderr).toContain('apt-get install libgnutls28-dev g++ make python3');
    expect(r.stderr).toContain('libgnutls.so.99: cannot open shared object file'); // the loader's own words are kept
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an addon needing a symbol version its libgnutls lacks (an older GnuTLS): the error says to upgrade or build', () => {
  // The copy asks libgnutls.so.30 for a version node GnuTLS never defined (GNUTLS_3_* → GNUTLS_9_*):
  // the dynamic loader rejects it as it rejects a build made against a newer GnuTLS than installed.
  const dir = tmpDir();
  try {
    const patched = Buffer.from(fs.readFileSync(gypBuild.resolve(ROOT)));
    const name = /GNUTLS_3_[0-9_]+\0/.exec(patched.toString('latin1'))![0];
    const needle = Buffer.from(name, 'latin1');
    const bumped = Buffer.from(name.replace('GNUTLS_3_', 'GNUTLS_9_'), 'latin1');
    for (let at = patched.indexOf(needle); at !== -1; at = patched.indexOf(needle, at + 1)) bumped.copy(patched, at);
    const file = path.join(dir, 'node_gnutls.node');
    fs.writeFileSync(file, patched);
    const r = loadWith(file);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`node-gnutls: the node-gnutls addon ${file} needs a newer GnuTLS than the one installed.`);
    expect(r.stderr).toContain('apt-get install libgnutls30');
    expect(r.stderr).toContain(`version \`${name.slice(0, -1).replace('GNUTLS_3_', 'GNUTLS_9_')}' not found`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('binding.gyp and CMakeLists.txt build the same addon: every src-native/*.cc, the same defines and flags', () => {
  const gyp = JSON.parse(fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8')).targets[0];
  const cmake = fs.readFileSync(path.join(ROOT, 'CMakeLists.txt'), 'utf8');
  const sources = fs.readdirSync(path.join(ROOT, 'src-native')).filter((f) => f.endsWith('.cc')).map((f) => `src-native/${f}`);
  expect([...gyp.sources].sort()).toEqual(sources.sort()); // CMake globs the same directory
  expect(cmake).toMatch(/file\(GLOB NATIVE_SOURCES[^)]*src-native\/\*\.cc\)/);
  const cmakeDefines = /target_compile_definitions\(node_gnutls PRIVATE([^)]*)\)/.exec(cmake)![1].split(/\s+/).filter(Boolean);
  for (const d of gyp.defines as string[]) expect(cmakeDefines).toContain(d);
  expect(gyp.cflags_cc).toEqual(expect.arrayContaining(['-std=c++17', '-fexceptions', '-fvisibility=hidden']));
  expect(cmake).toMatch(/CMAKE_CXX_STANDARD 17\)/);
  expect(cmake).toMatch(/CMAKE_CXX_VISIBILITY_PRESET hidden\)/);
  expect(cmake).toMatch(/-fexceptions/);
  expect(cmake).toMatch(/pkg_check_modules\(GNUTLS REQUIRED IMPORTED_TARGET gnutls\)/);
});
