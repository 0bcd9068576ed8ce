"""myoshift.evaluation layer."""
