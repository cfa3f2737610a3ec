#!/usr/bin/env bash
# tools/check_structure must fail on each kind of violation it exists to catch: a tree that
# breaks one rule at a time is checked and the checker's verdict and words are compared.
set -uo pipefail
checker="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

tree() {  # a minimal well-formed tree: base <- formats <- import
  rm -rf "$tmp/t" && mkdir -p "$tmp/t"/{base,formats,import,tools,fuzz}
  printf '#pragma once\nint b();\n' >"$tmp/t/base/b.h"
  for i in $(seq 1 40); do echo "int b$i();" >>"$tmp/t/base/b.h"; done
  printf '#pragma once\n#include "base/b.h"\n' >"$tmp/t/formats/f.h"
  for i in $(seq 1 40); do echo "int f$i();" >>"$tmp/t/formats/f.h"; done
  printf '#pragma once\n#include "formats/f.h"\n' >"$tmp/t/import/x.h"
  for i in $(seq 1 40); do echo "int x$i();" >>"$tmp/t/import/x.h"; done
  for i in $(seq 1 60); do echo "int t$i();" >>"$tmp/t/tools/t.h"; done
  for i in $(seq 1 60); do echo "int z$i();" >>"$tmp/t/fuzz/z.h"; done
}

expect() {  # expect ok|fail WORDS CASE
  out=$("$checker" "$tmp/t" 2>&1)
  rc=$?
  if [ "$1" = ok ] && [ $rc -ne 0 ]; then echo "FAIL $3: expected ok, got: $out"; status=1; fi
  if [ "$1" = fail ] && { [ $rc -eq 0 ] || ! grep -q -- "$2" <<<"$out"; }; then
    echo "FAIL $3: expected a failure saying '$2', got ($rc): $out"; status=1
  fi
}

tree
expect ok "" "well-formed tree"

tree
echo '#include "import/x.h"' >>"$tmp/t/formats/f.h"
expect fail "a folder above formats" "upward include"

tree
printf '#pragma once\n#include "import/z.h"\n' >"$tmp/t/import/y.h"
printf '#pragma once\n#include "import/y.h"\n' >"$tmp/t/import/z.h"
expect fail "include loop" "loop between two headers"

tree
printf '#include "import/y.h"\n' >"$tmp/t/import/x.cc"
printf '#pragma once\n#include "import/x.h"\n' >"$tmp/t/import/y.h"
expect fail "include loop" "loop through a .cc and its header"

tree
for i in $(seq 1 501); do echo "int l$i();"; done >"$tmp/t/import/long.cc"
expect fail "import/long.cc has 501 lines" "long file"

tree
for i in $(seq 1 400); do echo "int g$i();"; done >"$tmp/t/import/big.h"
expect fail "import holds" "folder over 30%"

[ $status -eq 0 ] && echo "check_structure catches every kind of violation"
exit $status
