// Short instance ids for tables and log lines. Ids are APP-TYPE-SUFFIX (server/scheduler/instance-spec.ts), so their
// first characters are the same for every instance of an app: the random suffix is what tells them apart.

/** "e4efae0e" from "shop-web-e4efae0e"; ids without such a suffix are cut to their first 8 characters. */
export function shortInstanceId(id: string): string {
  return /-([0-9a-f]{8})$/.exec(id)?.[1] ?? id.slice(0, 8);
}
