"""In-cluster access to the API server from real pods (a server bound to 0.0.0.0: own package)."""
