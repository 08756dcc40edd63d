/**
 * Policy compiler benchmark.
 *
 *   node dist/bench/policy.js [--endpoints 20000] [--hosts 40] [--groups 1000] [--rules 5000] [--no-kernel]
 *
 * One tenant; endpoints spread over hosts, each labelled into one of the groups; one policy per group
 * whose rules admit other groups on TCP ports. Measures the full compile (tenant-wide part + every
 * host's program), per-host program size, the time to compute one endpoint joining (incremental, and by
 * recompile + diff), and — in a real network namespace — the `nft -f` time of a host program with
 * 2,000 local endpoints and of one join. Prints JSON and writes bench/results/policy.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as crypto from 'node:crypto';
import { compileTenant, endpointJoin, programForHost } from '../src/core/policy/compile';
import { diffPrograms } from '../src/core/policy/diff';
import { renderOps, renderProgram } from '../src/core/policy/render';
import type { PolicyIntent } from '../src/core/policy/intent';
import type { Endpoint } from '../src/core/model/kinds/endpoint';
import type { Policy } from '../src/core/model/kinds/policy';
import type { NftProgram } from '../src/core/policy/program';
import { run } from '../src/kernel/exec';

const V = 'tenet.dev/v1' as const;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function endpoint(i: number, hosts: number, groups: number): Endpoint {
  return {
    apiVersion: V,
    kind: 'Endpoint',
    metadata: { name: `ep-${i}`, tenant: 'big', labels: { app: `g${i % groups}`, tier: i % 2 ? 'front' : 'back' } },
    spec: { network: 'net', host: `h${i % hosts}`, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    status: { ipv4: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, hostIfName: `tv${i.toString(16).padStart(12, '0')}` },
  };
}

function world(endpoints: number, hosts: number, groups: number, rules: number): PolicyIntent {
  const perPolicy = Math.max(1, Math.round(rules / groups));
  const policies: Policy[] = [];
  for (let g = 0; g < groups; g++) {
    policies.push({
      apiVersion: V,
      kind: 'Policy',
      metadata: { name: `p${g}`, tenant: 'big' },
      spec: {
        appliesTo: { group: `g${g}` },
        ingress: Array.from({ length: perPolicy }, (_, k) => ({
          action: 'allow' as const,
          from: [{ group: `g${(g + k + 1) % groups}` }],
          ports: [{ protocol: 'TCP' as const, port: k === 0 ? ('http' as const) : 8000 + k }],
        })),
      },
    });
  }
  return {
    tenants: [{ apiVersion: V, kind: 'Tenant', metadata: { name: 'big' }, spec: { defaultPolicy: 'deny' } }],
    scopes: [],
    groups: Array.from({ length: groups }, (_, g) => ({ apiVersion: V, kind: 'Group' as const, metadata: { name: `g${g}`, tenant: 'big' }, spec: { selector: { matchLabels: { app: `g${g}` } } } })),
    networks: [{ apiVersion: V, kind: 'Network', metadata: { name: 'net', tenant: 'big' }, spec: { subnets: [{ cidr: '10.0.0.0/8' }] } }],
    policies,
    globalPolicies: [],
    endpoints: Array.from({ length: endpoints }, (_, i) => endpoint(i, hosts, groups)),
  };
}

function size(program: NftProgram): { chains: number; rules: number; sets: number; setElements: number; mapElements: number } {
  return {
    chains: program.chains.length,
    rules: program.chains.reduce((n, c) => n + c.rules.length, 0),
    sets: program.sets.length,
    setElements: program.sets.reduce((n, s) => n + s.elements.length, 0),
    mapElements: program.maps.reduce((n, m) => n + Object.keys(m.elements).length, 0),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function kernel(localEndpoints: number, groups: number): Promise<Record<string, number>> {
  // A host with `localEndpoints` local endpoints (all endpoints of the tenant on that one host).
  const intent = world(localEndpoints, 1, groups, groups * 5);
  const compiled = compileTenant(intent, 'big');
  const program = programForHost(compiled, { host: 'h0' });
  const netns = `tpbench${crypto.randomBytes(3).toString('hex')}`;
  await run('ip', ['netns', 'add', netns]);
  try {
    const text = renderProgram(program);
    const t0 = performance.now();
    await run('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: text, timeoutMs: 120000 });
    const fullMs = performance.now() - t0;
    const joins: number[] = [];
    for (let k = 0; k < 5; k++) {
      const newcomer = endpoint(localEndpoints + k, 1, groups);
      const delta = endpointJoin(compiled, program, newcomer, newcomer.status!.hostIfName!);
      const ops = [
        ...Object.entries(delta.addElements).map(([set, elements]) => ({ op: 'addElements' as const, set, elements })),
        ...delta.mapElements.map((m) => ({ op: 'addMapElements' as const, map: m.map, elements: { [m.iface]: m.chain } })),
      ];
      const t1 = performance.now();
      await run('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: renderOps(program, ops).join('\n') + '\n' });
      joins.push(performance.now() - t1);
    }
    const t2 = performance.now();
    await run('ip', ['netns', 'exec', netns, 'nft', '-j', 'list', 'table', 'inet', 'tenet'], { timeoutMs: 120000 });
    const readMs = performance.now() - t2;
    return { localEndpoints, programLines: text.split('\n').length, fullApplyMs: round(fullMs), joinApplyMsMedian: round(median(joins)), readBackMs: round(readMs) };
  } finally {
    await run('ip', ['netns', 'del', netns], { allowFailure: true });
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

async function main(): Promise<void> {
  const endpoints = arg('endpoints', 20000);
  const hosts = arg('hosts', 40);
  const groups = arg('groups', 1000);
  const rules = arg('rules', 5000);
  const intent = world(endpoints, hosts, groups, rules);

  const compileTimes: number[] = [];
  let programs: NftProgram[] = [];
  let compiled = compileTenant(intent, 'big');
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    compiled = compileTenant(intent, 'big');
    programs = Array.from({ length: hosts }, (_, h) => programForHost(compiled, { host: `h${h}` }));
    compileTimes.push(performance.now() - t0);
  }
  const sizes = programs.map(size);

  // One endpoint joining: by full recompile of its host + diff (what a naive agent would do), then incremental.
  const grown = world(endpoints + 1, hosts, groups, rules);
  const t1 = performance.now();
  const recompiled = programForHost(compileTenant(grown, 'big'), { host: `h${endpoints % hosts}` });
  const diff = diffPrograms(programs[endpoints % hosts], recompiled);
  const recompileJoinMs = performance.now() - t1;
  const joinTimes: number[] = [];
  const program0 = programs[0];
  for (let k = 0; k < 21; k++) {
    const newcomer = endpoint(endpoints + k * hosts, hosts, groups);
    const t0 = performance.now();
    endpointJoin(compiled, program0, newcomer, newcomer.status!.hostIfName!);
    // The first join warms up the JIT; it is not counted.
    if (k > 0) joinTimes.push(performance.now() - t0);
  }

  const result: Record<string, unknown> = {
    at: new Date().toISOString(),
    world: { endpoints, hosts, groups, rules, tenants: 1 },
    fullCompileMs: { median: round(median(compileTimes)), runs: compileTimes.map(round), target: 2000 },
    perHostProgram: {
      rulesMax: Math.max(...sizes.map((s) => s.rules)),
      chainsMax: Math.max(...sizes.map((s) => s.chains)),
      sets: sizes[0].sets,
      setElementsMax: Math.max(...sizes.map((s) => s.setElements)),
      mapElementsMax: Math.max(...sizes.map((s) => s.mapElements)),
    },
    oneEndpointJoin: {
      incrementalMsMedian: round(median(joinTimes)),
      incrementalMsMax: round(Math.max(...joinTimes)),
      target: 5,
      recompileAndDiffMs: round(recompileJoinMs),
      recompileDiffOps: diff.ops.map((o) => o.op),
    },
  };
  if (!process.argv.includes('--no-kernel')) result.kernel = await kernel(arg('local', 2000), 100);
  const text = JSON.stringify(result, null, 2);
  process.stdout.write(text + '\n');
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'policy.json'), text + '\n');
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
