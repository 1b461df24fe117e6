// DtlsSession: lifetime, the datagram transport, and the calls that move records.
#include "dtls-session.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "addon.h"
#include "context.h"

namespace ngtls {

Napi::Function DtlsSession::Init(Napi::Env env, Addon* addon) {
  Napi::Function fn = DefineClass(env, "DtlsSession",
                                  {
                                      InstanceMethod("setServerName", &DtlsSession::SetServerName),
                                      InstanceMethod("setAlpn", &DtlsSession::SetAlpn),
                                      InstanceMethod("setCertRequest", &DtlsSession::SetCertRequest),
                                      InstanceMethod("setVerifyCert", &DtlsSession::SetVerifyCert),
                                      InstanceMethod("setPsk", &DtlsSession::SetPsk),
                                      InstanceMethod("setMtu", &DtlsSession::SetMtu),
                                      InstanceMethod("setTimeouts", &DtlsSession::SetTimeouts),
                                      InstanceMethod("setSrtpProfiles", &DtlsSession::SetSrtpProfiles),
                                      InstanceMethod("setPrestate", &DtlsSession::SetPrestate),
                                      InstanceMethod("feed", &DtlsSession::Feed),
                                      InstanceMethod("handshake", &DtlsSession::Handshake),
                                      InstanceMethod("receive", &DtlsSession::Receive),
                                      InstanceMethod("send", &DtlsSession::Send),
                                      InstanceMethod("takeOutput", &DtlsSession::TakeOutput),
                                      InstanceMethod("bye", &DtlsSession::Bye),
                                      InstanceMethod("timeout", &DtlsSession::Timeout),
                                      InstanceMethod("dataMtu", &DtlsSession::DataMtu),
                                      InstanceMethod("lastAlert", &DtlsSession::LastAlert),
                                      InstanceMethod("sendAlert", &DtlsSession::SendAlert),
                                      InstanceMethod("sendAppropriateAlert", &DtlsSession::SendAppropriateAlert),
                                      InstanceMethod("info", &DtlsSession::Info),
                                      InstanceMethod("peerCertificates", &DtlsSession::PeerCertificates),
                                      InstanceMethod("ownCertificate", &DtlsSession::OwnCertificate),
                                      InstanceMethod("verifyPeer", &DtlsSession::VerifyPeer),
                                      InstanceMethod("exportKeyingMaterial", &DtlsSession::ExportKeyingMaterial),
                                      InstanceMethod("channelBinding", &DtlsSession::ChannelBinding),
                                      InstanceMethod("srtpProfile", &DtlsSession::SrtpProfile),
                                      InstanceMethod("srtpKeys", &DtlsSession::SrtpKeys),
                                      InstanceMethod("discarded", &DtlsSession::Discarded),
                                      InstanceMethod("close", &DtlsSession::CloseMethod),
                                  });
  addon->dtls_session_ctor = Napi::Persistent(fn);
  return fn;
}

DtlsSession::DtlsSession(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<DtlsSession>(info), addon_(Addon::Of(info.Env())) {
  Napi::Env env = info.Env();
  Context* ctx = Context::Unwrap(info[0].As<Napi::Object>());
  is_server_ = info[1].ToBoolean();
  InitSession(env, &session_, is_server_, GNUTLS_DATAGRAM, addon_, &env_hook_, EnvCleanup, this, Pull, PullTimeout);
  gnutls_transport_set_push_function(session_, Push);
  int ret = gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, ctx->creds());
  if (ret >= 0) ret = gnutls_priority_set(session_, is_server_ ? ctx->server_priority() : ctx->priority());
  if (ret < 0) {
    Close();  // a throwing constructor gets no destructor call
    ThrowGnutls(env, ret, "DTLS session setup");
  }
  context_ref_.Reset(info[0].As<Napi::Object>(), 1);
}

void DtlsSession::EnvCleanup(void* arg) {
  DtlsSession* self = static_cast<DtlsSession*>(arg);
  self->depth_ = 0;  // the environment is going away: no call of this session is running
  self->Close();
}

DtlsSession::~DtlsSession() {
  depth_ = 0;
  Close();
}

// Frees the GnuTLS session; while one of its calls is on the stack (a PSK callback may close the
// socket), only once the outermost call returns.
void DtlsSession::Close() {
  if (CloseDeferred(depth_, close_pending_)) return;
  env_hook_.Remove();
  if (!session_) return;
  gnutls_deinit(session_);
  session_ = nullptr;
  psk_.Free();
  if (!context_ref_.IsEmpty()) context_ref_.Reset();
  addon_->live_sessions--;
  std::deque<std::vector<uint8_t>>().swap(in_);
  std::vector<std::vector<uint8_t>>().swap(out_);
}

gnutls_session_t DtlsSession::Live(const Napi::CallbackInfo& info) {
  return LiveOrThrow(info.Env(), session_, close_pending_);
}

Napi::Value DtlsSession::CloseMethod(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

// ---- transport over memory: one datagram per pull, one per push --------------------------------

ssize_t DtlsSession::Pull(gnutls_transport_ptr_t ptr, void* data, size_t len) {
  DtlsSession* self = static_cast<DtlsSession*>(ptr);
  if (self->in_.empty()) {
    gnutls_transport_set_errno(self->session_, EAGAIN);
    return -1;
  }
  std::vector<uint8_t>& d = self->in_.front();
  size_t n = std::min(len, d.size());  // a datagram longer than GnuTLS asks for is truncated, as recv(2)
  memcpy(data, d.data(), n);
  self->in_.pop_front();
  return static_cast<ssize_t>(n);
}

int DtlsSession::PullTimeout(gnutls_transport_ptr_t ptr, unsigned int) {
  DtlsSession* self = static_cast<DtlsSession*>(ptr);
  return self->in_.empty() ? 0 : 1;
}

ssize_t DtlsSession::Push(gnutls_transport_ptr_t ptr, const void* data, size_t len) {
  DtlsSession* self = static_cast<DtlsSession*>(ptr);
  const uint8_t* p = static_cast<const uint8_t*>(data);
  self->out_.emplace_back(p, p + len);
  return static_cast<ssize_t>(len);
}

// A datagram made of whole DTLS records (13-byte header, then as many bytes as its length
// says), nothing left over. After a record longer than the datagram holding it, GnuTLS 3.7 was
// seen to discard every later record of the association: such datagrams never reach it.
static bool WholeRecords(const uint8_t* p, size_t n) {
  constexpr size_t kHeader = 13;
  if (n == 0) return false;  // and a pull returning 0 would read as end of file
  while (n > 0) {
    if (n < kHeader) return false;
    size_t len = size_t{p[11]} << 8 | p[12];
    if (len > n - kHeader) return false;
    p += kHeader + len;
    n -= kHeader + len;
  }
  return true;
}

// feed(datagram): queues one received datagram (copied). 0: queued; 1: dropped, the queue is full
// (as a full socket buffer drops); 2: dropped, not whole DTLS records.
Napi::Value DtlsSession::Feed(const Napi::CallbackInfo& info) {
  Live(info);
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  if (!WholeRecords(buf.Data(), buf.Length())) return Napi::Number::New(info.Env(), 2);
  if (in_.size() >= kMaxQueued) return Napi::Number::New(info.Env(), 1);
  in_.emplace_back(buf.Data(), buf.Data() + buf.Length());
  return Napi::Number::New(info.Env(), 0);
}

// handshake(): gnutls_handshake() over every queued datagram. GNUTLS_E_AGAIN: wait for a
// datagram, or timeout() ms and call again (GnuTLS then retransmits its last flight).
Napi::Value DtlsSession::Handshake(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  int ret;
  for (;;) {
    ret = gnutls_handshake(s);
    if (ret != GNUTLS_E_AGAIN || close_pending_ || in_.empty()) break;
  }
  if (ret == GNUTLS_E_SUCCESS) established_ = true;
  return Napi::Number::New(info.Env(), ret);
}

// receive(): decrypts every queued datagram. Returns [code, record, record, ...]: one Buffer per
// application-data record, then the code that stopped it (GNUTLS_E_AGAIN: nothing left;
// 0: close_notify; alerts, errors). Records GnuTLS discards (bad MAC, replays) are skipped.
Napi::Value DtlsSession::Receive(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  out.Set(0u, Napi::Number::New(env, GNUTLS_E_AGAIN));
  std::vector<uint8_t>& plain = addon_->recv_scratch;
  if (plain.size() < 65536) plain.resize(65536);
  uint32_t n = 1;
  // Each round reads at most one datagram; the bound only guards against a GnuTLS that stops
  // pulling while answering AGAIN.
  for (size_t rounds = 0;; rounds++) {
    ssize_t r = gnutls_record_recv(s, plain.data(), plain.size());
    if (r > 0) {
      out.Set(n++, Napi::Buffer<uint8_t>::Copy(env, plain.data(), static_cast<size_t>(r)));
      continue;
    }
    // A datagram GnuTLS discarded (bad MAC, replay, retransmission it answered) reads as AGAIN.
    if ((r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) && !in_.empty() && rounds < 4 * kMaxQueued && !close_pending_)
      continue;
    out.Set(0u, Napi::Number::New(env, static_cast<double>(r)));
    break;
  }
  return out;
}

// send(buf): one record, in one datagram. GNUTLS_E_LARGE_PACKET when it exceeds dataMtu();
// otherwise the byte count.
Napi::Value DtlsSession::Send(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  if (buf.Length() > gnutls_dtls_get_data_mtu(s)) return Napi::Number::New(info.Env(), GNUTLS_E_LARGE_PACKET);
  ssize_t r = gnutls_record_send(s, buf.Data(), buf.Length());
  return Napi::Number::New(info.Env(), static_cast<double>(r));
}

// takeOutput(): the datagrams produced since the last call, in order, or undefined.
Napi::Value DtlsSession::TakeOutput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (out_.empty()) return env.Undefined();
  Napi::Array arr = Napi::Array::New(env, out_.size());
  for (size_t i = 0; i < out_.size(); i++)
    arr.Set(static_cast<uint32_t>(i), Napi::Buffer<uint8_t>::Copy(env, out_[i].data(), out_[i].size()));
  out_.clear();
  return arr;
}

Napi::Value DtlsSession::Bye(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  return Napi::Number::New(info.Env(), gnutls_bye(s, GNUTLS_SHUT_WR));
}

// timeout(): gnutls_dtls_get_timeout(), ms until GnuTLS wants to retransmit.
Napi::Value DtlsSession::Timeout(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), gnutls_dtls_get_timeout(Live(info)));
}

// dataMtu(): the largest plaintext one record (one datagram) takes.
Napi::Value DtlsSession::DataMtu(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), gnutls_dtls_get_data_mtu(Live(info)));
}

// discarded(): records GnuTLS dropped as invalid or replayed (gnutls_record_get_discarded).
Napi::Value DtlsSession::Discarded(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), gnutls_record_get_discarded(Live(info)));
}

Napi::Value DtlsSession::LastAlert(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), gnutls_alert_get(Live(info)));
}

// sendAlert(level, description); GNUTLS_E_AGAIN without sending while one of this session's calls
// is on the stack (close() from inside a PSK callback: GnuTLS is not re-entered).
Napi::Value DtlsSession::SendAlert(const Napi::CallbackInfo& info) {
  if (depth_ > 0) return Napi::Number::New(info.Env(), GNUTLS_E_AGAIN);
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  return Napi::Number::New(info.Env(), ngtls::SendAlert(info, s));
}

// sendAppropriateAlert(code): the alert GnuTLS maps to a handshake failure code, if any.
Napi::Value DtlsSession::SendAppropriateAlert(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  return Napi::Number::New(info.Env(), ngtls::SendAppropriateAlert(info, s));
}

}  // namespace ngtls
