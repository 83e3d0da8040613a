"""Bell/CHSH statistics and contextuality measures: pure functions on counts and distributions."""
