"""What strings runs together: a run with its files (pipeline), ensembles, ABM/IBM-vs-continuum
comparisons, kinetic limit studies, bifurcation diagrams with their reports, the demo — and
every future study. The one layer that may use every other except the command line."""
