"""Run scalefit's command line from a checkout: ``python cli.py fit data/example_runs.csv``."""

from scalefit.cli import main

if __name__ == "__main__":
    main()
