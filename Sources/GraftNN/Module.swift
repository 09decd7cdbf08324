// GraftNN: module under construction (see README).
