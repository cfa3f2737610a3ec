@0xcf5b9f1c0e6a7d42;
# The Cap'n Proto half of a dump (export.md, "The Cap'n Proto half"): one zip member holding a
# stream of Message values in Cap'n Proto's standard stream framing:
#   1. one header (format version, dump metadata, the JSON member's size and xxh3-128),
#   2. the header's file list, in `files` batches (fileCount files in all),
#   3. the rows, table by table, in `rows` batches (a table without rows has one empty batch);
#      a value too large for a batch is marked `largeText`/`largeBlob` and its bytes follow the
#      batch in `chunk` messages, in the order the marked values appear; a database the JSON member
#      holds with no tables (`"inhouse": {}`) is an `emptyDb` message in its place among them, so
#      the half renders to the JSON member's exact bytes (the import relies on that).
# Batching keeps every message far below Cap'n Proto's default traversal limit (64 MiB).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mdb::capnp_dump::wire");

struct Hash128 {
  high @0 :UInt64;
  low @1 :UInt64;
}

struct Header {
  formatVersion @0 :UInt32;
  dumpMetadata @1 :Data;   # the JSON member's "dump_metadata" value, as compact JSON text
  jsonMember @2 :Data;     # the JSON member's name in the zip
  jsonSize @3 :UInt64;
  jsonHash @4 :Hash128;    # xxh3-128 of the JSON member's bytes
  fileCount @5 :UInt64;
}

struct File {
  path @0 :Data;           # the member name in the zip ("runs/<project>/<run>/...")
  size @1 :UInt64;
  hash @2 :Hash128;        # xxh3-128 of the content
}

# One SQLite value with its storage class. Text is Data: stored text may hold NUL bytes or
# invalid UTF-8, and Cap'n Proto Text may not.
struct Value {
  union {
    null @0 :Void;
    integer @1 :Int64;
    real @2 :Float64;
    text @3 :Data;
    blob @4 :Data;
    largeText @5 :UInt64;  # byte count; the bytes follow in chunk messages
    largeBlob @6 :UInt64;
  }
}

struct Row {
  values @0 :List(Value);
}

struct RowBatch {
  db @0 :Data;             # "mephisto" or a provider type
  table @1 :Data;
  columns @2 :List(Data);
  rows @3 :List(Row);
}

struct Message {
  union {
    header @0 :Header;
    files @1 :List(File);
    rows @2 :RowBatch;
    chunk @3 :Data;
    emptyDb @4 :Data;      # the key of a database without tables
  }
}
