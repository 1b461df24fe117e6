// What the TLS Session and the DtlsSession share: one gnutls_session_t each, configured, queried
// and torn down by the same rules. Free functions over gnutls_session_t (each session keeps its
// own lifetime and transport), plus the PSK credentials a session owns.
#pragma once
#include <napi.h>
#include <gnutls/gnutls.h>

#include <cstddef>
#include <cstdint>

namespace ngtls {

Napi::Value StrOrNull(Napi::Env env, const char* s);
// A gnutls_malloc() copy GnuTLS takes ownership of; false when out of memory.
bool GnutlsCopy(gnutls_datum_t* out, const uint8_t* p, size_t n);

// ---- lifetime ----------------------------------------------------------------------------------

class Addon;

// Marks a call of session T that runs GnuTLS (which may call back into JS, e.g. the PSK callback,
// where the user may destroy the socket): T::Close() meanwhile only takes effect when the
// outermost scope ends (T::OutermostCallDone()), so gnutls_deinit() never runs under
// gnutls_handshake() on the same stack.
template <class T>
class CallDepthScope {
 public:
  explicit CallDepthScope(T* s) : self_(s) { self_->depth_++; }
  ~CallDepthScope() {
    if (--self_->depth_ == 0) self_->OutermostCallDone();
  }
  CallDepthScope(const CallDepthScope&) = delete;
  CallDepthScope& operator=(const CallDepthScope&) = delete;

 private:
  T* self_;
};

// Close() while one of the session's calls is on the stack (depth > 0) is only marked pending;
// true when it is deferred, false when the caller frees now (the mark cleared).
inline bool CloseDeferred(int depth, bool& close_pending) {
  close_pending = depth > 0;
  return close_pending;
}
// s, or a GNUTLS_E_INVALID_SESSION throw when the session is closed or closing.
gnutls_session_t LiveOrThrow(Napi::Env env, gnutls_session_t s, bool close_pending);
// The environment cleanup hook that closes a session still alive when its environment (a worker
// thread) goes away; registered at most once, removed by Remove().
class EnvHook {
 public:
  void Add(napi_env env, void (*fn)(void*), void* arg);
  void Remove();

 private:
  napi_env env_ = nullptr;  // set while the hook is registered
  void (*fn_)(void*) = nullptr;
  void* arg_ = nullptr;
};
// gnutls_init(GNUTLS_SERVER or GNUTLS_CLIENT | GNUTLS_NONBLOCK | flags) into *s, counted in the
// addon's live sessions, with the environment cleanup hook, the session pointer (what GnuTLS
// callbacks get back, self) and the in-memory transport's pull side. Throws the GnuTLS error
// (*s null, nothing to free).
void InitSession(Napi::Env env, gnutls_session_t* s, bool is_server, unsigned flags, Addon* addon, EnvHook* hook,
                 void (*cleanup)(void*), void* self, gnutls_pull_func pull, gnutls_pull_timeout_func pull_timeout);
// sendAlert(level, description) and sendAppropriateAlert(code): the GnuTLS code.
int SendAlert(const Napi::CallbackInfo& info, gnutls_session_t s);
int SendAppropriateAlert(const Napi::CallbackInfo& info, gnutls_session_t s);

// ---- configuration (throw the GnuTLS error) ----------------------------------------------------

void SetServerName(Napi::Env env, gnutls_session_t s, const Napi::Value& name);
// protocols: string[]; flags: gnutls_alpn_set_protocols() flags, 0 when not a number.
void SetAlpn(Napi::Env env, gnutls_session_t s, const Napi::Value& protocols, const Napi::Value& flags);
// mode: 0 ignore | 1 request | 2 require (larger values require).
void SetCertRequest(gnutls_session_t s, unsigned mode);
// mode 1: GnuTLS verifies the peer in the handshake against `host` when a string (a missing
// certificate fails too); 2: the same, only when certificates were sent; others: nothing set.
void SetVerifyCert(const Napi::CallbackInfo& info, gnutls_session_t s, unsigned mode);

// ---- what was negotiated -----------------------------------------------------------------------

// info(): lib/native.ts NativeInfo's fields in INFO_FIELDS order. The ClientHello facts (server)
// come from the caller.
Napi::Array NegotiatedInfo(Napi::Env env, gnutls_session_t s, bool established, bool is_server,
                           bool status_requested, Napi::Value client_alpn, unsigned offered_versions);
Napi::Value PeerCertificates(Napi::Env env, gnutls_session_t s);
Napi::Value OwnCertificate(Napi::Env env, gnutls_session_t s);
// gnutls_certificate_status_t bits (0 = trusted), or a negative code.
Napi::Value VerifyPeer(Napi::Env env, gnutls_session_t s);
// exportKeyingMaterial(label, length, context?) per RFC 5705 / RFC 8446 7.5.
Napi::Value ExportKeyingMaterial(const Napi::CallbackInfo& info, gnutls_session_t s);
// gnutls_session_channel_binding()'s code; when >= 0, *out is the binding's copy.
int ChannelBinding(Napi::Env env, gnutls_session_t s, unsigned type, Napi::Value* out);

// ---- PSK ---------------------------------------------------------------------------------------

// The PSK credentials and JS callback of one session. Server: callback(identity) → Buffer | null.
// Client: callback(hint | null) → { identity, psk } | null. A throw or a wrong shape refuses.
class PskCredentials {
 public:
  PskCredentials() = default;
  PskCredentials(const PskCredentials&) = delete;
  PskCredentials& operator=(const PskCredentials&) = delete;

  // setPsk(callback, hint?) on s; server_fn / client_fn are the session's GnuTLS callbacks.
  void Set(const Napi::CallbackInfo& info, gnutls_session_t s, bool is_server,
           gnutls_psk_server_credentials_function2* server_fn, gnutls_psk_client_credentials_function2* client_fn);
  void Free();  // after gnutls_deinit() of the session using them
  int ServerKey(Napi::Env env, const gnutls_datum_t* username, gnutls_datum_t* key);
  // no_offer_on_null: an answer that is not an object offers NoPskOffer()'s identity instead.
  int ClientKey(Napi::Env env, gnutls_session_t s, gnutls_datum_t* username, gnutls_datum_t* key, bool no_offer_on_null);

 private:
  gnutls_psk_server_credentials_t server_ = nullptr;
  gnutls_psk_client_credentials_t client_ = nullptr;
  Napi::FunctionReference cb_;
};

// A random identity and key no server knows: what a TLS 1.3 client offers when its callback
// answers null before any ServerHello (GnuTLS cannot leave the offer out).
int NoPskOffer(gnutls_datum_t* username, gnutls_datum_t* key);

}  // namespace ngtls
