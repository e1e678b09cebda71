// Database access: Prisma Client over the libSQL driver adapter. Swapping to PostgreSQL means swapping the adapter.
import { PrismaClient } from "@prisma/client";
import { PrismaLibSQL } from "@prisma/adapter-libsql";

export type Db = PrismaClient;

/** Opens the database at a `file:` URL. */
export function createDb(databaseUrl: string): Db {
  const adapter = new PrismaLibSQL({ url: databaseUrl });
  return new PrismaClient({ adapter });
}
