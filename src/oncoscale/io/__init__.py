"""Files in and out: scenario files (TOML) with validation and overrides (:mod:`.scenario`),
and results as labelled CF NetCDF (:mod:`.results`), written atomically."""
