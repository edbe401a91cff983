import { type AttributeValue, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { ledgerKey } from '../../lib/ledger/record.js';
import type { PingOneRegion } from '../../lib/pingone/regions.js';
import type { SecretOwner } from '../../lib/pingone/types.js';
import { SecretsStore } from '../../lib/secrets/secrets-store.js';
import { ALL_STEPS } from '../../local/driver.js';
import type { RotatableSecret } from '../../local/world.js';
import { committedRegenerates, rotationHarness } from '../support/harness.js';
import { useWorld } from '../support/world.js';

/**
 * Issue 17, finding 3: the rotation ledger's key and binding depend only on the owner's ids, never on the
 * region a secret's writer puts in its JSON. Against moto's DynamoDB and the PingOne simulator over HTTP,
 * with PingOne URLs that name no region (a proxy, one host for every region: any region alias reaches the
 * same PingOne). Also: items a deployed table holds under the old region-bearing keys still count.
 */
const { world, authenticates, sensitive, output, logLeaks } = useWorld({
  captureLogs: true,
  workerRegion: 'EU',
});
let counter = 0;
/** Region-free overrides: whatever region a secret names, its PingOne is the simulator's EU. */
let regionFree: Record<string, string>;

beforeAll(async () => {
  regionFree = { PINGONE_API_URL: world.sim.apiUrl('EU'), PINGONE_AUTH_URL: world.sim.authUrl('EU') };
});

async function newSecret(): Promise<RotatableSecret> {
  const secret = await world.createRotatableSecret({ name: `pingone/region-${++counter}`, region: 'EU' });
  sensitive.add(world.sim.readSecret(secret.environmentId, secret.resourceId).secret);
  return secret;
}

function ownerOf(secret: RotatableSecret, region: PingOneRegion = secret.region): SecretOwner {
  return { kind: 'resource', environmentId: secret.environmentId, id: secret.resourceId, region };
}

async function currentSecret(secretId: string): Promise<string> {
  const value = (await world.readSecretJson(secretId)).clientSecret as string;
  sensitive.add(value);
  return value;
}

/** A secret naming `victim`'s owner under `region`, holding `clientSecret` (a reader's copy). */
async function copyOf(victim: RotatableSecret, clientSecret: string, region: PingOneRegion): Promise<string> {
  const out = await world.secretsManager.send(
    new CreateSecretCommand({
      Name: `pingone/region-copy-${++counter}`,
      SecretString: JSON.stringify({
        environmentId: victim.environmentId,
        resourceId: victim.resourceId,
        clientSecret,
        region,
      }),
    }),
  );
  return out.ARN as string;
}

async function rawItem(pk: string): Promise<Record<string, AttributeValue> | undefined> {
  const out = await world.dynamodb.send(
    new GetItemCommand({ TableName: world.ledgerTable, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return out.Item;
}

/** An item as the ledger wrote it before issue 17: key `resource#<region>#<env>#<id>`. */
async function putLegacyItem(
  secret: RotatableSecret,
  region: PingOneRegion,
  fields: { binding?: string; intent?: { token: string; secretArn: string; postUntil: string } },
): Promise<string> {
  const pk = ['resource', region, secret.environmentId, secret.resourceId].join('#');
  const at = new Date(world.sim.clock.now().getTime() - 3_600_000).toISOString();
  await world.dynamodb.send(
    new PutItemCommand({
      TableName: world.ledgerTable,
      Item: {
        pk: { S: pk },
        rev: { N: '3' },
        ownerKind: { S: 'resource' },
        region: { S: region },
        environmentId: { S: secret.environmentId },
        ownerId: { S: secret.resourceId },
        updatedAt: { S: at },
        history: {
          L: fields.binding
            ? [
                {
                  M: {
                    token: { S: `legacy-${counter}` },
                    secretArn: { S: fields.binding },
                    startedAt: { S: at },
                    regeneratedAt: { S: at },
                    finishedAt: { S: at },
                    outcome: { S: 'rotated' },
                  },
                },
              ]
            : [],
        },
        ...(fields.binding
          ? {
              binding: { M: { secretArn: { S: fields.binding }, boundAt: { S: at }, how: { S: 'onboard' } } },
            }
          : {}),
        ...(fields.intent
          ? {
              intent: {
                M: {
                  token: { S: fields.intent.token },
                  secretArn: { S: fields.intent.secretArn },
                  startedAt: { S: at },
                  postUntil: { S: fields.intent.postUntil },
                },
              },
            }
          : {}),
      },
    }),
  );
  return pk;
}

describe('the ledger binding and the region field', () => {
  it("a reader's copy naming the owner under another region alias is refused before any PingOne call; the victim keeps working", async () => {
    const victim = await newSecret();
    {
      const first = await rotationHarness(world, { env: regionFree }).driver.rotate(victim.arn);
      expect(first.ok, first.error).toBe(true);
    }
    const victimCurrent = await currentSecret(victim.arn);
    // Whoever may read the victim's secret copies it, names region NA, and turns rotation on for the copy.
    const copy = await copyOf(victim, victimCurrent, 'NA');
    const regeneratesBefore = committedRegenerates(world.sim, victim.resourceId);
    const requestsBefore = world.sim.requests.length;
    const harness = rotationHarness(world, { env: regionFree, maxAttempts: 2 });

    const report = await harness.driver.rotate(copy);

    expect(report.ok).toBe(false);
    expect(report.error).toContain(`belongs to secret ${victim.arn}`);
    expect(world.sim.requests.length).toBe(requestsBefore);
    expect(committedRegenerates(world.sim, victim.resourceId)).toBe(regeneratesBefore);
    expect(world.sim.readSecret(victim.environmentId, victim.resourceId).secret).toBe(victimCurrent);
    expect(await authenticates(victim, victimCurrent)).toBe(true);
    // One item for the owner, under the key of its ids only, bound in the region of the proof.
    const item = await rawItem(ledgerKey(ownerOf(victim)));
    expect(item?.binding?.M?.secretArn?.S).toBe(victim.arn);
    expect(item?.binding?.M?.region?.S).toBe('EU');
    expect(await rawItem(ledgerKey(ownerOf(victim, 'NA')))).toEqual(item);
    for (const token of harness.rotationTokens) sensitive.add(token);
  });

  it('the bound secret itself, its region edited, is refused (OwnerRegionMismatch) before any PingOne call', async () => {
    const victim = await newSecret();
    {
      const first = await rotationHarness(world, { env: regionFree }).driver.rotate(victim.arn);
      expect(first.ok, first.error).toBe(true);
    }
    // Edit AWSCURRENT's region (stored unlabelled, then AWSCURRENT moved to it: moto's PutSecretValue
    // would leave two AWSCURRENT versions after a rotation).
    const value = await world.readSecretJson(victim.arn);
    const labels = await world.labels(victim.arn);
    const currentId = Object.entries(labels).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
    const edited = await world.secretsManager.send(
      new PutSecretValueCommand({
        SecretId: victim.arn,
        SecretString: JSON.stringify({ ...value, region: 'AU' }),
        VersionStages: [],
      }),
    );
    await new SecretsStore(world.secretsManager).promote(victim.arn, edited.VersionId as string, currentId);
    expect((await world.readSecretJson(victim.arn)).region).toBe('AU');
    const requestsBefore = world.sim.requests.length;

    const report = await rotationHarness(world, { env: regionFree, maxAttempts: 1 }).driver.rotate(
      victim.arn,
    );

    expect(report.ok).toBe(false);
    expect(report.error).toMatch(
      new RegExp(
        `^createSecret: Secret ${victim.arn} names PingOne resource ${victim.resourceId} in environment ` +
          `${victim.environmentId} in region AU, but the rotation ledger bound it in region EU .*nothing was ` +
          "sent to PingOne. Set the secret's region back to EU",
      ),
    );
    expect(world.sim.requests.length).toBe(requestsBefore);
    expect(output.text).toContain('"errorCode":"OwnerRegionMismatch"');
  });
});

describe('items under the old region-bearing keys (tables deployed before issue 17)', () => {
  it('a legacy binding still refuses another secret, whatever region that secret names', async () => {
    const victim = await newSecret();
    await putLegacyItem(victim, 'EU', { binding: victim.arn });
    const copy = await copyOf(victim, await currentSecret(victim.arn), 'SG');
    const requestsBefore = world.sim.requests.length;

    const report = await rotationHarness(world, { env: regionFree, maxAttempts: 1 }).driver.rotate(copy);

    expect(report.ok).toBe(false);
    expect(report.error).toContain(`belongs to secret ${victim.arn}`);
    expect(world.sim.requests.length).toBe(requestsBefore);
    expect(await rawItem(ledgerKey(ownerOf(victim)))).toBeUndefined();
  });

  it("a legacy live intent holds back a regenerate; the owner's next write migrates its record to the new key", async () => {
    const victim = await newSecret();
    const now = world.sim.clock.now().getTime();
    const legacyKey = await putLegacyItem(victim, 'EU', {
      binding: victim.arn,
      intent: { token: 'in-flight', secretArn: victim.arn, postUntil: new Date(now + 30_000).toISOString() },
    });
    const held = await rotationHarness(world, { maxAttempts: 1 }).driver.rotate(victim.arn);
    expect(held.ok).toBe(false);
    expect(held.error).toContain('began a regenerate');
    expect(committedRegenerates(world.sim, victim.resourceId)).toBe(0);

    // Once the legacy intent has settled, Secrets Manager's retry runs; its first write creates the new item.
    world.sim.clock.advance(120_000);
    const report = await rotationHarness(world).driver.run(victim.arn, held.token, ALL_STEPS);
    expect(report.ok, report.error).toBe(true);
    expect(committedRegenerates(world.sim, victim.resourceId)).toBe(1);
    const record = await world.ledger.read(ownerOf(victim), {
      deadline: Date.now() + 10_000,
      now: Date.now,
    });
    expect(record?.binding).toMatchObject({ secretArn: victim.arn, how: 'onboard', region: 'EU' });
    expect(record?.history.map((run) => run.token)).toEqual([report.token, `legacy-${counter}`]);
    expect(await rawItem(legacyKey)).toBeDefined();
    expect(await rawItem(ledgerKey(ownerOf(victim)))).toBeDefined();
  });

  it('two legacy items binding the owner to two secrets: every rotation refused (LedgerLegacyConflict), naming both', async () => {
    const victim = await newSecret();
    const copy = await copyOf(victim, await currentSecret(victim.arn), 'NA');
    await putLegacyItem(victim, 'EU', { binding: victim.arn });
    await putLegacyItem(victim, 'NA', { binding: copy });
    const requestsBefore = world.sim.requests.length;

    for (const secret of [victim.arn, copy]) {
      const report = await rotationHarness(world, { env: regionFree, maxAttempts: 1 }).driver.rotate(secret);
      expect(report.ok).toBe(false);
      expect(report.error).toContain('to two secrets under its old region-bearing keys');
      expect(report.error).toContain(victim.arn);
      expect(report.error).toContain(copy);
      expect(report.error).toContain('aws dynamodb delete-item');
    }
    expect(world.sim.requests.length).toBe(requestsBefore);
    expect(output.text).toContain('"errorCode":"LedgerLegacyConflict"');
  });
});

// Last in the file (tests run in order): scans the logs of every test above.
it('the captured logs hold no secret, bearer token, worker credential or RotationToken', () => {
  expect(logLeaks()).toEqual([]);
});
