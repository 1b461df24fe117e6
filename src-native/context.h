// Context: what a SecureContext owns natively. Certificate credentials (own key/chain, trust list,
// CRLs), the parsed priority cache and the session-ticket key. Parsed once, shared by every
// session made from it.
#pragma once
#include <napi.h>
#include <gnutls/gnutls.h>

#include <ctime>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace ngtls {
class Addon;

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Init(Napi::Env env, Addon* addon);
  explicit Context(const Napi::CallbackInfo& info);
  ~Context() override;

  gnutls_certificate_credentials_t creds() const { return creds_; }
  gnutls_priority_t priority();  // "NORMAL" until setPriority
  // What server sessions use: the priority without what only a client may offer (DHE without
  // dhparam), else the same. Parsed on first use: a client context never needs it.
  gnutls_priority_t server_priority();
  const gnutls_datum_t* ticket_key() const { return ticket_key_.data ? &ticket_key_ : nullptr; }

  // TLS 1.2 session-ID cache for servers made from this context (GnuTLS db callbacks).
  void CacheStore(const gnutls_datum_t& key, const gnutls_datum_t& data);
  gnutls_datum_t CacheFetch(const gnutls_datum_t& key);  // gnutls_malloc'ed copy, or {nullptr, 0}
  void CacheRemove(const gnutls_datum_t& key);
  unsigned session_timeout() const { return session_timeout_; }

  static int OcspStatus(gnutls_session_t s, void* ptr, gnutls_datum_t* resp);

 private:
  Napi::Value SetPriority(const Napi::CallbackInfo& info);
  Napi::Value SharePriority(const Napi::CallbackInfo& info);
  Napi::Value AddTrust(const Napi::CallbackInfo& info);
  Napi::Value UseSystemTrust(const Napi::CallbackInfo& info);
  Napi::Value AddKeyPair(const Napi::CallbackInfo& info);
  Napi::Value AddPkcs12(const Napi::CallbackInfo& info);
  Napi::Value AddCrl(const Napi::CallbackInfo& info);
  Napi::Value AddUrlKeyPair(const Napi::CallbackInfo& info);    // context-keys.cc
  Napi::Value AddRawPublicKey(const Napi::CallbackInfo& info);  // context-keys.cc
  int Added(Napi::Env env, int ret, const char* what);  // throws on error; installs the OCSP hook
  Napi::Value EnableTickets(const Napi::CallbackInfo& info);
  Napi::Value GetTicketKey(const Napi::CallbackInfo& info);
  Napi::Value SetTicketKey(const Napi::CallbackInfo& info);
  Napi::Value SetSessionCache(const Napi::CallbackInfo& info);
  Napi::Value SetDhParams(const Napi::CallbackInfo& info);

  gnutls_certificate_credentials_t creds_ = nullptr;
  // One parse of a priority string (8 KiB each), shared by the contexts made with the same one
  // (sharePriority): a client makes a context per connection. Sessions hold GnuTLS's own count.
  struct Priorities {
    gnutls_priority_t client = nullptr;
    gnutls_priority_t server = nullptr;  // the server variant, parsed by server_priority()
    std::string server_str;              // set by setPriority
    Priorities() = default;
    Priorities(const Priorities&) = delete;
    Priorities& operator=(const Priorities&) = delete;
    ~Priorities();
  };
  std::shared_ptr<Priorities> priorities_;
  static constexpr unsigned kSmallTrustTable = 16;
  bool trust_added_ = false;  // the trust list holds certificates (its table size is then kept)
  void UseTrustTable(unsigned size);
  gnutls_datum_t ticket_key_ = {nullptr, 0};
  gnutls_dh_params_t dh_params_ = nullptr;  // given DH group (dhparam); the credentials point to it
  std::vector<std::unique_ptr<std::string>> pins_;  // PINs of token keys, read by GnuTLS at signing

  struct Entry {
    std::vector<uint8_t> data;
    time_t expires;
  };
  std::unordered_map<std::string, Entry> cache_;
  std::deque<std::string> cache_order_;  // insertion order, for eviction
  size_t cache_max_ = 20480;             // Node's (OpenSSL's) default size
  unsigned session_timeout_ = 300;       // seconds; Node's default sessionTimeout
};

}  // namespace ngtls
