"""Quantum machine-learning models built on :mod:`probe.qsim`: kernels, classifiers, hybrid
networks, recurrent cells, reinforcement learning, and the classical baselines and
cross-validation that compare them."""
