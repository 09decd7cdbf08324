// XNNPACK (Debian libxnnpack-dev) and the pthreadpool it runs on (libpthreadpool-dev): the
// NHWC inference engine Graft lowers whole networks to where it beats Graft's own kernels.
#include <pthreadpool.h>
#include <xnnpack.h>
