#include "formats/date.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace mdb {

namespace {

namespace chr = std::chrono;

// Microseconds since 1970-01-01 00:00 of a proleptic Gregorian date and time of day. Python's
// datetime has the same calendar, so the values are the ones the original computed.
int64_t wall_us_of(const chr::year_month_day& date, chr::microseconds time_of_day) {
  return (chr::sys_days(date) + time_of_day).time_since_epoch().count();
}

struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  bool peek(char c) const { return i < s.size() && s[i] == c; }
  bool eat(char c) {
    if (!peek(c)) return false;
    ++i;
    return true;
  }
  // Exactly n digits.
  bool digits(size_t n, int& out) {
    if (i + n > s.size()) return false;
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += n;
    out = v;
    return true;
  }
};

bool parse_offset(Cursor& c, std::optional<int>& offset) {
  if (c.eat('Z') || c.eat('z')) {
    offset = 0;
    return true;
  }
  int sign = c.eat('+') ? 1 : (c.eat('-') ? -1 : 0);
  if (sign == 0) return true;
  int hh = 0, mm = 0;
  if (!c.digits(2, hh)) return false;
  if (c.eat(':')) {
    if (!c.digits(2, mm)) return false;
  } else if (!c.done()) {
    if (!c.digits(2, mm)) return false;
  }
  if (hh > 23 || mm > 59) return false;
  offset = sign * (hh * 60 + mm);
  return true;
}

// `v` as exactly `width` decimal digits (the lowest ones), zero-padded, appended to `out`. By hand:
// snprintf of these dates was 3% of an import's checks at L.
void put_digits(std::string& out, uint64_t v, int width) {
  char b[20];
  for (int k = width - 1; k >= 0; --k, v /= 10) b[k] = static_cast<char>('0' + v % 10);
  out.append(b, static_cast<size_t>(width));
}

// Wall-clock parts of a microsecond count.
struct Parts {
  int y;
  unsigned mo, d, h, mi, s;
  int64_t us;
};

Parts split(int64_t wall_us) {
  chr::sys_time<chr::microseconds> t{chr::microseconds(wall_us)};
  chr::sys_days day = chr::floor<chr::days>(t);
  chr::year_month_day ymd(day);
  chr::hh_mm_ss<chr::microseconds> time(t - day);
  return {static_cast<int>(ymd.year()),
          static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()),
          static_cast<unsigned>(time.hours().count()),
          static_cast<unsigned>(time.minutes().count()),
          static_cast<unsigned>(time.seconds().count()),
          time.subseconds().count()};
}

std::string format_date_time(const Parts& p, char sep) {
  std::string out;
  out.reserve(32);
  if (p.y >= 0 && p.y <= 9999) {
    put_digits(out, static_cast<uint64_t>(p.y), 4);
  } else {  // only an instant shifted by its offset past year 1 or 9999; as %04d writes it
    char b[16];
    std::snprintf(b, sizeof b, "%04d", p.y);
    out += b;
  }
  out += '-';
  put_digits(out, p.mo, 2);
  out += '-';
  put_digits(out, p.d, 2);
  out += sep;
  put_digits(out, p.h, 2);
  out += ':';
  put_digits(out, p.mi, 2);
  out += ':';
  put_digits(out, p.s, 2);
  return out;
}

void put_offset(std::string& out, int minutes) {
  out += minutes < 0 ? '-' : '+';
  unsigned m = static_cast<unsigned>(minutes < 0 ? -minutes : minutes);
  put_digits(out, m / 60 % 100, 2);
  out += ':';
  put_digits(out, m % 60, 2);
}

std::string format_python(const DateTime& d, char sep) {
  Parts p = split(d.wall_us);
  std::string out = format_date_time(p, sep);
  if (p.us != 0) {
    out += '.';
    put_digits(out, static_cast<uint64_t>(p.us), 6);
  }
  if (d.offset_minutes) put_offset(out, *d.offset_minutes);
  return out;
}

}  // namespace

std::optional<DateTime> parse_date(std::string_view text) {
  Cursor c{text};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  int64_t us = 0;
  if (!c.digits(4, y) || !c.eat('-') || !c.digits(2, mo) || !c.eat('-') || !c.digits(2, d)) return std::nullopt;
  chr::year_month_day date{chr::year(y), chr::month(static_cast<unsigned>(mo)), chr::day(static_cast<unsigned>(d))};
  if (y < 1 || !date.ok()) return std::nullopt;  // no year 0 in Python's datetime
  DateTime out;
  if (c.eat('T') || c.eat(' ')) {
    if (!c.digits(2, h) || !c.eat(':') || !c.digits(2, mi)) return std::nullopt;
    if (c.eat(':')) {
      if (!c.digits(2, s)) return std::nullopt;
      if (c.eat('.') || c.eat(',')) {
        size_t start = c.i;
        int64_t frac = 0;
        size_t n = 0;
        while (!c.done() && c.s[c.i] >= '0' && c.s[c.i] <= '9') {
          if (n < 6) frac = frac * 10 + (c.s[c.i] - '0');
          ++n;
          ++c.i;
        }
        if (n == 0 || n > 9 || c.i == start) return std::nullopt;
        for (size_t k = n; k < 6; ++k) frac *= 10;
        us = frac;
      }
    }
    if (h > 23 || mi > 59 || s > 59) return std::nullopt;
    if (!parse_offset(c, out.offset_minutes)) return std::nullopt;
  }
  if (!c.done()) return std::nullopt;
  out.wall_us = wall_us_of(date, chr::hours(h) + chr::minutes(mi) + chr::seconds(s) + chr::microseconds(us));
  return out;
}

std::optional<DateTime> date_from_unix(int64_t value) {
  // Python's len(str(value)) == 13, the sign included.
  bool millis = std::to_string(value).size() == 13;
  int64_t secs = millis ? value / 1000 - (value % 1000 < 0) : value;
  int64_t frac_us = millis ? (value - secs * 1000) * 1000 : 0;
  // Beyond years 1..9999 (Python's datetime range) there is no date: checked before any
  // arithmetic that could overflow, and again on the local time.
  constexpr int64_t kMinSecs = -62'135'596'800 - 86'400, kMaxSecs = 253'402'300'800 + 86'400;
  if (secs < kMinSecs || secs > kMaxSecs) return std::nullopt;
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (!localtime_r(&t, &tm) || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999) return std::nullopt;
  DateTime d;
  chr::year_month_day date{chr::year(tm.tm_year + 1900), chr::month(static_cast<unsigned>(tm.tm_mon + 1)),
                           chr::day(static_cast<unsigned>(tm.tm_mday))};
  d.wall_us = wall_us_of(date, chr::hours(tm.tm_hour) + chr::minutes(tm.tm_min) + chr::seconds(tm.tm_sec) +
                                  chr::microseconds(frac_us));
  return d;
}

std::optional<DateTime> stored_date(const Value& v) {
  if (v.kind == StorageClass::Text) return parse_date(v.s);
  if (v.kind == StorageClass::Integer) return date_from_unix(v.i);
  return std::nullopt;
}

std::string format_iso(const DateTime& d) { return format_python(d, 'T'); }
std::string format_python_str(const DateTime& d) { return format_python(d, ' '); }

std::string format_sqlite(const DateTime& d) {
  Parts p = split(d.instant());
  std::string out = format_date_time(p, ' ');
  out += '.';
  if (p.us % 1000 == 0)
    put_digits(out, static_cast<uint64_t>(p.us / 1000), 3);
  else
    put_digits(out, static_cast<uint64_t>(p.us), 6);
  return out;
}

}  // namespace mdb
