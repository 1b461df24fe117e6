#include "session.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "addon.h"
#include "context.h"

namespace ngtls {
namespace {

const char kHex[] = "0123456789abcdef";
void AppendHex(std::string& s, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    s.push_back(kHex[p[i] >> 4]);
    s.push_back(kHex[p[i] & 15]);
  }
}

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
                                      InstanceMethod("setMaxHandshakeSize", &Session::SetMaxHandshakeSize),
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
                                      InstanceMethod("takeTicketCount", &Session::TakeTicketCount),
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
                                      InstanceMethod("noCommonVersion", &Session::NoCommonVersion),
                                      InstanceMethod("attachFd", &Session::AttachFd),
                                      InstanceMethod("fdRead", &Session::FdRead),
                                      InstanceMethod("fdRef", &Session::FdRef),
                                      InstanceMethod("fdBytesWritten", &Session::FdBytesWritten),
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
  InitSession(env, &session_, is_server, flags, addon_, &env_hook_, EnvCleanup, this, Pull, PullTimeout);
  gnutls_transport_set_vec_push_function(session_, PushVec);
  gnutls_handshake_set_timeout(session_, 0);  // timeouts are the JS side's policy
  gnutls_handshake_set_hook_function(session_, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_BOTH, Hook);
  if (is_server) {
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
  self->env_gone_ = true;
  self->Close();
}

Session::~Session() {
  depth_ = 0;  // a finalizer never runs inside one of this session's calls
  Close();
}

void Session::Close() {
  if (CloseDeferred(depth_, close_pending_)) return;
  env_hook_.Remove();
  DetachFd();
  if (!state_ref_.IsEmpty()) state_ref_.Reset();
  state_ = nullptr;
  if (!session_) return;
  gnutls_deinit(session_);
  session_ = nullptr;
  psk_.Free();
  addon_->live_sessions--;
  if (!context_ref_.IsEmpty()) context_ref_.Reset();
  in_.Clear();
  if (!fed_ref_.IsEmpty()) fed_ref_.Reset();
  std::vector<uint8_t>().swap(out_);
}

gnutls_session_t Session::Live(const Napi::CallbackInfo& info) {
  return LiveOrThrow(info.Env(), session_, close_pending_);
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
      if (incoming) {
        self->events_ |= kTicketReceived;
        self->tickets_received_++;
      }
      break;
    case GNUTLS_HANDSHAKE_KEY_UPDATE:
      if (incoming) self->events_ |= kKeyUpdateReceived;
      break;
    default:
      break;
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
  ret = gnutls_priority_set(s, is_server_ ? ctx->server_priority() : ctx->priority());
  if (ret < 0) ThrowGnutls(info.Env(), ret, "gnutls_priority_set");
  context_ref_.Reset(info[0].As<Napi::Object>(), 1);
  context_ = ctx;
  gnutls_db_set_cache_expiration(s, static_cast<int>(ctx->session_timeout()));
  return info.Env().Undefined();
}

Napi::Value Session::SetServerName(const Napi::CallbackInfo& info) {
  ngtls::SetServerName(info.Env(), Live(info), info[0]);
  return info.Env().Undefined();
}

// setAlpn(protocols: string[], flags)
Napi::Value Session::SetAlpn(const Napi::CallbackInfo& info) {
  ngtls::SetAlpn(info.Env(), Live(info), info[0], info[1]);
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
  ngtls::SetCertRequest(s, info[0].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

// setVerifyCert(mode, hostname?): 0 off; 1 GnuTLS verifies the peer during the handshake and
// fails it (a missing certificate fails too); 2 the same, but only when certificates were sent.
Napi::Value Session::SetVerifyCert(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  unsigned mode = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : (info[0].ToBoolean() ? 1 : 0);
  if (mode == 1 || mode == 2) ngtls::SetVerifyCert(info, s, mode);
  else gnutls_session_set_verify_function(s, nullptr);
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

// setMaxHandshakeSize(bytes): gnutls_handshake_set_max_packet_length(), the most handshake
// message bytes GnuTLS takes in one handshake (GNUTLS_E_HANDSHAKE_TOO_LARGE beyond).
Napi::Value Session::SetMaxHandshakeSize(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  gnutls_handshake_set_max_packet_length(s, static_cast<size_t>(info[0].As<Napi::Number>().Int64Value()));
  return info.Env().Undefined();
}

Napi::Value Session::CloseMethod(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

}  // namespace ngtls
