// The rules the TLS Session and the DtlsSession share (see session-common.h).
#include "session-common.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <gnutls/crypto.h>

#include "addon.h"

namespace ngtls {

Napi::Value StrOrNull(Napi::Env env, const char* s) { return s ? Napi::String::New(env, s) : env.Null(); }

bool GnutlsCopy(gnutls_datum_t* out, const uint8_t* p, size_t n) {
  out->data = static_cast<unsigned char*>(gnutls_malloc(n ? n : 1));
  if (!out->data) return false;
  if (n) memcpy(out->data, p, n);
  out->size = static_cast<unsigned>(n);
  return true;
}

// ---- lifetime ----------------------------------------------------------------------------------

gnutls_session_t LiveOrThrow(Napi::Env env, gnutls_session_t s, bool close_pending) {
  if (!s || close_pending) ThrowGnutls(env, GNUTLS_E_INVALID_SESSION, "session is closed");
  return s;
}

void EnvHook::Add(napi_env env, void (*fn)(void*), void* arg) {
  if (env_ || napi_add_env_cleanup_hook(env, fn, arg) != napi_ok) return;
  env_ = env;
  fn_ = fn;
  arg_ = arg;
}

void EnvHook::Remove() {
  if (!env_) return;
  napi_remove_env_cleanup_hook(env_, fn_, arg_);
  env_ = nullptr;
}

void InitSession(Napi::Env env, gnutls_session_t* s, bool is_server, unsigned flags, Addon* addon, EnvHook* hook,
                 void (*cleanup)(void*), void* self, gnutls_pull_func pull, gnutls_pull_timeout_func pull_timeout) {
  int ret = gnutls_init(s, (is_server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK | flags);
  if (ret < 0) {
    *s = nullptr;
    ThrowGnutls(env, ret, "gnutls_init");
  }
  addon->live_sessions++;
  hook->Add(env, cleanup, self);
  gnutls_session_set_ptr(*s, self);
  gnutls_transport_set_ptr(*s, self);
  gnutls_transport_set_pull_function(*s, pull);
  gnutls_transport_set_pull_timeout_function(*s, pull_timeout);
}

int SendAlert(const Napi::CallbackInfo& info, gnutls_session_t s) {
  auto level = static_cast<gnutls_alert_level_t>(info[0].As<Napi::Number>().Int32Value());
  auto desc = static_cast<gnutls_alert_description_t>(info[1].As<Napi::Number>().Int32Value());
  return gnutls_alert_send(s, level, desc);
}

int SendAppropriateAlert(const Napi::CallbackInfo& info, gnutls_session_t s) {
  return gnutls_alert_send_appropriate(s, info[0].As<Napi::Number>().Int32Value());
}

// ---- configuration -----------------------------------------------------------------------------

void SetServerName(Napi::Env env, gnutls_session_t s, const Napi::Value& name) {
  std::string n = name.As<Napi::String>();
  int ret = gnutls_server_name_set(s, GNUTLS_NAME_DNS, n.data(), n.size());
  if (ret < 0) ThrowGnutls(env, ret, "gnutls_server_name_set");
}

void SetAlpn(Napi::Env env, gnutls_session_t s, const Napi::Value& protocols, const Napi::Value& flags_value) {
  Napi::Array arr = protocols.As<Napi::Array>();
  unsigned flags = flags_value.IsNumber() ? flags_value.As<Napi::Number>().Uint32Value() : 0;
  std::vector<std::string> names(arr.Length());
  std::vector<gnutls_datum_t> datums(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    names[i] = arr.Get(i).As<Napi::String>().Utf8Value();
    datums[i] = gnutls_datum_t{reinterpret_cast<unsigned char*>(names[i].data()), static_cast<unsigned>(names[i].size())};
  }
  int ret = gnutls_alpn_set_protocols(s, datums.data(), static_cast<unsigned>(datums.size()), flags);
  if (ret < 0) ThrowGnutls(env, ret, "gnutls_alpn_set_protocols");
}

void SetCertRequest(gnutls_session_t s, unsigned mode) {
  static const gnutls_certificate_request_t kModes[] = {GNUTLS_CERT_IGNORE, GNUTLS_CERT_REQUEST, GNUTLS_CERT_REQUIRE};
  gnutls_certificate_server_set_request(s, kModes[std::min(mode, 2u)]);
}

namespace {

// During the handshake: a peer that sent certificates must be trusted; one that sent none passes.
int VerifyIfSent(gnutls_session_t s) {
  unsigned n = 0;
  if (!gnutls_certificate_get_peers(s, &n) || n == 0) return 0;
  unsigned status = 0;
  int ret = gnutls_certificate_verify_peers2(s, &status);
  return (ret < 0 || status != 0) ? GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR : 0;
}

Napi::Array CertArray(Napi::Env env, const gnutls_datum_t* list, unsigned n) {
  Napi::Array arr = Napi::Array::New(env, n);
  for (unsigned i = 0; i < n; i++) arr.Set(i, Napi::Buffer<uint8_t>::Copy(env, list[i].data, list[i].size));
  return arr;
}

}  // namespace

void SetVerifyCert(const Napi::CallbackInfo& info, gnutls_session_t s, unsigned mode) {
  if (mode == 2) {
    gnutls_session_set_verify_function(s, VerifyIfSent);
  } else if (mode == 1) {
    std::string host;
    bool has_host = info.Length() > 1 && info[1].IsString();
    if (has_host) host = info[1].As<Napi::String>();
    gnutls_session_set_verify_cert(s, has_host ? host.c_str() : nullptr, 0);
  }
}

// ---- what was negotiated -----------------------------------------------------------------------

Napi::Array NegotiatedInfo(Napi::Env env, gnutls_session_t s, bool established, bool is_server,
                           bool status_requested, Napi::Value client_alpn, unsigned offered_versions) {
  // An array, in the order of lib/native.ts INFO_FIELDS: elements cost no property-name lookups and
  // never make a dictionary-mode object (JS builds the object it keeps from them).
  Napi::Array a = Napi::Array::New(env, 20);
  uint32_t i = 0;
  a.Set(i++, StrOrNull(env, gnutls_protocol_get_name(gnutls_protocol_get_version(s))));
  // gnutls_ciphersuite_get() dereferences the suite, which exists only once a handshake ran.
  a.Set(i++, StrOrNull(env, established ? gnutls_ciphersuite_get(s) : nullptr));
  a.Set(i++, StrOrNull(env, gnutls_cipher_get_name(gnutls_cipher_get(s))));
  a.Set(i++, StrOrNull(env, gnutls_mac_get_name(gnutls_mac_get(s))));
  a.Set(i++, StrOrNull(env, gnutls_kx_get_name(gnutls_kx_get(s))));
  a.Set(i++, StrOrNull(env, gnutls_group_get_name(gnutls_group_get(s))));
  a.Set(i++, StrOrNull(env, gnutls_sign_get_name(static_cast<gnutls_sign_algorithm_t>(gnutls_sign_algorithm_get(s)))));
  a.Set(i++, StrOrNull(env, gnutls_sign_get_name(static_cast<gnutls_sign_algorithm_t>(gnutls_sign_algorithm_get_client(s)))));
  a.Set(i++, StrOrNull(env, gnutls_certificate_type_get_name(gnutls_certificate_type_get2(s, GNUTLS_CTYPE_OURS))));
  a.Set(i++, StrOrNull(env, gnutls_certificate_type_get_name(gnutls_certificate_type_get2(s, GNUTLS_CTYPE_PEERS))));
  a.Set(i++, Napi::Boolean::New(env, gnutls_session_is_resumed(s) != 0));
  a.Set(i++, Napi::Number::New(env, gnutls_session_get_flags(s)));
  a.Set(i++, Napi::Boolean::New(env, gnutls_safe_renegotiation_status(s) != 0));
  gnutls_datum_t alpn;
  a.Set(i++, gnutls_alpn_get_selected_protocol(s, &alpn) == 0
                 ? Napi::String::New(env, reinterpret_cast<const char*>(alpn.data), alpn.size)
                 : env.Null());
  char name[256];
  size_t name_len = sizeof(name);
  unsigned type = 0;
  a.Set(i++, gnutls_server_name_get(s, name, &name_len, &type, 0) == 0 && type == GNUTLS_NAME_DNS
                 ? Napi::String::New(env, name, strnlen(name, name_len))
                 : env.Null());
  a.Set(i++, Napi::Boolean::New(env, status_requested));
  a.Set(i++, client_alpn);
  a.Set(i++, Napi::Number::New(env, offered_versions));
  a.Set(i++, is_server ? StrOrNull(env, gnutls_psk_server_get_username(s)) : env.Null());
  a.Set(i++, Napi::Number::New(env, gnutls_dh_get_prime_bits(s)));
  return a;
}

Napi::Value PeerCertificates(Napi::Env env, gnutls_session_t s) {
  unsigned n = 0;
  const gnutls_datum_t* list = gnutls_certificate_get_peers(s, &n);
  return CertArray(env, list, list ? n : 0);
}

Napi::Value OwnCertificate(Napi::Env env, gnutls_session_t s) {
  const gnutls_datum_t* d = gnutls_certificate_get_ours(s);
  return d ? CertArray(env, d, 1) : Napi::Array::New(env, 0);
}

Napi::Value VerifyPeer(Napi::Env env, gnutls_session_t s) {
  unsigned status = 0;
  int ret = gnutls_certificate_verify_peers2(s, &status);
  return Napi::Number::New(env, ret < 0 ? ret : static_cast<double>(status));
}

Napi::Value ExportKeyingMaterial(const Napi::CallbackInfo& info, gnutls_session_t s) {
  std::string label = info[0].As<Napi::String>();
  size_t len = info[1].As<Napi::Number>().Uint32Value();
  const char* ctx = nullptr;
  size_t ctx_len = 0;
  if (info.Length() > 2 && info[2].IsBuffer()) {
    auto b = info[2].As<Napi::Buffer<char>>();
    ctx = b.Data();
    ctx_len = b.Length();
  }
  Napi::Buffer<char> out = Napi::Buffer<char>::New(info.Env(), len);
  int ret = gnutls_prf_rfc5705(s, label.size(), label.data(), ctx_len, ctx, len, out.Data());
  if (ret < 0) ThrowGnutls(info.Env(), ret, "exportKeyingMaterial");
  return out;
}

int ChannelBinding(Napi::Env env, gnutls_session_t s, unsigned type, Napi::Value* out) {
  gnutls_datum_t cb{nullptr, 0};
  int ret = gnutls_session_channel_binding(s, static_cast<gnutls_channel_binding_t>(type), &cb);
  if (ret < 0) return ret;
  *out = Napi::Buffer<uint8_t>::Copy(env, cb.data, cb.size);
  gnutls_free(cb.data);
  return ret;
}

// ---- PSK ---------------------------------------------------------------------------------------

void PskCredentials::Set(const Napi::CallbackInfo& info, gnutls_session_t s, bool is_server,
                         gnutls_psk_server_credentials_function2* server_fn,
                         gnutls_psk_client_credentials_function2* client_fn) {
  Napi::Env env = info.Env();
  cb_ = Napi::Persistent(info[0].As<Napi::Function>());
  int ret;
  if (is_server) {
    if (!server_) {
      ret = gnutls_psk_allocate_server_credentials(&server_);
      if (ret < 0) ThrowGnutls(env, ret, "gnutls_psk_allocate_server_credentials");
      gnutls_psk_set_server_credentials_function2(server_, server_fn);
      gnutls_psk_set_server_known_dh_params(server_, GNUTLS_SEC_PARAM_MEDIUM);
    }
    if (info.Length() > 1 && info[1].IsString()) {
      std::string hint = info[1].As<Napi::String>();
      gnutls_psk_set_server_credentials_hint(server_, hint.c_str());
    }
    ret = gnutls_credentials_set(s, GNUTLS_CRD_PSK, server_);
  } else {
    if (!client_) {
      ret = gnutls_psk_allocate_client_credentials(&client_);
      if (ret < 0) ThrowGnutls(env, ret, "gnutls_psk_allocate_client_credentials");
      gnutls_psk_set_client_credentials_function2(client_, client_fn);
    }
    ret = gnutls_credentials_set(s, GNUTLS_CRD_PSK, client_);
  }
  if (ret < 0) ThrowGnutls(env, ret, "gnutls_credentials_set(PSK)");
}

void PskCredentials::Free() {
  if (server_) gnutls_psk_free_server_credentials(server_);
  if (client_) gnutls_psk_free_client_credentials(client_);
  server_ = nullptr;
  client_ = nullptr;
  if (!cb_.IsEmpty()) cb_.Reset();
}

int PskCredentials::ServerKey(Napi::Env env, const gnutls_datum_t* username, gnutls_datum_t* key) {
  if (cb_.IsEmpty()) return -1;
  Napi::HandleScope scope(env);
  try {
    std::string id(reinterpret_cast<const char*>(username->data), username->size);
    Napi::Value r = cb_.Call({Napi::String::New(env, id)});
    if (!r.IsBuffer()) return -1;
    auto buf = r.As<Napi::Buffer<uint8_t>>();
    if (buf.Length() == 0) return -1;
    return GnutlsCopy(key, buf.Data(), buf.Length()) ? 0 : -1;
  } catch (const Napi::Error&) {
    return -1;  // the TS layer records what its callback threw
  }
}

int PskCredentials::ClientKey(Napi::Env env, gnutls_session_t s, gnutls_datum_t* username, gnutls_datum_t* key,
                              bool no_offer_on_null) {
  if (cb_.IsEmpty()) return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
  Napi::HandleScope scope(env);
  try {
    const char* hint = gnutls_psk_client_get_hint(s);
    Napi::Value r = cb_.Call({hint ? Napi::String::New(env, hint) : env.Null()});
    if (!r.IsObject()) return no_offer_on_null ? NoPskOffer(username, key) : GNUTLS_E_INSUFFICIENT_CREDENTIALS;
    Napi::Object o = r.As<Napi::Object>();
    Napi::Value id = o.Get("identity"), psk = o.Get("psk");
    if (!id.IsString() || !psk.IsBuffer()) return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
    std::string ids = id.As<Napi::String>();
    auto buf = psk.As<Napi::Buffer<uint8_t>>();
    if (buf.Length() == 0) return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
    if (!GnutlsCopy(username, reinterpret_cast<const uint8_t*>(ids.data()), ids.size())) return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
    if (!GnutlsCopy(key, buf.Data(), buf.Length())) {
      gnutls_free(username->data);
      username->data = nullptr;
      return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
    }
    return 0;
  } catch (const Napi::Error&) {
    return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
  }
}

// Node's client offers no PSK then and asks again if a TLS 1.2 server sends a hint; GnuTLS offers
// this identity instead (a server falls back to certificates, or refuses).
int NoPskOffer(gnutls_datum_t* username, gnutls_datum_t* key) {
  uint8_t rnd[48];
  if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd) < 0) return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
  char id[33];
  static const char kHexDigits[] = "0123456789abcdef";
  for (int i = 0; i < 16; i++) {
    id[2 * i] = kHexDigits[rnd[i] >> 4];
    id[2 * i + 1] = kHexDigits[rnd[i] & 15];
  }
  if (!GnutlsCopy(username, reinterpret_cast<const uint8_t*>(id), 32)) return GNUTLS_E_MEMORY_ERROR;
  if (!GnutlsCopy(key, rnd + 16, 32)) {
    gnutls_free(username->data);
    username->data = nullptr;
    return GNUTLS_E_MEMORY_ERROR;
  }
  return 0;
}

}  // namespace ngtls
