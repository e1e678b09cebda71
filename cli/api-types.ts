// Shapes of the API answers the CLI reads (see server/http/schemas.ts; only the fields used here).

export interface User {
  id: string;
  email: string;
  name: string;
  isAdmin: boolean;
}

export interface Session {
  user: User;
  csrfToken: string | null;
  via: "session" | "token";
}

export interface App {
  id: string;
  name: string;
  team: string;
  maintenance: boolean;
  webUrl: string;
  gitUrl: string;
  currentRelease: number | null;
  createdAt: string;
}

export interface AppDetail extends App {
  role: string;
  formation: { type: string; quantity: number; memoryMb: number; cpu: number }[];
}

export interface DeploySettings {
  rolloutBatch: number;
  healthCheckPath: string | null;
}

export interface Team {
  id: string;
  name: string;
  personal: boolean;
  role: string;
  apps: number;
  members: number;
  createdAt: string;
}

export interface Member {
  id: string;
  userId: string;
  email: string;
  name: string;
  role: string;
  createdAt: string;
}

export interface CreatedInvitation {
  id: string;
  email: string;
  role: string;
  team: string;
  expiresAt: string;
  acceptPath: string;
}

export interface Token {
  id: string;
  name: string;
  prefix: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

export interface CreatedToken extends Token {
  token: string;
}

export interface Build {
  id: string;
  status: string;
  ref: string;
  commit: string;
  image: string | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface BuildDetail extends Build {
  output: string;
}

export interface Release {
  version: number;
  name: string;
  image: string;
  processTypes: Record<string, string>;
  configKeys: string[];
  config?: Record<string, string>;
  description: string;
  status: string;
  failReason: string | null;
  buildId: string | null;
  createdBy: string | null;
  createdAt: string;
}
