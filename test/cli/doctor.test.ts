/**
 * `pingone-rotation doctor` against the simulator's role assignments: it names each missing capability with
 * its permissions, the environment and where to grant it; exits 14 for a missing role, 1 for a worker it could
 * not check, 0 when every worker has what it needs; read-only (GETs and the token request only).
 */
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPingOneAccess } from '../../cli/pingone-access.js';
import { runCli } from '../../cli/run.js';
import type { CreateWorkerInput } from '../../local/pingone-simulator/index.js';
import { type LocalWorld, startLocalWorld } from '../../local/world.js';
import { worldDeps } from './support.js';

let world: LocalWorld;

beforeAll(async () => {
  world = await startLocalWorld({ workerRegions: ['EU', 'CA'] });
});

afterAll(async () => {
  await world?.stop();
});

/** A worker in its own organization (`organization`), its credential in SSM; its PINGONE_WORKERS entry. */
async function worker(
  name: string,
  region: 'EU' | 'CA',
  input: CreateWorkerInput & { readonly covers?: readonly string[] },
  home = world.sim.createEnvironment({ region, organizationId: `org-${name}`, name: `${name} admin` }),
) {
  const created = world.sim.createWorker(home.id, input);
  const parameter = `/pingone/doctor/${name}`;
  await world.ssm.send(
    new PutParameterCommand({
      Name: parameter,
      Type: 'SecureString',
      Overwrite: true,
      Value: JSON.stringify({ ...created, region }),
    }),
  );
  return {
    home,
    created,
    entry: { name, region, parameter, environments: input.covers ?? '*' },
  };
}

async function doctor(workers: readonly object[], json = true) {
  const { deps, out, err } = worldDeps(world, { local: false });
  const env = { ...world.functionEnv, PINGONE_WORKERS: JSON.stringify(workers) };
  const access = createPingOneAccess({ env, flags: {}, ssm: world.ssm });
  const before = world.sim.requests.length;
  const code = await runCli(['doctor', ...(json ? ['--json'] : [])], { out, err }, () => ({
    ...deps,
    config: () => access.config,
    pingone: () => access,
  }));
  const requests = world.sim.requests.slice(before);
  return { code, out: out.text, err: err.text, requests };
}

describe('doctor', () => {
  it('names each missing role on each environment, and where to grant it (exit 14); read-only', async () => {
    const reader = await worker('eu-reader', 'EU', { secretActions: ['read'] });
    const narrowHome = world.sim.createEnvironment({ region: 'CA', organizationId: 'org-ca-narrow' });
    const unreached = world.sim.createEnvironment({ region: 'CA', organizationId: 'org-ca-narrow' });
    const narrow = await worker(
      'ca-narrow',
      'CA',
      { environments: [narrowHome.id], covers: [narrowHome.id, unreached.id] },
      narrowHome,
    );
    const noApps = await worker('ca-no-apps', 'CA', { readApplications: false });

    const run = await doctor([reader.entry, narrow.entry, noApps.entry]);

    expect(run.code).toBe(14);
    const report = JSON.parse(run.out) as {
      exitCode: number;
      verdict: string;
      workers: {
        name: string;
        environments: {
          environmentId: string;
          visible: boolean;
          missing: { capability: string; permissions: string[] }[];
          grant?: string;
        }[];
      }[];
    };
    expect(report).toMatchObject({ command: 'doctor', exitCode: 14, verdict: 'missing' });
    const byName = Object.fromEntries(report.workers.map((w) => [w.name, w]));
    // A read-only role: regenerate is missing, on its environment, with the permissions it lacks.
    expect(byName['eu-reader']?.environments).toEqual([
      expect.objectContaining({
        environmentId: reader.home.id,
        visible: true,
        missing: [
          {
            capability: 'regenerate client secrets',
            permissions: ['resources:update:secret', 'applications:update:secret'],
          },
        ],
        grant: expect.stringMatching(
          new RegExp(
            `^assign the Client Application Developer role .* to worker application ${reader.created.clientId} .*scope environment ${reader.home.id}`,
          ),
        ),
      }),
    ]);
    // An environment it must serve but no role assignment reaches: not visible, everything missing.
    expect(byName['ca-narrow']?.environments).toEqual([
      expect.objectContaining({ environmentId: narrowHome.id, visible: true, missing: [] }),
      expect.objectContaining({
        environmentId: unreached.id,
        visible: false,
        missing: [
          expect.objectContaining({ capability: 'read client secrets' }),
          expect.objectContaining({ capability: 'regenerate client secrets' }),
          expect.objectContaining({ capability: 'read applications' }),
        ],
      }),
    ]);
    expect(byName['ca-no-apps']?.environments).toEqual([
      expect.objectContaining({
        missing: [{ capability: 'read applications', permissions: ['applications:read:application'] }],
      }),
    ]);
    // Read-only: the token requests and GETs, each at its worker's own region.
    expect(run.requests.every((r) => r.method === 'GET' || r.route === 'token')).toBe(true);
    expect(run.requests.filter((r) => r.route === 'token').map((r) => r.region)).toEqual(['EU', 'CA', 'CA']);
    expect(world.sim.crossRegionTokenUses()).toEqual([]);

    const text = await doctor([reader.entry], false);
    expect(text.code).toBe(14);
    expect(text.out).toContain(
      `environment ${reader.home.id} (eu-reader admin): missing regenerate client secrets (resources:update:secret, applications:update:secret)`,
    );
    expect(text.out).toMatch(/ {4}to fix: assign the Client Application Developer role/);
    expect(text.out).not.toContain(reader.created.clientSecret);
  });

  it('exits 0 when every worker has what it needs, and 1 when a worker cannot be checked', async () => {
    const good = await worker('eu-good', 'EU', {});
    expect((await doctor([good.entry])).code).toBe(0);

    const broken = await worker('eu-broken', 'EU', {});
    await world.ssm.send(
      new PutParameterCommand({
        Name: broken.entry.parameter,
        Type: 'SecureString',
        Overwrite: true,
        Value: JSON.stringify({ ...broken.created, clientSecret: 'not-the-secret', region: 'EU' }),
      }),
    );
    const run = await doctor([good.entry, broken.entry], false);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(
      /worker eu-broken \(EU\).*\n {2}could not be checked: PingOne refused the worker token \(401/,
    );
    expect(run.out).not.toContain('not-the-secret');
  });
});
