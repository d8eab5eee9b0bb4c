"""EndpointSlice mirroring and the `kubernetes` Service endpoints, driven against the fake API."""
