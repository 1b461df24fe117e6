// Context: what a SecureContext owns natively. Certificate credentials (own key/chain, trust list,
// CRLs), the parsed priority cache and the session-ticket key. Parsed once, shared by every
// session made from it.
#pragma once
#include <napi.h>
#include <gnutls/gnutls.h>

namespace ngtls {
class Addon;

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Init(Napi::Env env, Addon* addon);
  explicit Context(const Napi::CallbackInfo& info);
  ~Context() override;

  gnutls_certificate_credentials_t creds() const { return creds_; }
  gnutls_priority_t priority() const { return priority_; }
  const gnutls_datum_t* ticket_key() const { return ticket_key_.data ? &ticket_key_ : nullptr; }

 private:
  Napi::Value SetPriority(const Napi::CallbackInfo& info);
  Napi::Value AddTrust(const Napi::CallbackInfo& info);
  Napi::Value UseSystemTrust(const Napi::CallbackInfo& info);
  Napi::Value AddKeyPair(const Napi::CallbackInfo& info);
  Napi::Value AddPkcs12(const Napi::CallbackInfo& info);
  Napi::Value AddCrl(const Napi::CallbackInfo& info);
  Napi::Value EnableTickets(const Napi::CallbackInfo& info);
  Napi::Value GetTicketKey(const Napi::CallbackInfo& info);
  Napi::Value SetTicketKey(const Napi::CallbackInfo& info);

  gnutls_certificate_credentials_t creds_ = nullptr;
  gnutls_priority_t priority_ = nullptr;
  gnutls_datum_t ticket_key_ = {nullptr, 0};
};

}  // namespace ngtls
