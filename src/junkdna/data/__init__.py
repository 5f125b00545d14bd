"""Offline data sources: archives fetched once into the cache, verified, extracted member by member."""
