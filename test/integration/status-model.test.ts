/**
 * The status model (lib/status) called the way the fleet auditor calls it: the SDK client, PingOne's HTTP
 * client with worker credentials from SSM (Powertools, as the rotation function), loadConfig, a clock.
 * No CLI module is involved.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { libraryHandler } from '../../cli/local.js';
import { loadConfig } from '../../lib/config.js';
import { PingOneHttpClient } from '../../lib/pingone/http-client.js';
import { functionSettingHint, inspectStatus, STATUS_EXIT, type StatusDeps } from '../../lib/status/index.js';
import { LocalRotationDriver } from '../../local/driver.js';
import { describeLeaks } from '../support/leaks.js';
import { useWorld } from '../support/world.js';

const { world } = useWorld();
let deps: StatusDeps;

beforeAll(async () => {
  const config = loadConfig(world.functionEnv);
  const client = new PingOneHttpClient({
    apiUrlTemplate: config.apiUrlTemplate,
    authUrlTemplate: config.authUrlTemplate,
    workers: world.workerRouter(),
  });
  deps = {
    secretsManager: world.secretsManager,
    pingone: { config, client },
    now: Date.now,
    hint: functionSettingHint,
  };
});

async function rotated(name: string) {
  const secret = await world.createRotatableSecret({ name, region: 'EU' });
  const handler = await libraryHandler({
    functionEnv: world.functionEnv,
    secretsManager: world.secretsManager,
    ssm: world.ssm,
    dynamodb: world.dynamodb,
  });
  const driver = new LocalRotationDriver({ secretsManager: world.secretsManager, invoke: handler.invoke });
  expect((await driver.rotate(secret.arn)).ok).toBe(true);
  return secret;
}

describe('lib/status: the model without the CLI', () => {
  it('healthy after a rotation; the report holds no secret value', async () => {
    const secret = await rotated('model/healthy');
    const report = await inspectStatus(deps, { secretId: secret.name });
    expect(report).toMatchObject({ verdict: 'healthy', exitCode: STATUS_EXIT.healthy });
    expect(report.secrets).toBeUndefined();
    const text = JSON.stringify(report);
    const state = world.sim.snapshot().resources.find((r) => r.id === secret.resourceId)?.secret;
    expect(state?.secret).toBeTruthy();
    expect(describeLeaks(text, [state!.secret])).toEqual([]);
    expect(describeLeaks(text, [state!.previous!.secret])).toEqual([]);
  });

  it('drift after a regenerate in the console without grace', async () => {
    const secret = await rotated('model/drift');
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId);
    const report = await inspectStatus(deps, { secretId: secret.arn });
    expect(report).toMatchObject({ verdict: 'drift', exitCode: STATUS_EXIT.drift });
  });

  it('misconfigured without ever asking for PingOne when AWSCURRENT is not a secret value', async () => {
    const secret = await world.createRotatableSecret({ name: 'model/broken', region: 'EU' });
    await world.secretsManager.send(
      new PutSecretValueCommand({ SecretId: secret.arn, SecretString: '{"nope"' }),
    );
    let asked = 0;
    const report = await inspectStatus(
      {
        ...deps,
        pingone: () => {
          asked++;
          throw new Error('PingOne is not configured');
        },
      },
      { secretId: secret.arn },
    );
    expect(report).toMatchObject({ verdict: 'misconfigured', exitCode: STATUS_EXIT.misconfigured });
    expect(asked).toBe(0);
  });

  it('an AWSPENDING is stuck at once where no rotation service resumes it, in progress elsewhere', async () => {
    const secret = await rotated('model/pending');
    const handler = await libraryHandler({
      functionEnv: world.functionEnv,
      secretsManager: world.secretsManager,
      ssm: world.ssm,
      dynamodb: world.dynamodb,
    });
    const driver = new LocalRotationDriver({ secretsManager: world.secretsManager, invoke: handler.invoke });
    await driver.startRotation(secret.arn);
    expect((await inspectStatus(deps, { secretId: secret.arn })).verdict).toBe('rotation-in-progress');
    expect(
      (await inspectStatus({ ...deps, noRotationService: true }, { secretId: secret.arn })).verdict,
    ).toBe('stuck-pending');
  });
});

describe('lib/ stands alone', () => {
  it('no lib/ module imports from cli/, local/, test/ or bench/', () => {
    const root = join(import.meta.dirname, '../..');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          const source = readFileSync(path, 'utf8');
          for (const match of source.matchAll(/from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
            const spec = match[1] ?? match[2]!;
            if (/(^|\/)(cli|local|test|bench)\//.test(spec))
              offenders.push(`${relative(root, path)}: ${spec}`);
          }
        }
      }
    };
    walk(join(root, 'lib'));
    expect(offenders).toEqual([]);
  });
});
