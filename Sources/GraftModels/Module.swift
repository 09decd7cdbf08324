// GraftModels: module under construction (see README).
