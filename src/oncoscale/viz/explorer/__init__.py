"""The explorer's views (Panel + Bokeh): parameter widgets generated from a parameter set,
live and recorded fields (profiles, heat maps, lattices, particles), time series with fronts,
the homogeneous ODE (phase portrait, time series, bifurcation diagram) and finished results.

The app that wires them to runs lives in :mod:`oncoscale.workflows.explorer`; the command is
``oncoscale explore``. Panel and Bokeh come with the ``explore`` extra.
"""
