"""Platform API connectors: native responses are landed as immutable JSON files in the inbox."""
