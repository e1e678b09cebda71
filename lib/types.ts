// Wire types of the REST API for the dashboard: the shared ones (shared/api-types.ts, which the server's schemas are
// checked against at compile time) and the roles (shared/roles.ts). Nothing here comes from server/, so no server
// code can reach the browser bundle.
export type * from "../shared/api-types";
export { ROLES, type Role } from "../shared/roles";
