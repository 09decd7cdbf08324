#include <hdf5.h>
#include <H5PLpublic.h>
