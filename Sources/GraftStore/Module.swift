// GraftStore: module under construction (see README).
