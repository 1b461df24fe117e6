// Per-environment state of the addon: constructors and the error class handed in by lib/native.ts.
// Nothing here is static, so the addon loads in several worker_threads at once.
#pragma once
#include <napi.h>
#include <gnutls/gnutls.h>
#include <string>
#include <vector>

namespace ngtls {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);

  Napi::FunctionReference context_ctor;
  Napi::FunctionReference session_ctor;
  Napi::FunctionReference dtls_session_ctor;
  Napi::FunctionReference error_ctor;  // set by setErrorClass(); falls back to Error
  int64_t live_sessions = 0;           // debug counter: sessions not yet deinitialised
  // Decrypt scratch shared by this environment's sessions (all calls run on its JS thread, one at
  // a time), so an idle session holds no plaintext buffer of its own.
  std::vector<uint8_t> recv_scratch;
  // Ciphertext read from attached descriptors (session-fd.cc), decrypted before the next read.
  std::vector<uint8_t> fd_read_buf;
  // Ciphertext of one send() on an attached descriptor, written when it ends (session-fd.cc).
  std::vector<uint8_t> fd_batch;
  const void* fd_batch_owner = nullptr;

  static Addon* Of(Napi::Env env) { return env.GetInstanceData<Addon>(); }

 private:
  Napi::Value SetErrorClass(const Napi::CallbackInfo& info);
  Napi::Value ErrorName(const Napi::CallbackInfo& info);
  Napi::Value StrError(const Napi::CallbackInfo& info);
  Napi::Value AlertName(const Napi::CallbackInfo& info);
  Napi::Value Version(const Napi::CallbackInfo& info);
  Napi::Value LiveSessions(const Napi::CallbackInfo& info);
  Napi::Value CipherSuites(const Napi::CallbackInfo& info);
  Napi::Value SystemTrust(const Napi::CallbackInfo& info);
  Napi::Value AddPkcs11Provider(const Napi::CallbackInfo& info);
};

// Builds an error of the class TS registered: new ErrorClass(message, gnutlsCode, gnutlsName).
Napi::Error MakeGnutlsError(Napi::Env env, int code, const std::string& what);

// Throws it (node-addon-api C++ exceptions are enabled).
[[noreturn]] void ThrowGnutls(Napi::Env env, int code, const std::string& what);

}  // namespace ngtls
