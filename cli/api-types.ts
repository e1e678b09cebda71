// Shapes of the API answers the CLI reads: the shared wire types (shared/api-types.ts, checked against the server's
// schemas at compile time), under the names the CLI's commands use. Types only: nothing reaches the bundle.
export type * from "../shared/api-types.ts";
export type { ApiToken as Token, CreatedApiToken as CreatedToken } from "../shared/api-types.ts";
