// GraftHDF5: module under construction (see README).
