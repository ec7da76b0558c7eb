"""Physics only: one package per family (parameter set, representations, observables, the
homogeneous ODE's bifurcation problem), the shared representation interface
(:mod:`.base`), validated parameter sets (:mod:`.parameters`) and the family registry
(:mod:`.registry`). No I/O, no plotting, no running of other models."""
