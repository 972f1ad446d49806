"""``genlab tour``: every model of the lecture run end to end, as a report page."""

from genlab.tour.runner import Step, StepOutput, TourContext, TourResult, run_tour

__all__ = ["Step", "StepOutput", "TourContext", "TourResult", "run_tour"]
