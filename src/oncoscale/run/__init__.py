"""The engine: run plans and records, the one run loop (:mod:`.runner`), protocol events
registered by kind (:mod:`.protocols`), trackers and record stores, checkpoints as data
(:mod:`.checkpoint`) and the parallel map on Dask (:mod:`.parallel`)."""
