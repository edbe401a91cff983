/**
 * The simulation's DynamoDB fake kept honest (issue 17): every DynamoDB call three fixed seeds make — the real
 * ledger (lib/ledger) and the auditor's retirement write, with their condition and update expressions, as the
 * fake answered them — is replayed, in the same order, against moto, and each call must end the same way there:
 * the same outcome class (answered, ConditionalCheckFailedException, …) and the same item returned (GetItem,
 * BatchGetItem, UpdateItem's ALL_NEW). The simulation runs on its own clock; moto is only called after the run,
 * so nothing here waits on real time, and the sequence compared is the run's own (its trace is not changed by
 * the replay). What is compared: call name, outcome class, returned items; not timestamps or request ids.
 *
 * Not compared here: Secrets Manager. A rotation's AWSPENDING placeholder (a version with a label and no value,
 * which RotateSecret creates) cannot be made in moto without a Lambda function behind RotateSecret, and moto's
 * PutSecretValue moves AWSCURRENT differently from the service (local/moto-secrets.ts), so a replay would
 * compare moto's known differences rather than the fake. PingOne's fake is the local simulator's own store and
 * API (local/pingone-simulator) called in process, the same code the HTTP simulator serves.
 */
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedgerTable } from '../../local/ledger-table.js';
import { type MotoServer, startMoto } from '../../local/moto.js';
import { FAULT_CLASSES, FaultPlan, type SimEnv } from '../../sim/env.js';
import { type DynamoDbCall, DynamoDbState } from '../../sim/fakes/dynamodb.js';
import { Prng, Scheduler } from '../../sim/kernel.js';
import { runSimulation } from '../../sim/world.js';

/** Fixed seeds whose runs write the ledger in every way the code does (bindings, intents, retirements, races). */
const SEEDS = [3, 11, 24];
const COMMANDS = {
  GetItem: GetItemCommand,
  PutItem: PutItemCommand,
  UpdateItem: UpdateItemCommand,
  DeleteItem: DeleteItemCommand,
  BatchGetItem: BatchGetItemCommand,
} as const;

let moto: MotoServer;

/** The fresh fake's world: nothing traced, no faults. */
const QUIET_ENV: SimEnv = {
  scheduler: new Scheduler(0),
  prng: new Prng(1),
  faults: new FaultPlan([], 0),
  trace: () => {},
  sensitive: () => {},
};

function outcomeOf(call: () => Record<string, unknown>): {
  outcome: string;
  output?: Record<string, unknown>;
} {
  try {
    return { outcome: 'ok', output: call() };
  } catch (error) {
    return { outcome: (error as Error).name };
  }
}

beforeAll(async () => {
  moto = await startMoto();
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

describe('the simulation’s DynamoDB fake against moto', () => {
  for (const seed of SEEDS) {
    it(`answers every DynamoDB call of seed ${seed} as moto does`, async () => {
      const calls: DynamoDbCall[] = [];
      const result = await runSimulation({
        seed,
        faults: FAULT_CLASSES.filter((f) => f !== 'short-ttl'),
        durationMs: 3 * 3_600_000,
        onDynamoDbCall: (call) => calls.push(call),
      });
      expect(result.violation).toBeUndefined();
      expect(calls.length).toBeGreaterThan(20);
      const table = `ledger-seed-${seed}`;
      const client = new DynamoDBClient({
        endpoint: moto.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        maxAttempts: 1,
      });
      await createLedgerTable(client, table);
      // A fresh fake (no faults) replays the same calls beside moto. Each conditional write is also sent a
      // second time to both: the run's own conditions rarely fail, a repeated write's usually do, so both the
      // accepted and the refused side of every condition the code writes are compared.
      const fake = new DynamoDbState(QUIET_ENV);
      const differences: string[] = [];
      let refused = 0;
      const both = async (label: string, name: string, input: Record<string, unknown>, expected?: string) => {
        const Command = COMMANDS[name as keyof typeof COMMANDS];
        if (!Command) throw new Error(`no replay for DynamoDB ${name}`);
        const local = outcomeOf(() => fake.apply(name, structuredClone(input)) as Record<string, unknown>);
        if (expected !== undefined && local.outcome !== expected) {
          differences.push(`${label} ${name}: the run's fake ${expected}, the fresh fake ${local.outcome}`);
        }
        let outcome: string;
        let returned: unknown;
        try {
          const command = new (Command as new (input: unknown) => GetItemCommand)(retarget(input, table));
          const out = (await client.send(command)) as unknown as Record<string, unknown>;
          outcome = 'ok';
          returned = comparable(name, out);
        } catch (error) {
          outcome = (error as Error).name;
        }
        if (outcome === 'ConditionalCheckFailedException') refused += 1;
        const mine = local.outcome === 'ok' ? comparable(name, local.output) : undefined;
        if (outcome !== local.outcome)
          differences.push(`${label} ${name}: fake ${local.outcome}, moto ${outcome}`);
        else if (outcome === 'ok' && JSON.stringify(returned) !== JSON.stringify(mine)) {
          differences.push(
            `${label} ${name}: fake returned ${JSON.stringify(mine)}, moto ${JSON.stringify(returned)}`,
          );
        }
      };
      for (const [i, call] of calls.entries()) {
        await both(`#${i}`, call.name, call.input, call.outcome);
        if (call.input.ConditionExpression !== undefined) await both(`#${i} again`, call.name, call.input);
      }
      expect(differences, `${calls.length} calls`).toEqual([]);
      // The replay compared refused conditions as well as accepted ones.
      expect(refused).toBeGreaterThan(0);
      client.destroy();
    }, 60_000);
  }
});

/** The same call against another table name. */
function retarget(input: Record<string, unknown>, table: string): Record<string, unknown> {
  if (input.RequestItems) {
    const items = input.RequestItems as Record<string, unknown>;
    return { ...input, RequestItems: Object.fromEntries(Object.values(items).map((v) => [table, v])) };
  }
  return { ...input, TableName: table };
}

/** What a call returned, in a form both sides can be compared in (items with sorted keys; batch responses sorted). */
function comparable(name: string, out: Record<string, unknown> | undefined): unknown {
  if (!out) return undefined;
  if (name === 'GetItem') return sortDeep(out.Item ?? null);
  if (name === 'UpdateItem') return sortDeep(out.Attributes ?? null);
  if (name === 'BatchGetItem') {
    const responses = (out.Responses as Record<string, unknown[]> | undefined) ?? {};
    const items = Object.values(responses).flat().map(sortDeep);
    return items.map((i) => JSON.stringify(i)).sort();
  }
  return null;
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortDeep((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
