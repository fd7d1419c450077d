// OpenBLAS's CBLAS interface (Debian: libopenblas-dev, found through the multiarch include path).
#include <cblas.h>
