// GraftPickle: module under construction (see README).
