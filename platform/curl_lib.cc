#include "platform/curl_lib.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "base/error.h"

namespace mdb::fs {

namespace {

struct Loaded {
  CurlLib lib{};
  std::string error;  // why it could not be loaded; empty when it was
};

template <class F>
void bind(void* handle, const char* name, F*& out, std::string& error) {
  out = reinterpret_cast<F*>(::dlsym(handle, name));
  if (!out && error.empty()) error = std::string("it has no ") + name;
}

Loaded load() {
  Loaded l;
  const char* env = std::getenv("MDB_LIBCURL");
  std::string name = env && *env ? env : "libcurl.so.4";
  // Never unloaded: handles and the global state live until the process ends.
  void* h = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* why = ::dlerror();
    l.error = "S3 stores need libcurl (the Debian package libcurl4): cannot load " + name + ": " +
              (why ? why : "unknown error");
    return l;
  }
  bind(h, "curl_global_init", l.lib.global_init, l.error);
  bind(h, "curl_easy_init", l.lib.easy_init, l.error);
  bind(h, "curl_easy_cleanup", l.lib.easy_cleanup, l.error);
  bind(h, "curl_easy_reset", l.lib.easy_reset, l.error);
  bind(h, "curl_easy_setopt", l.lib.easy_setopt, l.error);
  bind(h, "curl_easy_perform", l.lib.easy_perform, l.error);
  bind(h, "curl_easy_getinfo", l.lib.easy_getinfo, l.error);
  bind(h, "curl_easy_strerror", l.lib.easy_strerror, l.error);
  bind(h, "curl_slist_append", l.lib.slist_append, l.error);
  bind(h, "curl_slist_free_all", l.lib.slist_free_all, l.error);
  if (!l.error.empty()) {
    l.error = "S3 stores need libcurl: " + name + " is not a usable libcurl (" + l.error + ")";
    return l;
  }
  if (l.lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) l.error = "libcurl (" + name + ") could not initialize";
  return l;
}

}  // namespace

const CurlLib& curl() {
  static const Loaded loaded = load();  // once, thread-safe
  if (!loaded.error.empty()) throw Error(loaded.error);
  return loaded.lib;
}

}  // namespace mdb::fs
