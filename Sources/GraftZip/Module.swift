// GraftZip: module under construction (see README).
