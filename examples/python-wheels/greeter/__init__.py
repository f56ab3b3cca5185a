"""greeter: the example's library, installed from the wheel the build makes."""

__version__ = "1.2.0"


def greet(name: str = "") -> str:
    return f"hello, {name or 'world'}"
