import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Vitest's default is one worker per core less one: a single worker on a 2-core CI machine. The suite's
    // files mostly wait on moto, the simulator and child processes, so two workers at least (packaging with
    // osls is serialised between them: test/support/osls-package.ts).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      POWERTOOLS_DEV: 'false',
      POWERTOOLS_SERVICE_NAME: 'pingone-secret-rotation',
      POWERTOOLS_METRICS_NAMESPACE: 'PingOneSecretRotation',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
