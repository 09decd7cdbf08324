// GraftKeras: module under construction (see README).
