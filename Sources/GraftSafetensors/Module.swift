// GraftSafetensors: module under construction (see README).
