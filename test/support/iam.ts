import { createValidatedPolicy } from '@cloud-copilot/iam-policy';
import {
  allowedContextKeysForRequest,
  runSimulation,
  runUnsafeSimulation,
} from '@cloud-copilot/iam-simulate';

/**
 * Evaluates AWS requests against identity policies with @cloud-copilot/iam-simulate, a maintained IAM
 * policy evaluator that also validates its input against AWS's service reference (the action exists, the
 * resource ARN is of a type the action takes, each context key applies to the action and resource).
 *
 * One library limitation is handled here, in the open: its validated entry point drops context keys whose
 * variable part follows a colon — `kms:EncryptionContext:<key>` — as "not applicable" (it only recognises
 * `prefix/<variable>` keys such as `aws:ResourceTag/<key>`). For such a request the validated run still checks
 * the action, the resource and every other key; the decision then comes from the library's unvalidated
 * entry point with the full context, so the encryption-context conditions are really evaluated.
 */

export interface AwsRequest {
  /** `service:Action` */
  readonly action: string;
  readonly resource: string;
  /** Condition keys AWS would evaluate for this request, with their values. */
  readonly context: Readonly<Record<string, string | string[]>>;
  /** Where the request comes from, for messages (`sm:GetSecretValue`, `implied by ...`). */
  readonly origin?: string;
}

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface IamWorld {
  readonly accountId: string;
  readonly principal: string;
  readonly identityPolicies: readonly { name: string; policy: unknown }[];
  /** Key policies by key ARN; a KMS request without one is refused by KMS whatever IAM says. */
  readonly keyPolicies?: Readonly<Record<string, unknown>>;
}

/** KMS's default key policy: the account's IAM policies decide. */
export function defaultKeyPolicy(accountId: string): unknown {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'EnableIamUserPermissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
}

const COLON_VARIABLE_KEY = /^kms:encryptioncontext:/i;

/** The subset of `context` that AWS evaluates for this action and resource (per the service reference). */
export async function applicableContext(
  action: string,
  resource: string,
  context: Readonly<Record<string, string | string[]>>,
): Promise<Record<string, string | string[]>> {
  const [service = '', name = ''] = action.split(':');
  const allowed = new Set(await allowedContextKeysForRequest(service, name, resource, false, undefined));
  return Object.fromEntries(
    Object.entries(context).filter(([key]) => {
      const lower = key.toLowerCase();
      if (allowed.has(lower) || COLON_VARIABLE_KEY.test(lower)) return true;
      const slash = lower.indexOf('/');
      return slash > 0 && [...allowed].some((k) => k.startsWith(lower.slice(0, slash + 1)));
    }),
  );
}

export async function evaluate(world: IamWorld, request: AwsRequest): Promise<Decision> {
  const keyPolicy = request.action.startsWith('kms:') ? world.keyPolicies?.[request.resource] : undefined;
  const simulation = {
    identityPolicies: world.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(keyPolicy ? { resourcePolicy: keyPolicy } : {}),
    request: {
      action: request.action,
      principal: world.principal,
      resource: { accountId: world.accountId, resource: request.resource },
      contextVariables: { ...request.context },
    },
  };
  // biome-ignore lint/suspicious/noExplicitAny: the library's Simulation type is not exported in full
  const validated = await runSimulation(simulation as any, {});
  if (validated.resultType === 'error') {
    throw new Error(`invalid request ${describe(request)}: ${JSON.stringify(validated.errors)}`);
  }
  if (validated.resultType !== 'single')
    throw new Error(`unexpected wildcard result for ${describe(request)}`);
  const ignored = validated.result.ignoredContextKeys ?? [];
  const unexpected = ignored.filter((key) => !COLON_VARIABLE_KEY.test(key));
  if (unexpected.length > 0) {
    throw new Error(
      `${describe(request)}: context keys AWS does not evaluate here: ${unexpected.join(', ')}`,
    );
  }
  if (ignored.length === 0) return validated.overallResult as Decision;
  const unsafe = {
    ...simulation,
    ...(keyPolicy
      ? { resourcePolicy: createValidatedPolicy(keyPolicy, () => [], { name: 'key-policy' }) }
      : {}),
  };
  // biome-ignore lint/suspicious/noExplicitAny: as above
  return runUnsafeSimulation(unsafe as any, {}) as Decision;
}

export function describe(request: AwsRequest): string {
  const context = Object.entries(request.context)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : v}`)
    .join(', ');
  return `${request.action} on ${request.resource}${context ? ` {${context}}` : ''}${request.origin ? ` (${request.origin})` : ''}`;
}
