"""The application: prints a greeting with the installed greeter package."""

import sys

import greeter

if __name__ == "__main__":
    print(greeter.greet(sys.argv[1] if len(sys.argv) > 1 else ""), f"(greeter {greeter.__version__})")
