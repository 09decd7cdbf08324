#include <cblas.h>
// OpenBLAS extensions: thread control for the pthread build Debian ships.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
