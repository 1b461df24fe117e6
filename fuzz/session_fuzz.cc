// libFuzzer target for the native input path without Node: a GnuTLS session whose transport pull
// reads from an ngtls::RecordQueue (src-native/record-queue.cc), fed in place and settled the way
// src-native/session.cc does it, and driven the way lib/tls-socket.ts drives it (handshake, recv
// modes 0/1/2, the re-handshake step that holds application data back, reauth, key update,
// renegotiation policies). Nothing here loads Node; credentials come from test/fixtures.
//
// Input layout:
//   byte 0  flags: bit0 scripted mode; bit1 hold-app-data toggle; bits 2-3 versions
//           (0/3 TLS 1.2 + 1.3, 1 TLS 1.3 only, 2 TLS 1.2 only); bit4 server requires a client
//           certificate (verified) in the initial handshake; bit5 server accepts client-initiated
//           renegotiation; bit6 client accepts HelloRequests; bit7 server holds the ClientHello
//           once (the SNI pause of session.cc).
//   byte 1  feed split seed.
//   rest    raw mode: the bytes a client sends, fed to the server in chunks whose sizes come
//           from the split seed; the initial handshake is driven by the re-handshake step
//           (application-data records read first, then gnutls_handshake with holdAppData) when
//           bit1 is set.
//           scripted mode: an in-memory GnuTLS client completes a handshake with the server,
//           then the bytes are a program of operations (writes both ways, rehandshake(), reauth(),
//           key updates, client-initiated renegotiation, close_notify, partial deliveries at
//           input-chosen offsets, injected garbage). Re-handshakes hold application data back
//           (as lib/ does) unless bit1 is set. The program's first byte (taken from the end, as
//           FuzzedDataProvider does) makes the server (bit0) and/or the client (bit1) keep
//           writing during re-handshakes, as gnutls-serv --echo does, instead of holding writes
//           like lib/.
//
// Checks (abort = crash for libFuzzer): the plaintext each side receives is always a prefix of
// what the other side sent; when neither side failed and nothing was injected, everything sent
// arrives and every operation has settled once all bytes are delivered (no hang); a TLS 1.2
// exchange with application data held back, nothing injected and re-handshakes started by one
// side only never fails; the re-handshake step never spins without consuming input.
// ASan/UBSan/LSan check memory: everything is freed per input.
// NGTLS_FUZZ_TRACE=1 prints every operation and GnuTLS result of a run (to replay a finding),
// NGTLS_FUZZ_STATS=1 what the runs reached.
#include <fuzzer/FuzzedDataProvider.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "record-queue.h"

#ifndef NGTLS_FIXTURES
#define NGTLS_FIXTURES "test/fixtures"
#endif

namespace {

[[noreturn]] void Fail(const char* what, long a = 0, long b = 0) {
  std::fprintf(stderr, "session_fuzz: invariant violated: %s (%ld, %ld)\n", what, a, b);
  std::abort();
}

constexpr int kNoCode = 1;
constexpr int kAppData = ngtls::RecordQueue::kApplicationData;
constexpr size_t kRecvChunk = 64 * 1024;

gnutls_certificate_credentials_t g_server_cred = nullptr;
gnutls_certificate_credentials_t g_client_cred = nullptr;
gnutls_priority_t g_prio[3] = {nullptr, nullptr, nullptr};  // both, 1.3 only, 1.2 only
gnutls_datum_t g_ticket_key = {nullptr, 0};
uint8_t g_recv_buf[kRecvChunk];

void Must(int ret, const char* what) {
  if (ret < 0) {
    std::fprintf(stderr, "session_fuzz: %s: %s\n", what, gnutls_strerror(ret));
    std::exit(2);
  }
}

bool IsTls13(gnutls_session_t s) { return gnutls_protocol_get_version(s) == GNUTLS_TLS1_3; }

// GnuTLS itself is not instrumented, so coverage alone sees only this driver and RecordQueue.
// Extra feedback for libFuzzer: one counter per (role, result code, last handshake message in,
// last out), so inputs that take GnuTLS's state machine somewhere new are kept.
__attribute__((used, section("__libfuzzer_extra_counters"))) uint8_t g_state_counters[1 << 14];

// What the runs reached (printed at exit when NGTLS_FUZZ_STATS is set).
struct Stats {
  unsigned long raw = 0, scripted = 0, raw_secure = 0, reauth_ok = 0, answer_ok = 0, reneg_ok_server = 0,
                reneg_ok_client = 0, refused = 0, key_updates = 0, app_bytes = 0, failed = 0, held_app_records = 0;
} g_stats;
bool g_trace = false;  // NGTLS_FUZZ_TRACE: print every operation and state change (to replay a finding)
#define TRACE(...) \
  do {               \
    if (g_trace) std::fprintf(stderr, __VA_ARGS__); \
  } while (0)

void PrintStats() {
  const Stats& t = g_stats;
  std::fprintf(stderr,
               "session_fuzz stats: raw %lu (handshakes completed %lu), scripted %lu; completed: reauth %lu, "
               "reauth answers %lu, re-handshakes (server side) %lu / (client side) %lu; refusals %lu; key updates %lu; "
               "application bytes received %lu (%lu records read while held back); sessions failed %lu\n",
               t.raw, t.raw_secure, t.scripted, t.reauth_ok, t.answer_ok, t.reneg_ok_server, t.reneg_ok_client, t.refused,
               t.key_updates, t.app_bytes, t.held_app_records, t.failed);
}

void Note(gnutls_session_t s, bool server, long code) {
  uint32_t h = static_cast<uint32_t>(code < 0 ? -code : (code > 0 ? 1000 : 0));
  h = h * 31 + static_cast<uint32_t>(gnutls_handshake_get_last_in(s));
  h = h * 31 + static_cast<uint32_t>(gnutls_handshake_get_last_out(s));
  h = h * 2 + (server ? 1 : 0);
  h ^= h >> 15;
  h *= 0x2c1b3c6du;
  h ^= h >> 12;
  uint8_t& c = g_state_counters[h & (sizeof(g_state_counters) - 1)];
  if (c < 255) c++;
}

// One side of a connection: a GnuTLS session over memory, with the engine of lib/tls-socket.ts.
class Endpoint {
 public:
  enum Op { kNone, kHello, kReneg, kReauth, kAnswer };

  Endpoint(bool server, unsigned flags_byte, bool keep_output) : server_(server), keep_output_(keep_output) {
    unsigned flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK | GNUTLS_POST_HANDSHAKE_AUTH;
    if (server) flags |= GNUTLS_NO_TICKETS_TLS12;
    Must(gnutls_init(&s_, flags), "gnutls_init");
    gnutls_transport_set_ptr(s_, this);
    gnutls_session_set_ptr(s_, this);
    gnutls_transport_set_pull_function(s_, Pull);
    gnutls_transport_set_pull_timeout_function(s_, PullTimeout);
    gnutls_transport_set_vec_push_function(s_, PushVec);
    gnutls_handshake_set_timeout(s_, 0);
    unsigned v = (flags_byte >> 2) & 3;
    Must(gnutls_priority_set(s_, g_prio[v == 3 ? 0 : v]), "gnutls_priority_set");
    Must(gnutls_credentials_set(s_, GNUTLS_CRD_CERTIFICATE, server ? g_server_cred : g_client_cred), "gnutls_credentials_set");
    if (server) {
      Must(gnutls_session_ticket_enable_server(s_, &g_ticket_key), "gnutls_session_ticket_enable_server");
      if (flags_byte & 0x10) {
        gnutls_certificate_server_set_request(s_, GNUTLS_CERT_REQUIRE);
        gnutls_session_set_verify_cert(s_, nullptr, 0);
      }
      if (flags_byte & 0x80) {
        hold_hello_ = true;
        gnutls_handshake_set_post_client_hello_function(s_, PostClientHello);
      }
      accept_reneg_ = (flags_byte & 0x20) != 0;
    } else {
      Must(gnutls_server_name_set(s_, GNUTLS_NAME_DNS, "localhost", 9), "gnutls_server_name_set");
      accept_reneg_ = (flags_byte & 0x40) != 0;
    }
  }
  ~Endpoint() {
    gnutls_deinit(s_);
    in_.Clear();
  }
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // ---- transport (as session.cc) ----
  static ssize_t Pull(gnutls_transport_ptr_t ptr, void* data, size_t len) {
    Endpoint* self = static_cast<Endpoint*>(ptr);
    size_t n = self->in_.Pull(static_cast<uint8_t*>(data), len, self->hold_app_data_);
    if (n == 0) {
      gnutls_transport_set_errno(self->s_, EAGAIN);
      return -1;
    }
    return static_cast<ssize_t>(n);
  }
  static int PullTimeout(gnutls_transport_ptr_t ptr, unsigned) {
    return static_cast<Endpoint*>(ptr)->in_.Pending() > 0 ? 1 : 0;
  }
  static ssize_t PushVec(gnutls_transport_ptr_t ptr, const giovec_t* iov, int iovcnt) {
    Endpoint* self = static_cast<Endpoint*>(ptr);
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
      const uint8_t* p = static_cast<const uint8_t*>(iov[i].iov_base);
      if (self->keep_output_) self->out_.insert(self->out_.end(), p, p + iov[i].iov_len);
      total += iov[i].iov_len;
    }
    return static_cast<ssize_t>(total);
  }
  static int PostClientHello(gnutls_session_t s) {
    Endpoint* self = static_cast<Endpoint*>(gnutls_session_get_ptr(s));
    if (self->hold_hello_ && !self->hello_released_) {
      self->hello_released_ = true;
      return GNUTLS_E_AGAIN;  // gnutls_handshake() returns GNUTLS_E_INTERRUPTED
    }
    return 0;
  }

  // ---- input (session.cc Session::Feed / Settle) ----
  // The chunk is read in place: it lives in fed_ (the JS Buffer kept by fed_ref_ in session.cc)
  // until the queue has read or adopted it, and is freed right then, so that ASan reports any
  // later read of it.
  void Feed(const uint8_t* p, size_t n) {
    if (closed_) return;
    Settle(true);
    std::vector<uint8_t>(p, p + n).swap(fed_);
    in_.SetExternal(fed_.data(), fed_.size());
    Pump();
  }
  void Settle(bool adopt) {
    if (!in_.HasExternal()) return;
    if (adopt) in_.AdoptExternal();
    else if (in_.Pending() == 0) in_.AdoptExternal();
    if (!in_.HasExternal()) std::vector<uint8_t>().swap(fed_);
  }

  // ---- the engine (lib/tls-socket.ts _pump / _pumpOnce) ----
  void Pump() {
    for (int rounds = 0; rounds < 64 && !closed_; rounds++) {
      repump_ = false;
      if (state_ == kHandshaking) StepHandshake();
      if (state_ == kSecure && OpRunning()) StepOperation();
      if (state_ == kSecure && !OpRunning() && !ended_) ReadRecords();
      if (state_ == kSecure && (!polite_ || !OpHoldsWrites())) ReleaseWrites();
      if (!repump_) return;
    }
  }

  // ---- operations (the public API of lib/tls-socket.ts) ----
  void Write(const std::vector<uint8_t>& data) {
    if (closed_ || shut_ || data.empty()) return;
    if (state_ != kSecure || (polite_ && OpHoldsWrites()) || !held_.empty()) {
      held_.push_back(data);
      return;
    }
    Send(data);
  }
  void End() {
    if (closed_ || shut_) return;
    if (state_ != kSecure || OpHoldsWrites() || !held_.empty()) {
      end_pending_ = true;
      return;
    }
    gnutls_bye(s_, GNUTLS_SHUT_WR);
    shut_ = true;
  }
  // Server: reauth(); TLS 1.3 post-handshake auth, TLS 1.2 a HelloRequest asking for a certificate.
  void Reauth() {
    if (!server_ || state_ != kSecure || op_ != kNone || closed_) return;
    gnutls_certificate_server_set_request(s_, GNUTLS_CERT_REQUEST);
    if (IsTls13(s_)) {
      if (!(gnutls_session_get_flags(s_) & GNUTLS_SFLAGS_POST_HANDSHAKE_AUTH)) return;
      SetOp(kReauth);
      Pump();
      return;
    }
    SendHelloRequest();
  }
  // rehandshake(): server HelloRequest / client-initiated renegotiation (TLS 1.2), key update
  // asking the peer (TLS 1.3).
  void Rehandshake() {
    if (state_ != kSecure || op_ != kNone || closed_) return;
    if (IsTls13(s_)) {
      KeyUpdate(true);
      return;
    }
    if (!gnutls_safe_renegotiation_status(s_)) return;
    if (server_) {
      SendHelloRequest();
    } else {
      SetOp(kReneg);
      Pump();
    }
  }
  void KeyUpdate(bool peer) {
    if (state_ != kSecure || op_ != kNone || closed_ || !IsTls13(s_)) return;
    int r = gnutls_session_key_update(s_, peer ? GNUTLS_KU_PEER : 0);
    if (r < 0) Failed(r);
    else g_stats.key_updates++;
  }

  // ---- what the checks look at ----
  std::vector<uint8_t>& out() { return out_; }
  gnutls_session_t session() const { return s_; }
  const std::vector<uint8_t>& received() const { return received_; }
  const std::vector<uint8_t>& sent() const { return sent_; }
  bool failed() const { return error_ != 0; }
  int error() const { return error_; }
  bool secure() const { return state_ == kSecure; }
  bool settled() const { return op_ == kNone; }
  bool closing() const { return ended_ || shut_ || end_pending_; }
  int op() const { return op_; }
  size_t pending_input() const { return in_.Pending(); }
  void set_hold_in_reneg(bool v) { hold_in_reneg_ = v; }
  void set_hold_initial(bool v) { hold_initial_ = v; }
  // Impolite: keeps writing after a HelloRequest / during a re-handshake whenever GnuTLS lets it
  // (as gnutls-serv --echo does), so application records arrive in the middle of the peer's handshake.
  void set_polite(bool v) { polite_ = v; }
  void Inject(const uint8_t* p, size_t n) { Feed(p, n); }

 private:
  enum State { kHandshaking, kSecure };

  bool OpRunning() const { return op_ != kNone && op_ != kHello; }
  // Writes wait from a HelloRequest / renegotiation ClientHello until the re-handshake completes.
  bool OpHoldsWrites() const { return op_ == kHello || op_ == kReneg; }

  int Handshake(bool hold) {
    hold_app_data_ = hold;
    int r = gnutls_handshake(s_);
    hold_app_data_ = false;
    Settle(r == GNUTLS_E_AGAIN);
    Note(s_, server_, r);
    TRACE("  %s gnutls_handshake(hold %d): %s\n", server_ ? "server" : "client", hold, gnutls_strerror_name(r) ? gnutls_strerror_name(r) : "0");
    return r;
  }

  // session.cc Session::Recv: plaintext into received_, or a code.
  long Recv(size_t max, unsigned mode) {
    if (pending_code_ != kNoCode) {
      int c = pending_code_;
      pending_code_ = kNoCode;
      return c;
    }
    size_t got = 0;
    for (int guard = 0;; guard++) {
      if (guard > 1000000) Fail("recv loop does not end");
      if (mode == 1 && gnutls_record_check_pending(s_) == 0) break;
      if (mode == 2 && gnutls_record_check_pending(s_) == 0 && in_.NextType() != kAppData) break;
      size_t consumed_before = in_.Consumed();
      ssize_t r = gnutls_record_recv(s_, g_recv_buf, sizeof(g_recv_buf));
      Note(s_, server_, r > 0 ? 1 : static_cast<long>(r));
      TRACE("  %s gnutls_record_recv(mode %u, next type %d): %zd %s\n", server_ ? "server" : "client", mode, in_.NextType(), r, r < 0 ? gnutls_strerror_name(static_cast<int>(r)) : "");
      if (r == GNUTLS_E_AGAIN && in_.Consumed() != consumed_before) continue;
      if (r > 0) {
        g_stats.app_bytes += static_cast<unsigned long>(r);
        if (mode == 2) g_stats.held_app_records++;
        received_.insert(received_.end(), g_recv_buf, g_recv_buf + r);
        got += static_cast<size_t>(r);
        if (got >= max) break;
        continue;
      }
      if (got == 0) {
        Settle(r == GNUTLS_E_AGAIN);
        in_.Trim();
        return static_cast<long>(r);
      }
      if (r != GNUTLS_E_AGAIN) pending_code_ = static_cast<int>(r);
      break;
    }
    Settle(false);
    in_.Trim();
    if (got == 0) return GNUTLS_E_AGAIN;
    return static_cast<long>(got);
  }

  // lib/tls-socket.ts _renegotiationStep: a ClientHello GnuTLS already holds (recv returned
  // GNUTLS_E_REHANDSHAKE) is handshaken first; then application-data records, then the handshake
  // with holdAppData so that gnutls_handshake() never meets one.
  int RenegotiationStep() {
    if (hello_buffered_) {
      hello_buffered_ = false;
      int code = Handshake(true);
      if (code != GNUTLS_E_AGAIN) return code;
    }
    for (int spins = 0;; spins++) {
      size_t consumed = in_.Consumed();
      while (in_.NextType() == kAppData) {
        long r = Recv(kRecvChunk, 2);
        if (r > 0) continue;
        if (r == GNUTLS_E_AGAIN) return GNUTLS_E_AGAIN;
        return r == 0 ? GNUTLS_E_PREMATURE_TERMINATION : static_cast<int>(r);
      }
      int code = Handshake(true);
      if (code != GNUTLS_E_AGAIN || in_.NextType() != kAppData) return code;
      // Going round again must have consumed input, or the loop never ends (a hang in lib/).
      if (spins > 0 && in_.Consumed() == consumed) Fail("re-handshake step spins without consuming input", spins);
    }
  }

  void StepHandshake() {
    for (int spins = 0; spins < 64; spins++) {
      int code = hold_initial_ ? RenegotiationStep() : Handshake(false);
      if (code == GNUTLS_E_SUCCESS) {
        state_ = kSecure;
        if (server_ && !keep_output_) g_stats.raw_secure++;
        return;
      }
      if (code == GNUTLS_E_AGAIN) return;
      if (code == GNUTLS_E_INTERRUPTED) continue;  // ClientHello held once: resume with the same context
      if (code == GNUTLS_E_WARNING_ALERT_RECEIVED) continue;
      if (code != GNUTLS_E_FATAL_ALERT_RECEIVED) gnutls_alert_send_appropriate(s_, code);
      Failed(code);
      return;
    }
  }

  // lib/tls-socket.ts _stepOperation.
  void StepOperation() {
    for (int spins = 0; spins < 1024 && OpRunning() && !closed_; spins++) {
      int code;
      if (op_ == kReauth || op_ == kAnswer) {
        code = gnutls_reauth(s_, 0);
        Note(s_, server_, code);
      } else code = hold_in_reneg_ ? RenegotiationStep() : Handshake(false);
      if (code == GNUTLS_E_SUCCESS) {
        if (op_ == kReauth) g_stats.reauth_ok++;
        else if (op_ == kAnswer) g_stats.answer_ok++;
        else if (server_) g_stats.reneg_ok_server++;
        else g_stats.reneg_ok_client++;
        SetOp(kNone);
        return;
      }
      if (code == GNUTLS_E_AGAIN || code == GNUTLS_E_INTERRUPTED) return;
      if (code == GNUTLS_E_GOT_APPLICATION_DATA) {
        ReadBuffered();
        continue;
      }
      if (code == GNUTLS_E_WARNING_ALERT_RECEIVED) {
        if (gnutls_alert_get(s_) == GNUTLS_A_NO_RENEGOTIATION) {
          g_stats.refused++;
          SetOp(kNone);
          return;
        }
        continue;
      }
      if (code != GNUTLS_E_FATAL_ALERT_RECEIVED) gnutls_alert_send_appropriate(s_, code);
      Failed(code);
      return;
    }
  }

  void ReadBuffered() {
    for (int i = 0; i < 100000; i++) {
      long r = Recv(kRecvChunk, 1);
      if (r <= 0) return;
    }
    Fail("buffered application data does not end");
  }

  // lib/tls-socket.ts _readRecords.
  void ReadRecords() {
    for (int spins = 0; spins < 100000 && state_ == kSecure && !closed_; spins++) {
      long r = Recv(kRecvChunk, 0);
      if (r > 0) continue;
      if (r == GNUTLS_E_AGAIN) return;
      if (r == 0) {
        ended_ = true;  // close_notify: the readable side ends
        return;
      }
      if (r == GNUTLS_E_WARNING_ALERT_RECEIVED) {
        if (op_ == kHello && gnutls_alert_get(s_) == GNUTLS_A_NO_RENEGOTIATION) SetOp(kNone);
        continue;
      }
      if (r == GNUTLS_E_INTERRUPTED) continue;
      if (r == GNUTLS_E_UNEXPECTED_PACKET && refused_hello_) {
        refused_hello_ = false;  // GnuTLS reports a refused ClientHello once as unexpected
        continue;
      }
      if (r == GNUTLS_E_REHANDSHAKE) {
        if (server_) PeerRenegotiation();
        else HelloRequest();
        if (closed_) return;
        if (OpRunning()) {
          repump_ = true;
          return;
        }
        continue;
      }
      if (r == GNUTLS_E_REAUTH_REQUEST && !server_) {
        SetOp(kAnswer);
        repump_ = true;
        return;
      }
      if (r != GNUTLS_E_FATAL_ALERT_RECEIVED) gnutls_alert_send_appropriate(s_, static_cast<int>(r));
      Failed(static_cast<int>(r));
      return;
    }
  }

  void PeerRenegotiation() {
    if (op_ == kHello) {
      SetOp(kReneg);  // the answer to our HelloRequest
      hello_buffered_ = true;
      return;
    }
    if (++renegotiations_ > 3) {  // Node's limit (ERR_TLS_SESSION_ATTACK)
      Failed(GNUTLS_E_REHANDSHAKE);
      return;
    }
    if (accept_reneg_ && op_ == kNone && gnutls_safe_renegotiation_status(s_)) {
      SetOp(kReneg);
      hello_buffered_ = true;
      return;
    }
    gnutls_alert_send(s_, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
    refused_hello_ = true;
  }

  void HelloRequest() {
    if (accept_reneg_ && op_ == kNone && gnutls_safe_renegotiation_status(s_)) SetOp(kReneg);
    else gnutls_alert_send(s_, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
  }

  void SendHelloRequest() {
    int r = gnutls_rehandshake(s_);
    if (r < 0) {
      Failed(r);
      return;
    }
    SetOp(kHello);
  }

  void Send(const std::vector<uint8_t>& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t r = gnutls_record_send(s_, data.data() + off, data.size() - off);
      if (r == GNUTLS_E_UNAVAILABLE_DURING_HANDSHAKE && !polite_) {
        held_.emplace_back(data.begin() + static_cast<long>(off), data.end());  // sent once the handshake is over
        return;
      }
      if (r < 0) {
        Failed(static_cast<int>(r));
        return;
      }
      sent_.insert(sent_.end(), data.begin() + static_cast<long>(off), data.begin() + static_cast<long>(off) + r);
      off += static_cast<size_t>(r);
    }
  }

  void ReleaseWrites() {
    if (held_.empty() && !end_pending_) return;
    std::vector<std::vector<uint8_t>> held;
    held.swap(held_);
    for (size_t i = 0; i < held.size(); i++) {
      if (closed_) return;
      if (!held_.empty()) {  // still unavailable: keep the order
        held_.insert(held_.end(), held.begin() + static_cast<long>(i), held.end());
        return;
      }
      Send(held[i]);
    }
    if (end_pending_ && !closed_ && held_.empty() && !OpHoldsWrites()) {
      end_pending_ = false;
      gnutls_bye(s_, GNUTLS_SHUT_WR);
      shut_ = true;
    }
  }

  void SetOp(Op op) {
    static const char* const kOps[] = {"none", "hello-sent", "re-handshake", "reauth", "reauth-answer"};
    if (op != op_) TRACE("  %s op %s -> %s\n", server_ ? "server" : "client", kOps[op_], kOps[op]);
    op_ = op;
  }

  void Failed(int code) {
    g_stats.failed++;
    TRACE("  %s failed: %s (op %d)\n", server_ ? "server" : "client", gnutls_strerror_name(code), op_);
    error_ = code;
    closed_ = true;  // destroy(): nothing more is read or written
    SetOp(kNone);
  }

  bool server_;
  bool keep_output_;
  gnutls_session_t s_ = nullptr;
  ngtls::RecordQueue in_;
  std::vector<uint8_t> fed_;  // the chunk in_ reads in place
  std::vector<uint8_t> out_;
  std::vector<uint8_t> received_;
  std::vector<uint8_t> sent_;
  std::vector<std::vector<uint8_t>> held_;
  bool hold_app_data_ = false;
  bool hold_in_reneg_ = true;
  bool polite_ = true;
  bool hello_buffered_ = false;
  bool hold_initial_ = false;
  bool hold_hello_ = false;
  bool hello_released_ = false;
  bool accept_reneg_ = false;
  bool refused_hello_ = false;
  bool repump_ = false;
  bool ended_ = false;
  bool shut_ = false;
  bool end_pending_ = false;
  bool closed_ = false;
  int pending_code_ = kNoCode;
  int error_ = 0;
  int renegotiations_ = 0;
  State state_ = kHandshaking;
  Op op_ = kNone;
};

uint32_t NextRand(uint32_t& x) {
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

// Moves up to n bytes of a's output into b (all of it when n == SIZE_MAX).
void Deliver(Endpoint& from, Endpoint& to, size_t n) {
  std::vector<uint8_t>& out = from.out();
  n = std::min(n, out.size());
  if (n == 0) return;
  TRACE("  deliver %zu of %zu bytes\n", n, out.size());
  std::vector<uint8_t> chunk(out.begin(), out.begin() + static_cast<long>(n));
  out.erase(out.begin(), out.begin() + static_cast<long>(n));
  to.Feed(chunk.data(), chunk.size());
}

bool IsPrefix(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  return a.size() <= b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

void CheckIntegrity(const Endpoint& c, const Endpoint& s) {
  if (!IsPrefix(s.received(), c.sent())) Fail("server received bytes the client did not send", static_cast<long>(s.received().size()), static_cast<long>(c.sent().size()));
  if (!IsPrefix(c.received(), s.sent())) Fail("client received bytes the server did not send", static_cast<long>(c.received().size()), static_cast<long>(s.sent().size()));
}

// Delivers everything both ways until nothing moves.
void DeliverAll(Endpoint& c, Endpoint& s) {
  for (int i = 0; i < 64 && (!c.out().empty() || !s.out().empty()); i++) {
    Deliver(c, s, SIZE_MAX);
    Deliver(s, c, SIZE_MAX);
  }
}

void RunRaw(uint8_t flags, uint8_t seed, const uint8_t* data, size_t size) {
  g_stats.raw++;
  Endpoint s(true, flags, false);
  s.set_hold_initial((flags & 2) != 0);
  uint32_t x = 0x9e3779b9u ^ (seed * 0x01000193u);
  size_t off = 0;
  while (off < size) {
    size_t n = seed == 0 ? size - off : 1 + NextRand(x) % (size_t{seed} * 2);
    n = std::min(n, size - off);
    s.Feed(data + off, n);
    off += n;
  }
}

void RunScripted(uint8_t flags, uint8_t seed, const uint8_t* data, size_t size) {
  g_stats.scripted++;
  Endpoint s(true, flags & ~0x10u, true);  // no client certificate demanded in the initial handshake
  Endpoint c(false, flags, true);
  s.set_hold_in_reneg((flags & 2) == 0);
  c.set_hold_in_reneg((flags & 2) == 0);
  // Handshake: the client's flights reach the server in pieces whose sizes come from the seed.
  uint32_t x = 0x85ebca6bu ^ (seed * 0x01000193u);
  c.Pump();
  for (int i = 0; i < 64 && !(c.secure() && s.secure()) && !c.failed() && !s.failed(); i++) {
    while (!c.out().empty()) Deliver(c, s, seed == 0 ? SIZE_MAX : 1 + NextRand(x) % (size_t{seed} * 4));
    Deliver(s, c, SIZE_MAX);
  }
  if (!c.secure() || !s.secure()) Fail("in-memory handshake did not complete", c.error(), s.error());
  DeliverAll(c, s);

  FuzzedDataProvider in(data, size);
  bool injected = false;
  bool ended = false;
  int server_initiated = 0, client_initiated = 0;
  uint8_t manners = in.ConsumeIntegral<uint8_t>();
  s.set_polite((manners & 1) == 0);
  c.set_polite((manners & 2) == 0);
  uint32_t fill = 1;
  auto payload = [&](size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(NextRand(fill));
    return v;
  };
  for (int ops = 0; ops < 256 && in.remaining_bytes() > 0; ops++) {
    bool server = in.ConsumeBool();
    Endpoint& e = server ? s : c;
    Endpoint& peer = server ? c : s;
    int what = in.ConsumeIntegralInRange<int>(0, 10);
    static const char* const kNames[] = {"write", "write", "rehandshake", "reauth (server)", "keyUpdate", "deliver part", "deliver part", "deliver both ways", "end", "inject", "deliver all"};
    TRACE("op %d: %s %s (out %zu, in %zu, op %d)\n", ops, server ? "server" : "client", kNames[what], e.out().size(), e.pending_input(), e.op());
    switch (what) {
      case 0:
      case 1:
        e.Write(payload(in.ConsumeBool() ? in.ConsumeIntegralInRange<size_t>(1, 64) : in.ConsumeIntegralInRange<size_t>(1, 40000)));
        break;
      case 2:
        (server ? server_initiated : client_initiated)++;
        e.Rehandshake();
        break;
      case 3:
        server_initiated++;
        s.Reauth();
        break;
      case 4:
        e.KeyUpdate(in.ConsumeBool());
        break;
      case 5:
      case 6: {  // deliver part of e's output: records cut at any offset
        size_t pending = e.out().size();
        Deliver(e, peer, in.ConsumeBool() ? SIZE_MAX : in.ConsumeIntegralInRange<size_t>(1, pending + 1));
        break;
      }
      case 7:
        Deliver(e, peer, SIZE_MAX);
        Deliver(peer, e, SIZE_MAX);
        break;
      case 8:
        if (in.ConsumeIntegralInRange<int>(0, 7) == 0) {
          e.End();
          ended = true;
        }
        break;
      case 9: {  // hostile bytes into e's input
        std::vector<uint8_t> junk = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(1, 40));
        e.Inject(junk.data(), junk.size());
        injected = true;
        break;
      }
      case 10:
        DeliverAll(c, s);
        break;
    }
    CheckIntegrity(c, s);
  }
  DeliverAll(c, s);
  CheckIntegrity(c, s);
  // TLS 1.2 with application data held back during re-handshakes (as lib/ does), nothing injected,
  // no close, and re-handshakes started by one side only (within Node's limit of 3 client-initiated
  // ones): nothing may fail, whatever the interleaving of writes and deliveries. (A client-initiated
  // renegotiation crossing the server's HelloRequest fails in GnuTLS 3.7.9's client with
  // GNUTLS_E_UNEXPECTED_HANDSHAKE_PACKET; TLS 1.3 limits key updates to 8 per second.)
  bool strict = !IsTls13(s.session()) && (flags & 2) == 0 && !injected && !ended && client_initiated <= 3 &&
                (server_initiated == 0 || client_initiated == 0);
  if (strict && (c.failed() || s.failed())) Fail("a valid TLS 1.2 exchange failed", c.error(), s.error());
  if (!injected && !c.failed() && !s.failed()) {
    // A healthy connection with every byte delivered: all data arrived, no operation is stuck.
    if (c.received().size() != s.sent().size()) Fail("client is missing data", static_cast<long>(c.received().size()), static_cast<long>(s.sent().size()));
    if (s.received().size() != c.sent().size()) Fail("server is missing data", static_cast<long>(s.received().size()), static_cast<long>(c.sent().size()));
    // (After a close_notify either way the socket ends instead, as lib/ does with allowHalfOpen off.)
    if (!c.closing() && !s.closing()) {
      if (!s.settled()) Fail("server operation never settled", s.op());
      if (!c.settled()) Fail("client operation never settled", c.op());
    }
  }
}

std::string Fixture(const char* name) {
  const char* dir = std::getenv("NGTLS_FUZZ_FIXTURES");
  return std::string(dir && *dir ? dir : NGTLS_FIXTURES) + "/" + name;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Must(gnutls_global_init(), "gnutls_global_init");
  Must(gnutls_certificate_allocate_credentials(&g_server_cred), "credentials");
  Must(gnutls_certificate_set_x509_key_file(g_server_cred, Fixture("server-chain.pem").c_str(), Fixture("server.key").c_str(), GNUTLS_X509_FMT_PEM), "server certificate (set NGTLS_FUZZ_FIXTURES)");
  Must(gnutls_certificate_set_x509_trust_file(g_server_cred, Fixture("ca.pem").c_str(), GNUTLS_X509_FMT_PEM), "server trust");
  Must(gnutls_certificate_allocate_credentials(&g_client_cred), "credentials");
  Must(gnutls_certificate_set_x509_key_file(g_client_cred, Fixture("client.pem").c_str(), Fixture("client.key").c_str(), GNUTLS_X509_FMT_PEM), "client certificate");
  Must(gnutls_certificate_set_x509_trust_file(g_client_cred, Fixture("ca.pem").c_str(), GNUTLS_X509_FMT_PEM), "client trust");
  Must(gnutls_priority_init2(&g_prio[0], nullptr, nullptr, 0), "priority");
  Must(gnutls_priority_init(&g_prio[1], "NORMAL:-VERS-ALL:+VERS-TLS1.3", nullptr), "priority");
  Must(gnutls_priority_init(&g_prio[2], "NORMAL:-VERS-ALL:+VERS-TLS1.2", nullptr), "priority");
  Must(gnutls_session_ticket_key_generate(&g_ticket_key), "ticket key");
  if (std::getenv("NGTLS_FUZZ_STATS")) std::atexit(PrintStats);
  g_trace = std::getenv("NGTLS_FUZZ_TRACE") != nullptr;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint8_t flags = data[0];
  uint8_t seed = data[1];
  if (flags & 1) RunScripted(flags, seed, data + 2, size - 2);
  else RunRaw(flags, seed, data + 2, size - 2);
  return 0;
}
