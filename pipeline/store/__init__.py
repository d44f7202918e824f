"""Model bundles on an HTTP(S) artifact store: publish (PUT) and fetch (GET, sha256 verified); a small store server."""
