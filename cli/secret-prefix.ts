/**
 * The stack's secret-name prefix (serverless.yml secretNamePrefix): the rotation function may touch only
 * secrets whose name starts with it, so a secret onboarded under another name could never rotate. Commands
 * that create secrets refuse such a name before anything is created.
 */

/** The stack's default secret-name prefix (serverless.yml secretNamePrefix). */
export const DEFAULT_SECRET_NAME_PREFIX = 'pingone/';

/** Secrets Manager's own rule for a name: 1–512 of letters, digits and /_+=.@- */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/**
 * What is wrong with `name` as the name of a secret the stack rotates, or undefined when nothing is. The
 * text names the prefix and says what to do.
 */
export function secretNameProblem(name: string, prefix: string): string | undefined {
  if (!SECRET_NAME.test(name)) {
    return `secret name '${name}' is not a Secrets Manager name (1-512 of letters, digits and /_+=.@-)`;
  }
  if (!name.startsWith(prefix) || name.length === prefix.length) {
    return (
      `secret name '${name}' is outside the stack's prefix '${prefix}': the rotation function may only ` +
      `rotate secrets named ${prefix}…; rename it (or pass --prefix with the stack's secretNamePrefix)`
    );
  }
  return undefined;
}
