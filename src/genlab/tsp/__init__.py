"""The travelling-salesman problem on Hopfield-type networks.

TSPLIB instances (:mod:`genlab.tsp.tsplib`), exact Held-Karp (:mod:`genlab.tsp.exact`), the
Hopfield-Tank network (:mod:`genlab.tsp.hopfield_tank`), softassign mean-field annealing
(:mod:`genlab.tsp.meanfield`), the elastic net (:mod:`genlab.tsp.elastic`) and the classical
baselines nearest-neighbour and 2-opt (:mod:`genlab.tsp.polish`).
"""

from genlab.tsp.decode import SolveResult, is_valid_state, state_to_tours
from genlab.tsp.elastic import ElasticNetConfig, solve_elastic_net
from genlab.tsp.exact import ExactTour, brute_force, held_karp
from genlab.tsp.hopfield_tank import HopfieldTankConfig, solve_hopfield_tank
from genlab.tsp.instances import BUILTIN_INSTANCES, load_instance, random_euclidean
from genlab.tsp.meanfield import MeanFieldConfig, solve_mean_field
from genlab.tsp.polish import best_nearest_neighbour, nearest_neighbour, two_opt
from genlab.tsp.solve import METHODS, solve
from genlab.tsp.tsplib import Instance, read_tour, read_tsplib, tour_length

__all__ = [
    "BUILTIN_INSTANCES", "METHODS", "ElasticNetConfig", "ExactTour", "HopfieldTankConfig",
    "Instance", "MeanFieldConfig", "SolveResult", "best_nearest_neighbour", "brute_force",
    "held_karp", "is_valid_state", "load_instance", "nearest_neighbour", "random_euclidean",
    "read_tour", "read_tsplib", "solve", "solve_elastic_net", "solve_hopfield_tank",
    "solve_mean_field", "state_to_tours", "tour_length", "two_opt",
]
