// GraftTorch: module under construction (see README).
