// The `berth` command line (filled in by the CLI work).
process.stderr.write("berth: not implemented yet\n");
process.exitCode = 1;
