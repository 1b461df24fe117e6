// Writes dist/index.mjs: an ES module entry re-exporting the CommonJS build, so that
// `import { connect } from 'node-gnutls'` works.
'use strict';
const fs = require('fs');
const path = require('path');
const dist = path.join(__dirname, '..', 'dist');
const names = Object.keys(require(dist)).filter((n) => n !== 'default' && n !== '__esModule');
const body = [
  "import cjs from './index.js';",
  ...names.map((n) => `export const ${n} = cjs.${n};`),
  'export default cjs;',
  '',
].join('\n');
fs.writeFileSync(path.join(dist, 'index.mjs'), body);

// dist/dtls/index.mjs, the same for the `node-gnutls/dtls` subpath.
const dtlsDir = path.join(dist, 'dtls');
if (fs.existsSync(path.join(dtlsDir, 'index.js'))) {
  const dtlsNames = Object.keys(require(dtlsDir)).filter((n) => n !== 'default' && n !== '__esModule');
  fs.writeFileSync(
    path.join(dtlsDir, 'index.mjs'),
    ["import cjs from './index.js';", ...dtlsNames.map((n) => `export const ${n} = cjs.${n};`), 'export default cjs;', ''].join('\n'),
  );
}
