// GraftTrain: module under construction (see README).
