// Session: what a session negotiated and holds (protocol, suite, certificates, keying material).
#include <string>

#include "addon.h"
#include "context.h"
#include "session.h"

namespace ngtls {

// ---- what was negotiated -----------------------------------------------------------------------

Napi::Value Session::Info(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  Napi::Env env = info.Env();
  Napi::Value offered = env.Null();
  if (client_alpn_seen_) {
    Napi::Array list = Napi::Array::New(env, client_alpn_.size());
    for (size_t i = 0; i < client_alpn_.size(); i++) list.Set(static_cast<uint32_t>(i), Napi::String::New(env, client_alpn_[i]));
    offered = list;
  }
  return NegotiatedInfo(env, s, established_, is_server_, status_requested_, offered, offered_versions_);
}

Napi::Value Session::PeerCertificates(const Napi::CallbackInfo& info) {
  return ngtls::PeerCertificates(info.Env(), Live(info));
}

Napi::Value Session::OwnCertificate(const Napi::CallbackInfo& info) {
  return ngtls::OwnCertificate(info.Env(), Live(info));
}

// verifyPeer(): the gnutls_certificate_status_t bits against the context's trust list
// (0 = trusted), or a negative code (e.g. GNUTLS_E_NO_CERTIFICATE_FOUND).
Napi::Value Session::VerifyPeer(const Napi::CallbackInfo& info) {
  return ngtls::VerifyPeer(info.Env(), Live(info));
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
  return ngtls::ExportKeyingMaterial(info, Live(info));
}

// finished(peer: boolean): the latest Finished verify_data sent (or received), or undefined.
Napi::Value Session::Finished(const Napi::CallbackInfo& info) {
  const std::vector<uint8_t>& v = info[0].ToBoolean() ? peer_finished_ : finished_;
  if (v.empty()) return info.Env().Undefined();
  return Napi::Buffer<uint8_t>::Copy(info.Env(), v.data(), v.size());
}

}  // namespace ngtls
