"""CarePlus Lakehouse: support tickets and application logs into bronze/silver/gold Delta tables."""

__version__ = "0.1.0"
