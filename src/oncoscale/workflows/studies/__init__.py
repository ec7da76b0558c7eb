"""Studies over many runs: designs, the study engine, global sensitivity, calibration to data
and protocol optimisation (see docs/studies.md)."""
