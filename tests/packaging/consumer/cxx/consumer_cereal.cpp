// Built through find_package(mproc COMPONENTS cereal) and mproc::cereal: the opt-in cereal codec
// round-trips a type that mproc's own codec does not handle.
#include <mproc/cereal_codec.hpp>

#include <cstdio>
#include <map>
#include <string>

int main() {
  const std::map<std::string, int> sent{{"a", 1}, {"b", 2}};
  const auto bytes = mproc::encode(sent);
  const auto received = mproc::decode<std::map<std::string, int>>(bytes.data(), bytes.size());
  if (received != sent) {
    std::fprintf(stderr, "consumer_cereal.cpp: the map did not round-trip\n");
    return 1;
  }
  return 0;
}
