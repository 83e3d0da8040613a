"""The quantum studies (``probe quantum ...``, ``probe.quantum.*``): one module per study.

- :mod:`~probe.experiments.quantum.power`: entangling power and capacities of a unitary;
- :mod:`~probe.experiments.quantum.tables`: expressibility / entangling-capability layer tables;
- :mod:`~probe.experiments.quantum.mie`: measurement-induced entanglement scans;
- :mod:`~probe.experiments.quantum.classify`: quantum vs classical classifiers, repeated k-fold;
- :mod:`~probe.experiments.quantum.compare`: paired tests of two models' scores;
- :mod:`~probe.experiments.quantum.overlap`: latent class overlap and a SupCon head;
- :mod:`~probe.experiments.quantum.rl`: DQN with a VQC Q-function beside an MLP.

Each holds a frozen ``Settings``, ``plan()``, ``run()`` and a typed ``Result``
(:mod:`probe.protocol`); :mod:`~probe.experiments.quantum.values` reads ranges and
lists, :mod:`~probe.experiments.quantum.folder_run` is their shared run-folder skeleton.
"""
