"""Packaging and deploying: ``careplus package`` (``dist/``), ``careplus deploy glue`` and ``careplus deploy emr``."""
