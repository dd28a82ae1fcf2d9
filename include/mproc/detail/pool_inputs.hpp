// The inputs of map / imap: a range or a generator, read one element at a time, and the argument
// and result types a task gets from one input (f(x), or std::apply(f, x) for starmap).
// Shipped with the headers because the templates of <mproc/pool.hpp> use it; not API.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>  // stored_call_result_t
#include <mproc/detail/pool_wire.hpp>

#include <concepts>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mproc::detail {

// A generator-like callable: each call returns the next input, or std::nullopt at the end.
template <class G>
concept input_generator = std::invocable<G&> && requires(G& g) {
  { g().has_value() } -> std::convertible_to<bool>;
  *g();
};

// Input for imap: a range (taken by view: lazy ranges stay lazy) or a generator, read one
// element at a time in the consumer's thread.
template <class Input>
struct input_traits;

template <class Input>
  requires std::ranges::input_range<Input>
struct input_traits<Input> {
  using value_type = std::ranges::range_value_t<Input>;
};

template <class Input>
  requires(!std::ranges::input_range<Input> && input_generator<Input>)
struct input_traits<Input> {
  using value_type = std::decay_t<decltype(*std::declval<Input&>()())>;
};

template <class Input>
using input_value_t = typename input_traits<std::remove_cvref_t<Input>>::value_type;

// Pulls inputs one by one, whichever form they come in. Input is the forwarded type: an lvalue
// range is referenced, an rvalue one (or a view) owned — what std::views::all does, spelled out
// because clang 14 cannot instantiate libstdc++ 12's owning_view / ref_view.
template <class Input>
class RangeSource {
 public:
  using Stored = std::conditional_t<std::is_lvalue_reference_v<Input> &&
                                        !std::ranges::view<std::remove_cvref_t<Input>>,
                                    Input, std::remove_cvref_t<Input>>;
  using Range = std::remove_reference_t<Stored>;
  using Value = std::ranges::range_value_t<Range>;
  template <class I>
  explicit RangeSource(I&& input) : range_(std::forward<I>(input)) {}
  RangeSource(RangeSource&&) = delete;
  std::optional<Value> next() {
    if (!it_) it_.emplace(std::ranges::begin(range_));
    if (*it_ == std::ranges::end(range_)) return std::nullopt;
    std::optional<Value> value(**it_);
    ++*it_;
    return value;
  }
  // Calls sink with the next input in place (no copy: inputs may be move-only, e.g. Queues);
  // false at the end.
  template <class Sink>
  bool visit_next(Sink&& sink) {
    if (!it_) it_.emplace(std::ranges::begin(range_));
    if (*it_ == std::ranges::end(range_)) return false;
    sink(**it_);
    ++*it_;
    return true;
  }

 private:
  Stored range_;
  std::optional<std::ranges::iterator_t<Range>> it_;
};

template <class G>
class GeneratorSource {
 public:
  template <class I>
  explicit GeneratorSource(I&& input) : gen_(std::forward<I>(input)) {}
  GeneratorSource(GeneratorSource&&) = delete;
  auto next() { return gen_(); }
  template <class Sink>
  bool visit_next(Sink&& sink) {
    auto value = gen_();
    if (!value) return false;
    sink(*value);
    return true;
  }

 private:
  G gen_;
};

template <class Input>
using input_source_t =
    std::conditional_t<std::ranges::input_range<std::remove_cvref_t<Input>>, RangeSource<Input>,
                       GeneratorSource<std::decay_t<Input>>>;

// Calls f with one input: f(x), or std::apply(f, x) for starmap.
template <bool Star, class Fn, class T>
struct call_shape;
template <class Fn, class T>
struct call_shape<false, Fn, T> {
  using args = std::tuple<wire_t<T>>;
};
template <class Fn, class T>
struct call_shape<true, Fn, T> {
  template <class Tuple>
  struct wired;
  template <class... A>
  struct wired<std::tuple<A...>> {
    using type = std::tuple<wire_t<A>...>;
  };
  template <class X, class Y>
  struct wired<std::pair<X, Y>> {
    using type = std::tuple<wire_t<X>, wire_t<Y>>;
  };
  using args = typename wired<std::decay_t<T>>::type;
};

template <class Fn, class Tuple>
struct apply_result;
template <class Fn, class... A>
struct apply_result<Fn, std::tuple<A...>> {
  using type = stored_call_result_t<Fn, A...>;
};

template <bool Star, class Fn, class T>
using map_args_t = typename call_shape<Star, Fn, T>::args;
template <bool Star, class Fn, class T>
using map_result_t = typename apply_result<Fn, map_args_t<Star, Fn, T>>::type;

template <bool Star, class T>
void add_map_item(TaskWriter& writer, const T& input) {
  if constexpr (Star) {
    std::apply([&](const auto&... a) { writer.add(wire(a)...); }, input);
  } else {
    writer.add(wire(input));
  }
}

}  // namespace mproc::detail
