"""ragconf: Confluence Cloud to RAG."""

__version__ = "0.1.0"
