// Entry point of the Berth node agent (layer 0). The node-agent issue fills this in; it imports nothing
// from server/, app/ or Prisma so it can be bundled and deployed alone.
process.stderr.write("berth-agent: not implemented yet\n");
process.exitCode = 1;
