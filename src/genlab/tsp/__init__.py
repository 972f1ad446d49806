"""The travelling-salesman problem on Hopfield-type networks.

TSPLIB instances (:mod:`genlab.tsp.tsplib`), exact Held-Karp (:mod:`genlab.tsp.exact`), the
Hopfield-Tank network (:mod:`genlab.tsp.hopfield_tank`), softassign mean-field annealing
(:mod:`genlab.tsp.meanfield`), the elastic net (:mod:`genlab.tsp.elastic`), the
self-organising map (:mod:`genlab.tsp.som`) and the classical baselines nearest-neighbour and
2-opt (:mod:`genlab.tsp.polish`); a tour's gap to the optimum (:mod:`genlab.tsp.optimum`) and
the tasks behind ``genlab tsp`` (:mod:`genlab.tsp.tasks`).
"""

from genlab.tsp.decode import SolveResult, is_valid_state, state_to_tours
from genlab.tsp.elastic import ElasticNetConfig, solve_elastic_net
from genlab.tsp.exact import ExactTour, brute_force, held_karp
from genlab.tsp.hopfield_tank import HopfieldTankConfig, solve_hopfield_tank
from genlab.tsp.instances import BUILTIN_INSTANCES, load_instance, random_euclidean
from genlab.tsp.meanfield import MeanFieldConfig, solve_mean_field
from genlab.tsp.optimum import gap_to_optimum, known_optimum
from genlab.tsp.polish import best_nearest_neighbour, nearest_neighbour, two_opt
from genlab.tsp.solve import DEFAULT_RESTARTS, METHODS, default_restarts, solve
from genlab.tsp.som import SOMConfig, solve_som
from genlab.tsp.tasks import run_exact, run_info, run_solve
from genlab.tsp.tsplib import Instance, read_tour, read_tsplib, tour_length

__all__ = [
    "BUILTIN_INSTANCES", "DEFAULT_RESTARTS", "METHODS", "ElasticNetConfig", "ExactTour",
    "HopfieldTankConfig", "Instance", "MeanFieldConfig", "SOMConfig", "SolveResult",
    "best_nearest_neighbour", "brute_force", "default_restarts", "gap_to_optimum", "held_karp",
    "is_valid_state", "known_optimum", "load_instance", "nearest_neighbour", "random_euclidean",
    "read_tour", "read_tsplib", "run_exact", "run_info", "run_solve", "solve", "solve_elastic_net",
    "solve_hopfield_tank", "solve_mean_field", "solve_som", "state_to_tours", "tour_length",
    "two_opt",
]
