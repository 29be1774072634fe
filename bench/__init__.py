"""`make bench`: how fast the sandbox is and where the time goes (figures as medians and ratios)."""
