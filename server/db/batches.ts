// SQLite binds at most 999 values per statement, and Prisma fails the whole query beyond that: lists of ids that can
// grow with the fleet (thousands of instances after a node loss or a big scale-down) go to the database in slices.

/** Ids per `IN (...)` list, with room left for the statement's other values. */
export const MAX_IDS_PER_STATEMENT = 500;

/** `items` in consecutive slices of at most `size`. */
export function inBatches<T>(items: readonly T[], size = MAX_IDS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let k = 0; k < items.length; k += size) out.push(items.slice(k, k + size));
  return out;
}
