// DtlsSession: configuration (name, ALPN, client certificates, PSK, MTU, timeouts, SRTP), what
// was negotiated, and the stateless cookie exchange. The rules shared with Session are in
// session-common.cc.
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "dtls-session.h"

namespace ngtls {

// ---- configuration -----------------------------------------------------------------------------

Napi::Value DtlsSession::SetServerName(const Napi::CallbackInfo& info) {
  ngtls::SetServerName(info.Env(), Live(info), info[0]);
  return info.Env().Undefined();
}

// setAlpn(protocols: string[], flags)
Napi::Value DtlsSession::SetAlpn(const Napi::CallbackInfo& info) {
  ngtls::SetAlpn(info.Env(), Live(info), info[0], info[1]);
  return info.Env().Undefined();
}

// setCertRequest(0 ignore | 1 request | 2 require)
Napi::Value DtlsSession::SetCertRequest(const Napi::CallbackInfo& info) {
  unsigned mode = info[0].As<Napi::Number>().Uint32Value();
  ngtls::SetCertRequest(Live(info), mode);
  return info.Env().Undefined();
}

// setVerifyCert(mode, hostname?): 0 off; 1 GnuTLS verifies the peer in the handshake (a missing
// certificate fails too); 2 the same, only when certificates were sent.
Napi::Value DtlsSession::SetVerifyCert(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  ngtls::SetVerifyCert(info, s, info[0].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

// setPsk(callback, hint?): as Session's; the callback runs synchronously inside handshake().
Napi::Value DtlsSession::SetPsk(const Napi::CallbackInfo& info) {
  psk_.Set(info, Live(info), is_server_, PskServer, PskClient);
  return info.Env().Undefined();
}

int DtlsSession::PskServer(gnutls_session_t s, const gnutls_datum_t* username, gnutls_datum_t* key) {
  DtlsSession* self = static_cast<DtlsSession*>(gnutls_session_get_ptr(s));
  return self ? self->psk_.ServerKey(self->Env(), username, key) : -1;
}

int DtlsSession::PskClient(gnutls_session_t s, gnutls_datum_t* username, gnutls_datum_t* key) {
  DtlsSession* self = static_cast<DtlsSession*>(gnutls_session_get_ptr(s));
  return self ? self->psk_.ClientKey(self->Env(), s, username, key, false) : GNUTLS_E_INSUFFICIENT_CREDENTIALS;
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
  return NegotiatedInfo(env, s, established_, is_server_, false, env.Null(), 0);
}

Napi::Value DtlsSession::PeerCertificates(const Napi::CallbackInfo& info) {
  return ngtls::PeerCertificates(info.Env(), Live(info));
}

Napi::Value DtlsSession::OwnCertificate(const Napi::CallbackInfo& info) {
  return ngtls::OwnCertificate(info.Env(), Live(info));
}

// verifyPeer(): gnutls_certificate_status_t bits (0 = trusted), or a negative code.
Napi::Value DtlsSession::VerifyPeer(const Napi::CallbackInfo& info) {
  return ngtls::VerifyPeer(info.Env(), Live(info));
}

// exportKeyingMaterial(label, length, context?) per RFC 5705.
Napi::Value DtlsSession::ExportKeyingMaterial(const Napi::CallbackInfo& info) {
  return ngtls::ExportKeyingMaterial(info, Live(info));
}

// channelBinding(type): 0 tls-unique, 1 tls-server-end-point, 2 tls-exporter; undefined if none.
Napi::Value DtlsSession::ChannelBinding(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  Napi::Value out = info.Env().Undefined();
  ngtls::ChannelBinding(info.Env(), s, info[0].As<Napi::Number>().Uint32Value(), &out);
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

// (key, clientId, datagram): the arguments both cookie functions take.
struct CookieArgs {
  explicit CookieArgs(const Napi::CallbackInfo& info)
      : key(info[0].As<Napi::Buffer<uint8_t>>()),
        client(info[1].As<Napi::Buffer<uint8_t>>()),
        msg(info[2].As<Napi::Buffer<uint8_t>>()),
        k{key.Data(), static_cast<unsigned>(key.Length())} {}
  int Verify(gnutls_dtls_prestate_st* pre) {
    return gnutls_dtls_cookie_verify(&k, client.Data(), client.Length(), msg.Data(), msg.Length(), pre);
  }
  Napi::Buffer<uint8_t> key, client, msg;
  gnutls_datum_t k;
};

// dtlsCookieVerify(key, clientId, datagram): [recordSeq, hskReadSeq, hskWriteSeq] when the
// ClientHello in `datagram` carries the cookie `key` gives `clientId`; otherwise the GnuTLS code
// (GNUTLS_E_BAD_COOKIE: a ClientHello without a valid cookie; others: not a ClientHello).
Napi::Value CookieVerify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CookieArgs c(info);
  gnutls_dtls_prestate_st pre{};
  int ret = c.Verify(&pre);
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
  CookieArgs c(info);
  gnutls_dtls_prestate_st pre{};
  // Verifying fills the prestate with the ClientHello's sequence numbers, whatever the cookie.
  c.Verify(&pre);
  std::vector<uint8_t> out;
  int ret = gnutls_dtls_cookie_send(&c.k, c.client.Data(), c.client.Length(), &pre, &out, CollectDatagram);
  if (ret < 0) return Napi::Number::New(env, ret);
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}

}  // namespace

void DtlsSession::RegisterCookieFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("dtlsCookieVerify", Napi::Function::New(env, CookieVerify, "dtlsCookieVerify"));
  exports.Set("dtlsCookieSend", Napi::Function::New(env, CookieSend, "dtlsCookieSend"));
}

}  // namespace ngtls
