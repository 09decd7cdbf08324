print("graft: under construction")
