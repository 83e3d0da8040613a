"""Entanglement-entropy profiles of matrices read as many-site states, their baselines and laws."""
