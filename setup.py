"""Packaging for careplus_spark: one wheel for spark-submit, EMR and AWS Glue."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent


class BuildWithConf(build_py):
    """Copies conf/*.yaml into the package so an installed wheel carries its defaults."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "careplus_spark" / "conf"
        target.mkdir(parents=True, exist_ok=True)
        for path in (HERE / "conf").glob("*.yaml"):
            shutil.copy2(path, target / path.name)


setup(
    name="careplus-spark",
    version="0.1.0",
    description="CarePlus Lakehouse: support tickets and application logs into Delta bronze/silver/gold",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["careplus_spark", "careplus_spark.*"]),
    package_data={"careplus_spark": ["py.typed", "jvm/*.jar", "platform/*.properties", "silver/mappings/*.yaml", "quality/rules/*.yaml"]},
    include_package_data=False,
    cmdclass={"build_py": BuildWithConf},
    # Primary line: pyspark 4.1.1 + delta-spark 4.2.0 (Glue 6.0). The Spark 3.5 line
    # (Glue 5.x, EMR 7.x) installs with: pip install -e . -c constraints-spark35.txt
    install_requires=[
        "pyspark>=3.5.3,<=4.1.1",
        "delta-spark>=3.3.2,<=4.2.0",
        "PyYAML>=6.0",
        "PyMySQL>=1.1",
    ],
    extras_require={
        # sqlglot (pure Python): tests parse the Athena/Redshift/Spark SQL that exposure emits
        "test": ["pytest>=8", "chispa>=0.10", "boto3>=1.34", "pyarrow>=14", "sqlglot>=30,<31",
                 # moto's server: the AWS control plane (Glue, ...) on loopback; trino: the client of
                 # the Trino server (Athena engine v3) that tests start (tests/services.py)
                 "moto[server]==5.2.5", "trino==0.340.0"],
        "aws": ["boto3>=1.34"],
        # `make lint`: pinned, so that a new release of a linter cannot fail CI on unchanged code
        "lint": ["ruff==0.17.6", "mypy==2.4.1", "import-linter==2.17", "types-PyYAML>=6.0"],
    },
    entry_points={"console_scripts": ["careplus=careplus_spark.cli:main"]},
)
