import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundle only (the esbuild alias in
 * scripts/esbuild-options.mjs). Lambda always puts the execution role's credentials in the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), so the default chain's other sources — SSO,
 * shared config files, ECS and EC2 metadata, credential processes — can never run there. Bundled, they cost
 * 143 kB and about 26 ms of every cold start (measured with `npm run bench`). Tests, `npm start`, the bench and
 * the operator CLI keep the SDK's full chain.
 */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]): ReturnType<typeof fromEnv> =>
  fromEnv(init);
