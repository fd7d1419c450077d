// zlib (Debian: zlib1g-dev): gzip'd IDX files and crc32 checksums for snapshots.
#include <zlib.h>
