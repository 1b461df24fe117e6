'use strict';
// Reads a `perf record` profile of bench/profile-bulk.js and folds its samples into where the
// cycles go: crypto, the TLS record layers, JS/V8 and streams, kernel, copies, allocation.
//   perf record -e cpu-clock -F 999 -g -o gnutls.data -- node --perf-basic-prof bench/profile-bulk.js gnutls 1024
//   node bench/perf-breakdown.js gnutls.data
// GnuTLS's library is stripped: its AES-GCM code is recognised by address (the range that holds
// its AES-NI/PCLMUL assembly in Debian 12's libgnutls.so.30.34.3, checked with objdump).
const { execFileSync } = require('child_process');

const GNUTLS_AES_RANGE = [0x138000, 0x150000];

function category(dso, sym) {
  const s = sym.toLowerCase();
  const addr = /^0x([0-9a-f]+)$/.exec(sym);
  if (dso.startsWith('libgnutls') && addr) {
    const a = parseInt(addr[1], 16);
    if (a >= GNUTLS_AES_RANGE[0] && a <= GNUTLS_AES_RANGE[1]) return 'crypto (AES-GCM)';
  }
  if (/^lib(gnutls|nettle|hogweed|gmp)/.test(dso)) return /aes|gcm|ghash|memxor|cipher/.test(s) ? 'crypto (AES-GCM)' : 'GnuTLS record layer';
  if (dso === 'node' && /aesni|ghash|gcm|ctr32|aes_/.test(s)) return 'crypto (AES-GCM)';
  if (dso === 'node' && /^(ssl|tls1|ossl|openssl|bio_|buf_mem)|node::crypto::/.test(s)) return 'OpenSSL record layer + TLSWrap';
  if (dso.includes('kallsyms')) return /copy_(to|from)_iter|copy_user|memcpy/.test(s) ? 'kernel copies' : 'kernel (TCP, syscalls, scheduling)';
  if (dso.startsWith('libc')) {
    if (/mem(move|cpy|set)/.test(s)) return 'libc memcpy/memmove';
    if (/malloc|free|_int_|unlink_chunk|consolidate|tcache/.test(s)) return 'malloc/free';
    return 'libc other';
  }
  if (dso.startsWith('node_gnutls')) return 'addon (node_gnutls.node)';
  if (dso === 'node' || dso.includes('JIT') || dso.startsWith('libstdc')) return 'V8, JS, streams, libuv';
  return 'other';
}

const file = process.argv[2];
const report = execFileSync('perf', ['report', '-i', file, '--no-children', '--sort', 'dso,sym', '--stdio', '-g', 'none'], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
const totals = new Map();
for (const line of report.split('\n')) {
  const m = /^\s*([\d.]+)%\s+(\S.*?)\s{2,}\[.\]\s+(.*)$/.exec(line);
  if (!m) continue;
  const k = category(m[2].trim(), m[3].trim());
  totals.set(k, (totals.get(k) ?? 0) + Number(m[1]));
}
for (const [k, v] of [...totals].sort((a, b) => b[1] - a[1])) console.log(`${v.toFixed(1).padStart(5)}%  ${k}`);
