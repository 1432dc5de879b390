"""The command-line interface: a few lines per subcommand over library functions."""
