// Index of the REST API's request and response schemas, one module per resource in server/http/schemas/ (routes
// import those directly). It stays for imports written before the split; new schemas go into their own module.
export * from "./schemas/error.ts";
export * from "./schemas/auth.ts";
export * from "./schemas/teams.ts";
export * from "./schemas/invitations.ts";
export * from "./schemas/apps.ts";
export * from "./schemas/tokens.ts";
export * from "./schemas/audit.ts";
