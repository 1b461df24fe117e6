// Context: the key sources beyond PEM/PKCS#12 (PKCS#11 URLs, raw public keys) and the OCSP
// status-request hook every certificate gets.
#include <cstring>
#include <string>

#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "addon.h"
#include "context.h"
#include "session.h"

namespace ngtls {
namespace {

gnutls_x509_crt_fmt_t PemOrDer(const Napi::Buffer<uint8_t>& buf) {
  return buf.Length() > 0 && buf.Data()[0] == 0x30 ? GNUTLS_X509_FMT_DER : GNUTLS_X509_FMT_PEM;
}

// The PIN for a token key: given once, never retried (a wrong PIN must not lock the token).
int Pin(void* userdata, int attempt, const char*, const char*, unsigned, char* pin, size_t pin_max) {
  const std::string* value = static_cast<const std::string*>(userdata);
  if (value == nullptr || attempt > 0 || value->size() + 1 > pin_max) return GNUTLS_E_PKCS11_PIN_ERROR;
  memcpy(pin, value->c_str(), value->size() + 1);
  return 0;
}

}  // namespace

// Installed for each certificate: the response comes from the session (set by the socket from
// the context's `ocspResponse` or an `OCSPRequest` listener), or there is none.
int Context::OcspStatus(gnutls_session_t s, void*, gnutls_datum_t* resp) {
  Session* session = static_cast<Session*>(gnutls_session_get_ptr(s));
  return session ? session->StapledResponse(resp) : GNUTLS_E_NO_CERTIFICATE_STATUS;
}

int Context::Added(Napi::Env env, int ret, const char* what) {
  if (ret < 0) ThrowGnutls(env, ret, what);
  gnutls_certificate_set_ocsp_status_request_function2(creds_, static_cast<unsigned>(ret), OcspStatus, nullptr);
  return ret;
}

// addUrlKeyPair(cert: Buffer | string URL, keyUrl: string, pin?: string): a key (and optionally
// its certificate) that stays in a PKCS#11 token; GnuTLS signs through the token.
Napi::Value Context::AddUrlKeyPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string key_url = info[1].As<Napi::String>();
  if (info.Length() > 2 && info[2].IsString()) pins_.push_back(std::make_unique<std::string>(info[2].As<Napi::String>()));
  else pins_.push_back(nullptr);
  const std::string* pin = pins_.back().get();

  gnutls_pcert_st pcerts[16];
  unsigned npcerts = 16;
  int ret;
  if (info[0].IsString()) {
    std::string cert_url = info[0].As<Napi::String>();
    gnutls_x509_crt_t crt;
    gnutls_x509_crt_init(&crt);
    ret = gnutls_x509_crt_import_url(crt, cert_url.c_str(), 0);
    if (ret >= 0) ret = gnutls_pcert_import_x509(&pcerts[0], crt, 0);
    gnutls_x509_crt_deinit(crt);
    if (ret < 0) ThrowGnutls(env, ret, "cannot read the certificate at " + cert_url);
    npcerts = 1;
  } else {
    auto cert = info[0].As<Napi::Buffer<uint8_t>>();
    gnutls_datum_t d{cert.Data(), static_cast<unsigned>(cert.Length())};
    ret = gnutls_pcert_list_import_x509_raw(pcerts, &npcerts, &d, PemOrDer(cert), 0);
    if (ret < 0) ThrowGnutls(env, ret, "cannot parse the certificate");
  }
  auto free_pcerts = [&] {
    for (unsigned i = 0; i < npcerts; i++) gnutls_pcert_deinit(&pcerts[i]);
  };

  gnutls_privkey_t key;
  gnutls_privkey_init(&key);
  gnutls_privkey_set_pin_function(key, Pin, const_cast<std::string*>(pin));
  ret = gnutls_privkey_import_url(key, key_url.c_str(), 0);
  if (ret < 0) {
    gnutls_privkey_deinit(key);
    free_pcerts();
    ThrowGnutls(env, ret, "cannot use the key at " + key_url);
  }
  // On success the credentials own the key and the certificates.
  ret = gnutls_certificate_set_key(creds_, nullptr, 0, pcerts, static_cast<int>(npcerts), key);
  if (ret < 0) {
    gnutls_privkey_deinit(key);
    free_pcerts();
  }
  return Napi::Number::New(env, Added(env, ret, "cannot use the token key with this certificate"));
}

// addRawPublicKey(spki, key, passphrase?): RFC 7250 — present a bare public key, no certificate.
Napi::Value Context::AddRawPublicKey(const Napi::CallbackInfo& info) {
  auto spki = info[0].As<Napi::Buffer<uint8_t>>();
  auto key = info[1].As<Napi::Buffer<uint8_t>>();
  std::string pass;
  bool has_pass = info.Length() > 2 && info[2].IsString();
  if (has_pass) pass = info[2].As<Napi::String>();
  gnutls_datum_t s{spki.Data(), static_cast<unsigned>(spki.Length())};
  gnutls_datum_t k{key.Data(), static_cast<unsigned>(key.Length())};
  // Both are given in the same encoding (the TS layer passes PEM).
  int ret = gnutls_certificate_set_rawpk_key_mem(creds_, &s, &k, PemOrDer(key), has_pass ? pass.c_str() : nullptr,
                                                 0, nullptr, 0, 0);
  return Napi::Number::New(info.Env(), Added(info.Env(), ret, "cannot load the raw public key pair"));
}

}  // namespace ngtls
