#!/usr/bin/env node
// Makes prebuilds/<platform>-<arch>/node-gnutls.node with prebuildify (N-API, stripped, linking the
// system libgnutls.so.30), as `npm pack` ships it (the prepack script runs this). prebuildify runs
// `node-gyp rebuild`, which empties build/; it runs here in a temporary copy of binding.gyp and
// src-native/, so the checkout's build/ (the addon under development, the fuzz builds) is kept.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-gnutls-prebuild-'));
try {
  for (const f of ['package.json', 'binding.gyp']) fs.copyFileSync(path.join(root, f), path.join(work, f));
  fs.cpSync(path.join(root, 'src-native'), path.join(work, 'src-native'), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'), 'dir');
  // Only this platform's directory is replaced: prebuilds made on other platforms and copied in stay.
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });
  // N-API: one build serves every Node version. Build against the running Node's headers (its
  // install prefix has them, or npm's nodedir), so nothing is downloaded.
  const env = { ...process.env };
  const prefix = path.join(path.dirname(process.execPath), '..');
  if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
    env.npm_config_nodedir = prefix;
  }
  const args = [prebuildify, '--napi', '--strip', '--target', `node@${process.versions.node}`, '--out', root, work];
  // Progress goes to stderr: stdout is npm pack's (its --json report).
  const r = spawnSync(process.execPath, args, { cwd: work, env, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) {
    console.error('prebuild: prebuildify failed (a C++ toolchain, python3, make and libgnutls28-dev are needed)');
    process.exitCode = r.status || 1;
  } else {
    console.error(`prebuild: ${fs.readdirSync(dir).map((f) => path.join('prebuilds', path.basename(dir), f)).join(' ')}`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
