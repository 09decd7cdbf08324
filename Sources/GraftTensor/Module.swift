// GraftTensor: module under construction (see README).
