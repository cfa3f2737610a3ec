#pragma once
// libcurl, loaded when the first S3 request needs it (dlopen), not linked: linked, libcurl and
// the 26 libraries it needs cost every command 3.6 ms of start-up (mapping and relocating them;
// `mephisto --version` took 7.8 ms), for a backend most runs never use.
#include <curl/curl.h>

namespace mdb::fs {

// The libcurl functions the S3 client calls, as libcurl.so.4 exports them.
struct CurlLib {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

// Loads libcurl once, and curl_global_init()s it: $MDB_LIBCURL when set, else libcurl.so.4.
// Throws mdb::Error naming the library and what the loader said when it cannot.
const CurlLib& curl();

}  // namespace mdb::fs
