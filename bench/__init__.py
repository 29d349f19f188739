"""The benchmark (`python -m bench`, `make bench`) and the multi-instance check."""
