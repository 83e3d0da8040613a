"""Word-frequency statistics: Bose-Einstein and Maxwell-Boltzmann fits, bootstrap, comparisons, verdicts."""
