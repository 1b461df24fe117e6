// Session: one gnutls_session_t driven over an in-memory transport. The JS side feeds ciphertext
// in (feed), drives GnuTLS one step per call (handshake/recv/send/bye/...) and collects the
// ciphertext GnuTLS produced (output). GnuTLS return codes come back as numbers; no policy here.
#pragma once
#include <napi.h>
#include <gnutls/gnutls.h>
#include <sys/uio.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "record-queue.h"
#include "session-common.h"

namespace ngtls {
class Addon;
class Context;
struct FdPoll;

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Init(Napi::Env env, Addon* addon);
  explicit Session(const Napi::CallbackInfo& info);  // (context, isServer, initFlags)
  ~Session() override;

  // Bits reported by takeEvents(), set by GnuTLS hooks (never by calling into JS).
  int StapledResponse(gnutls_datum_t* resp);  // OCSP response for Context::OcspStatus

  enum Event : uint32_t {
    kTicketReceived = 1,     // TLS 1.3 NewSessionTicket / TLS 1.2 ticket arrived (client)
    kKeyUpdateReceived = 2,  // TLS 1.3 KeyUpdate from the peer
  };
  // (A HelloRequest or post-handshake CertificateRequest shows as GNUTLS_E_REHANDSHAKE /
  // GNUTLS_E_REAUTH_REQUEST from recv(), so they need no event bit.)

 private:
  void Close();  // deferred while a call into GnuTLS is on the stack (see CallScope)
  gnutls_session_t Live(const Napi::CallbackInfo& info);  // throws when closed or closing

  // Marks a call that runs GnuTLS (see CallDepthScope): close() meanwhile waits for the outermost.
  friend class CallDepthScope<Session>;
  using CallScope = CallDepthScope<Session>;
  void OutermostCallDone() {
    if (close_pending_) Close();
    else PublishState();
  }
  void PublishState();  // what JS reads from state_ after each call (see setStateArray)
  // Closes a session still alive when its environment (a worker thread) goes away.
  static void EnvCleanup(void* arg);
  EnvHook env_hook_;

  static ssize_t Pull(gnutls_transport_ptr_t ptr, void* data, size_t len);
  static ssize_t PushVec(gnutls_transport_ptr_t ptr, const giovec_t* iov, int iovcnt);
  static int PullTimeout(gnutls_transport_ptr_t ptr, unsigned int ms);
  static int Hook(gnutls_session_t s, unsigned int htype, unsigned when, unsigned int incoming,
                  const gnutls_datum_t* msg);
  static int Keylog(gnutls_session_t s, const char* label, const gnutls_datum_t* secret);
  static int PskServer(gnutls_session_t s, const gnutls_datum_t* username, gnutls_datum_t* key);
  static int PskClient(gnutls_session_t s, gnutls_datum_t* username, gnutls_datum_t* key);
  static int ClientHelloExtension(void* ctx, unsigned tls_id, const unsigned char* data, unsigned size);
  void NoteClientHello(const gnutls_datum_t* msg);
  static int DbStore(void* ptr, gnutls_datum_t key, gnutls_datum_t data);
  static gnutls_datum_t DbFetch(void* ptr, gnutls_datum_t key);
  static int DbRemove(void* ptr, gnutls_datum_t key);

  Napi::Value SetContext(const Napi::CallbackInfo& info);
  Napi::Value SetServerName(const Napi::CallbackInfo& info);
  Napi::Value SetAlpn(const Napi::CallbackInfo& info);
  Napi::Value SetSessionData(const Napi::CallbackInfo& info);
  Napi::Value SetCertRequest(const Napi::CallbackInfo& info);
  Napi::Value SetVerifyCert(const Napi::CallbackInfo& info);
  Napi::Value EnableKeylog(const Napi::CallbackInfo& info);
  Napi::Value EnableTickets(const Napi::CallbackInfo& info);
  Napi::Value SetMaxHandshakeSize(const Napi::CallbackInfo& info);
  Napi::Value RefuseResumption(const Napi::CallbackInfo& info);
  Napi::Value UseExternalCache(const Napi::CallbackInfo& info);
  Napi::Value SetResumeData(const Napi::CallbackInfo& info);
  Napi::Value TakeStoredSessions(const Napi::CallbackInfo& info);
  Napi::Value Feed(const Napi::CallbackInfo& info);
  Napi::Value NextRecordType(const Napi::CallbackInfo& info);
  Napi::Value Handshake(const Napi::CallbackInfo& info);
  Napi::Value Recv(const Napi::CallbackInfo& info);
  Napi::Value Receive(const Napi::CallbackInfo& info);
  Napi::Value SetStateArray(const Napi::CallbackInfo& info);
  size_t RecvInto(gnutls_session_t s, uint8_t* dst, size_t max, unsigned mode, int* code);
  int RunWhileConsuming(const std::function<int()>& step);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Output(const Napi::CallbackInfo& info);
  Napi::Value Bye(const Napi::CallbackInfo& info);
  Napi::Value TakeTicketCount(const Napi::CallbackInfo& info);
  Napi::Value Reauth(const Napi::CallbackInfo& info);
  Napi::Value Rehandshake(const Napi::CallbackInfo& info);
  Napi::Value KeyUpdate(const Napi::CallbackInfo& info);
  Napi::Value SendAlert(const Napi::CallbackInfo& info);
  Napi::Value SendAppropriateAlert(const Napi::CallbackInfo& info);
  Napi::Value LastAlert(const Napi::CallbackInfo& info);
  Napi::Value TakeEvents(const Napi::CallbackInfo& info);
  Napi::Value TakeKeylog(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value PeerCertificates(const Napi::CallbackInfo& info);
  Napi::Value OwnCertificate(const Napi::CallbackInfo& info);
  Napi::Value VerifyPeer(const Napi::CallbackInfo& info);
  Napi::Value SessionData(const Napi::CallbackInfo& info);
  Napi::Value ExportKeyingMaterial(const Napi::CallbackInfo& info);
  Napi::Value Finished(const Napi::CallbackInfo& info);
  Napi::Value CloseMethod(const Napi::CallbackInfo& info);
  // session-extras.cc
  Napi::Value SetPsk(const Napi::CallbackInfo& info);
  Napi::Value RequestOcsp(const Napi::CallbackInfo& info);
  Napi::Value OcspResponse(const Napi::CallbackInfo& info);
  Napi::Value SetOcspResponse(const Napi::CallbackInfo& info);
  Napi::Value ChannelBinding(const Napi::CallbackInfo& info);
  Napi::Value NoCommonVersion(const Napi::CallbackInfo& info);
  // session-fd.cc: the fd fast path (ciphertext on a duplicate of the transport's descriptor)
  Napi::Value AttachFd(const Napi::CallbackInfo& info);
  Napi::Value FdRead(const Napi::CallbackInfo& info);
  Napi::Value FdRef(const Napi::CallbackInfo& info);
  Napi::Value FdBytesWritten(const Napi::CallbackInfo& info);
  void DetachFd();
  class FdBatch {
   public:
    explicit FdBatch(Session* s);
    ~FdBatch();
    FdBatch(const FdBatch&) = delete;
    FdBatch& operator=(const FdBatch&) = delete;

   private:
    Session* s_;
    bool active_ = false;
  };
  // Every call that drives GnuTLS: a close() meanwhile is deferred (CallScope), and while attached
  // what GnuTLS pushes goes out in one write when the call returns (FdBatch, destroyed first, so
  // before a deferred close). One write per call: separate small writes of one flight (a re-auth's
  // Certificate, CertificateVerify and Finished) would each wait on Nagle for the peer's ACK.
  struct DriveScope {
    explicit DriveScope(Session* s) : call(s), batch(s) {}
    CallScope call;
    FdBatch batch;
  };
  void UpdatePoll();
  ssize_t SendFd(const struct iovec* iov, int iovcnt);
  ssize_t PushFd(const giovec_t* iov, int iovcnt, size_t total);
  bool FlushFd();
  static void OnPoll(uv_poll_t* handle, int status, int events);
  void HandlePoll(int status, int events);
  void ReadFd(Napi::Value* thrown);
  void Notify(int kind, double value, Napi::Value* thrown);

  Addon* addon_;
  gnutls_session_t session_ = nullptr;
  Napi::ObjectReference context_ref_;
  Context* context_ = nullptr;  // kept alive by context_ref_
  bool refuse_resumption_ = false;
  bool is_server_ = false;
  bool established_ = false;  // a handshake completed (some GnuTLS getters need one)
  bool server_hello_seen_ = false;  // client: a ServerHello arrived (PSK callback phase)
  bool external_cache_ = false;  // session-ID cache lives in JS (newSession/resumeSession)
  std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> stored_;  // to hand to JS
  std::pair<std::vector<uint8_t>, std::vector<uint8_t>> resume_;               // from JS
  PskCredentials psk_;
  std::vector<uint8_t> ocsp_response_;  // stapled when the client asks (server)
  bool status_requested_ = false;       // the ClientHello carried status_request (server)
  bool client_alpn_seen_ = false;       // the ClientHello carried ALPN (server)
  std::vector<std::string> client_alpn_;  // the protocols it offered, in its order
  bool no_common_version_ = false;      // its supported_versions named none of ours (server)
  // The versions the ClientHello offered (server): bit n is TLS 1.n (0: 1.0 .. 3: 1.3).
  unsigned offered_versions_ = 0;

  RecordQueue in_;               // ciphertext fed in, not yet read by GnuTLS
  Napi::ObjectReference fed_ref_;  // the last fed Buffer while in_ reads from it
  void Settle(bool adopt);
  bool hold_app_data_ = false;   // Pull hands no application-data record to GnuTLS (re-handshake)
  std::vector<uint8_t> out_;    // ciphertext GnuTLS wrote, not yet taken by JS
  uint8_t* direct_ = nullptr;   // during send(data, slab, offset): where ciphertext goes first
  size_t direct_cap_ = 0, direct_used_ = 0;
  static constexpr int kNoCode = 1;  // pending_code_ when nothing is pending (GnuTLS codes are <= 0)
  int pending_code_;            // a code seen after data was returned; reported by the next recv

  uint32_t events_ = 0;
  uint32_t tickets_received_ = 0;  // NewSessionTickets since the last takeTicketCount()
  int depth_ = 0;               // CallScopes on the stack
  bool close_pending_ = false;  // close() was asked for while depth_ > 0
  // [code, events, output bytes, keylog lines, queued input, bytes waiting for the fd, fd write error]
  Napi::Reference<Napi::Int32Array> state_ref_;
  int32_t* state_ = nullptr;
  size_t state_len_ = 0;
  int fd_ = -1;                  // the duplicate descriptor while attached (session-fd.cc)
  FdPoll* poll_ = nullptr;
  int fd_events_ = 0;            // what poll_ waits for
  bool env_gone_ = false;        // closed by the environment cleanup hook
  bool fd_reading_ = false;
  bool fd_ref_ = true;
  bool fd_is_socket_ = true;
  int fd_error_ = 0;             // errno of the write that failed (kept)
  bool fd_error_told_ = false;   // JS was called about it
  std::vector<uint8_t> fd_out_;  // ciphertext the socket did not take yet, from fd_out_off_
  size_t fd_out_off_ = 0;
  uint64_t fd_bytes_out_ = 0;    // ciphertext handed to the descriptor (sent or queued), kept after close
  Napi::FunctionReference fd_cb_;
  std::unique_ptr<Napi::AsyncContext> fd_async_;
  bool keylog_ = false;
  std::vector<std::string> keylog_lines_;
  std::vector<uint8_t> finished_, peer_finished_;
};

}  // namespace ngtls
