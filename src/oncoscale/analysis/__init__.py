"""Pure analysis — a Dataset (or numbers) in, numbers out; it never runs a model: summaries,
study metrics, ensemble statistics, ABM/IBM-vs-continuum statistics, kinetic-limit distances,
bifurcation diagrams of a given problem, invasion measures."""
