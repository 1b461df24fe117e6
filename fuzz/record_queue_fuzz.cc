// libFuzzer target for ngtls::RecordQueue (src-native/record-queue.cc): the queue of fed
// ciphertext and its TLS record framing, which decides what GnuTLS may read while application
// data is held back during a re-handshake.
//
// The input is a program of operations: generate TLS-like records or raw bytes into a source
// stream; give chunks of that stream to the queue, either copied (Append) or as an external
// segment the way Session::Feed does (Settle(true), then SetExternal on a heap chunk that is freed
// the moment the queue lets go of it, so that ASan reports any read of it afterwards); pull with
// and without holdAppData, followed by Session::Settle(adopt) as session.cc does after
// gnutls_handshake / gnutls_record_recv; Trim. Everything the queue says is checked against a
// shadow copy of the bytes given to it and an independent framing of the stream; any disagreement
// aborts (a crash for libFuzzer).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <vector>

#include "record-queue.h"

namespace {

[[noreturn]] void Fail(const char* what, size_t a, size_t b) {
  std::fprintf(stderr, "record_queue_fuzz: invariant violated: %s (%zu, %zu)\n", what, a, b);
  std::abort();
}
#define CHECK(cond, a, b) \
  do {                    \
    if (!(cond)) Fail(#cond, static_cast<size_t>(a), static_cast<size_t>(b)); \
  } while (0)

constexpr int kAppData = 23;

// Reference framing of the appended stream: records as (start, end, type), parsed as bytes
// arrive. A record whose 5-byte header is still incomplete has end == SIZE_MAX.
class Framing {
 public:
  void Grow(const std::vector<uint8_t>& s) {
    for (;;) {
      if (!open_) {
        if (next_ >= s.size()) return;
        recs_.push_back({next_, SIZE_MAX, s[next_]});
        open_ = true;
      }
      if (next_ + 5 > s.size()) return;
      size_t len = (size_t{s[next_ + 3]} << 8) | s[next_ + 4];
      recs_.back().end = next_ + 5 + len;
      next_ += 5 + len;
      open_ = false;
    }
  }
  // Type of the record byte `off` belongs to (the byte must have been appended).
  int TypeAt(size_t off) const {
    auto it = std::upper_bound(recs_.begin(), recs_.end(), off, [](size_t o, const Rec& r) { return o < r.start; });
    CHECK(it != recs_.begin(), off, 0);
    --it;
    CHECK(off < it->end, off, it->end);
    return it->type;
  }
  // True when `off` is the first byte of a record (or the end of all complete records).
  bool AtBoundary(size_t off) const {
    if (recs_.empty()) return off == 0;
    if (!open_ && off == next_) return true;
    auto it = std::upper_bound(recs_.begin(), recs_.end(), off, [](size_t o, const Rec& r) { return o < r.start; });
    return it != recs_.begin() && std::prev(it)->start == off;
  }
  // Whether any byte in [from, to) belongs to an application-data record (all appended).
  bool AppDataIn(size_t from, size_t to) const {
    if (from >= to) return false;
    auto it = std::upper_bound(recs_.begin(), recs_.end(), from, [](size_t o, const Rec& r) { return o < r.start; });
    CHECK(it != recs_.begin(), from, 2);
    for (--it; it != recs_.end() && it->start < to; ++it) {
      if (it->type == kAppData) return true;
    }
    return false;
  }
  // End of the record that contains `off` (SIZE_MAX while its header is incomplete).
  size_t EndOf(size_t off) const {
    auto it = std::upper_bound(recs_.begin(), recs_.end(), off, [](size_t o, const Rec& r) { return o < r.start; });
    CHECK(it != recs_.begin(), off, 1);
    return std::prev(it)->end;
  }

 private:
  struct Rec {
    size_t start;
    size_t end;
    int type;
  };
  std::vector<Rec> recs_;
  size_t next_ = 0;   // start of the record being parsed / the next one
  bool open_ = false;  // recs_.back() is the record at next_, header incomplete
};

struct Model {
  ngtls::RecordQueue q;
  std::vector<uint8_t> appended;  // every byte given to the queue, in order
  size_t consumed = 0;            // bytes Pull() handed out
  Framing framing;
  // The chunk the queue reads in place (the fed JS Buffer in session.cc): a heap block of exactly
  // its size, freed as soon as the queue no longer refers to it.
  uint8_t* fed = nullptr;

  ~Model() { std::free(fed); }

  // Session::Settle: drop the fed chunk once read (adopt: copy its unread rest inside first).
  void Settle(bool adopt) {
    if (!q.HasExternal()) return;
    if (adopt) q.AdoptExternal();
    else if (q.Pending() == 0) q.AdoptExternal();
    if (!q.HasExternal()) {
      std::free(fed);
      fed = nullptr;
    }
    CheckState();
  }

  // Session::Feed: the chunk is read where it is.
  void Feed(const uint8_t* p, size_t n) {
    Settle(true);
    CHECK(!q.HasExternal(), n, 0);
    CHECK(fed == nullptr, n, 1);
    fed = static_cast<uint8_t*>(std::malloc(n > 0 ? n : 1));
    if (n > 0) std::memcpy(fed, p, n);
    q.SetExternal(fed, n);
    appended.insert(appended.end(), p, p + n);
    framing.Grow(appended);
    CheckState();
  }

  void CheckState() {
    CHECK(q.Pending() == appended.size() - consumed, q.Pending(), appended.size() - consumed);
    CHECK(q.Consumed() == consumed, q.Consumed(), consumed);
    int expect;
    if (consumed < appended.size()) {
      expect = framing.TypeAt(consumed);
    } else if (framing.AtBoundary(consumed)) {
      expect = -1;  // nothing queued and not inside a record
    } else {
      expect = framing.TypeAt(consumed - 1);  // inside a record whose rest has not arrived
    }
    CHECK(q.NextType() == expect, q.NextType() + 1, expect + 1);
  }

  // Copied in (queued bytes come before an external segment: adopt it first, as Feed does).
  void Append(const uint8_t* p, size_t n) {
    Settle(true);
    q.Append(p, n);
    appended.insert(appended.end(), p, p + n);
    framing.Grow(appended);
    CheckState();
  }

  size_t Pull(size_t len, bool hold) {
    std::vector<uint8_t> dst(len + 1, 0xA5);
    size_t pending = appended.size() - consumed;
    size_t n = q.Pull(dst.data(), len, hold);
    CHECK(n <= len, n, len);
    CHECK(n <= pending, n, pending);
    CHECK(dst[len] == 0xA5, len, n);  // nothing written past len
    if (n > 0) CHECK(std::memcmp(dst.data(), appended.data() + consumed, n) == 0, consumed, n);
    if (!hold) {
      CHECK(n == std::min(len, pending), n, std::min(len, pending));
    } else {
      CHECK(!framing.AppDataIn(consumed, consumed + n), consumed, n);
      // Holding application data never stalls on anything else: when the next byte is not
      // application data, something is handed out.
      if (len > 0 && pending > 0 && framing.TypeAt(consumed) != kAppData) CHECK(n > 0, consumed, len);
      // It stops at the end of a record at the latest before application data.
      if (n > 0) {
        size_t end = framing.EndOf(consumed);
        if (end != SIZE_MAX && consumed + n > end) CHECK(framing.TypeAt(end) != kAppData, end, n);
      }
    }
    consumed += n;
    CheckState();
    return n;
  }
};

void PutRecord(std::vector<uint8_t>& src, FuzzedDataProvider& in) {
  static const uint8_t kTypes[] = {20, 21, 22, 23, 23, 23, 24, 0, 255};
  uint8_t type = in.ConsumeBool() ? kTypes[in.ConsumeIntegralInRange<size_t>(0, sizeof(kTypes) - 1)] : in.ConsumeIntegral<uint8_t>();
  size_t len = in.ConsumeBool() ? in.ConsumeIntegralInRange<size_t>(0, 40) : in.ConsumeIntegralInRange<size_t>(0, 20000);
  src.push_back(type);
  src.push_back(3);
  src.push_back(in.ConsumeIntegralInRange<uint8_t>(1, 4));
  src.push_back(static_cast<uint8_t>(len >> 8));
  src.push_back(static_cast<uint8_t>(len));
  // Body bytes: a pattern, so that long records cost no input.
  for (size_t i = 0; i < len; i++) src.push_back(static_cast<uint8_t>(i * 31 + type));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Model m;
  std::vector<uint8_t> src;  // bytes generated but not appended yet
  size_t src_off = 0;
  m.CheckState();
  for (int ops = 0; ops < 4096 && in.remaining_bytes() > 0; ops++) {
    switch (in.ConsumeIntegralInRange<int>(0, 9)) {
      case 0:
      case 1:
        PutRecord(src, in);
        break;
      case 2: {  // raw bytes from the input (possibly a header split anywhere)
        std::vector<uint8_t> raw = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 16));
        src.insert(src.end(), raw.begin(), raw.end());
        break;
      }
      case 3:
      case 4: {  // a chunk of the source: copied in, or fed in place (Session::Feed)
        size_t avail = src.size() - src_off;
        size_t n = in.ConsumeBool() ? avail : std::min(avail, in.ConsumeIntegralInRange<size_t>(0, 300));
        if (in.ConsumeBool()) m.Feed(src.data() + src_off, n);
        else m.Append(src.data() + src_off, n);
        src_off += n;
        if (src_off == src.size()) {
          src.clear();
          src_off = 0;
        }
        break;
      }
      case 5:
      case 6:
      case 7: {
        size_t len = in.ConsumeBool() ? in.ConsumeIntegralInRange<size_t>(0, 24) : in.ConsumeIntegralInRange<size_t>(0, 70000);
        size_t n = m.Pull(len, in.ConsumeBool());
        // session.cc settles after each gnutls_handshake / gnutls_record_recv: adopting the rest
        // when GnuTLS waits for more (here: nothing came out), else dropping a fully read chunk.
        if (in.ConsumeBool()) m.Settle(n == 0);
        break;
      }
      case 8: {
        if (in.ConsumeBool()) {
          m.Settle(in.ConsumeBool());
        } else {
          m.q.Trim();
          m.CheckState();
        }
        break;
      }
      case 9: {  // drain with holdAppData as a re-handshake does, then the rest without it
        for (int i = 0; i < 64 && m.q.Pending() > 0; i++) {
          size_t before = m.consumed;
          m.Pull(1 + in.ConsumeIntegralInRange<size_t>(0, 4096), true);
          if (m.consumed == before) break;
        }
        break;
      }
    }
  }
  // Finally everything given comes out, in order, without holding.
  while (m.q.Pending() > 0) m.Pull(std::min<size_t>(m.q.Pending(), 1 + m.q.Pending() / 2), false);
  m.Settle(false);
  CHECK(!m.q.HasExternal(), 0, 0);  // a drained queue lets go of the fed chunk
  m.q.Trim();
  m.CheckState();
  m.q.Clear();
  CHECK(m.q.Pending() == 0, m.q.Pending(), 0);
  return 0;
}
