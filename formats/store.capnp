# The blob store's records (store.md): snapshot records and manifest parts. Both are blobs
# in packs, so the index can be rebuilt from the packs alone. Fields are only ever added.
@0xd2e8c384b1e4e3e9;

$import "/capnp/c++.capnp".namespace("mdb::capnp_store");

# One entry of a snapshot's tree. Paths are relative to the data dir, '/'-separated, as raw
# bytes (file names need not be UTF-8). Entries are sorted component by component, so a
# directory comes right before its contents.
struct Entry {
  path @0 :Data;
  kind @1 :Kind;
  mode @2 :UInt32;       # permission bits (07777)
  mtimeNs @3 :Int64;     # also written when it fits; readers use mtimeSec/mtimeNsec unless both are 0
  size @4 :UInt64;
  chunks @5 :List(Data); # 32-byte SHA-256 blob ids, in file order
  target @6 :Data;       # symlink target
  database @7 :Bool;     # a SQLite DB, copied with the online backup API
  changedWhileRead @8 :Bool;  # kept changing while backup read it: the bytes of the last read, maybe torn
  owner @9 :Owner;       # numeric owner and group; null in manifests written before they were recorded
  mtimeSec @10 :Int64;   # the mtime, any year (nanoseconds since 1970 end in 2262)
  mtimeNsec @11 :UInt32; # 0..999999999
  hardLinked @12 :Bool;  # a file that later hardLink entries may link to
  deviceMajor @13 :UInt32;  # charDevice, blockDevice
  deviceMinor @14 :UInt32;

  enum Kind {
    file @0;
    directory @1;
    symlink @2;
    hardLink @3;     # a hard link to the earlier file entry at `target`; also holds its chunks and size
    fifo @4;
    charDevice @5;
    blockDevice @6;
  }
}

struct Owner {
  uid @0 :UInt32;
  gid @1 :UInt32;
}

# A bounded slice of a manifest: cut where a path hash hits a boundary, so unchanged
# stretches of a tree give identical (deduplicated) parts.
struct ManifestPart {
  entries @0 :List(Entry);
}

struct Snapshot {
  name @0 :Text;
  timeNs @1 :Int64;      # UTC, nanoseconds since the epoch
  host @2 :Text;
  dataDir @3 :Text;
  reason @4 :Text;       # "backup", or the command an automatic snapshot was taken before
  files @5 :UInt64;
  dirs @6 :UInt64;
  bytes @7 :UInt64;      # total size of the files
  newBytes @8 :UInt64;   # bytes of blobs this snapshot added to the store
  storedBytes @9 :UInt64;  # the same after compression
  manifest @10 :List(Data);  # ids of the ManifestPart blobs, in order
  entries @11 :UInt64;
  kind @12 :Kind;        # unknown in records written before it existed: classified by reason and name
  changedWhileRead @13 :UInt64;  # files that kept changing while they were read (entries marked so)
  rootOwner @14 :Owner;  # the owner of the data dir itself; null in records written before it
  tags @15 :List(Text);  # `backup --tag`, in the order given, without repeats; empty (untagged) in older records

  enum Kind {
    unknown @0;
    backup @1;             # `mephisto db backup`: what users made
    beforeImport @2;       # automatic, before an import
    beforeRestore @3;      # automatic, before a restore
    beforeExportDelete @4; # automatic, before `export --delete-exported-data`
  }
}
