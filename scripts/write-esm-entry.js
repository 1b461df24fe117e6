// Writes the ES module entries (dist/index.mjs, dist/https/index.mjs, dist/dtls/index.mjs): each
// re-exports its CommonJS build, so that `import { connect } from 'node-gnutls'`, `import { Agent }
// from 'node-gnutls/https'` and `import { connect } from 'node-gnutls/dtls'` work.
'use strict';
const fs = require('fs');
const path = require('path');
const dist = path.join(__dirname, '..', 'dist');
for (const dir of ['.', 'https', 'dtls']) {
  const names = Object.keys(require(path.join(dist, dir))).filter((n) => n !== 'default' && n !== '__esModule');
  const body = [
    "import cjs from './index.js';",
    ...names.map((n) => `export const ${n} = cjs.${n};`),
    'export default cjs;',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dist, dir, 'index.mjs'), body);
}
