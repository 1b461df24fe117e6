/*
 * Public-key operations of a TLS 1.3 handshake, timed in GnuTLS/nettle on this machine: ECDSA
 * P-256 and RSA-2048 (PSS) signatures and verifications, and X25519 key generation plus shared
 * secret. Compare with `openssl speed -seconds 2 ecdsap256 ecdhx25519 rsa2048`. See bench/README.md
 * ("What bounds each target").
 *   gcc -O2 bench/pk-speed.c -o /tmp/pk-speed $(pkg-config --cflags --libs gnutls nettle hogweed)
 *   /tmp/pk-speed
 */
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <nettle/curve25519.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int time_key(const char* name, gnutls_pk_algorithm_t pk, unsigned bits, gnutls_sign_algorithm_t sa, int n) {
  unsigned char hash[32];
  memset(hash, 7, sizeof hash);
  gnutls_datum_t h = {hash, sizeof hash}, sig = {NULL, 0};
  gnutls_privkey_t key;
  gnutls_pubkey_t pub;
  if (gnutls_privkey_init(&key) < 0 || gnutls_privkey_generate(key, pk, bits, 0) < 0) return 1;
  if (gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_privkey(pub, key, 0, 0) < 0) return 1;
  double t0 = cpu_seconds();
  for (int i = 0; i < n; i++) {
    gnutls_free(sig.data);
    if (gnutls_privkey_sign_hash2(key, sa, 0, &h, &sig) < 0) return 1;
  }
  double t1 = cpu_seconds();
  for (int i = 0; i < n; i++)
    if (gnutls_pubkey_verify_hash2(pub, sa, 0, &h, &sig) < 0) return 1;
  double t2 = cpu_seconds();
  printf("%s (%s): sign %.1f us, verify %.1f us\n", name, gnutls_sign_get_name(sa), (t1 - t0) / n * 1e6, (t2 - t1) / n * 1e6);
  gnutls_free(sig.data);
  gnutls_pubkey_deinit(pub);
  gnutls_privkey_deinit(key);
  return 0;
}

int main(void) {
  if (gnutls_global_init() < 0) return 1;
  if (time_key("ECDSA P-256", GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
               GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, 3000) ||
      time_key("RSA-2048", GNUTLS_PK_RSA, 2048, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 300)) {
    fputs("a key operation failed\n", stderr);
    return 1;
  }
  unsigned char secret[CURVE25519_SIZE], point[CURVE25519_SIZE];
  memset(secret, 3, sizeof secret);
  const int n = 5000;
  double t0 = cpu_seconds();
  for (int i = 0; i < n; i++) {
    curve25519_mul_g(point, secret);     /* our key share */
    curve25519_mul(point, secret, point); /* the shared secret from a peer's share */
  }
  printf("X25519 key generation + shared secret (nettle): %.1f us\n", (cpu_seconds() - t0) / n * 1e6);
  gnutls_global_deinit();
  return 0;
}
