// RecordQueue: the ciphertext fed to a session and not yet read by GnuTLS, with the TLS record
// framing (5-byte header: type, version, length) of what has been handed out so far. Plain C++
// (no Node, no GnuTLS) so that it can be fuzzed on its own.
//
// Bytes are read from an internal buffer first, then from an external segment: a chunk the caller
// keeps alive (the JS Buffer just fed), so that input is not copied on its way to GnuTLS. Before
// that chunk may go away the caller adopts what is left of it (AdoptExternal copies it inside).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ngtls {

class RecordQueue {
 public:
  static constexpr uint8_t kApplicationData = 23;  // TLS record content type

  void Append(const uint8_t* p, size_t n);
  // Reads p[0..n) after the queued bytes without copying; p must stay valid until
  // AdoptExternal() (which an earlier external segment must have had before this call).
  void SetExternal(const uint8_t* p, size_t n);
  void AdoptExternal();  // copies the unread rest of the external segment inside
  bool HasExternal() const { return ext_ != nullptr; }
  // Copies up to len bytes into dst and returns how many. With holdAppData no byte of an
  // application-data record is handed out (the caller reads those separately).
  size_t Pull(uint8_t* dst, size_t len, bool holdAppData);
  size_t Pending() const { return Internal() + (ext_len_ - ext_off_); }
  size_t Consumed() const { return consumed_; }  // total bytes handed out, ever
  // Content type of the record being handed out, or of the next one; -1 when nothing is queued.
  int NextType() const;
  void Trim();   // gives back capacity once drained (idle sessions stay small)
  void Clear();  // frees everything

 private:
  size_t Internal() const { return buf_.size() - off_; }
  uint8_t At(size_t i) const;  // i-th unread byte (i < Pending())
  size_t Allowance() const;    // bytes Pull may hand out while holding application data
  void Track(const uint8_t* p, size_t n);
  size_t Take(uint8_t* dst, size_t n);  // copies n unread bytes out, tracking framing

  std::vector<uint8_t> buf_;
  size_t off_ = 0;
  const uint8_t* ext_ = nullptr;
  size_t ext_len_ = 0;
  size_t ext_off_ = 0;
  size_t consumed_ = 0;
  // Framing of what has been handed out: header bytes seen of the current record and body bytes
  // still to come. Both 0 means the reader stands at a record boundary.
  uint8_t hdr_[5] = {0, 0, 0, 0, 0};
  size_t hdr_seen_ = 0;
  size_t body_left_ = 0;
  int cur_type_ = -1;
};

}  // namespace ngtls
