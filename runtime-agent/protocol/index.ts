// Berth agent protocol (version.ts): the only module of runtime-agent/ that the control plane imports.
export * from "./version.ts";
export * from "./names.ts";
export * from "./envelope.ts";
export * from "./register.ts";
export * from "./desired-state.ts";
export * from "./exec.ts";
export * from "./notifications.ts";
export * from "./methods.ts";
export * from "./parse.ts";
export * from "./encode.ts";
