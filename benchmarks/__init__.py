"""oncoscale benchmarks: machine-independent ratios and absolute times for the record."""
