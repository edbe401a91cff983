import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** asl-validator (CommonJS, untyped): lints an Amazon States Language definition. */
export const validateAsl = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: { 'Error code': string; Message: string }[];
};

export const LIST_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:pingone-secret-rotation-ci-auditList';
export const WORKER_ARN =
  'arn:aws:lambda:us-east-1:123456789012:function:pingone-secret-rotation-ci-auditWorker';

/** infra/audit-state-machine.json as CloudFormation's DefinitionSubstitutions leave it. */
export function auditStateMachineDefinition(): Record<string, unknown> {
  const text = readFileSync(new URL('../../infra/audit-state-machine.json', import.meta.url), 'utf8')
    .replaceAll(`\${AuditListFunctionArn}`, LIST_ARN)
    .replaceAll(`\${AuditWorkerFunctionArn}`, WORKER_ARN);
  return JSON.parse(text) as Record<string, unknown>;
}

/** aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22); the suite also runs on Node 20. */
export function polyfillPromiseWithResolvers(): void {
  if ('withResolvers' in Promise) return;
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (value: T) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
