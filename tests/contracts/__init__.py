"""One contract suite per Protocol in ragconf.index.types, run against every implementation."""
