#include "datadir/config.h"

#include <vector>

#include "base/error.h"

namespace mdb::core {

namespace {

struct Line {
  size_t number;
  size_t indent;
  std::string_view text;  // without indentation and trailing comment/space
};

[[noreturn]] void fail(std::string_view origin, size_t line, const std::string& what) {
  throw Error(std::string(origin) + ": line " + std::to_string(line) + ": " + what +
              " (only simple 'key: value' YAML is understood here)", ErrorKind::Damaged);
}

// Strips a trailing " #comment" outside quotes and trailing spaces.
std::string_view strip_comment(std::string_view s) {
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') quote = c;
    else if (c == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) { s = s.substr(0, i); break; }
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<Line> split_lines(std::string_view yaml, std::string_view origin) {
  std::vector<Line> out;
  size_t number = 0;
  while (!yaml.empty()) {
    size_t nl = yaml.find('\n');
    std::string_view raw = yaml.substr(0, nl);
    yaml = nl == std::string_view::npos ? std::string_view() : yaml.substr(nl + 1);
    ++number;
    size_t indent = 0;
    while (indent < raw.size() && raw[indent] == ' ') ++indent;
    if (indent < raw.size() && raw[indent] == '\t') fail(origin, number, "tab used for indentation");
    std::string_view text = strip_comment(raw.substr(indent));
    if (text.empty() || text == "---" || text == "...") continue;
    out.push_back({number, indent, text});
  }
  return out;
}

std::string unquote(std::string_view v, std::string_view origin, size_t line) {
  if (v.empty()) return {};
  if (v.front() == '\'') {
    if (v.size() < 2 || v.back() != '\'') fail(origin, line, "unterminated single-quoted value");
    std::string out;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      if (v[i] == '\'') {
        if (i + 2 >= v.size() || v[i + 1] != '\'') fail(origin, line, "stray quote in single-quoted value");
        ++i;
      }
      out += v[i];
    }
    return out;
  }
  if (v.front() == '"') {
    if (v.size() < 2 || v.back() != '"') fail(origin, line, "unterminated double-quoted value");
    std::string out;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      char c = v[i];
      if (c == '"') fail(origin, line, "stray quote in double-quoted value");
      if (c != '\\') { out += c; continue; }
      if (i + 2 >= v.size()) fail(origin, line, "dangling escape");
      char e = v[++i];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case '\\': out += '\\'; break;
        case '"': out += '"'; break;
        case '/': out += '/'; break;
        case ' ': out += ' '; break;
        default: fail(origin, line, std::string("unsupported escape \\") + e);
      }
    }
    return out;
  }
  if (v.front() == '[' || v.front() == '{' || v.front() == '|' || v.front() == '>' || v.front() == '&' ||
      v.front() == '*' || v.front() == '!')
    fail(origin, line, "unsupported YAML construct '" + std::string(1, v.front()) + "'");
  return std::string(v);
}

}  // namespace

std::optional<std::string> parse_main_data_directory(std::string_view yaml, std::string_view origin) {
  std::vector<Line> lines = split_lines(yaml, origin);
  // Path of keys leading to the current line, with their indentation.
  struct Level {
    size_t indent;
    std::string key;
    size_t child_indent = 0;  // 0: no child seen yet
  };
  std::vector<Level> path;
  std::optional<std::string> result;
  for (const Line& l : lines) {
    if (l.text.front() == '-') fail(origin, l.number, "lists are not supported");
    size_t colon = std::string_view::npos;
    char quote = 0;
    for (size_t i = 0; i < l.text.size(); ++i) {
      char c = l.text[i];
      if (quote) { if (c == quote) quote = 0; continue; }
      if (i == 0 && (c == '\'' || c == '"')) { quote = c; continue; }
      if (c == ':' && (i + 1 == l.text.size() || l.text[i + 1] == ' ')) { colon = i; break; }
    }
    if (colon == std::string_view::npos || colon == 0) fail(origin, l.number, "expected 'key: value'");
    std::string key = unquote(l.text.substr(0, colon), origin, l.number);
    std::string_view rest = l.text.substr(colon + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    while (!path.empty() && path.back().indent >= l.indent) path.pop_back();
    if (path.empty()) {
      if (l.indent != 0) fail(origin, l.number, "unexpected indentation");
    } else if (path.back().child_indent == 0) {
      path.back().child_indent = l.indent;
    } else if (path.back().child_indent != l.indent) {
      fail(origin, l.number, "inconsistent indentation");
    }
    std::string value = unquote(rest, origin, l.number);
    if (rest.empty()) {
      path.push_back({l.indent, key});
      continue;
    }
    if (path.size() == 1 && path[0].key == "core" && key == "main_data_directory") {
      bool is_null = rest == "null" || rest == "~" || rest == "Null" || rest == "NULL";
      result = is_null || value.empty() ? std::nullopt : std::optional<std::string>(value);
    }
  }
  return result;
}

}  // namespace mdb::core
