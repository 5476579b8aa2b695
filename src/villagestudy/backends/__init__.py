"""Executors that run the same study code elsewhere (Dask)."""
