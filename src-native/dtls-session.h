// DtlsSession: one gnutls_session_t in datagram mode (GNUTLS_DATAGRAM | GNUTLS_NONBLOCK) over an
// in-memory transport. JS queues received datagrams (feed), GnuTLS reads exactly one per pull,
// and every push is one datagram JS sends as is (takeOutput keeps the boundaries). Retransmission
// is driven from JS: after GNUTLS_E_AGAIN, timeout() says when to call handshake() again.
// Credentials and priorities come from a Context; GnuTLS codes come back as data, no policy here.
#pragma once
#include <napi.h>
#include <gnutls/gnutls.h>
#include <gnutls/dtls.h>

#include <deque>
#include <vector>

#include "session-common.h"

namespace ngtls {
class Addon;
class Context;

class DtlsSession : public Napi::ObjectWrap<DtlsSession> {
 public:
  static Napi::Function Init(Napi::Env env, Addon* addon);
  // Stateless cookie exchange (RFC 6347 4.2.1), exported as plain functions.
  static void RegisterCookieFunctions(Napi::Env env, Napi::Object exports);
  explicit DtlsSession(const Napi::CallbackInfo& info);  // (context, isServer)
  ~DtlsSession() override;

  static constexpr size_t kMaxQueued = 64;  // datagrams waiting for GnuTLS; more are dropped

 private:
  void Close();
  gnutls_session_t Live(const Napi::CallbackInfo& info);
  friend class CallDepthScope<DtlsSession>;
  using CallScope = CallDepthScope<DtlsSession>;
  void OutermostCallDone() {
    if (close_pending_) Close();
  }
  static void EnvCleanup(void* arg);
  static ssize_t Pull(gnutls_transport_ptr_t ptr, void* data, size_t len);
  static ssize_t Push(gnutls_transport_ptr_t ptr, const void* data, size_t len);
  static int PullTimeout(gnutls_transport_ptr_t ptr, unsigned int ms);
  static int PskServer(gnutls_session_t s, const gnutls_datum_t* username, gnutls_datum_t* key);
  static int PskClient(gnutls_session_t s, gnutls_datum_t* username, gnutls_datum_t* key);

  Napi::Value SetServerName(const Napi::CallbackInfo& info);
  Napi::Value SetAlpn(const Napi::CallbackInfo& info);
  Napi::Value SetCertRequest(const Napi::CallbackInfo& info);
  Napi::Value SetVerifyCert(const Napi::CallbackInfo& info);
  Napi::Value SetPsk(const Napi::CallbackInfo& info);
  Napi::Value SetMtu(const Napi::CallbackInfo& info);
  Napi::Value SetTimeouts(const Napi::CallbackInfo& info);
  Napi::Value SetSrtpProfiles(const Napi::CallbackInfo& info);
  Napi::Value SetPrestate(const Napi::CallbackInfo& info);
  Napi::Value Feed(const Napi::CallbackInfo& info);
  Napi::Value Handshake(const Napi::CallbackInfo& info);
  Napi::Value Receive(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value TakeOutput(const Napi::CallbackInfo& info);
  Napi::Value Bye(const Napi::CallbackInfo& info);
  Napi::Value Timeout(const Napi::CallbackInfo& info);
  Napi::Value DataMtu(const Napi::CallbackInfo& info);
  Napi::Value LastAlert(const Napi::CallbackInfo& info);
  Napi::Value SendAlert(const Napi::CallbackInfo& info);
  Napi::Value SendAppropriateAlert(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value PeerCertificates(const Napi::CallbackInfo& info);
  Napi::Value OwnCertificate(const Napi::CallbackInfo& info);
  Napi::Value VerifyPeer(const Napi::CallbackInfo& info);
  Napi::Value ExportKeyingMaterial(const Napi::CallbackInfo& info);
  Napi::Value ChannelBinding(const Napi::CallbackInfo& info);
  Napi::Value SrtpProfile(const Napi::CallbackInfo& info);
  Napi::Value SrtpKeys(const Napi::CallbackInfo& info);
  Napi::Value Discarded(const Napi::CallbackInfo& info);
  Napi::Value CloseMethod(const Napi::CallbackInfo& info);

  Addon* addon_;
  EnvHook env_hook_;
  gnutls_session_t session_ = nullptr;
  Napi::ObjectReference context_ref_;
  bool is_server_ = false;
  bool established_ = false;
  PskCredentials psk_;
  std::deque<std::vector<uint8_t>> in_;   // datagrams received, not yet read by GnuTLS
  std::vector<std::vector<uint8_t>> out_;  // datagrams GnuTLS wrote, not yet taken by JS
  int depth_ = 0;
  bool close_pending_ = false;
};

}  // namespace ngtls
