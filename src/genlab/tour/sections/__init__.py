"""The tour's sections, one module per step; :mod:`genlab.tour.steps` lists them in order."""
