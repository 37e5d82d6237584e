"""The privacy officers' console: register search, override review, access requests, overview."""
