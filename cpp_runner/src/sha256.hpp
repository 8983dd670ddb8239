// SHA-256 (FIPS 180-4). OpenCV has no public hash API; hello.opencv_build_hash needs one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

class Sha256 {
public:
    Sha256();
    void update(const void* data, std::size_t len);
    std::string hex_digest() const;  // digest of the data so far; the object stays usable

private:
    void block(const std::uint8_t* p);
    std::uint32_t h_[8];
    std::uint8_t buf_[64];
    std::size_t buf_len_ = 0;
    std::uint64_t total_len_ = 0;
};

std::string sha256_hex(const std::string& data);
