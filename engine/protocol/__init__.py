"""Sans-I/O protocol layer: bytes in, messages out, and back. Knows nothing of sockets."""
