"""Differentially private aggregates (counts, sums, means, histograms) with OpenDP, under a
privacy budget per data set and analyst, accounted in the database."""
