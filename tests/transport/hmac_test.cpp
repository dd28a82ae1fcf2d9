// The HMAC-SHA256 wrapper against RFC 4231's test vectors (cases 1, 2, 6 and 7: short key, short
// key with a short message, a key longer than the block, and both long), and the comparison.
#include <gtest/gtest.h>

#include <string>

#include "transport/hmac.hpp"

namespace {

std::string hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

using mproc::detail::hmac_sha256;

TEST(Hmac, Rfc4231TestVectors) {
  EXPECT_EQ(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex(hmac_sha256(std::string(131, '\xaa'),
                            "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(hex(hmac_sha256(std::string(131, '\xaa'),
                            "This is a test using a larger than block-size key and a larger than "
                            "block-size data. The key needs to be hashed before being used by the "
                            "HMAC algorithm.")),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(Hmac, EmptyKeyAndMessageAndTheComparison) {
  // HMAC-SHA256 with an empty key of an empty message (a well-known value).
  EXPECT_EQ(hex(hmac_sha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_TRUE(mproc::detail::equal_in_constant_time("abc", "abc"));
  EXPECT_FALSE(mproc::detail::equal_in_constant_time("abc", "abd"));
  EXPECT_FALSE(mproc::detail::equal_in_constant_time("abc", "abcd"));
  EXPECT_TRUE(mproc::detail::equal_in_constant_time("", ""));
  EXPECT_EQ(mproc::detail::random_bytes(40).size(), 40u);
  EXPECT_NE(mproc::detail::random_bytes(40), mproc::detail::random_bytes(40));
}

}  // namespace
