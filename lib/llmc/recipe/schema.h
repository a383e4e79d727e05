// The one recipe schema mechanism. A Section<T> declares, once, the keys of a YAML mapping and
// the member of T each binds to, with its type, range, default (read from T{}) and doc. Binding
// checks unknown keys (with a did-you-mean), duplicate keys, types, ranges, required keys and
// file existence, and collects every issue in the Context instead of stopping at the first.
// The same declaration renders the key reference in docs/recipes.md (`llmc schema`).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "llmc/recipe/context.h"
#include "llmc/recipe/scalar.h"
#include "llmc/util/excerpt.h"
#include "llmc/util/file_check.h"

namespace llmc::recipe {

// One documented key, as rendered in docs/recipes.md.
struct KeyDoc {
  std::string key;  // dotted path; list items are written "name[]"
  std::string type;
  std::string default_value;
  bool required = false;
  std::string doc;
};

// What a path key names. existing_file and existing_dir are the user's inputs: binding checks
// that they exist and records them (Context::input_paths, Section::input_paths), so that no
// output of any subcommand can replace them. output_dir is a directory llmc writes (output,
// checkpoints): binding checks that it is not an existing file and that its nearest existing
// parent is a directory, so that a run cannot get as far as writing before it fails.
enum class PathCheck { output_dir, existing_file, existing_dir };

template <class T>
class Section {
 public:
  using BindFn = std::function<void(const YAML::Node&, T&, Context&, const std::string&)>;
  using CheckFn = std::function<void(const T&, const Origin&, Context&)>;

  Section& flag(const char* key, bool T::*m, const char* doc) {
    return add(key, "bool", fmt::format("{}", T{}.*m), doc,
               [m](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 if (auto v = read_bool(n, k, ctx)) out.*m = *v;
               });
  }

  template <class I>
  Section& integer(const char* key, I T::*m, int64_t lo, int64_t hi, const char* doc) {
    static_assert(std::is_integral_v<I>, "integer() binds integral members");
    return add(key, fmt::format("int in [{}, {}]", lo, hi), fmt::format("{}", T{}.*m), doc,
               [m, lo, hi](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 if (auto v = read_int(n, k, ctx, lo, hi)) out.*m = static_cast<I>(*v);
               });
  }

  // An integer, or the word `auto` (bound as 0: the member's owner resolves it).
  Section& integer_or_auto(const char* key, int64_t T::*m, int64_t lo, int64_t hi,
                           const char* doc) {
    const int64_t d = T{}.*m;
    return add(key, fmt::format("int in [{}, {}] or auto", lo, hi),
               d == 0 ? std::string("auto") : fmt::format("{}", d), doc,
               [m, lo, hi](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 if (n.IsScalar() && n.Scalar() == "auto") {
                   out.*m = 0;
                   return;
                 }
                 if (auto v = read_int(n, k, ctx, lo, hi)) out.*m = *v;
               });
  }

  Section& number(const char* key, double T::*m, double lo, double hi, const char* doc,
                  bool lo_open = false, bool hi_open = false) {
    return add(key, "number in " + interval_text(lo, hi, lo_open, hi_open),
               fmt::format("{}", T{}.*m), doc,
               [=](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 if (auto v = read_double(n, k, ctx, lo, hi, lo_open, hi_open)) out.*m = *v;
               });
  }

  Section& number(const char* key, std::optional<double> T::*m, double lo, double hi,
                  const char* doc, bool lo_open = false, bool hi_open = false) {
    return add(key, "number in " + interval_text(lo, hi, lo_open, hi_open), "unset", doc,
               [=](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 if (auto v = read_double(n, k, ctx, lo, hi, lo_open, hi_open)) out.*m = *v;
               });
  }

  Section& text(const char* key, std::string T::*m, const char* doc) {
    return add(key, "string", quoted(T{}.*m), doc,
               [m](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 if (auto v = read_string(n, k, ctx)) out.*m = *v;
               });
  }

  // A path, resolved relative to the recipe file (or to the working directory for --set).
  Section& path(const char* key, std::string T::*m, PathCheck check, const char* doc) {
    const char* type = check == PathCheck::existing_file  ? "path to an existing file"
                       : check == PathCheck::existing_dir ? "path to an existing directory"
                                                          : "path of a directory llmc writes";
    return add(key, type, quoted(T{}.*m), doc,
               [m, check](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 auto v = read_string(n, k, ctx);
                 if (!v) return;
                 if (v->empty()) {
                   ctx.error(n, k, "expected a path, got an empty string");
                   return;
                 }
                 out.*m = ctx.resolve_path(k, *v);
                 if (check != PathCheck::output_dir) ctx.add_input_path(out.*m);
                 check_path(n, k, ctx, out.*m, check);
               });
  }

  // One of a fixed set of words, bound to an enum (or any type) through `table`.
  template <class E>
  Section& choice(const char* key, E T::*m, std::vector<std::pair<std::string, E>> table,
                  const char* doc) {
    std::string names;
    std::string default_name;
    for (const auto& [name, value] : table) {
      names += (names.empty() ? "" : "|") + name;
      if (value == T{}.*m) default_name = name;
    }
    return add(key, "one of " + names, default_name, doc,
               [m, table, names](const YAML::Node& n, T& out, Context& ctx,
                                 const std::string& k) {
                 auto v = read_string(n, k, ctx);
                 if (!v) return;
                 for (const auto& [name, value] : table) {
                   if (name == *v) {
                     out.*m = value;
                     return;
                   }
                 }
                 ctx.error(n, k, fmt::format("expected one of {}, got \"{}\"", names,
                                             util::excerpt(*v)));
               });
  }

  Section& texts(const char* key, std::vector<std::string> T::*m, const char* doc) {
    return add(key, "list of strings", list_text(T{}.*m), doc,
               [m](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 if (auto v = read_items(n, k, ctx, true, string_reader(ctx))) out.*m = *v;
               });
  }

  Section& integers(const char* key, std::vector<int64_t> T::*m, int64_t lo, int64_t hi,
                    const char* doc) {
    return add(key, fmt::format("list of ints in [{}, {}]", lo, hi), list_text(T{}.*m), doc,
               [=](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 if (auto v = read_items(n, k, ctx, false, int_reader(ctx, lo, hi))) out.*m = *v;
               });
  }

  Section& numbers(const char* key, std::vector<double> T::*m, const char* doc) {
    return add(key, "list of numbers", list_text(T{}.*m), doc,
               [m](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 auto read_one = [&ctx](const YAML::Node& item, const std::string& ik) {
                   return read_double(item, ik, ctx, -1e300, 1e300);
                 };
                 if (auto v = read_items(n, k, ctx, false, read_one)) out.*m = *v;
               });
  }

  // A mapping of free-form names to strings (e.g. forward argument -> data field).
  Section& text_map(const char* key, std::map<std::string, std::string> T::*m, const char* doc) {
    return add(key, "mapping of string to string", "{}", doc,
               [m](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 (out.*m).clear();
                 for_each_entry(n, k, ctx, [&](const std::string& name, const YAML::Node& value,
                                               const std::string& vk) {
                   if (auto v = read_string(value, vk, ctx)) (out.*m)[name] = *v;
                 });
               });
  }

  // A mapping of free-form names to lists of strings (e.g. input name -> axis names).
  Section& texts_map(const char* key, std::map<std::string, std::vector<std::string>> T::*m,
                     const char* doc) {
    return add(key, "mapping of string to list of strings", "{}", doc,
               [m](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 (out.*m).clear();
                 for_each_entry(n, k, ctx, [&](const std::string& name, const YAML::Node& value,
                                               const std::string& vk) {
                   if (auto v = read_items(value, vk, ctx, true, string_reader(ctx))) {
                     (out.*m)[name] = *v;
                   }
                 });
               });
  }

  // A mapping of free-form names to lists of ints (e.g. axis name -> sizes).
  Section& integers_map(const char* key, std::map<std::string, std::vector<int64_t>> T::*m,
                        int64_t lo, int64_t hi, const char* doc) {
    return add(key, fmt::format("mapping of string to list of ints in [{}, {}]", lo, hi), "{}",
               doc, [=](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
                 (out.*m).clear();
                 for_each_entry(n, k, ctx, [&](const std::string& name, const YAML::Node& value,
                                               const std::string& vk) {
                   if (auto v = read_items(value, vk, ctx, false, int_reader(ctx, lo, hi))) {
                     (out.*m)[name] = *v;
                   }
                 });
               });
  }

  template <class U>
  Section& section(const char* key, U T::*m, Section<U> sub, const char* doc) {
    auto shared = std::make_shared<Section<U>>(std::move(sub));
    add(key, "mapping", "", doc,
        [m, shared](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
          shared->bind(n, out.*m, ctx, k);
        });
    fields_.back().is_section = true;
    shared->document(fields_.back().children, "");
    return *this;
  }

  template <class U>
  Section& optional_section(const char* key, std::optional<U> T::*m, Section<U> sub,
                            const char* doc) {
    auto shared = std::make_shared<Section<U>>(std::move(sub));
    add(key, "mapping", "unset", doc,
        [m, shared](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
          U value{};
          shared->bind(n, value, ctx, k);
          out.*m = std::move(value);
        });
    fields_.back().is_section = true;
    shared->document(fields_.back().children, "");
    return *this;
  }

  template <class U>
  Section& list(const char* key, std::vector<U> T::*m, Section<U> item, const char* doc) {
    auto shared = std::make_shared<Section<U>>(std::move(item));
    add(key, "list of mappings", "[]", doc,
        [m, shared](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
          auto items = read_list(n, k, ctx, false);
          if (!items) return;
          (out.*m).clear();
          for (size_t i = 0; i < items->size(); ++i) {
            U value{};
            shared->bind((*items)[i], value, ctx, item_key(k, i));
            (out.*m).push_back(std::move(value));
          }
        });
    fields_.back().is_section = true;
    fields_.back().is_list = true;
    shared->document(fields_.back().children, "");
    return *this;
  }

  // Merges the keys of `sub` into this mapping, bound to the member `m` (used to share the
  // common recipe keys between subcommands).
  template <class U>
  Section& inline_section(U T::*m, const Section<U>& sub) {
    for (const auto& f : sub.fields_) {
      Field lifted{f.key, f.type, f.default_value, f.doc, f.required, f.is_section, f.is_list,
                   nullptr, f.children, nullptr};
      auto inner = f.bind;
      lifted.bind = [m, inner](const YAML::Node& n, T& out, Context& ctx, const std::string& k) {
        inner(n, out.*m, ctx, k);
      };
      if (f.record_origin) {
        lifted.record_origin = [m, inner = f.record_origin](T& out, const Origin& o) {
          inner(out.*m, o);
        };
      }
      fields_.push_back(std::move(lifted));
    }
    for (const auto& check : sub.checks_) {
      checks_.push_back([m, check](const T& v, const Origin& o, Context& ctx) {
        check(v.*m, o, ctx);
      });
    }
    for (const auto& [key, hint] : sub.hints_) hints_[key] = hint;
    for (const auto& origin : sub.origins_) {
      origins_.push_back([m, origin](T& out, const Origin& o) { origin(out.*m, o); });
    }
    for (const auto& collect : sub.collectors_) {
      collectors_.push_back([m, collect](T& out, const std::vector<std::string>& paths) {
        collect(out.*m, paths);
      });
    }
    return *this;
  }

  // Stores into `m` every input path (a key declared PathCheck::existing_*) bound within this
  // mapping, its sub-sections included; inlined into a subcommand's root, every input path of
  // the recipe. Derived from the declarations, so a new input key is covered without a list.
  Section& input_paths(std::vector<std::string> T::*m) {
    collectors_.push_back(
        [m](T& out, const std::vector<std::string>& paths) { out.*m = paths; });
    return *this;
  }

  // Stores where this mapping stood in the recipe into `m`.
  Section& origin(Origin T::*m) {
    origins_.push_back([m](T& out, const Origin& o) { out.*m = o; });
    return *this;
  }

  // Stores where the value of the key declared last stood into `m` (when the key is given), so
  // that a check across keys can point at the offending value rather than at its mapping.
  Section& value_origin(Origin T::*m) {
    fields_.back().record_origin = [m](T& out, const Origin& o) { out.*m = o; };
    return *this;
  }

  // Marks the key declared last as required.
  Section& required() {
    fields_.back().required = true;
    fields_.back().default_value.clear();
    return *this;
  }

  // A check across keys, run after the mapping bound without errors.
  Section& check(CheckFn fn) {
    checks_.push_back(std::move(fn));
    return *this;
  }

  // Removes a key declared before (one of the inlined common keys a subcommand does not read);
  // a recipe that still gives it gets `message` as the error, as for `hint`.
  Section& drop(const std::string& key, std::string message) {
    fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                                 [&](const Field& f) { return f.key == key; }),
                  fields_.end());
    return hint(key, std::move(message));
  }

  // A message for a key this section does not have but a user may write (e.g. another
  // subcommand's section).
  Section& hint(const std::string& key, std::string message) {
    hints_[key] = std::move(message);
    return *this;
  }

  void bind(const YAML::Node& node, T& out, Context& ctx, const std::string& key) const {
    const size_t issues_before = ctx.issues().size();
    const size_t inputs_before = ctx.input_paths().size();
    const bool empty = !node.IsDefined() || node.IsNull();
    if (!empty && !node.IsMap()) {
      ctx.error(node, key, fmt::format("expected a mapping, got {}", describe_node(node)));
      return;
    }
    std::set<std::string> seen;
    if (!empty) {
      for (const auto& kv : node) {
        const std::string name = kv.first.Scalar();
        const std::string child_key = join_key(key, name);
        if (!seen.insert(name).second) {
          ctx.error(kv.first, child_key, "duplicate key");
          continue;
        }
        const Field* field = find(name);
        if (field == nullptr) {
          ctx.error(kv.first, child_key, unknown_key_message(name));
          continue;
        }
        if (kv.second.IsNull() && !field->is_section) {
          ctx.error(kv.first, child_key, fmt::format("expected {}, got nothing", field->type));
          continue;
        }
        field->bind(kv.second, out, ctx, child_key);
        if (field->record_origin) field->record_origin(out, ctx.origin(kv.second, child_key));
      }
    }
    for (const auto& f : fields_) {
      if (f.required && seen.count(f.key) == 0) {
        ctx.error(node, key, fmt::format("missing required key \"{}\"", join_key(key, f.key)));
      }
    }
    const Origin where = ctx.origin(node, key);
    for (const auto& origin : origins_) origin(out, where);
    if (!collectors_.empty()) {
      const auto& all = ctx.input_paths();
      const std::vector<std::string> mine(all.begin() + static_cast<std::ptrdiff_t>(inputs_before),
                                          all.end());
      for (const auto& collect : collectors_) collect(out, mine);
    }
    if (ctx.issues().size() != issues_before) return;
    for (const auto& check : checks_) check(out, where, ctx);
  }

  void document(std::vector<KeyDoc>& out, const std::string& prefix) const {
    for (const auto& f : fields_) {
      const std::string key = join_key(prefix, f.key) + (f.is_list ? "[]" : "");
      out.push_back({key, f.type, f.default_value, f.required, f.doc});
      for (const auto& child : f.children) {
        KeyDoc c = child;
        c.key = key + "." + child.key;
        out.push_back(std::move(c));
      }
    }
  }

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& f : fields_) out.push_back(f.key);
    return out;
  }

 private:
  template <class>
  friend class Section;

  struct Field {
    std::string key;
    std::string type;
    std::string default_value;
    std::string doc;
    bool required = false;
    bool is_section = false;
    bool is_list = false;
    BindFn bind;
    std::vector<KeyDoc> children;
    std::function<void(T&, const Origin&)> record_origin;  // Section::value_origin
  };

  Section& add(const char* key, std::string type, std::string default_value, const char* doc,
               BindFn bind) {
    LLMC_ASSERT(find(key) == nullptr, std::string("recipe key declared twice: ") + key);
    fields_.push_back({key, std::move(type), std::move(default_value), doc, false, false, false,
                       std::move(bind), {}, nullptr});
    return *this;
  }

  const Field* find(const std::string& key) const {
    for (const auto& f : fields_) {
      if (f.key == key) return &f;
    }
    return nullptr;
  }

  std::string unknown_key_message(const std::string& name) const {
    if (auto it = hints_.find(name); it != hints_.end()) {
      return fmt::format("unknown key \"{}\": {}", name, it->second);
    }
    const std::string shown = util::excerpt(name);
    const std::string guess = did_you_mean(name, keys());
    if (!guess.empty()) return fmt::format("unknown key \"{}\" (did you mean \"{}\"?)", shown, guess);
    std::string known;
    for (const auto& k : keys()) known += (known.empty() ? "" : ", ") + k;
    return fmt::format("unknown key \"{}\" (known keys: {})", shown, known);
  }

  static std::string item_key(const std::string& key, size_t i) {
    return fmt::format("{}[{}]", key, i);
  }
  // The items of a list node (a lone scalar counts as one item when allow_scalar), each read
  // by read_one(item, "key[i]") -> optional; nullopt when the node is not a list. Items that
  // fail to read are left out (their errors are in ctx).
  template <class ReadOne>
  static auto read_items(const YAML::Node& n, const std::string& k, Context& ctx,
                         bool allow_scalar, ReadOne read_one)
      -> std::optional<std::vector<typename decltype(read_one(n, k))::value_type>> {
    auto items = read_list(n, k, ctx, allow_scalar);
    if (!items) return std::nullopt;
    std::vector<typename decltype(read_one(n, k))::value_type> out;
    for (size_t i = 0; i < items->size(); ++i) {
      if (auto v = read_one((*items)[i], item_key(k, i))) out.push_back(*v);
    }
    return out;
  }
  static auto string_reader(Context& ctx) {
    return [&ctx](const YAML::Node& item, const std::string& ik) {
      return read_string(item, ik, ctx);
    };
  }
  static auto int_reader(Context& ctx, int64_t lo, int64_t hi) {
    return [&ctx, lo, hi](const YAML::Node& item, const std::string& ik) {
      return read_int(item, ik, ctx, lo, hi);
    };
  }
  // Calls fn(name, value, "key.name") for every entry of a mapping node; an error when the
  // node is not a mapping.
  template <class Fn>
  static void for_each_entry(const YAML::Node& n, const std::string& k, Context& ctx, Fn fn) {
    if (!n.IsMap()) {
      ctx.error(n, k, fmt::format("expected a mapping, got {}", describe_node(n)));
      return;
    }
    for (const auto& kv : n) {
      const std::string name = kv.first.Scalar();
      fn(name, kv.second, join_key(k, name));
    }
  }
  static std::string quoted(const std::string& s) { return s.empty() ? "" : "\"" + s + "\""; }
  template <class V>
  static std::string list_text(const std::vector<V>& v) {
    return fmt::format("[{}]", fmt::join(v, ", "));
  }
  static void check_path(const YAML::Node& n, const std::string& k, Context& ctx,
                         const std::string& path, PathCheck check) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (check == PathCheck::existing_file) {
      if (!fs::exists(path, ec)) {
        ctx.error(n, k, fmt::format("file not found: {}", path));
      } else if (fs::is_directory(path, ec)) {
        ctx.error(n, k, fmt::format("expected a file, got a directory: {}", path));
      }
    } else if (check == PathCheck::existing_dir && !fs::is_directory(path, ec)) {
      ctx.error(n, k, fmt::format("directory not found: {}", path));
    } else if (check == PathCheck::output_dir) {
      if (auto problem = util::output_dir_problem(path)) ctx.error(n, k, *problem);
    }
  }

  std::vector<Field> fields_;
  std::vector<CheckFn> checks_;
  std::map<std::string, std::string> hints_;
  std::vector<std::function<void(T&, const Origin&)>> origins_;
  std::vector<std::function<void(T&, const std::vector<std::string>&)>> collectors_;
};

}  // namespace llmc::recipe
