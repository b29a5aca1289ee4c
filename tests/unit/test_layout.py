"""The package's shape: small modules and functions, and project imports at the top of modules."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "careplus_spark"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function after its signature and docstring."""
    body = node.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return (node.end_lineno or node.lineno) - body[0].lineno + 1


def long_functions(source: str) -> list[str]:
    """Names of the functions whose body is over :data:`MAX_FUNCTION_LINES` lines."""
    return [f.name for f in functions(ast.parse(source)) if body_lines(f) > MAX_FUNCTION_LINES]


def silent_project_imports(source: str) -> list[int]:
    """Lines importing ``careplus_spark`` inside a function without a comment saying why."""
    lines = source.splitlines()
    found = []
    for function in functions(ast.parse(source)):
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(n.split(".")[0] == "careplus_spark" for n in names) and "#" not in lines[node.lineno - 1]:
                found.append(node.lineno)
    return found


def test_no_module_is_over_400_lines() -> None:
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in modules()}
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_no_function_body_is_over_60_lines() -> None:
    found = {str(p.relative_to(PACKAGE)): long_functions(p.read_text()) for p in modules()}
    assert {name: names for name, names in found.items() if names} == {}


def test_imports_of_the_project_inside_functions_say_why() -> None:
    found = {str(p.relative_to(PACKAGE)): silent_project_imports(p.read_text()) for p in modules()}
    assert {name: lines for name, lines in found.items() if lines} == {}


def test_an_uncommented_function_import_is_reported_and_a_commented_one_is_not() -> None:
    source = (
        "def f():\n"
        "    from careplus_spark import errors\n"
        "    import careplus_spark.cli  # lazy: imports Spark\n"
        "    from pyspark.sql import functions\n"
    )
    assert silent_project_imports(source) == [2]


def test_a_long_function_is_reported_without_counting_its_docstring() -> None:
    docstring = '    """' + "\n".join(["doc"] * 30) + '"""\n'
    short = "def short():\n" + docstring + "    x = 1\n" * 60
    long = "def long():\n" + "    x = 1\n" * 61
    assert long_functions(short) == [] and long_functions(long) == ["long"]
