"""Pruning: masks that hold weights at exactly zero, and the methods that choose them."""
