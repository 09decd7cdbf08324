#include <zip.h>
// zlib (a dependency of libzip-dev): crc32 over memory-mapped stored records.
#include <zlib.h>
