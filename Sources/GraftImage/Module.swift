// GraftImage: module under construction (see README).
