#include "session.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <functional>
#include <cstdint>
#include <cstring>

#include "addon.h"
#include "context.h"

namespace ngtls {
namespace {

constexpr int kNoCode = 1;  // pending_code_ when nothing is pending (GnuTLS codes are <= 0)
constexpr size_t kRecvChunk = 64 * 1024;
constexpr size_t kKeepCapacity = 32 * 1024;  // queue capacity a drained session may keep
constexpr int kApplicationData = RecordQueue::kApplicationData;

const char kHex[] = "0123456789abcdef";
void AppendHex(std::string& s, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    s.push_back(kHex[p[i] >> 4]);
    s.push_back(kHex[p[i] & 15]);
  }
}

Napi::Value StrOrNull(Napi::Env env, const char* s) { return s ? Napi::String::New(env, s) : env.Null(); }

}  // namespace

Napi::Function Session::Init(Napi::Env env, Addon* addon) {
  Napi::Function fn = DefineClass(env, "Session",
                                  {
                                      InstanceMethod("setContext", &Session::SetContext),
                                      InstanceMethod("setServerName", &Session::SetServerName),
                                      InstanceMethod("setAlpn", &Session::SetAlpn),
                                      InstanceMethod("setSessionData", &Session::SetSessionData),
                                      InstanceMethod("setCertRequest", &Session::SetCertRequest),
                                      InstanceMethod("setVerifyCert", &Session::SetVerifyCert),
                                      InstanceMethod("enableKeylog", &Session::EnableKeylog),
                                      InstanceMethod("enableTickets", &Session::EnableTickets),
                                      InstanceMethod("holdClientHello", &Session::HoldClientHello),
                                      InstanceMethod("refuseResumption", &Session::RefuseResumption),
                                      InstanceMethod("feed", &Session::Feed),
                                      InstanceMethod("nextRecordType", &Session::NextRecordType),
                                      InstanceMethod("handshake", &Session::Handshake),
                                      InstanceMethod("recv", &Session::Recv),
                                      InstanceMethod("receive", &Session::Receive),
                                      InstanceMethod("setStateArray", &Session::SetStateArray),
                                      InstanceMethod("send", &Session::Send),
                                      InstanceMethod("output", &Session::Output),
                                      InstanceMethod("bye", &Session::Bye),
                                      InstanceMethod("reauth", &Session::Reauth),
                                      InstanceMethod("rehandshake", &Session::Rehandshake),
                                      InstanceMethod("keyUpdate", &Session::KeyUpdate),
                                      InstanceMethod("sendAlert", &Session::SendAlert),
                                      InstanceMethod("sendAppropriateAlert", &Session::SendAppropriateAlert),
                                      InstanceMethod("lastAlert", &Session::LastAlert),
                                      InstanceMethod("takeEvents", &Session::TakeEvents),
                                      InstanceMethod("takeKeylog", &Session::TakeKeylog),
                                      InstanceMethod("info", &Session::Info),
                                      InstanceMethod("peerCertificates", &Session::PeerCertificates),
                                      InstanceMethod("ownCertificate", &Session::OwnCertificate),
                                      InstanceMethod("verifyPeer", &Session::VerifyPeer),
                                      InstanceMethod("sessionData", &Session::SessionData),
                                      InstanceMethod("exportKeyingMaterial", &Session::ExportKeyingMaterial),
                                      InstanceMethod("finished", &Session::Finished),
                                      InstanceMethod("close", &Session::CloseMethod),
                                      InstanceMethod("setPsk", &Session::SetPsk),
                                      InstanceMethod("useExternalCache", &Session::UseExternalCache),
                                      InstanceMethod("setResumeData", &Session::SetResumeData),
                                      InstanceMethod("takeStoredSessions", &Session::TakeStoredSessions),
                                      InstanceMethod("requestOcsp", &Session::RequestOcsp),
                                      InstanceMethod("ocspResponse", &Session::OcspResponse),
                                      InstanceMethod("setOcspResponse", &Session::SetOcspResponse),
                                      InstanceMethod("channelBinding", &Session::ChannelBinding),
                                  });
  addon->session_ctor = Napi::Persistent(fn);
  return fn;
}

Session::Session(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Session>(info), addon_(Addon::Of(info.Env())), pending_code_(kNoCode) {
  Napi::Env env = info.Env();
  bool is_server = info[1].ToBoolean();
  is_server_ = is_server;
  unsigned flags = info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
  int ret = gnutls_init(&session_, (is_server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK | flags);
  if (ret < 0) {
    session_ = nullptr;
    ThrowGnutls(env, ret, "gnutls_init");
  }
  addon_->live_sessions++;
  if (napi_add_env_cleanup_hook(env, EnvCleanup, this) == napi_ok) env_ = env;
  gnutls_session_set_ptr(session_, this);
  gnutls_transport_set_ptr(session_, this);
  gnutls_transport_set_pull_function(session_, Pull);
  gnutls_transport_set_pull_timeout_function(session_, PullTimeout);
  gnutls_transport_set_vec_push_function(session_, PushVec);
  gnutls_handshake_set_timeout(session_, 0);  // timeouts are the JS side's policy
  gnutls_handshake_set_hook_function(session_, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_BOTH, Hook);
  if (is_server) {
    gnutls_handshake_set_post_client_hello_function(session_, PostClientHello);
    gnutls_db_set_ptr(session_, this);
    gnutls_db_set_store_function(session_, DbStore);
    gnutls_db_set_retrieve_function(session_, DbFetch);
    gnutls_db_set_remove_function(session_, DbRemove);
  }
  try {
    SetContext(info);
  } catch (...) {
    Close();  // a throwing constructor gets no destructor call: free the session here
    throw;
  }
}

void Session::EnvCleanup(void* arg) {
  Session* self = static_cast<Session*>(arg);
  self->depth_ = 0;  // the environment is going away: no call of this session is running
  self->Close();
}

Session::~Session() {
  depth_ = 0;  // a finalizer never runs inside one of this session's calls
  Close();
}

void Session::Close() {
  if (depth_ > 0) {
    close_pending_ = true;
    return;
  }
  close_pending_ = false;
  if (env_) {
    napi_remove_env_cleanup_hook(env_, EnvCleanup, this);
    env_ = nullptr;
  }
  if (!state_ref_.IsEmpty()) state_ref_.Reset();
  state_ = nullptr;
  if (!session_) return;
  gnutls_deinit(session_);
  session_ = nullptr;
  if (psk_server_) gnutls_psk_free_server_credentials(psk_server_);
  if (psk_client_) gnutls_psk_free_client_credentials(psk_client_);
  psk_server_ = nullptr;
  psk_client_ = nullptr;
  if (!psk_cb_.IsEmpty()) psk_cb_.Reset();
  addon_->live_sessions--;
  if (!context_ref_.IsEmpty()) context_ref_.Reset();
  in_.Clear();
  if (!fed_ref_.IsEmpty()) fed_ref_.Reset();
  std::vector<uint8_t>().swap(out_);
}

gnutls_session_t Session::Live(const Napi::CallbackInfo& info) {
  if (!session_ || close_pending_) ThrowGnutls(info.Env(), GNUTLS_E_INVALID_SESSION, "session is closed");
  return session_;
}

// ---- transport over memory ------------------------------------------------------------------

ssize_t Session::Pull(gnutls_transport_ptr_t ptr, void* data, size_t len) {
  Session* self = static_cast<Session*>(ptr);
  size_t n = self->in_.Pull(static_cast<uint8_t*>(data), len, self->hold_app_data_);
  if (n == 0) {
    gnutls_transport_set_errno(self->session_, EAGAIN);
    return -1;
  }
  return static_cast<ssize_t>(n);
}

int Session::PullTimeout(gnutls_transport_ptr_t ptr, unsigned int) {
  Session* self = static_cast<Session*>(ptr);
  return self->in_.Pending() > 0 ? 1 : 0;
}

ssize_t Session::PushVec(gnutls_transport_ptr_t ptr, const giovec_t* iov, int iovcnt) {
  Session* self = static_cast<Session*>(ptr);
  size_t total = 0;
  for (int i = 0; i < iovcnt; i++) total += iov[i].iov_len;
  // During send(data, slab, offset): straight into the JS slab while everything fits (and nothing
  // is queued before it, so that the order on the wire holds).
  if (self->direct_ && self->out_.empty() && self->direct_used_ + total <= self->direct_cap_) {
    for (int i = 0; i < iovcnt; i++) {
      memcpy(self->direct_ + self->direct_used_, iov[i].iov_base, iov[i].iov_len);
      self->direct_used_ += iov[i].iov_len;
    }
    return static_cast<ssize_t>(total);
  }
  total = 0;
  for (int i = 0; i < iovcnt; i++) {
    const uint8_t* p = static_cast<const uint8_t*>(iov[i].iov_base);
    self->out_.insert(self->out_.end(), p, p + iov[i].iov_len);
    total += iov[i].iov_len;
  }
  return static_cast<ssize_t>(total);
}

// ---- hooks: record facts for JS to collect; never call into JS ---------------------------------

int Session::Hook(gnutls_session_t s, unsigned int htype, unsigned when, unsigned int incoming, const gnutls_datum_t* msg) {
  Session* self = static_cast<Session*>(gnutls_session_get_ptr(s));
  if (when == GNUTLS_HOOK_PRE) {
    // Before GnuTLS processes a ClientHello (and runs the post-client-hello hold).
    if (htype == GNUTLS_HANDSHAKE_CLIENT_HELLO && incoming && self->is_server_) self->NoteClientHello(msg);
    if (htype == GNUTLS_HANDSHAKE_SERVER_HELLO && incoming) self->server_hello_seen_ = true;
    return 0;
  }
  switch (htype) {
    case GNUTLS_HANDSHAKE_FINISHED: {
      // The hook sees the whole handshake message; keep verify_data (skip the 4-byte header).
      const uint8_t* p = msg->data;
      size_t n = msg->size;
      if (n >= 4 && p[0] == GNUTLS_HANDSHAKE_FINISHED && (size_t{p[1]} << 16 | size_t{p[2]} << 8 | p[3]) == n - 4) {
        p += 4;
        n -= 4;
      }
      (incoming ? self->peer_finished_ : self->finished_).assign(p, p + n);
      break;
    }
    case GNUTLS_HANDSHAKE_NEW_SESSION_TICKET:
      if (incoming) self->events_ |= kTicketReceived;
      break;
    case GNUTLS_HANDSHAKE_KEY_UPDATE:
      if (incoming) self->events_ |= kKeyUpdateReceived;
      break;
    default:
      break;
  }
  return 0;
}

int Session::PostClientHello(gnutls_session_t s) {
  Session* self = static_cast<Session*>(gnutls_session_get_ptr(s));
  if (self->hold_hello_ && !self->hello_released_) {
    self->hello_released_ = true;
    self->events_ |= kClientHelloHeld;
    // gnutls_handshake() returns GNUTLS_E_INTERRUPTED. The certificate was already selected by
    // now, so a different context means a new session fed the same ClientHello (lib/ does that).
    return GNUTLS_E_AGAIN;
  }
  return 0;
}

int Session::Keylog(gnutls_session_t s, const char* label, const gnutls_datum_t* secret) {
  Session* self = static_cast<Session*>(gnutls_session_get_ptr(s));
  if (!self->keylog_) return 0;
  gnutls_datum_t client_random, server_random;
  gnutls_session_get_random(s, &client_random, &server_random);
  std::string line(label);
  line.push_back(' ');
  AppendHex(line, client_random.data, client_random.size);
  line.push_back(' ');
  AppendHex(line, secret->data, secret->size);
  line.push_back('\n');
  self->keylog_lines_.push_back(std::move(line));
  return 0;
}

// Session-ID cache (TLS 1.2 resumption on servers) lives in the Context.
// With an external cache (the server's newSession/resumeSession listeners) entries go to JS
// (takeStoredSessions) and come from it (setResumeData); otherwise to the context's cache.
int Session::DbStore(void* ptr, gnutls_datum_t key, gnutls_datum_t data) {
  Session* self = static_cast<Session*>(ptr);
  if (self->external_cache_) {
    self->stored_.emplace_back(std::vector<uint8_t>(key.data, key.data + key.size),
                               std::vector<uint8_t>(data.data, data.data + data.size));
  } else if (self->context_) {
    self->context_->CacheStore(key, data);
  }
  return 0;
}

gnutls_datum_t Session::DbFetch(void* ptr, gnutls_datum_t key) {
  Session* self = static_cast<Session*>(ptr);
  gnutls_datum_t none{nullptr, 0};
  if (self->refuse_resumption_) return none;
  if (self->external_cache_) {
    const auto& id = self->resume_.first;
    const auto& data = self->resume_.second;
    if (data.empty() || id.size() != key.size || memcmp(id.data(), key.data, key.size) != 0) return none;
    gnutls_datum_t out{static_cast<unsigned char*>(gnutls_malloc(data.size())), static_cast<unsigned>(data.size())};
    if (!out.data) return none;
    memcpy(out.data, data.data(), data.size());
    return out;
  }
  return self->context_ ? self->context_->CacheFetch(key) : none;
}

int Session::DbRemove(void* ptr, gnutls_datum_t key) {
  Session* self = static_cast<Session*>(ptr);
  if (!self->external_cache_ && self->context_) self->context_->CacheRemove(key);
  return 0;
}

// useExternalCache(): TLS 1.2 session-ID entries are handed to JS instead of the context cache.
Napi::Value Session::UseExternalCache(const Napi::CallbackInfo& info) {
  Live(info);
  external_cache_ = true;
  return info.Env().Undefined();
}

// setResumeData(id, data): the entry JS found for the session ID the ClientHello carries.
Napi::Value Session::SetResumeData(const Napi::CallbackInfo& info) {
  Live(info);
  auto id = info[0].As<Napi::Buffer<uint8_t>>();
  auto data = info[1].As<Napi::Buffer<uint8_t>>();
  resume_.first.assign(id.Data(), id.Data() + id.Length());
  resume_.second.assign(data.Data(), data.Data() + data.Length());
  return info.Env().Undefined();
}

// takeStoredSessions(): [[id, data], ...] stored since the last call, or undefined.
Napi::Value Session::TakeStoredSessions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (stored_.empty()) return env.Undefined();
  Napi::Array out = Napi::Array::New(env, stored_.size());
  for (size_t i = 0; i < stored_.size(); i++) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::Buffer<uint8_t>::Copy(env, stored_[i].first.data(), stored_[i].first.size()));
    pair.Set(1u, Napi::Buffer<uint8_t>::Copy(env, stored_[i].second.data(), stored_[i].second.size()));
    out.Set(static_cast<uint32_t>(i), pair);
  }
  stored_.clear();
  return out;
}

// refuseResumption(): later handshakes on this session are full ones (a re-handshake that must
// see a certificate again cannot be an abbreviated resumption).
Napi::Value Session::RefuseResumption(const Napi::CallbackInfo& info) {
  Live(info);
  refuse_resumption_ = true;
  return info.Env().Undefined();
}

// ---- configuration -----------------------------------------------------------------------------

// setContext(context): credentials and priorities (also used to switch context after SNI).
Napi::Value Session::SetContext(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  Context* ctx = Context::Unwrap(info[0].As<Napi::Object>());
  int ret = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, ctx->creds());
  if (ret < 0) ThrowGnutls(info.Env(), ret, "gnutls_credentials_set");
  ret = gnutls_priority_set(s, ctx->priority());
  if (ret < 0) ThrowGnutls(info.Env(), ret, "gnutls_priority_set");
  context_ref_.Reset(info[0].As<Napi::Object>(), 1);
  context_ = ctx;
  gnutls_db_set_cache_expiration(s, static_cast<int>(ctx->session_timeout()));
  return info.Env().Undefined();
}

Napi::Value Session::SetServerName(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  std::string name = info[0].As<Napi::String>();
  int ret = gnutls_server_name_set(s, GNUTLS_NAME_DNS, name.data(), name.size());
  if (ret < 0) ThrowGnutls(info.Env(), ret, "gnutls_server_name_set");
  return info.Env().Undefined();
}

// setAlpn(protocols: string[], flags)
Napi::Value Session::SetAlpn(const Napi::CallbackInfo& info) {
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

// setSessionData(buf): resume from getSession() output; returns the GnuTLS code (< 0: unusable).
Napi::Value Session::SetSessionData(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  return Napi::Number::New(info.Env(), gnutls_session_set_data(s, buf.Data(), buf.Length()));
}

// setCertRequest(0 ignore | 1 request | 2 require)
Napi::Value Session::SetCertRequest(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  static const gnutls_certificate_request_t kModes[] = {GNUTLS_CERT_IGNORE, GNUTLS_CERT_REQUEST, GNUTLS_CERT_REQUIRE};
  unsigned mode = std::min(info[0].As<Napi::Number>().Uint32Value(), 2u);
  gnutls_certificate_server_set_request(s, kModes[mode]);
  return info.Env().Undefined();
}

// During the handshake: a peer that sent certificates must be trusted; one that sent none passes.
static int VerifyIfSent(gnutls_session_t s) {
  unsigned n = 0;
  if (!gnutls_certificate_get_peers(s, &n) || n == 0) return 0;
  unsigned status = 0;
  int ret = gnutls_certificate_verify_peers2(s, &status);
  return (ret < 0 || status != 0) ? GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR : 0;
}

// setVerifyCert(mode, hostname?): 0 off; 1 GnuTLS verifies the peer during the handshake and
// fails it (a missing certificate fails too); 2 the same, but only when certificates were sent.
Napi::Value Session::SetVerifyCert(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  unsigned mode = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : (info[0].ToBoolean() ? 1 : 0);
  if (mode == 2) {
    gnutls_session_set_verify_function(s, VerifyIfSent);
  } else if (mode == 1) {
    std::string host;
    bool has_host = info.Length() > 1 && info[1].IsString();
    if (has_host) host = info[1].As<Napi::String>();
    gnutls_session_set_verify_cert(s, has_host ? host.c_str() : nullptr, 0);
  } else {
    gnutls_session_set_verify_function(s, nullptr);
  }
  return info.Env().Undefined();
}

Napi::Value Session::EnableKeylog(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  keylog_ = info[0].ToBoolean();
  gnutls_session_set_keylog_function(s, keylog_ ? Keylog : nullptr);
  return info.Env().Undefined();
}

Napi::Value Session::EnableTickets(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  Context* ctx = Context::Unwrap(info[0].As<Napi::Object>());
  if (ctx->ticket_key()) {
    int ret = gnutls_session_ticket_enable_server(s, ctx->ticket_key());
    if (ret < 0) ThrowGnutls(info.Env(), ret, "gnutls_session_ticket_enable_server");
  }
  return info.Env().Undefined();
}

Napi::Value Session::HoldClientHello(const Napi::CallbackInfo& info) {
  Live(info);
  hold_hello_ = info[0].ToBoolean();
  return info.Env().Undefined();
}

// ---- record I/O --------------------------------------------------------------------------------

Napi::Value Session::Feed(const Napi::CallbackInfo& info) {
  Live(info);
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  // GnuTLS reads the chunk where it is (no copy); it stays referenced until read or adopted.
  Settle(true);
  in_.SetExternal(buf.Data(), buf.Length());
  fed_ref_ = Napi::Persistent(buf.As<Napi::Object>());
  PublishState();
  return Napi::Number::New(info.Env(), static_cast<double>(in_.Pending()));
}

// Drops the reference to the last fed chunk once GnuTLS has read all of it; with `adopt`, copies
// what is left of it inside first (GnuTLS waits for more input: an idle session keeps no chunk).
void Session::Settle(bool adopt) {
  if (!in_.HasExternal()) return;
  if (adopt) in_.AdoptExternal();
  else if (in_.Pending() == 0) in_.AdoptExternal();
  if (!in_.HasExternal() && !fed_ref_.IsEmpty()) fed_ref_.Reset();
}

// nextRecordType(): the content type of the record GnuTLS reads next or is inside (20 CCS,
// 21 alert, 22 handshake, 23 application data), or -1 when nothing is fed. Only meaningful
// before TLS 1.3 hides the types.
Napi::Value Session::NextRecordType(const Napi::CallbackInfo& info) {
  Live(info);
  return Napi::Number::New(info.Env(), in_.NextType());
}

// handshake(holdAppData?): gnutls_handshake(); with holdAppData, application-data records are
// not handed to it (GnuTLS restarts a re-handshake that meets one): read them with recv(_, 2).
Napi::Value Session::Handshake(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  hold_app_data_ = info.Length() > 0 && info[0].ToBoolean();
  int ret = RunWhileConsuming([s] { return gnutls_handshake(s); });
  hold_app_data_ = false;
  if (ret == GNUTLS_E_SUCCESS) established_ = true;
  Settle(ret == GNUTLS_E_AGAIN);
  return Napi::Number::New(info.Env(), ret);
}

// recv(maxBytes): decrypts what the fed ciphertext holds, up to maxBytes. Returns a Buffer of
// plaintext, or a number: the GnuTLS code that stopped it (GNUTLS_E_AGAIN: needs more input;
// 0: close_notify received; GNUTLS_E_REHANDSHAKE, GNUTLS_E_REAUTH_REQUEST, alerts, errors).
// A code met after some plaintext was collected is kept and returned by the next call.
Napi::Value Session::Recv(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  Napi::Env env = info.Env();
  if (pending_code_ != kNoCode) {
    int code = pending_code_;
    pending_code_ = kNoCode;
    return Napi::Number::New(env, code);
  }
  size_t max = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : (1u << 20);
  // mode 1: take only application data GnuTLS already decrypted and buffered (after
  // GNUTLS_E_GOT_APPLICATION_DATA in a handshake or re-auth), reading no further records.
  // mode 2: read application-data records up to the next record of another type (TLS <= 1.2,
  // during a re-handshake, so that gnutls_handshake() never meets application data).
  unsigned mode = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  std::vector<uint8_t>& plain = addon_->recv_scratch;
  if (plain.size() < kRecvChunk) plain.resize(kRecvChunk);
  max = std::min(max, plain.size());
  int code = GNUTLS_E_AGAIN;
  size_t got = RecvInto(s, plain.data(), max, mode, &code);
  if (got == 0) return Napi::Number::New(env, static_cast<double>(code));
  if (code != GNUTLS_E_AGAIN) pending_code_ = code;
  return Napi::Buffer<uint8_t>::Copy(env, plain.data(), got);
}

// GnuTLS reads one record per call while it assembles a handshake message, and answers
// GNUTLS_E_AGAIN after each record of a message that spans several (a large ClientHello, a long
// certificate chain): call it again while it consumes input and input is left.
int Session::RunWhileConsuming(const std::function<int()>& step) {
  for (;;) {
    size_t before = in_.Consumed();
    int ret = step();
    if (ret != GNUTLS_E_AGAIN || close_pending_ || in_.Consumed() == before || in_.Pending() == 0) return ret;
  }
}

// Decrypts into dst[0..max) what the fed ciphertext holds; *code is the GnuTLS code that stopped
// it (GNUTLS_E_AGAIN: needs more input; 0: close_notify; GNUTLS_E_REHANDSHAKE, alerts, errors).
size_t Session::RecvInto(gnutls_session_t s, uint8_t* dst, size_t max, unsigned mode, int* code) {
  size_t got = 0;
  *code = GNUTLS_E_AGAIN;
  while (got < max) {
    if (mode == 1 && gnutls_record_check_pending(s) == 0) break;
    if (mode == 2 && gnutls_record_check_pending(s) == 0 && in_.NextType() != kApplicationData) break;
    size_t consumed_before = in_.Consumed();
    ssize_t r = gnutls_record_recv(s, dst + got, max - got);
    // After a post-handshake message (NewSessionTicket, KeyUpdate, ...) GnuTLS answers
    // GNUTLS_E_AGAIN although more records may be waiting: retry while input is being consumed.
    if (r == GNUTLS_E_AGAIN && in_.Consumed() != consumed_before) continue;
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    *code = static_cast<int>(r);
    break;
  }
  Settle(got == 0 && *code == GNUTLS_E_AGAIN);
  in_.Trim();
  return got;
}

// receive(chunk | undefined, plain, offset, max): feed(chunk), then decrypt into
// plain[offset..offset+max) in one call. Returns the plaintext byte count; the code that stopped
// it, the event bits and what output()/takeKeylog() hold are in the state array.
Napi::Value Session::Receive(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  Napi::Env env = info.Env();
  if (info[0].IsBuffer()) {
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    Settle(true);
    in_.SetExternal(buf.Data(), buf.Length());
    fed_ref_ = Napi::Persistent(buf.As<Napi::Object>());
  }
  auto plain = info[1].As<Napi::Buffer<uint8_t>>();
  size_t off = info[2].As<Napi::Number>().Uint32Value();
  size_t max = info[3].As<Napi::Number>().Uint32Value();
  if (off > plain.Length()) throw Napi::RangeError::New(env, "receive: offset outside the buffer");
  max = std::min(max, plain.Length() - off);
  int code = GNUTLS_E_AGAIN;
  size_t got = 0;
  if (pending_code_ != kNoCode) {
    code = pending_code_;
    pending_code_ = kNoCode;
  } else {
    got = RecvInto(s, plain.Data() + off, max, 0, &code);
  }
  if (state_) state_[0] = code;
  return Napi::Number::New(env, static_cast<double>(got));
}

// setStateArray(Int32Array(5)): where receive(), send() and handshake() leave [code, event bits
// (JS clears them), bytes waiting in output(), lines waiting in takeKeylog(), input bytes not yet
// decrypted (fed ciphertext plus plaintext GnuTLS holds)].
Napi::Value Session::SetStateArray(const Napi::CallbackInfo& info) {
  Live(info);
  auto arr = info[0].As<Napi::Int32Array>();
  if (arr.ElementLength() < 5) throw Napi::RangeError::New(info.Env(), "setStateArray: needs 5 elements");
  state_ref_ = Napi::Persistent(arr);
  state_ = arr.Data();
  return info.Env().Undefined();
}

void Session::PublishState() {
  if (!state_) return;
  state_[1] |= static_cast<int32_t>(events_);
  events_ = 0;
  state_[2] = static_cast<int32_t>(out_.size());
  state_[3] = static_cast<int32_t>(keylog_lines_.size());
  size_t queued = in_.Pending();
  if (session_) queued += gnutls_record_check_pending(session_);
  state_[4] = static_cast<int32_t>(std::min<size_t>(queued, INT32_MAX));
}

// send(buf | buf[]): encrypts everything (records corked together); returns bytes or a code.
Napi::Value Session::Send(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  Napi::Env env = info.Env();
  std::vector<Napi::Buffer<uint8_t>> bufs;
  if (info[0].IsArray()) {
    Napi::Array arr = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) bufs.push_back(arr.Get(i).As<Napi::Buffer<uint8_t>>());
  } else {
    bufs.push_back(info[0].As<Napi::Buffer<uint8_t>>());
  }
  // send(data, slab, offset): ciphertext goes into slab[offset..] as far as it fits (the result
  // is then that byte count, the rest waits in output()); without a slab, the plaintext count.
  bool direct = info.Length() > 2 && info[1].IsBuffer();
  if (direct) {
    auto slab = info[1].As<Napi::Buffer<uint8_t>>();
    size_t off = info[2].As<Napi::Number>().Uint32Value();
    if (off > slab.Length()) throw Napi::RangeError::New(env, "send: offset outside the slab");
    direct_ = slab.Data() + off;
    direct_cap_ = slab.Length() - off;
    direct_used_ = 0;
  }
  struct Reset {
    Session* self;
    ~Reset() { self->direct_ = nullptr; }
  } reset{this};
  bool cork = bufs.size() > 1;
  if (cork) gnutls_record_cork(s);
  double total = 0;
  for (auto& b : bufs) {
    size_t off = 0;
    while (off < b.Length()) {
      ssize_t r = gnutls_record_send(s, b.Data() + off, b.Length() - off);
      if (r < 0) {
        if (cork) gnutls_record_uncork(s, 0);
        return Napi::Number::New(env, static_cast<double>(r));
      }
      off += static_cast<size_t>(r);
    }
    total += static_cast<double>(b.Length());
  }
  if (cork) {
    int r = gnutls_record_uncork(s, GNUTLS_RECORD_WAIT);
    if (r < 0) return Napi::Number::New(env, r);
  }
  if (direct) return Napi::Number::New(env, static_cast<double>(direct_used_));
  return Napi::Number::New(env, total);
}

// output(): the ciphertext produced since the last call, or undefined.
Napi::Value Session::Output(const Napi::CallbackInfo& info) {
  if (out_.empty()) return info.Env().Undefined();
  Napi::Value buf = Napi::Buffer<uint8_t>::Copy(info.Env(), out_.data(), out_.size());
  if (state_) state_[2] = 0;
  if (out_.capacity() > kKeepCapacity) std::vector<uint8_t>().swap(out_);
  else out_.clear();
  return buf;
}

// reauth(): gnutls_reauth() — TLS 1.3 post-handshake authentication (server asks, client answers).
Napi::Value Session::Reauth(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  return Napi::Number::New(info.Env(), RunWhileConsuming([s] { return gnutls_reauth(s, 0); }));
}

// rehandshake(): gnutls_rehandshake() — HelloRequest under TLS 1.2, a key update asking the
// peer to update too under TLS 1.3.
Napi::Value Session::Rehandshake(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  return Napi::Number::New(info.Env(), gnutls_rehandshake(s));
}

// keyUpdate(requestPeer): gnutls_session_key_update() (TLS 1.3 only).
Napi::Value Session::KeyUpdate(const Napi::CallbackInfo& info) {
  unsigned flags = info[0].ToBoolean() ? GNUTLS_KU_PEER : 0;
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  return Napi::Number::New(info.Env(), gnutls_session_key_update(s, flags));
}

Napi::Value Session::Bye(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  return Napi::Number::New(info.Env(), gnutls_bye(s, GNUTLS_SHUT_WR));
}

// sendAlert(level, description)
Napi::Value Session::SendAlert(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  auto level = static_cast<gnutls_alert_level_t>(info[0].As<Napi::Number>().Int32Value());
  auto desc = static_cast<gnutls_alert_description_t>(info[1].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), gnutls_alert_send(s, level, desc));
}

// sendAppropriateAlert(code): the alert GnuTLS maps to a handshake failure code, if any.
Napi::Value Session::SendAppropriateAlert(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  CallScope scope(this);
  return Napi::Number::New(info.Env(), gnutls_alert_send_appropriate(s, info[0].As<Napi::Number>().Int32Value()));
}

Napi::Value Session::LastAlert(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), gnutls_alert_get(Live(info)));
}

Napi::Value Session::TakeEvents(const Napi::CallbackInfo& info) {
  uint32_t ev = events_;
  events_ = 0;
  if (state_) {
    ev |= static_cast<uint32_t>(state_[1]);
    state_[1] = 0;
  }
  return Napi::Number::New(info.Env(), ev);
}

Napi::Value Session::TakeKeylog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (keylog_lines_.empty()) return env.Undefined();
  Napi::Array arr = Napi::Array::New(env, keylog_lines_.size());
  for (size_t i = 0; i < keylog_lines_.size(); i++)
    arr.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, keylog_lines_[i].data(), keylog_lines_[i].size()));
  keylog_lines_.clear();
  if (state_) state_[3] = 0;
  return arr;
}

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

Napi::Value Session::CloseMethod(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

}  // namespace ngtls
