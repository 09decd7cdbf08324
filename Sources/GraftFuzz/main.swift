print("graft-fuzz: under construction")
