// DtlsSession: configuration (name, ALPN, client certificates, PSK, MTU, timeouts, SRTP), what
// was negotiated, and the stateless cookie exchange.
#include <algorithm>
#include <cstring>
#include <string>

#include "addon.h"
#include "dtls-session.h"

namespace ngtls {
namespace {

Napi::Value StrOrNull(Napi::Env env, const char* s) { return s ? Napi::String::New(env, s) : env.Null(); }

bool GnutlsCopy(gnutls_datum_t* out, const uint8_t* p, size_t n) {
  out->data = static_cast<unsigned char*>(gnutls_malloc(n ? n : 1));
  if (!out->data) return false;
  if (n) memcpy(out->data, p, n);
  out->size = static_cast<unsigned>(n);
  return true;
}

Napi::Array CertArray(Napi::Env env, const gnutls_datum_t* list, unsigned n) {
  Napi::Array arr = Napi::Array::New(env, n);
  for (unsigned i = 0; i < n; i++) arr.Set(i, Napi::Buffer<uint8_t>::Copy(env, list[i].data, list[i].size));
  return arr;
}

// During the handshake: a peer that sent certificates must be trusted; one that sent none passes.
int VerifyIfSent(gnutls_session_t s) {
  unsigned n = 0;
  if (!gnutls_certificate_get_peers(s, &n) || n == 0) return 0;
  unsigned status = 0;
  int ret = gnutls_certificate_verify_peers2(s, &status);
  return (ret < 0 || status != 0) ? GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR : 0;
}

}  // namespace

// ---- configuration -----------------------------------------------------------------------------

Napi::Value DtlsSession::SetServerName(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  int ret = gnutls_server_name_set(Live(info), GNUTLS_NAME_DNS, name.data(), name.size());
  if (ret < 0) ThrowGnutls(info.Env(), ret, "gnutls_server_name_set");
  return info.Env().Undefined();
}

// setAlpn(protocols: string[], flags)
Napi::Value DtlsSession::SetAlpn(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  Napi::Array arr = info[0].As<Napi::Array>();
  unsigned flags = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  std::vector<std::string> names(arr.Length());
  std::vector<gnutls_datum_t> datums(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    names[i] = arr.Get(i).As<Napi::String>().Utf8Value();
    datums[i] = gnutls_datum_t{reinterpret_cast<unsigned char*>(names[i].data()), static_cast<unsigned>(names[i].size())};
  }
  int ret = gnutls_alpn_set_protocols(s, datums.data(), static_cast<unsigned>(datums.size()), flags);
  if (ret < 0) ThrowGnutls(info.Env(), ret, "gnutls_alpn_set_protocols");
  return info.Env().Undefined();
}

// setCertRequest(0 ignore | 1 request | 2 require)
Napi::Value DtlsSession::SetCertRequest(const Napi::CallbackInfo& info) {
  static const gnutls_certificate_request_t kModes[] = {GNUTLS_CERT_IGNORE, GNUTLS_CERT_REQUEST, GNUTLS_CERT_REQUIRE};
  unsigned mode = std::min(info[0].As<Napi::Number>().Uint32Value(), 2u);
  gnutls_certificate_server_set_request(Live(info), kModes[mode]);
  return info.Env().Undefined();
}

// setVerifyCert(mode, hostname?): 0 off; 1 GnuTLS verifies the peer in the handshake (a missing
// certificate fails too); 2 the same, only when certificates were sent.
Napi::Value DtlsSession::SetVerifyCert(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  unsigned mode = info[0].As<Napi::Number>().Uint32Value();
  if (mode == 2) {
    gnutls_session_set_verify_function(s, VerifyIfSent);
  } else if (mode == 1) {
    std::string host;
    bool has_host = info.Length() > 1 && info[1].IsString();
    if (has_host) host = info[1].As<Napi::String>();
    gnutls_session_set_verify_cert(s, has_host ? host.c_str() : nullptr, 0);
  }
  return info.Env().Undefined();
}

// setPsk(callback, hint?): as Session's; the callback runs synchronously inside handshake().
// Server: callback(identity) → Buffer | null. Client: callback(hint | null) → { identity, psk } | null.
Napi::Value DtlsSession::SetPsk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  gnutls_session_t s = Live(info);
  psk_cb_ = Napi::Persistent(info[0].As<Napi::Function>());
  int ret;
  if (is_server_) {
    if (!psk_server_) {
      ret = gnutls_psk_allocate_server_credentials(&psk_server_);
      if (ret < 0) ThrowGnutls(env, ret, "gnutls_psk_allocate_server_credentials");
      gnutls_psk_set_server_credentials_function2(psk_server_, PskServer);
      gnutls_psk_set_server_known_dh_params(psk_server_, GNUTLS_SEC_PARAM_MEDIUM);
    }
    if (info.Length() > 1 && info[1].IsString()) {
      std::string hint = info[1].As<Napi::String>();
      gnutls_psk_set_server_credentials_hint(psk_server_, hint.c_str());
    }
    ret = gnutls_credentials_set(s, GNUTLS_CRD_PSK, psk_server_);
  } else {
    if (!psk_client_) {
      ret = gnutls_psk_allocate_client_credentials(&psk_client_);
      if (ret < 0) ThrowGnutls(env, ret, "gnutls_psk_allocate_client_credentials");
      gnutls_psk_set_client_credentials_function2(psk_client_, PskClient);
    }
    ret = gnutls_credentials_set(s, GNUTLS_CRD_PSK, psk_client_);
  }
  if (ret < 0) ThrowGnutls(env, ret, "gnutls_credentials_set(PSK)");
  return env.Undefined();
}

int DtlsSession::PskServer(gnutls_session_t s, const gnutls_datum_t* username, gnutls_datum_t* key) {
  DtlsSession* self = static_cast<DtlsSession*>(gnutls_session_get_ptr(s));
  if (!self || self->psk_cb_.IsEmpty()) return -1;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  try {
    std::string id(reinterpret_cast<const char*>(username->data), username->size);
    Napi::Value r = self->psk_cb_.Call({Napi::String::New(env, id)});
    if (!r.IsBuffer()) return -1;
    auto buf = r.As<Napi::Buffer<uint8_t>>();
    if (buf.Length() == 0) return -1;
    return GnutlsCopy(key, buf.Data(), buf.Length()) ? 0 : -1;
  } catch (const Napi::Error&) {
    return -1;  // the TS layer records what its callback threw
  }
}

int DtlsSession::PskClient(gnutls_session_t s, gnutls_datum_t* username, gnutls_datum_t* key) {
  DtlsSession* self = static_cast<DtlsSession*>(gnutls_session_get_ptr(s));
  if (!self || self->psk_cb_.IsEmpty()) return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  try {
    const char* hint = gnutls_psk_client_get_hint(s);
    Napi::Value r = self->psk_cb_.Call({hint ? Napi::String::New(env, hint) : env.Null()});
    if (!r.IsObject()) return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
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

// setMtu(bytes): gnutls_dtls_set_mtu(), the largest datagram GnuTLS writes.
Napi::Value DtlsSession::SetMtu(const Napi::CallbackInfo& info) {
  gnutls_dtls_set_mtu(Live(info), info[0].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

// setTimeouts(retransmitMs, totalMs): gnutls_dtls_set_timeouts().
Napi::Value DtlsSession::SetTimeouts(const Napi::CallbackInfo& info) {
  gnutls_dtls_set_timeouts(Live(info), info[0].As<Napi::Number>().Uint32Value(), info[1].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

// setSrtpProfiles('SRTP_AES128_CM_HMAC_SHA1_80:...'): use_srtp (RFC 5764); the GnuTLS code.
Napi::Value DtlsSession::SetSrtpProfiles(const Napi::CallbackInfo& info) {
  std::string profiles = info[0].As<Napi::String>();
  const char* err = nullptr;
  return Napi::Number::New(info.Env(), gnutls_srtp_set_profile_direct(Live(info), profiles.c_str(), &err));
}

// setPrestate([recordSeq, handshakeReadSeq, handshakeWriteSeq]): what the cookie exchange saw.
Napi::Value DtlsSession::SetPrestate(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  Napi::Array a = info[0].As<Napi::Array>();
  gnutls_dtls_prestate_st pre{};
  pre.record_seq = a.Get(0u).As<Napi::Number>().Uint32Value();
  pre.hsk_read_seq = a.Get(1u).As<Napi::Number>().Uint32Value();
  pre.hsk_write_seq = a.Get(2u).As<Napi::Number>().Uint32Value();
  gnutls_dtls_prestate_set(s, &pre);
  return info.Env().Undefined();
}

// ---- what was negotiated -----------------------------------------------------------------------

// info(): the fields of Session's info() (lib/native.ts NativeInfo) that apply to DTLS.
Napi::Value DtlsSession::Info(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("protocol", StrOrNull(env, gnutls_protocol_get_name(gnutls_protocol_get_version(s))));
  o.Set("suite", StrOrNull(env, established_ ? gnutls_ciphersuite_get(s) : nullptr));
  o.Set("cipher", StrOrNull(env, gnutls_cipher_get_name(gnutls_cipher_get(s))));
  o.Set("mac", StrOrNull(env, gnutls_mac_get_name(gnutls_mac_get(s))));
  o.Set("kx", StrOrNull(env, gnutls_kx_get_name(gnutls_kx_get(s))));
  o.Set("group", StrOrNull(env, gnutls_group_get_name(gnutls_group_get(s))));
  o.Set("sign", StrOrNull(env, gnutls_sign_get_name(static_cast<gnutls_sign_algorithm_t>(gnutls_sign_algorithm_get(s)))));
  o.Set("clientSign", StrOrNull(env, gnutls_sign_get_name(static_cast<gnutls_sign_algorithm_t>(gnutls_sign_algorithm_get_client(s)))));
  o.Set("ownCertType", StrOrNull(env, gnutls_certificate_type_get_name(gnutls_certificate_type_get2(s, GNUTLS_CTYPE_OURS))));
  o.Set("peerCertType", StrOrNull(env, gnutls_certificate_type_get_name(gnutls_certificate_type_get2(s, GNUTLS_CTYPE_PEERS))));
  o.Set("statusRequested", Napi::Boolean::New(env, false));
  o.Set("clientAlpn", env.Null());
  o.Set("offeredVersions", Napi::Number::New(env, 0));
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

Napi::Value DtlsSession::PeerCertificates(const Napi::CallbackInfo& info) {
  unsigned n = 0;
  const gnutls_datum_t* list = gnutls_certificate_get_peers(Live(info), &n);
  return CertArray(info.Env(), list, list ? n : 0);
}

Napi::Value DtlsSession::OwnCertificate(const Napi::CallbackInfo& info) {
  const gnutls_datum_t* d = gnutls_certificate_get_ours(Live(info));
  return d ? CertArray(info.Env(), d, 1) : Napi::Array::New(info.Env(), 0);
}

// verifyPeer(): gnutls_certificate_status_t bits (0 = trusted), or a negative code.
Napi::Value DtlsSession::VerifyPeer(const Napi::CallbackInfo& info) {
  unsigned status = 0;
  int ret = gnutls_certificate_verify_peers2(Live(info), &status);
  return Napi::Number::New(info.Env(), ret < 0 ? ret : static_cast<double>(status));
}

// exportKeyingMaterial(label, length, context?) per RFC 5705.
Napi::Value DtlsSession::ExportKeyingMaterial(const Napi::CallbackInfo& info) {
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

// channelBinding(type): 0 tls-unique, 1 tls-server-end-point, 2 tls-exporter; undefined if none.
Napi::Value DtlsSession::ChannelBinding(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  unsigned type = info[0].As<Napi::Number>().Uint32Value();
  gnutls_datum_t cb{nullptr, 0};
  int ret = gnutls_session_channel_binding(s, static_cast<gnutls_channel_binding_t>(type), &cb);
  if (ret < 0) return info.Env().Undefined();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::Copy(info.Env(), cb.data, cb.size);
  gnutls_free(cb.data);
  return out;
}

// srtpProfile(): the negotiated SRTP protection profile's name, or null.
Napi::Value DtlsSession::SrtpProfile(const Napi::CallbackInfo& info) {
  gnutls_srtp_profile_t p;
  if (gnutls_srtp_get_selected_profile(Live(info), &p) < 0) return info.Env().Null();
  return StrOrNull(info.Env(), gnutls_srtp_get_profile_name(p));
}

// srtpKeys(): { material, clientKey, clientSalt, serverKey, serverSalt } (RFC 5764 4.2), or a code.
Napi::Value DtlsSession::SrtpKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t km[256];
  gnutls_datum_t ck, cs, sk, ss;
  int ret = gnutls_srtp_get_keys(Live(info), km, sizeof km, &ck, &cs, &sk, &ss);
  if (ret < 0) return Napi::Number::New(env, ret);
  auto copy = [&](const gnutls_datum_t& d) { return Napi::Buffer<uint8_t>::Copy(env, d.data, d.size); };
  Napi::Object o = Napi::Object::New(env);
  o.Set("material", Napi::Buffer<uint8_t>::Copy(env, km, static_cast<size_t>(ret)));
  o.Set("clientKey", copy(ck));
  o.Set("clientSalt", copy(cs));
  o.Set("serverKey", copy(sk));
  o.Set("serverSalt", copy(ss));
  return o;
}

// ---- stateless cookie exchange -----------------------------------------------------------------
namespace {

ssize_t CollectDatagram(gnutls_transport_ptr_t ptr, const void* data, size_t len) {
  auto* out = static_cast<std::vector<uint8_t>*>(ptr);
  const uint8_t* p = static_cast<const uint8_t*>(data);
  out->assign(p, p + len);
  return static_cast<ssize_t>(len);
}

// dtlsCookieVerify(key, clientId, datagram): [recordSeq, hskReadSeq, hskWriteSeq] when the
// ClientHello in `datagram` carries the cookie `key` gives `clientId`; otherwise the GnuTLS code
// (GNUTLS_E_BAD_COOKIE: a ClientHello without a valid cookie; others: not a ClientHello).
Napi::Value CookieVerify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto key = info[0].As<Napi::Buffer<uint8_t>>();
  auto client = info[1].As<Napi::Buffer<uint8_t>>();
  auto msg = info[2].As<Napi::Buffer<uint8_t>>();
  gnutls_datum_t k{key.Data(), static_cast<unsigned>(key.Length())};
  gnutls_dtls_prestate_st pre{};
  int ret = gnutls_dtls_cookie_verify(&k, client.Data(), client.Length(), msg.Data(), msg.Length(), &pre);
  if (ret < 0) return Napi::Number::New(env, ret);
  Napi::Array a = Napi::Array::New(env, 3);
  a.Set(0u, Napi::Number::New(env, pre.record_seq));
  a.Set(1u, Napi::Number::New(env, pre.hsk_read_seq));
  a.Set(2u, Napi::Number::New(env, pre.hsk_write_seq));
  return a;
}

// dtlsCookieSend(key, clientId, datagram): the HelloVerifyRequest datagram answering the
// ClientHello in `datagram` (its sequence numbers echoed), or a GnuTLS code.
Napi::Value CookieSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto key = info[0].As<Napi::Buffer<uint8_t>>();
  auto client = info[1].As<Napi::Buffer<uint8_t>>();
  auto msg = info[2].As<Napi::Buffer<uint8_t>>();
  gnutls_datum_t k{key.Data(), static_cast<unsigned>(key.Length())};
  gnutls_dtls_prestate_st pre{};
  // Verifying fills the prestate with the ClientHello's sequence numbers, whatever the cookie.
  gnutls_dtls_cookie_verify(&k, client.Data(), client.Length(), msg.Data(), msg.Length(), &pre);
  std::vector<uint8_t> out;
  int ret = gnutls_dtls_cookie_send(&k, client.Data(), client.Length(), &pre, &out, CollectDatagram);
  if (ret < 0) return Napi::Number::New(env, ret);
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}

}  // namespace

void DtlsSession::RegisterCookieFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("dtlsCookieVerify", Napi::Function::New(env, CookieVerify, "dtlsCookieVerify"));
  exports.Set("dtlsCookieSend", Napi::Function::New(env, CookieSend, "dtlsCookieSend"));
}

}  // namespace ngtls
