"""myoshift.learn layer."""
