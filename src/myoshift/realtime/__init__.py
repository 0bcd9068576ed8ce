"""myoshift.realtime layer."""
