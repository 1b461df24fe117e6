// Session: what a session negotiated and holds (protocol, suite, certificates, keying material).
#include <string>

#include "addon.h"
#include "context.h"
#include "session.h"

namespace ngtls {
namespace {

Napi::Value StrOrNull(Napi::Env env, const char* s) { return s ? Napi::String::New(env, s) : env.Null(); }

}  // namespace

// ---- what was negotiated -----------------------------------------------------------------------

Napi::Value Session::Info(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("protocol", StrOrNull(env, gnutls_protocol_get_name(gnutls_protocol_get_version(s))));
  // gnutls_ciphersuite_get() dereferences the suite, which exists only once a handshake ran.
  o.Set("suite", StrOrNull(env, established_ ? gnutls_ciphersuite_get(s) : nullptr));
  o.Set("cipher", StrOrNull(env, gnutls_cipher_get_name(gnutls_cipher_get(s))));
  o.Set("mac", StrOrNull(env, gnutls_mac_get_name(gnutls_mac_get(s))));
  o.Set("kx", StrOrNull(env, gnutls_kx_get_name(gnutls_kx_get(s))));
  o.Set("group", StrOrNull(env, gnutls_group_get_name(gnutls_group_get(s))));
  o.Set("sign", StrOrNull(env, gnutls_sign_get_name(static_cast<gnutls_sign_algorithm_t>(gnutls_sign_algorithm_get(s)))));
  o.Set("clientSign", StrOrNull(env, gnutls_sign_get_name(static_cast<gnutls_sign_algorithm_t>(gnutls_sign_algorithm_get_client(s)))));
  o.Set("ownCertType", StrOrNull(env, gnutls_certificate_type_get_name(gnutls_certificate_type_get2(s, GNUTLS_CTYPE_OURS))));
  o.Set("peerCertType", StrOrNull(env, gnutls_certificate_type_get_name(gnutls_certificate_type_get2(s, GNUTLS_CTYPE_PEERS))));
  o.Set("statusRequested", Napi::Boolean::New(env, status_requested_));
  if (client_alpn_seen_) {
    Napi::Array offered = Napi::Array::New(env, client_alpn_.size());
    for (size_t i = 0; i < client_alpn_.size(); i++) offered.Set(static_cast<uint32_t>(i), Napi::String::New(env, client_alpn_[i]));
    o.Set("clientAlpn", offered);
  } else {
    o.Set("clientAlpn", env.Null());
  }
  o.Set("offeredVersions", Napi::Number::New(env, offered_versions_));
  o.Set("pskIdentity", is_server_ ? StrOrNull(env, gnutls_psk_server_get_username(s)) : env.Null());
  o.Set("dhBits", Napi::Number::New(env, gnutls_dh_get_prime_bits(s)));
  o.Set("resumed", Napi::Boolean::New(env, gnutls_session_is_resumed(s) != 0));
  o.Set("flags", Napi::Number::New(env, gnutls_session_get_flags(s)));
  o.Set("safeRenegotiation", Napi::Boolean::New(env, gnutls_safe_renegotiation_status(s) != 0));
  gnutls_datum_t alpn;
  o.Set("alpn", gnutls_alpn_get_selected_protocol(s, &alpn) == 0
                    ? Napi::String::New(env, reinterpret_cast<const char*>(alpn.data), alpn.size)
                    : env.Null());
  char name[256];
  size_t name_len = sizeof(name);
  unsigned type = 0;
  o.Set("serverName", gnutls_server_name_get(s, name, &name_len, &type, 0) == 0 && type == GNUTLS_NAME_DNS
                          ? Napi::String::New(env, name, strnlen(name, name_len))
                          : env.Null());
  return o;
}

static Napi::Array CertArray(Napi::Env env, const gnutls_datum_t* list, unsigned n) {
  Napi::Array arr = Napi::Array::New(env, n);
  for (unsigned i = 0; i < n; i++) arr.Set(i, Napi::Buffer<uint8_t>::Copy(env, list[i].data, list[i].size));
  return arr;
}

Napi::Value Session::PeerCertificates(const Napi::CallbackInfo& info) {
  unsigned n = 0;
  const gnutls_datum_t* list = gnutls_certificate_get_peers(Live(info), &n);
  return CertArray(info.Env(), list, list ? n : 0);
}

Napi::Value Session::OwnCertificate(const Napi::CallbackInfo& info) {
  const gnutls_datum_t* d = gnutls_certificate_get_ours(Live(info));
  return d ? CertArray(info.Env(), d, 1) : Napi::Array::New(info.Env(), 0);
}

// verifyPeer(): the gnutls_certificate_status_t bits against the context's trust list
// (0 = trusted), or a negative code (e.g. GNUTLS_E_NO_CERTIFICATE_FOUND).
Napi::Value Session::VerifyPeer(const Napi::CallbackInfo& info) {
  unsigned status = 0;
  int ret = gnutls_certificate_verify_peers2(Live(info), &status);
  return Napi::Number::New(info.Env(), ret < 0 ? ret : static_cast<double>(status));
}

Napi::Value Session::SessionData(const Napi::CallbackInfo& info) {
  gnutls_datum_t d;
  int ret = gnutls_session_get_data2(Live(info), &d);
  if (ret < 0) return info.Env().Undefined();
  Napi::Value buf = Napi::Buffer<uint8_t>::Copy(info.Env(), d.data, d.size);
  gnutls_free(d.data);
  return buf;
}

// exportKeyingMaterial(label, length, context?) per RFC 5705 / RFC 8446 7.5.
Napi::Value Session::ExportKeyingMaterial(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
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

// finished(peer: boolean): the latest Finished verify_data sent (or received), or undefined.
Napi::Value Session::Finished(const Napi::CallbackInfo& info) {
  const std::vector<uint8_t>& v = info[0].ToBoolean() ? peer_finished_ : finished_;
  if (v.empty()) return info.Env().Undefined();
  return Napi::Buffer<uint8_t>::Copy(info.Env(), v.data(), v.size());
}

}  // namespace ngtls
