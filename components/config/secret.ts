// Which config keys look secret (mirrors SECRET_KEY in server/config-vars/config-vars.ts): their values are masked
// on screen until revealed, even for roles that receive them.
const SECRET_KEY = /(SECRET|PASSW|TOKEN|KEY|PRIVATE|CREDENTIAL|AUTH|DSN|SALT|CERT|_URL$)/i;

export const MASK = "••••••••";

/** True if values of `key` should be masked until revealed. */
export function looksSecret(key: string): boolean {
  return SECRET_KEY.test(key);
}
