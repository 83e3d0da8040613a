"""The Bell study: designs, trials, answer parsing, counts files and the study run."""
